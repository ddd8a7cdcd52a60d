import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from torchvision.transforms import v2

from sktransfer import _network_base
from sktransfer.backbones import Backbone
from sktransfer.backbones._toy import toy_cnn
from sktransfer.fine_tuning import FineTuneClassifier, _fine_tune
from sktransfer.utils._images import check_images

_DIGITS = load_digits()
# 8x8 grayscale digits in [0, 1]; the toy ConvNet's preprocessing resizes them to 32 px.
IMAGES = (_DIGITS.images / 16).astype(np.float32)
VECTORS = (_DIGITS.data / 16).astype(np.float32)
LABELS = _DIGITS.target


pytestmark = pytest.mark.usefixtures("one_torch_thread")


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


# bfloat16 (the "auto" precision on CUDA) computes the cached prefix with 8-bit mantissas, the
# whole network's frozen layers in float32: the paths then differ by about 1e-3.
@pytest.mark.parametrize("precision, atol", [("float32", 1e-6), ("bfloat16", 1e-2)])
def test_cached_prefix_trains_like_the_whole_network_with_the_prefix_frozen(precision, atol):
    params = {"freeze_depth": 2, "max_epochs": 3, "precision": precision}
    cached = _toy_cnn(**params).fit(IMAGES[:96], LABELS[:96])
    whole = _uncached(_toy_cnn(**params)).fit(IMAGES[:96], LABELS[:96])
    np.testing.assert_allclose(
        cached.predict_proba(IMAGES[96:160]), whole.predict_proba(IMAGES[96:160]), atol=atol
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


def test_verbose_shows_a_bar_over_the_frozen_layers_pass_in_fit_only(capsys):
    clf = _toy_cnn(freeze_depth=2, batch_size=4, verbose=1).fit(IMAGES[:16], LABELS[:16])
    err = capsys.readouterr().err
    assert "frozen layers" in err and "4/4" in err
    clf.predict(IMAGES[:16])
    assert capsys.readouterr().err == ""
    _toy_cnn(freeze_depth=2, batch_size=4).fit(IMAGES[:16], LABELS[:16])
    assert capsys.readouterr().err == ""


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


def _state(module):
    return {key: value.clone() for key, value in module.state_dict().items()}


def _assert_unchanged(module, before, prefix):
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[f"{prefix}.{key}"]), f"{prefix}.{key} changed"


@pytest.mark.parametrize("path", ["cached", "whole", "augment"])
def test_layers_frozen_by_name_keep_weights_and_statistics_anywhere(path):
    # "Layer transfer": the middle layer and the last layer's batch norm stay fixed, the first
    # layer and the last convolution train.
    backbone = toy_cnn(in_channels=1)
    before = _state(backbone.model)
    augment = {"augment": v2.RandomHorizontalFlip()} if path == "augment" else {}
    clf = _toy_cnn(backbone=backbone, freeze_layers=["block2", "block3.1"], **augment)
    clf = _uncached(clf) if path == "whole" else clf
    clf.fit(IMAGES[:64], LABELS[:64])

    assert clf.frozen_layers_ == ["block2", "block3.1"]
    module = clf.net_.module_
    suffix = getattr(module, "suffix", module)
    _assert_unchanged(suffix.layers[1], before, "block2")
    _assert_unchanged(suffix.layers[2][1], before, "block3.1")
    assert not torch.equal(suffix.layers[0][0].weight, before["block1.0.weight"])
    assert not torch.equal(suffix.layers[0][1].running_mean, before["block1.1.running_mean"])
    assert not torch.equal(suffix.layers[2][0].weight, before["block3.0.weight"])
    assert all(group["lr"] > 0 for group in clf.net_.optimizer_.param_groups)


def test_layers_frozen_by_name_after_the_prefix_join_the_cached_prefix():
    clf = _toy_cnn(freeze_depth=1, freeze_layers=["block2"]).fit(IMAGES[:32], LABELS[:32])
    assert clf.frozen_layers_ == ["block1", "block2"]
    assert len(clf.prefix_.layers) == 2
    assert len(clf.net_.module_.layers) == 1


@pytest.mark.parametrize("parameter", ["freeze_layers", "reinit_layers"])
def test_unknown_layer_names_are_refused_with_the_valid_ones(monkeypatch, parameter):
    def no_training(*args, **kwargs):
        raise AssertionError("the network was built")

    monkeypatch.setattr(_fine_tune, "RegularizedNet", no_training)
    match = rf"{parameter}: Unknown layer 'fc'.*\['block1', 'block2', 'block3'\]"
    with pytest.raises(ValueError, match=match):
        _toy_cnn(**{parameter: ["block1", "fc"]}).fit(IMAGES[:8], LABELS[:8])
    with pytest.raises(TypeError, match=f"{parameter} must hold layer names"):
        _toy_cnn(**{parameter: [1]}).fit(IMAGES[:8], LABELS[:8])


def test_reinitialised_layers_are_new_seeded_and_learn_at_the_head_rate():
    backbone = toy_cnn(in_channels=1)
    before = _state(backbone.model)
    params = {"backbone": backbone, "reinit_layers": ["block3"], "lr_decay": 0.1, "max_epochs": 1}
    # Frozen too, a re-initialised layer shows its fresh weights untouched by training.
    fixed = _toy_cnn(**params, freeze_layers=["block3"]).fit(IMAGES[:32], LABELS[:32])
    again = _toy_cnn(**params, freeze_layers=["block3"]).fit(IMAGES[:32], LABELS[:32])
    fresh = fixed.net_.module_.layers[2][0].weight
    assert not torch.equal(fresh, before["block3.0.weight"])
    assert torch.equal(fresh, again.net_.module_.layers[2][0].weight)
    # Batch norm starts over as well.
    assert torch.equal(fixed.net_.module_.layers[2][1].running_var, torch.ones(32))

    clf = _toy_cnn(**params).fit(IMAGES[:32], LABELS[:32])
    module = clf.net_.module_
    rate = {id(p): g["lr"] for g in clf.net_.optimizer_.param_groups for p in g["params"]}
    assert all(rate[id(p)] == pytest.approx(1e-2) for p in module.layers[2].parameters())
    assert all(rate[id(p)] == pytest.approx(1e-2 * 0.1**2) for p in module.layers[1].parameters())


def test_head_epochs_train_only_the_head_first():
    backbone = toy_cnn(in_channels=1)
    before = _state(backbone.model)
    params = {"backbone": backbone, "freeze_depth": 1, "head_epochs": 2}
    head_only = _toy_cnn(**params, max_epochs=2).fit(IMAGES[:64], LABELS[:64])
    module = head_only.net_.module_
    # Weights and batch-norm statistics of the layers: bit-identical after the head phase.
    _assert_unchanged(module.layers[0], before, "block2")
    _assert_unchanged(module.layers[1], before, "block3")
    assert not torch.equal(module.head.weight, _toy_cnn(**params, max_epochs=1).fit(
        IMAGES[:64], LABELS[:64]).net_.module_.head.weight)  # fmt: skip
    # Then they are released, and the next epochs move them.
    assert all(p.requires_grad for p in module.parameters())
    later = _toy_cnn(**params, max_epochs=3).fit(IMAGES[:64], LABELS[:64]).net_.module_
    assert not torch.equal(later.layers[0][0].weight, before["block2.0.weight"])
    assert not torch.equal(later.layers[1][1].running_mean, before["block3.1.running_mean"])


def test_augment_is_applied_to_each_training_image_only():
    seen = []

    def spy(image):
        seen.append((tuple(image.shape), float(image.min()), float(image.max())))
        return image

    clf = _toy_cnn(augment=spy, max_epochs=2).fit(IMAGES[:40], LABELS[:40])
    assert len(seen) == 2 * 40
    # One image at a time, at the network's input size, in [0, 1] before normalisation.
    assert {shape for shape, _, _ in seen} == {(3, 32, 32)}
    assert min(low for _, low, _ in seen) >= 0 and max(high for _, _, high in seen) <= 1
    clf.predict(IMAGES[40:60])
    assert len(seen) == 2 * 40


def test_an_identity_augment_trains_like_the_cached_path():
    # float32 whatever the device: under bfloat16 only the cached prefix would round.
    params = {"freeze_depth": 2, "max_epochs": 3, "precision": "float32"}
    cached = _toy_cnn(**params).fit(IMAGES[:96], LABELS[:96])
    augmented = _toy_cnn(**params, augment=v2.Identity())
    augmented.fit(IMAGES[:96], LABELS[:96])
    np.testing.assert_allclose(
        cached.predict_proba(IMAGES[96:160]), augmented.predict_proba(IMAGES[96:160]), atol=1e-5
    )


def test_augment_needs_images():
    with pytest.raises(ValueError, match="augment transforms images"):
        FineTuneClassifier("toy_mlp", augment=v2.Identity(), device="cpu").fit(
            VECTORS[:8], LABELS[:8]
        )


@pytest.mark.parametrize(
    ("augment", "error", "match"),
    [
        (
            lambda image: image[:, :8, :8],
            ValueError,
            r"shape it is given, \(3, 32, 32\).*\(3, 8, 8\)",
        ),
        (lambda image: image.numpy(), TypeError, "augment must return a tensor.*ndarray"),
    ],
    ids=["crop", "ndarray"],
)
def test_augment_must_return_a_tensor_of_the_shape_it_gets(augment, error, match):
    clf = _toy_cnn(augment=augment, max_epochs=1)
    with pytest.raises(error, match=match):
        clf.fit(IMAGES[:8], LABELS[:8])
    assert not hasattr(clf, "net_")


def test_augmented_model_pickles():
    clf = _toy_cnn(augment=v2.RandomHorizontalFlip(), max_epochs=1).fit(IMAGES[:32], LABELS[:32])
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(
        loaded.predict_proba(IMAGES[32:64]), clf.predict_proba(IMAGES[32:64])
    )


@pytest.mark.parametrize(
    "params",
    [
        {"regularization": "l2sp"},
        {"regularization": "lwf"},
        {"augment": v2.RandomHorizontalFlip()},
        {"regularization": "lwf", "augment": v2.RandomHorizontalFlip()},
        {"head_epochs": 1, "max_epochs": 2},
        {"reinit_layers": ["block3"], "freeze_layers": ["block2.1"]},
    ],
    ids=["l2sp", "lwf", "augment", "lwf-augment", "head_epochs", "layers"],
)
def test_new_options_are_reproducible_with_random_state(params):
    clf = _toy_cnn(freeze_depth=1, **params).fit(IMAGES[:48], LABELS[:48])
    again = clone(clf).fit(IMAGES[:48], LABELS[:48])
    np.testing.assert_array_equal(
        again.predict_proba(IMAGES[48:80]), clf.predict_proba(IMAGES[48:80])
    )


def test_warm_start_continues_training():
    X, y = IMAGES[:64], LABELS[:64]
    warm = _toy_cnn(freeze_depth=1, warm_start=True, max_epochs=2).fit(X, y)
    after_first = _state(warm.net_.module_)
    warm.set_params(max_epochs=3).fit(X, y)
    assert len(warm.net_.history) == 5
    assert not torch.equal(warm.net_.module_.layers[0][0].weight, after_first["layers.0.0.weight"])
    fresh = _toy_cnn(freeze_depth=1, max_epochs=3).fit(X, y)
    assert not np.allclose(warm.predict_proba(IMAGES[64:96]), fresh.predict_proba(IMAGES[64:96]))
    # Without warm_start, fit starts over.
    cold = _toy_cnn(freeze_depth=1, max_epochs=2).fit(X, y).set_params(max_epochs=3).fit(X, y)
    assert len(cold.net_.history) == 3
    np.testing.assert_array_equal(
        cold.predict_proba(IMAGES[64:96]), fresh.predict_proba(IMAGES[64:96])
    )


def test_warm_start_needs_the_same_classes():
    warm = _toy_cnn(warm_start=True, max_epochs=1).fit(IMAGES[:64], LABELS[:64] % 3)
    with pytest.raises(ValueError, match=r"classes are \[0, 1, 2\], but y holds \[0, 1\]"):
        warm.fit(IMAGES[:64], LABELS[:64] % 2)
    assert len(warm.net_.history) == 1


def test_vectors_of_another_width_are_refused_after_fit():
    clf = FineTuneClassifier("toy_mlp", max_epochs=1, random_state=0, device="cpu")
    clf.fit(VECTORS[:32], LABELS[:32])
    with pytest.raises(ValueError, match="features"):
        clf.predict(VECTORS[:4, :10])
    with pytest.raises(ValueError, match="features"):
        clf.set_params(warm_start=True).fit(VECTORS[:32, :10], LABELS[:32])


def test_a_warm_start_after_predict_trains_alike_with_the_fused_step(monkeypatch):
    # Prediction makes the convolution weights channels-last; the optimizer's moments stayed
    # contiguous, and torch's fused step (which CUDA uses) raised on CUDA and updated wrongly
    # on the CPU (probabilities 5e-3 away from the plain step's). It is forced here, on the CPU.
    X, y = IMAGES[:48], LABELS[:48] % 3

    def warm_started(optimizer_kwargs):
        monkeypatch.setattr(
            _network_base.TrainedNetworkClassifier,
            "_optimizer_kwargs",
            lambda self, device: optimizer_kwargs,
        )
        clf = _toy_cnn(warm_start=True, optimizer="adamw", batch_size=8).fit(X, y)
        clf.predict(X)
        return clf.fit(X, y).predict_proba(IMAGES[48:80])

    fused, plain = warm_started({"optimizer__fused": True}), warm_started({})
    np.testing.assert_allclose(fused, plain, atol=1e-6)
