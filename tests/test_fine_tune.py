import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits

from sktransfer.backbones import Backbone
from sktransfer.backbones._toy import toy_cnn
from sktransfer.fine_tuning import FineTuneClassifier, _fine_tune
from sktransfer.utils._images import check_images

_DIGITS = load_digits()
# 8x8 grayscale digits in [0, 1]; the toy ConvNet's preprocessing resizes them to 32 px.
IMAGES = (_DIGITS.images / 16).astype(np.float32)
VECTORS = (_DIGITS.data / 16).astype(np.float32)
LABELS = _DIGITS.target


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # The toy networks gain nothing from intra-op parallelism, and on a busy machine torch's
    # waiting threads slow their many tiny steps down tenfold.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _toy_cnn(**params):
    params = {
        "backbone": "toy_cnn",
        "max_epochs": 2,
        "lr": 1e-2,
        "random_state": 0,
        "device": "cpu",
        **params,
    }
    return FineTuneClassifier(**params)


def _uncached(clf):
    # The reference path: the whole network runs at every step, its prefix frozen inside it.
    clf._cache_frozen_prefix = False
    return clf


def _frozen_layers(clf):
    module = clf.net_.module_
    return module.prefix.layers if hasattr(module, "prefix") else clf.prefix_.layers


@pytest.mark.parametrize("cached", [True, False])
def test_frozen_layers_keep_their_weights_and_batch_norm_statistics(cached):
    backbone = toy_cnn(in_channels=1)
    before = copy.deepcopy(backbone.model.state_dict())
    clf = _toy_cnn(backbone=backbone, freeze_depth=2)
    clf = clf if cached else _uncached(clf)
    clf.fit(IMAGES[:64], LABELS[:64])

    assert clf.frozen_layers_ == ["block1", "block2"]
    for name, layer in zip(clf.frozen_layers_, _frozen_layers(clf), strict=True):
        for key, value in layer.state_dict().items():
            # Buffers included: running means, variances and batch counts stay as they were.
            assert torch.equal(value, before[f"{name}.{key}"]), f"{name}.{key} changed"
        assert not any(p.requires_grad for p in layer.parameters())
    trained = clf.net_.module_.state_dict()
    suffix = "" if cached else "suffix."
    assert not torch.equal(trained[f"{suffix}layers.0.0.weight"], before["block3.0.weight"])
    assert not torch.equal(
        trained[f"{suffix}layers.0.1.running_mean"], before["block3.1.running_mean"]
    )
    # The user's network is not changed in place.
    assert all(torch.equal(v, before[k]) for k, v in backbone.model.state_dict().items())


def test_layers_learn_slower_the_further_they_are_from_the_head():
    clf = _toy_cnn(freeze_depth=1, lr=0.02, lr_decay=0.5, max_epochs=1).fit(
        IMAGES[:32], LABELS[:32]
    )
    module = clf.net_.module_
    rate = {
        id(p): group["lr"] for group in clf.net_.optimizer_.param_groups for p in group["params"]
    }
    expected = {module.layers[0]: 0.02 * 0.5**2, module.layers[1]: 0.02 * 0.5, module.head: 0.02}
    for part, lr in expected.items():
        assert all(rate[id(p)] == pytest.approx(lr) for p in part.parameters())
    assert len(rate) == sum(1 for _ in module.parameters())


def test_freeze_all_trains_only_a_linear_head_on_pooled_features():
    clf = _toy_cnn(freeze_depth="all").fit(IMAGES[:32], LABELS[:32])
    assert clf.frozen_layers_ == ["block1", "block2", "block3"]
    assert len(clf.net_.module_.layers) == 0
    assert [name for name, _ in clf.net_.module_.named_parameters()] == ["head.weight", "head.bias"]
    codes = clf.prefix_.encode(
        check_images(IMAGES[:3], channels=3), batch_size=2, device=torch.device("cpu")
    )
    assert codes.shape == (3, 32)


def test_freeze_depth_can_name_the_last_frozen_layer():
    clf = _toy_cnn(freeze_depth="block1", max_epochs=1).fit(IMAGES[:32], LABELS[:32])
    assert clf.frozen_layers_ == ["block1"]


@pytest.mark.parametrize(
    "freeze_depth, match",
    [
        (4, r"freeze_depth=4 is larger than the 3 layers.*\['block1', 'block2', 'block3'\]"),
        ("block9", "Unknown layer 'block9'"),
    ],
)
def test_bad_freeze_depth_is_refused_before_training(monkeypatch, freeze_depth, match):
    def no_training(*args, **kwargs):
        raise AssertionError("the network was built")

    monkeypatch.setattr(_fine_tune, "RegularizedNet", no_training)
    with pytest.raises(ValueError, match=match):
        _toy_cnn(freeze_depth=freeze_depth).fit(IMAGES[:8], LABELS[:8])


def test_a_single_class_is_refused():
    with pytest.raises(ValueError, match="at least two classes.*1 class: 'a'"):
        _toy_cnn().fit(IMAGES[:8], ["a"] * 8)


def test_a_head_that_is_not_linear_is_refused():
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=1))
    backbone = Backbone(model, [("0", model[0])], head="1", input_kind="vector", in_features=4)
    clf = FineTuneClassifier(backbone, device="cpu")
    with pytest.raises(ValueError, match="Softmax head"):
        clf.fit(VECTORS[:8, :4], LABELS[:8])


def test_two_dimensional_input_needs_a_vector_backbone():
    with pytest.raises(ValueError, match="backbone takes images"):
        _toy_cnn().fit(VECTORS[:8], LABELS[:8])


def test_string_labels_are_predicted_back():
    names = np.array(["zero", "one", "two"])[LABELS[:60] % 3]
    clf = _toy_cnn(freeze_depth=2).fit(IMAGES[:60], names)
    assert list(clf.classes_) == ["one", "two", "zero"]
    assert set(clf.predict(IMAGES[:20])) <= set(names)
    proba = clf.predict_proba(IMAGES[:20])
    assert proba.shape == (20, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1)


def test_pickle_round_trip_predicts_the_same():
    clf = _toy_cnn(freeze_depth=1).fit(IMAGES[:48], LABELS[:48])
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(
        loaded.predict_proba(IMAGES[48:80]), clf.predict_proba(IMAGES[48:80])
    )


def test_same_random_state_same_model_and_global_rng_untouched():
    state = torch.random.get_rng_state()
    clf = _toy_cnn(freeze_depth=1).fit(IMAGES[:48], LABELS[:48])
    again = clone(clf).fit(IMAGES[:48], LABELS[:48])
    assert torch.equal(torch.random.get_rng_state(), state)
    np.testing.assert_array_equal(
        again.predict_proba(IMAGES[48:80]), clf.predict_proba(IMAGES[48:80])
    )


def test_cached_prefix_trains_like_the_whole_network_with_the_prefix_frozen():
    cached = _toy_cnn(freeze_depth=2, max_epochs=3).fit(IMAGES[:96], LABELS[:96])
    whole = _uncached(_toy_cnn(freeze_depth=2, max_epochs=3)).fit(IMAGES[:96], LABELS[:96])
    np.testing.assert_allclose(
        cached.predict_proba(IMAGES[96:160]), whole.predict_proba(IMAGES[96:160]), atol=1e-6
    )


def test_fine_tuning_learns_digits_well_above_chance():
    clf = _toy_cnn(freeze_depth=1, lr=2e-2, lr_decay=0.5, max_epochs=4, batch_size=16)
    clf.fit(IMAGES[:400], LABELS[:400])
    assert clf.score(IMAGES[1000:1200], LABELS[1000:1200]) > 0.5  # chance is 0.1


def test_vector_backbone_learns_digits():
    clf = FineTuneClassifier(
        "toy_mlp", lr=2e-2, lr_decay=1.0, max_epochs=15, random_state=0, device="cpu"
    ).fit(VECTORS[:1000], LABELS[:1000])
    assert clf.score(VECTORS[1000:], LABELS[1000:]) > 0.8


@pytest.mark.parametrize("verbose", [0, 1])
def test_verbose_controls_the_epoch_table(capsys, verbose):
    _toy_cnn(freeze_depth="all", verbose=verbose).fit(IMAGES[:16], LABELS[:16])
    out = capsys.readouterr().out
    assert ("train_loss" in out) == bool(verbose)
    if not verbose:
        assert out == ""


def test_parallel_grid_search_over_freeze_depth_and_lr_matches_the_sequential_one():
    from sklearn.model_selection import GridSearchCV

    grid = {"freeze_depth": [1, "all"], "lr": [1e-2, 3e-2]}
    X, y = IMAGES[:120], LABELS[:120]
    parallel = GridSearchCV(_toy_cnn(), grid, cv=2, n_jobs=2).fit(X, y)
    sequential = GridSearchCV(_toy_cnn(), grid, cv=2, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(
        parallel.cv_results_["mean_test_score"], sequential.cv_results_["mean_test_score"]
    )
    assert parallel.best_params_ == sequential.best_params_
    refitted = parallel.best_estimator_
    assert refitted.frozen_layers_ == sequential.best_estimator_.frozen_layers_
    np.testing.assert_array_equal(
        refitted.predict(IMAGES[120:150]), sequential.predict(IMAGES[120:150])
    )
