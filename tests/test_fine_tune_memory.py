"""FineTuneClassifier(memory=...): frozen-prefix activations cached across fits."""

import pickle
from collections import Counter
from contextlib import contextmanager

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from torch import nn

from sktransfer.backbones._toy import toy_cnn
from sktransfer.fine_tuning import FineTuneClassifier

_DIGITS = load_digits()
# 8x8 grayscale digits in [0, 1]; the toy ConvNet's preprocessing resizes them to 32 px.
IMAGES = (_DIGITS.images / 16).astype(np.float32)
VECTORS = (_DIGITS.data / 16).astype(np.float32)
LABELS = _DIGITS.target
# The toy ConvNet's blocks, told apart by the input channels of their convolution.
BLOCK_OF_CHANNELS = {3: "block1", 8: "block2", 16: "block3"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _toy_cnn(**params):
    params = {
        "backbone": "toy_cnn",
        "freeze_depth": 2,
        "max_epochs": 2,
        "lr": 1e-2,
        "random_state": 0,
        "device": "cpu",
        **params,
    }
    return FineTuneClassifier(**params)


@contextmanager
def images_through_blocks():
    """Count the images that each block of the toy ConvNet runs on, in any module instance."""
    seen = Counter()

    def count(module, args, output):
        if isinstance(module, nn.Conv2d):
            seen[BLOCK_OF_CHANNELS[module.in_channels]] += len(args[0])

    handle = nn.modules.module.register_module_forward_hook(count)
    try:
        yield seen
    finally:
        handle.remove()


def _cached_entries(folder):
    return sum(1 for _ in folder.rglob("*.npz"))


def test_memory_gives_exactly_the_model_fitted_without_it(tmp_path):
    X, y, X_new = IMAGES[:96], LABELS[:96], IMAGES[96:160]
    plain = _toy_cnn().fit(X, y)
    cold = _toy_cnn(memory=str(tmp_path)).fit(X, y)
    warm = _toy_cnn(memory=str(tmp_path)).fit(X, y)

    assert _cached_entries(tmp_path) > 0
    expected = plain.predict_proba(X_new)
    np.testing.assert_array_equal(cold.predict_proba(X_new), expected)
    np.testing.assert_array_equal(warm.predict_proba(X_new), expected)
    # The prediction above stored X_new's activations; reading them back changes nothing.
    np.testing.assert_array_equal(warm.predict_proba(X_new), expected)


def test_a_second_fit_runs_the_frozen_layers_only_on_new_images(tmp_path):
    # Pretrained weights, as a Backbone: the random seed changes the head, not the prefix.
    first = _toy_cnn(backbone=toy_cnn(), memory=str(tmp_path))
    with images_through_blocks() as seen:
        first.fit(IMAGES[:60], LABELS[:60])
    assert seen["block1"] == seen["block2"] == 60

    with images_through_blocks() as seen:
        # Another grid point (learning rate, seed) on the same fold: nothing to recompute.
        clone(first).set_params(lr=3e-2, random_state=1).fit(IMAGES[:60], LABELS[:60])
    assert seen["block1"] == seen["block2"] == 0
    assert seen["block3"] > 0  # the trainable layer still trains

    with images_through_blocks() as seen:
        # Another fold: half of its images were seen already.
        clone(first).fit(IMAGES[30:90], LABELS[30:90])
    assert seen["block1"] == seen["block2"] == 30


def test_validation_images_encoded_by_predict_are_reused_by_the_next_fold(tmp_path):
    clf = _toy_cnn(memory=str(tmp_path)).fit(IMAGES[:40], LABELS[:40])
    clf.score(IMAGES[40:80], LABELS[40:80])
    with images_through_blocks() as seen:
        clone(clf).fit(IMAGES[20:80], LABELS[20:80])
    assert seen["block1"] == 0


def test_a_deeper_prefix_starts_from_the_deepest_cached_depth(tmp_path):
    X, y, X_new = IMAGES[:64], LABELS[:64], IMAGES[64:96]
    _toy_cnn(memory=str(tmp_path), freeze_depth=1).fit(X, y)
    with images_through_blocks() as seen:
        deeper = _toy_cnn(memory=str(tmp_path), freeze_depth=2).fit(X, y)
    assert seen["block1"] == 0
    assert seen["block2"] == 64
    np.testing.assert_array_equal(
        deeper.predict_proba(X_new), _toy_cnn(freeze_depth=2).fit(X, y).predict_proba(X_new)
    )

    with images_through_blocks() as seen:
        # "all" adds the pooling step to the three layers: it starts after block2.
        everything = _toy_cnn(memory=str(tmp_path), freeze_depth="all").fit(X, y)
    assert (seen["block1"], seen["block2"], seen["block3"]) == (0, 0, 64)
    np.testing.assert_array_equal(
        everything.predict_proba(X_new),
        _toy_cnn(freeze_depth="all").fit(X, y).predict_proba(X_new),
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"random_state": 1}, id="other random weights"),
        pytest.param({"image_size": 16}, id="other image size"),
    ],
)
def test_what_changes_the_activations_changes_the_key(tmp_path, change):
    X, y, X_new = IMAGES[:48], LABELS[:48], IMAGES[48:80]
    _toy_cnn(memory=str(tmp_path)).fit(X, y)
    with images_through_blocks() as seen:
        other = _toy_cnn(memory=str(tmp_path), **change).fit(X, y)
    assert seen["block1"] == seen["block2"] == 48
    np.testing.assert_array_equal(
        other.predict_proba(X_new), _toy_cnn(**change).fit(X, y).predict_proba(X_new)
    )


def test_a_changed_first_layer_does_not_reuse_the_cache(tmp_path):
    X, y = IMAGES[:48], LABELS[:48]
    backbone = toy_cnn()
    _toy_cnn(backbone=backbone, memory=str(tmp_path)).fit(X, y)
    with torch.no_grad():
        backbone.model.block1[0].weight[0, 0, 0, 0] += 1e-3
    with images_through_blocks() as seen:
        _toy_cnn(backbone=backbone, memory=str(tmp_path)).fit(X, y)
    assert seen["block1"] == seen["block2"] == 48


class _ScaledReLU(nn.ReLU):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale  # read by forward, in neither the state dict nor the repr

    def forward(self, x):
        return super().forward(x) * self.scale


def test_a_first_layer_changed_only_in_a_plain_attribute_does_not_reuse_the_cache(tmp_path):
    # The key held the repr, the classes and the weights: the activations of scale 1 were
    # served to the network of scale 5.
    X, y = IMAGES[:48], LABELS[:48]
    backbone = toy_cnn()
    backbone.model.block1[2] = _ScaledReLU(1.0)
    _toy_cnn(backbone=backbone, memory=str(tmp_path)).fit(X, y)
    backbone.model.block1[2].scale = 5.0
    with images_through_blocks() as seen:
        cached = _toy_cnn(backbone=backbone, memory=str(tmp_path)).fit(X, y)
    assert seen["block1"] == 48
    plain = _toy_cnn(backbone=backbone).fit(X, y)
    np.testing.assert_array_equal(cached.predict_proba(X), plain.predict_proba(X))


def test_a_changed_second_layer_keeps_the_cached_first_one(tmp_path):
    X, y = IMAGES[:48], LABELS[:48]
    backbone = toy_cnn()
    _toy_cnn(backbone=backbone, memory=str(tmp_path), freeze_depth=1).fit(X, y)
    _toy_cnn(backbone=backbone, memory=str(tmp_path), freeze_depth=2).fit(X, y)
    with torch.no_grad():
        backbone.model.block2[1].running_mean += 0.1  # a buffer, not a parameter
    with images_through_blocks() as seen:
        _toy_cnn(backbone=backbone, memory=str(tmp_path)).fit(X, y)
    assert (seen["block1"], seen["block2"]) == (0, 48)


def test_joblib_memory_and_a_memory_without_location(tmp_path):
    X, y = IMAGES[:48], LABELS[:48]
    _toy_cnn(memory=joblib.Memory(tmp_path, verbose=0)).fit(X, y)
    assert _cached_entries(tmp_path) == 1
    with images_through_blocks() as seen:
        _toy_cnn(memory=joblib.Memory(None)).fit(X, y)
    assert seen["block1"] == 48


def test_vector_backbone_with_memory(tmp_path):
    params = {"backbone": "toy_mlp", "freeze_depth": 1, "lr_decay": 1.0, "max_epochs": 5}
    X, y, X_new = VECTORS[:200], LABELS[:200], VECTORS[200:300]
    cold = _toy_cnn(memory=str(tmp_path), **params).fit(X, y)
    warm = _toy_cnn(memory=str(tmp_path), **params).fit(X, y)
    expected = _toy_cnn(**params).fit(X, y).predict_proba(X_new)
    np.testing.assert_array_equal(cold.predict_proba(X_new), expected)
    np.testing.assert_array_equal(warm.predict_proba(X_new), expected)


def test_nothing_is_cached_without_frozen_layers(tmp_path):
    _toy_cnn(memory=str(tmp_path), freeze_depth=0, max_epochs=1).fit(IMAGES[:32], LABELS[:32])
    assert not tmp_path.exists() or _cached_entries(tmp_path) == 0


def test_file_paths_are_cached_too(tmp_path):
    from PIL import Image

    paths = []
    for i, image in enumerate(IMAGES[:24]):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray((image * 255).astype(np.uint8)).save(paths[-1])
    cache = tmp_path / "cache"
    clf = _toy_cnn(memory=str(cache)).fit(paths, LABELS[:24])
    with images_through_blocks() as seen:
        proba = clf.predict_proba(paths)
    assert seen["block1"] == 0
    np.testing.assert_array_equal(proba, _toy_cnn().fit(paths, LABELS[:24]).predict_proba(paths))


def test_pickle_round_trip_with_memory(tmp_path):
    clf = _toy_cnn(memory=joblib.Memory(tmp_path, verbose=0)).fit(IMAGES[:48], LABELS[:48])
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.memory.location == clf.memory.location
    np.testing.assert_array_equal(
        loaded.predict_proba(IMAGES[48:80]), clf.predict_proba(IMAGES[48:80])
    )
    with images_through_blocks() as seen:
        clone(loaded).fit(IMAGES[:48], LABELS[:48])
    assert seen["block1"] == 0


@pytest.mark.slow
def test_parallel_grid_search_with_memory_matches_the_one_without(tmp_path):
    grid = {"freeze_depth": [1, "all"], "lr": [1e-2, 3e-2]}
    X, y = IMAGES[:120], LABELS[:120]
    cached = GridSearchCV(_toy_cnn(memory=str(tmp_path)), grid, cv=2, n_jobs=2).fit(X, y)
    plain = GridSearchCV(_toy_cnn(), grid, cv=2, n_jobs=2).fit(X, y)
    assert _cached_entries(tmp_path) > 0
    np.testing.assert_allclose(
        cached.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"], atol=1e-12
    )
    assert cached.best_params_ == plain.best_params_
    np.testing.assert_allclose(
        cached.predict_proba(IMAGES[120:150]), plain.predict_proba(IMAGES[120:150]), atol=1e-6
    )


def test_the_progress_bar_counts_only_the_batches_not_read_from_the_cache(tmp_path, capsys):
    X, y = IMAGES[:16], LABELS[:16]
    _toy_cnn(memory=str(tmp_path), batch_size=4, verbose=1).fit(X[:8], y[:8])
    assert "2/2" in capsys.readouterr().err
    # Eight images are cached: only the eight new ones run through the frozen layers.
    _toy_cnn(memory=str(tmp_path), batch_size=4, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "2/2" in err and "/4" not in err
    _toy_cnn(memory=str(tmp_path), batch_size=4, verbose=1).fit(X, y)
    assert "frozen layers" not in capsys.readouterr().err
