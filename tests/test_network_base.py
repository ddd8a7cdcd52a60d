"""What every network estimator owes its users, checked on images and vectors alike.

scikit-learn's common checks feed 2-D arrays only; these run the same promises through image
backbones (the toy ConvNet), warm starts and domains: atomic fits, untouched global RNGs,
devices refused before any work, pickles that load anywhere, inputs checked up front.
"""

import io
import os
import pickle
import pkgutil
import subprocess
import sys
import threading
import warnings
from importlib import import_module

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import Dataset, ValidSplit
from torch import nn
from torchvision.transforms.v2 import RandomHorizontalFlip

import sktransfer
from sktransfer._network_base import NetworkEstimator
from sktransfer.backbones._toy import toy_cnn
from sktransfer.domain_adaptation import DANNClassifier
from sktransfer.domain_adaptation._dann_network import DomainRows, PairedBatches
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.fine_tuning import FineTuneClassifier
from sktransfer.pipeline import make_da_pipeline
from sktransfer.utils._skorch import (
    InMemoryBatches,
    ModeSetOnChange,
    OneSyncPerEpoch,
    steps_per_epoch,
    train_loader,
)
from sktransfer.utils._torch import (
    resolved_precision,
    rng_kept,
    run_network,
    seeded,
    torch_seed,
)
from sktransfer.zero_shot import EmbeddingZeroShot

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(24, 32, 32, 3), dtype=np.uint8)
LABELS = np.array(["cat", "dog", "owl"] * 8)
VECTORS = RNG.normal(size=(30, 4)).astype(np.float32)
VECTOR_LABELS = (VECTORS[:, 0] > 0).astype(int)

CUDA = torch.cuda.is_available()

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _extractor(**params):
    return CNNCodeExtractor(**{"backbone": "toy_cnn", "random_state": 0, **params})


def _fine_tune(**params):
    return FineTuneClassifier(
        **{"backbone": "toy_cnn", "max_epochs": 2, "batch_size": 8, "random_state": 0, **params}
    )


def _dann(**params):
    return DANNClassifier(
        **{
            "backbone": "toy_cnn",
            "hidden_layer_sizes": (8,),
            "domain_hidden_layer_sizes": (8,),
            "max_epochs": 2,
            "batch_size": 8,
            "random_state": 0,
            **params,
        }
    )


def _embedding_zero_shot(labels=(0, 1), **params):
    table = dict(zip(labels, np.eye(len(labels), 5), strict=True))
    return EmbeddingZeroShot(
        table, **{"candidates": "seen", "max_epochs": 2, "random_state": 0, **params}
    )


# (estimator factory, fit arguments) on images, or on vectors for a network that takes only
# vectors; DANN adapts to unlabelled target rows.
CASES = {
    "CNNCodeExtractor": (_extractor, (IMAGES,), {}),
    "FineTuneClassifier": (_fine_tune, (IMAGES, LABELS), {}),
    "FineTuneClassifier-frozen": (_fine_tune, (IMAGES, LABELS), {}),
    "FineTuneClassifier-warm": (_fine_tune, (IMAGES, LABELS), {}),
    "DANNClassifier": (
        _dann,
        (IMAGES, np.r_[np.arange(16) % 3, np.full(8, -1)]),
        {"sample_domain": np.r_[np.ones(16), -np.ones(8)]},
    ),
    "EmbeddingZeroShot": (_embedding_zero_shot, (VECTORS, VECTOR_LABELS), {}),
}


def test_every_public_network_estimator_is_a_case_of_these_promises():
    # A new family is its algorithm plus a subclass of the base: these tests must reach it.
    public = set()
    for info in pkgutil.walk_packages(sktransfer.__path__, "sktransfer."):
        if "._" not in info.name:
            module = import_module(info.name)
            public |= {getattr(module, name) for name in getattr(module, "__all__", [])}
    networks = {
        c.__name__ for c in public if isinstance(c, type) and issubclass(c, NetworkEstimator)
    }
    assert networks == {name.split("-")[0] for name in CASES}


def _case(name, **params):
    factory, args, kwargs = CASES[name]
    if name.endswith("-frozen"):
        params = {"freeze_depth": 2, **params}
    if name.endswith("-warm"):
        params = {"warm_start": True, **params}
    return factory(**params), args, kwargs


def _inputs(name):
    return CASES[name][1][0]


def _outputs(estimator, X):
    method = "transform" if isinstance(estimator, CNNCodeExtractor) else "predict_proba"
    return getattr(estimator, method)(X)


# --- atomic fit ---------------------------------------------------------------------------


def _failing_fits(name):
    """Fits that must fail after validation started, each with its expected error."""
    estimator, args, kwargs = _case(name)
    X = args[0]
    fails = [
        (estimator.set_params(device="cpu"), (X[:0], *args[1:]), kwargs, ValueError),
        (clone(estimator).set_params(batch_size=0), args, kwargs, ValueError),
    ]
    if len(args) > 1:
        fails.append((clone(estimator), (X, args[1][:-3]), kwargs, ValueError))
    return fails


@pytest.mark.parametrize("name", CASES)
def test_a_failed_fit_leaves_an_unfitted_estimator_unfitted(name):
    for estimator, args, kwargs, error in _failing_fits(name):
        before = dict(vars(estimator))
        with pytest.raises(error):
            estimator.fit(*args, **kwargs)
        assert vars(estimator) == before
        with pytest.raises(NotFittedError):
            _outputs(estimator, _inputs(name))


@pytest.mark.parametrize("name", CASES)
def test_a_failed_refit_leaves_the_fitted_model_as_it_was(name):
    estimator, args, kwargs = _case(name, device="cpu")
    estimator.fit(*args, **kwargs)
    X = args[0]
    expected = _outputs(estimator, X)
    before = dict(vars(estimator))
    # Images of two channels; a table with a missing value.
    wrong = X[..., :2] if X.ndim == 4 else np.full_like(X, np.nan)
    with pytest.raises(ValueError):
        estimator.fit(wrong, *args[1:], **kwargs)
    assert vars(estimator) == before
    np.testing.assert_array_equal(_outputs(estimator, X), expected)


class _Interrupt(Callback):
    armed = False

    def on_epoch_end(self, net, **kwargs):
        if self.armed:
            raise RuntimeError("interrupted")


def test_a_warm_start_that_fails_mid_training_keeps_the_trained_network():
    interrupt = _Interrupt()
    clf = _fine_tune(device="cpu", warm_start=True, callbacks=[interrupt]).fit(IMAGES, LABELS)
    weights = {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}
    history = len(clf.net_.history)
    dict(clf.net_.callbacks_)["_Interrupt"].armed = True
    with pytest.raises(RuntimeError, match="interrupted"):
        clf.fit(IMAGES, LABELS)
    assert len(clf.net_.history) == history
    assert all(torch.equal(v, weights[k]) for k, v in clf.net_.module_.state_dict().items())


def _early_stopping():
    # No epoch improves the training loss by 10: training stops after its second epoch.
    return EarlyStopping(monitor="train_loss", patience=1, threshold=10, threshold_mode="abs")


TRAINED = [name for name in CASES if name != "CNNCodeExtractor"]


@pytest.mark.parametrize("name", TRAINED)
def test_early_stopping_ends_training_quietly_and_keeps_the_network(name):
    # skorch's EarlyStopping stops by raising KeyboardInterrupt, which is no user's interrupt.
    estimator, args, kwargs = _case(name, device="cpu", max_epochs=4, callbacks=[_early_stopping()])
    estimator.fit(*args, **kwargs)
    assert len(estimator.net_.history) == 2
    assert np.isfinite(_outputs(estimator, args[0])).all()


@pytest.mark.parametrize("name", TRAINED)
def test_a_training_the_user_interrupts_keeps_its_epochs_and_warns(name, monkeypatch):
    # skorch kept the epochs done, as scikit-learn's MLPClassifier does, without a word.
    train_step = NeuralNet.train_step

    def interrupted_in_second_epoch(net, batch, **fit_params):
        if len(net.history) == 2:
            raise KeyboardInterrupt
        return train_step(net, batch, **fit_params)

    monkeypatch.setattr(NeuralNet, "train_step", interrupted_in_second_epoch)
    estimator, args, kwargs = _case(name, device="cpu", max_epochs=4)
    with pytest.warns(UserWarning, match="Training interrupted by user in epoch 2;"):
        estimator.fit(*args, **kwargs)
    assert len(estimator.net_.history) == 2
    assert np.isfinite(_outputs(estimator, args[0])).all()


# --- diverged training --------------------------------------------------------------------


def _diverging(name):
    """A fit whose learning rate makes training diverge, with its arguments."""
    if name == "EmbeddingZeroShot":
        table = dict(zip("abc", np.random.default_rng(0).normal(size=(3, 5)), strict=True))
        estimator = EmbeddingZeroShot(
            table, candidates="seen", lr=1e20, device="cpu", random_state=0
        )
        return estimator, (VECTORS, np.array(["a", "b", "c"] * 10)), {}
    return _case(name, lr=1e12, optimizer="sgd", max_epochs=3, device="cpu")


@pytest.mark.parametrize(
    "name",
    ["FineTuneClassifier", "FineTuneClassifier-frozen", "DANNClassifier", "EmbeddingZeroShot"],
)
def test_a_diverged_training_is_refused_and_leaves_the_estimator_unfitted(name):
    # The network used to predict NaN probabilities (one class for every row) without a word.
    estimator, args, kwargs = _diverging(name)
    before = dict(vars(estimator))
    with pytest.raises(ValueError, match=r"Training diverged: .*Lower the learning rate lr"):
        estimator.fit(*args, **kwargs)
    assert vars(estimator) == before
    assert not hasattr(estimator, "net_")


def test_a_last_update_that_overflows_the_outputs_is_refused():
    # The loss of the last epoch (about 5e16) and the weights are finite, yet every logit is
    # inf after the last update, and every probability NaN.
    X = np.random.default_rng(0).integers(0, 256, size=(8, 16, 16, 3), dtype=np.uint8)
    clf = _fine_tune(lr=1e6, optimizer="sgd", max_epochs=3, batch_size="auto", device="cpu")
    with pytest.raises(ValueError, match="outputs on training rows are not finite"):
        clf.fit(X, [0, 1] * 4)


class _Poison(Callback):
    """Writes NaN into the network's parameters at the end of each epoch, once armed."""

    armed = False

    def on_epoch_end(self, net, **kwargs):
        if self.armed:
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))


def test_a_warm_start_that_diverges_keeps_the_trained_network():
    clf = _fine_tune(device="cpu", warm_start=True, callbacks=[_Poison()]).fit(IMAGES, LABELS)
    assert not hasattr(clf.net_, "_last_batch")  # no training batch kept with the model
    expected = clf.predict_proba(IMAGES)
    net = clf.net_
    dict(net.callbacks_)["_Poison"].armed = True
    with pytest.raises(ValueError, match="Training diverged: the training loss .* is nan"):
        clf.fit(IMAGES, LABELS)
    assert clf.net_ is net
    np.testing.assert_array_equal(clf.predict_proba(IMAGES), expected)


# --- global state -------------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_no_method_changes_the_global_rngs(name):
    estimator, args, kwargs = _case(name, device="cpu")
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()  # noqa: NPY002
    estimator.fit(*args, **kwargs)
    X = args[0]
    _outputs(estimator, X)
    if hasattr(estimator, "predict"):
        estimator.predict(X)
        labelled = args[1] != -1
        estimator.score(X[labelled], args[1][labelled])
    if hasattr(estimator, "transform"):
        estimator.transform(X)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    numpy_now = np.random.get_state()  # noqa: NPY002
    assert numpy_now[1].tolist() == numpy_state[1].tolist()


def _two_gpus(monkeypatch):
    """Pretend this machine has two GPUs, with host generators for their RNGs; record the GPUs
    whose RNGs each fork keeps (it keeps only the CPU's, as no GPU is really there)."""
    forked = []
    fork_rng = torch.random.fork_rng

    def recorded_fork_rng(devices=None, **kwargs):
        forked.append(list(devices))
        return fork_rng(devices=[], **kwargs)

    generators = (torch.Generator(), torch.Generator())
    monkeypatch.setattr(torch.random, "fork_rng", recorded_fork_rng)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "default_generators", generators)
    return forked, generators


@pytest.mark.parametrize(
    "device, kept",
    [(None, []), (torch.device("cpu"), []), (torch.device("cuda:1"), [1])],
)
def test_seeding_forks_and_seeds_the_rng_of_no_gpu_but_the_one_used(monkeypatch, device, kept):
    # Forking a GPU's RNG opens a CUDA context on it: on every GPU, at every fit, even on the CPU.
    forked, generators = _two_gpus(monkeypatch)
    with seeded(0, device) if device is not None else rng_kept():
        pass
    assert forked == [kept]
    seeds = [
        torch_seed(0) if index in kept else torch.Generator().initial_seed() for index in (0, 1)
    ]
    assert [generator.initial_seed() for generator in generators] == seeds


@pytest.mark.parametrize("name", ["CNNCodeExtractor", "FineTuneClassifier", "DANNClassifier"])
def test_without_random_state_the_seed_comes_from_numpys_global_rng(name):
    # As in scikit-learn's estimators: fit draws its seed from NumPy's global RNG, so that
    # np.random.seed repeats the fit; torch's global RNG never moves.
    first, args, kwargs = _case(name, random_state=None, device="cpu")
    second = clone(first)
    torch_state, numpy_state = torch.random.get_rng_state(), np.random.get_state()  # noqa: NPY002
    try:
        np.random.seed(0)  # noqa: NPY002
        untouched = np.random.randint(2**31)  # noqa: NPY002
        np.random.seed(0)  # noqa: NPY002
        first.fit(*args, **kwargs)
        assert np.random.randint(2**31) != untouched  # noqa: NPY002
        np.random.seed(0)  # noqa: NPY002
        second.fit(*args, **kwargs)
    finally:
        np.random.set_state(numpy_state)  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    np.testing.assert_array_equal(_outputs(first, IMAGES), _outputs(second, IMAGES))


@pytest.mark.parametrize("name", CASES)
def test_same_random_state_same_model(name):
    first, args, kwargs = _case(name, device="cpu")
    second = clone(first)
    X = args[0]
    np.testing.assert_array_equal(
        _outputs(first.fit(*args, **kwargs), X), _outputs(second.fit(*args, **kwargs), X)
    )


# --- devices --------------------------------------------------------------------------------


@pytest.mark.skipif(CUDA, reason="this machine has a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
@pytest.mark.parametrize("name", CASES)
def test_a_missing_gpu_is_refused_before_any_work(name, device):
    estimator, args, kwargs = _case(name, device=device)
    with pytest.raises(ValueError, match=f"device='{device}' cannot be used: CUDA"):
        estimator.fit(*args, **kwargs)
    assert not [k for k in vars(estimator) if k.endswith("_")]


@pytest.mark.skipif(
    getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
    reason="this machine has MPS",
)
def test_a_missing_mps_is_refused():
    with pytest.raises(ValueError, match="device='mps' cannot be used: Apple's MPS"):
        _extractor(device="mps").fit(IMAGES)


@pytest.mark.parametrize("device", ["gpu", "xla", 3])
def test_an_unknown_device_is_refused(device):
    with pytest.raises(ValueError, match="device"):
        _extractor(device=device).fit(IMAGES)


@pytest.mark.skipif(CUDA, reason="this machine has a GPU")
@pytest.mark.parametrize("name", CASES)
def test_a_model_whose_device_is_missing_predicts_on_the_cpu_with_a_warning(name):
    estimator, args, kwargs = _case(name, device="cpu")
    X = args[0]
    expected = _outputs(estimator.fit(*args, **kwargs), X)
    estimator.set_params(device="cuda")
    with pytest.warns(UserWarning, match="running on the CPU"):
        np.testing.assert_array_equal(_outputs(estimator, X), expected)


# --- persistence ----------------------------------------------------------------------------


def _joblib_round_trip(estimator):
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


def _pickle_round_trip(estimator):
    return pickle.loads(pickle.dumps(estimator))


@pytest.mark.parametrize("round_trip", [_pickle_round_trip, _joblib_round_trip])
@pytest.mark.parametrize("name", CASES)
def test_pickles_round_trip_and_hold_torch_state_in_one_cpu_mapped_blob(
    name, round_trip, monkeypatch
):
    estimator, args, kwargs = _case(name, device="cpu")
    estimator.fit(*args, **kwargs)
    state = estimator.__getstate__()
    assert isinstance(state["_torch_state"], bytes)
    assert not any(isinstance(v, (nn.Module, torch.Tensor)) for v in state.values())
    calls = []
    real_load = torch.load

    def recording_load(*load_args, **load_kwargs):
        calls.append(load_kwargs.get("map_location"))
        return real_load(*load_args, **load_kwargs)

    monkeypatch.setattr(torch, "load", recording_load)
    loaded = round_trip(estimator)
    assert calls[0] == "cpu"  # tensors saved on a GPU come back on the CPU
    X = args[0]
    np.testing.assert_array_equal(_outputs(loaded, X), _outputs(estimator, X))
    assert vars(estimator).keys() == vars(loaded).keys()


def test_a_network_estimator_with_metadata_requests_pickles():
    # The request points back to its estimator; pickled apart from it, in torch.save, it
    # recursed without end, so make_da_pipeline(DANNClassifier()) could not be pickled or
    # searched over in parallel.
    with sklearn.config_context(enable_metadata_routing=True):
        pipeline = make_da_pipeline(_dann(device="cpu"))
        pipeline.fit(*CASES["DANNClassifier"][1], **CASES["DANNClassifier"][2])
        loaded = _pickle_round_trip(pipeline)
        np.testing.assert_array_equal(loaded.predict_proba(IMAGES), pipeline.predict_proba(IMAGES))
        assert loaded[-1].get_metadata_routing().fit.requests["sample_domain"] is True


# --- backbones given as objects -------------------------------------------------------------


@pytest.mark.parametrize("factory", [_extractor, _fine_tune, _dann])
def test_a_users_backbone_is_copied_never_changed(factory):
    backbone = toy_cnn()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    strides = [p.stride() for p in backbone.parameters()]
    estimator = factory(backbone=backbone, device="cpu")
    y = None if factory is _extractor else np.arange(24) % 3
    estimator.fit(IMAGES, y)
    fitted = getattr(estimator, "backbone_", None)
    assert fitted is not backbone
    assert all(torch.equal(v, before[k]) for k, v in backbone.state_dict().items())
    assert [p.stride() for p in backbone.parameters()] == strides  # not made channels-last


def test_an_nn_module_instance_is_accepted_as_backbone():
    module = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    before = {k: v.clone() for k, v in module.state_dict().items()}
    clf = DANNClassifier(module, hidden_layer_sizes=(), max_epochs=2, device="cpu", random_state=0)
    assert clf.fit(VECTORS, VECTOR_LABELS).predict(VECTORS).shape == (30,)
    assert clf.transform(VECTORS).shape == (30, 8)
    assert all(torch.equal(v, before[k]) for k, v in module.state_dict().items())


# --- inputs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: _extractor(backbone="toy_mlp"),
        lambda: _fine_tune(backbone="toy_mlp"),
        lambda: _dann(backbone=None),
        lambda: _embedding_zero_shot(labels="abc"),
    ],
    ids=["CNNCodeExtractor", "FineTuneClassifier", "DANNClassifier", "EmbeddingZeroShot"],
)
def test_a_table_given_as_a_tensor_that_requires_grad_is_read(make):
    # Features computed with autograd on failed with torch's RuntimeError "Can't call numpy()
    # on Tensor that requires grad", in fit and at prediction; images were accepted.
    estimator = make().set_params(device="cpu")
    y = None if isinstance(estimator, CNNCodeExtractor) else np.array(["a", "b", "c"] * 10)
    X = torch.as_tensor(VECTORS).requires_grad_(True)
    expected = _outputs(clone(estimator).fit(VECTORS, y), VECTORS)
    np.testing.assert_array_equal(_outputs(estimator.fit(X, y), X), expected)
    assert X.grad is None


def test_colour_images_for_a_one_channel_network_are_refused_in_plain_words():
    # The message read "holds 1 or 1 channels".
    extractor = CNNCodeExtractor(toy_cnn(in_channels=1), device="cpu")
    with pytest.raises(ValueError, match=r"nor axis 3 \(NHWC\) holds 1 channel, as the network"):
        extractor.fit(IMAGES)


@pytest.mark.parametrize("name", ["FineTuneClassifier", "DANNClassifier"])
@pytest.mark.parametrize("callbacks", [["x"], [("name", 3)], [(1, Callback())]])
def test_bad_callbacks_are_refused_before_training(name, callbacks):
    estimator, args, kwargs = _case(name, device="cpu", callbacks=callbacks)
    with pytest.raises(TypeError, match="callbacks must hold skorch callbacks"):
        estimator.fit(*args, **kwargs)
    assert not hasattr(estimator, "net_")


@pytest.mark.parametrize(
    ("name", "param"),
    [
        ("CNNCodeExtractor", "batch_size"),
        ("CNNCodeExtractor", "image_size"),
        ("FineTuneClassifier", "max_epochs"),
        ("FineTuneClassifier", "freeze_depth"),
        ("FineTuneClassifier", "head_epochs"),
        ("DANNClassifier", "num_workers"),
    ],
)
def test_booleans_are_refused_where_a_count_is_expected(name, param):
    # bool is an int to Python: batch_size=True would silently mean 1.
    estimator, args, kwargs = _case(name, device="cpu", **{param: True})
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter.*Got True"):
        estimator.fit(*args, **kwargs)


def _wider_mlp():
    # Takes 5 features; VECTORS have 4.
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))


@pytest.mark.parametrize(
    ("estimator", "args"),
    [
        (_extractor(backbone=_wider_mlp()), (VECTORS,)),
        (_fine_tune(backbone=_wider_mlp()), (VECTORS, VECTOR_LABELS)),
        (_fine_tune(backbone=_wider_mlp(), freeze_depth="all"), (VECTORS, VECTOR_LABELS)),
        (_dann(backbone=_wider_mlp()), (VECTORS, VECTOR_LABELS)),
        # The Ganin ConvNet's 5x5 kernels on 2x2 images.
        (_dann(backbone=None, image_size=2), (IMAGES, np.arange(24) % 3)),
    ],
    ids=["extractor", "fine-tune", "fine-tune-frozen", "dann", "dann-small-images"],
)
def test_a_network_that_cannot_take_x_is_refused_by_name_before_training(estimator, args):
    with pytest.raises(ValueError, match="The network could not run on X: "):
        estimator.set_params(device="cpu").fit(*args)
    assert not [key for key in vars(estimator) if key.endswith("_")]


@pytest.mark.parametrize(
    "error", [torch.cuda.OutOfMemoryError("CUDA out of memory"), RuntimeError("a shape error")]
)
def test_only_errors_that_may_be_the_inputs_fault_become_value_errors(error):
    # Running out of GPU memory is not a bad X: it must reach the user as torch raised it.
    def forward(x):
        raise error

    expected = ValueError if type(error) is RuntimeError else type(error)
    with pytest.raises(expected):
        run_network(forward, [torch.zeros(2, 3)], device=torch.device("cpu"))


@pytest.mark.parametrize(
    "name, callbacks",
    [
        ("DANNClassifier", [("lr_schedule", Callback())]),
        ("FineTuneClassifier", [("head_first", Callback())]),
        ("FineTuneClassifier", [("train_loss", Callback())]),
        ("FineTuneClassifier", [("mine", Callback()), ("mine", Callback())]),
    ],
)
def test_callback_names_the_net_takes_already_are_refused_before_training(name, callbacks):
    # skorch refused them once the images were prepared, in its own words.
    params = {"head_epochs": 1} if name == "FineTuneClassifier" else {}
    estimator, args, kwargs = _case(name, device="cpu", callbacks=callbacks, **params)
    with pytest.raises(ValueError, match=f"callbacks names '{callbacks[0][0]}'"):
        estimator.fit(*args, **kwargs)


def test_named_callbacks_are_accepted():
    clf = _fine_tune(device="cpu", callbacks=[("mine", Callback())]).fit(IMAGES, LABELS)
    assert "mine" in dict(clf.net_.callbacks_)


class _EpochCounter(Callback):
    """Counts the epochs of the net it trains with, as skorch's callbacks keep their state."""

    def initialize(self):
        self.epochs_ = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs_ += 1


@pytest.mark.parametrize("name", ["FineTuneClassifier", "DANNClassifier"])
def test_fit_trains_with_copies_of_the_users_callbacks(name):
    # skorch trained with the user's objects: each fit, even a failed one, changed them, and a
    # callback given to two estimators was shared by both nets, each fit resetting the other's.
    counter, named = _EpochCounter(), _EpochCounter()
    first, args, kwargs = _case(name, device="cpu", callbacks=[counter, ("named", named)])
    first.fit(*args, **kwargs)
    second, _, _ = _case(name, device="cpu", max_epochs=1, callbacks=[counter])
    second.fit(*args, **kwargs)
    with pytest.raises(ValueError):
        second.fit(args[0][:, :, :, :2], *args[1:], **kwargs)  # two channels
    assert vars(counter) == vars(named) == {}
    assert first.get_params()["callbacks"][0] is counter
    assert dict(first.net_.callbacks_)["_EpochCounter"].epochs_ == 2
    assert dict(first.net_.callbacks_)["named"].epochs_ == 2
    assert dict(second.net_.callbacks_)["_EpochCounter"].epochs_ == 1


class _Logger(Callback):
    """Writes each epoch's loss to a list, under a lock (a writer, a file: nothing deepcopy
    or pickle can copy)."""

    def __init__(self, sink):
        self.sink = sink
        self.lock = threading.Lock()

    def on_epoch_end(self, net, **kwargs):
        with self.lock:
            self.sink.append(net.history[-1, "train_loss"])


@pytest.mark.parametrize("name", ["FineTuneClassifier", "DANNClassifier", "EmbeddingZeroShot"])
def test_callbacks_that_hold_a_lock_train_and_write_where_the_user_reads(name):
    # Deep copies failed with "cannot pickle '_thread.lock' object", and filled copied lists.
    sink = []
    estimator, args, kwargs = _case(name, device="cpu", callbacks=[_Logger(sink)])
    estimator.fit(*args, **kwargs)
    assert len(sink) == 2
    assert dict(estimator.net_.callbacks_)["_Logger"].sink is sink


def test_dann_refuses_images_of_another_size_at_prediction():
    images = IMAGES[:, :28, :28]
    y = np.r_[np.arange(16) % 3, np.full(8, -1)]
    clf = DANNClassifier(max_epochs=1, device="cpu", random_state=0).fit(images, y)
    with pytest.raises(ValueError, match=r"fitted on images of size \(28, 28\).*\(32, 32\)"):
        clf.predict(IMAGES)
    assert clf.predict(images).shape == (24,)


def test_flattened_codes_need_the_size_seen_by_fit_when_nothing_resizes():
    extractor = _extractor(pooling="flatten", preprocess=False, layer="block1").fit(IMAGES)
    codes = extractor.transform(IMAGES)
    assert codes.shape[1] == len(extractor.get_feature_names_out())
    with pytest.raises(ValueError, match=r"fitted on images of size \(32, 32\)"):
        extractor.transform(IMAGES[:, :16, :16])


def test_images_of_mixed_sizes_that_nothing_resizes_are_refused_at_fit():
    from PIL import Image

    images = [Image.fromarray(IMAGES[0]), Image.fromarray(IMAGES[1, :16, :16])]
    with pytest.raises(ValueError, match="differ in size.*image_size"):
        _extractor(preprocess=False).fit(images)


def test_warm_start_accepts_a_column_vector_y():
    clf = _fine_tune(device="cpu", warm_start=True).fit(IMAGES, LABELS)
    with pytest.warns(DataConversionWarning):
        clf.fit(IMAGES, LABELS[:, None])
    assert len(clf.net_.history) == 4


@pytest.mark.parametrize("labels", [["a", None, "b"], ["a", 1, "b"]], ids=["None", "int"])
@pytest.mark.parametrize("name", ["FineTuneClassifier", "DANNClassifier", "EmbeddingZeroShot"])
def test_labels_of_mixed_types_are_refused_by_name(name, labels):
    y = np.array(labels * 8, dtype=object)
    if name == "EmbeddingZeroShot":
        estimator = EmbeddingZeroShot({"a": [1, 0], "b": [0, 1], "c": [1, 1]}, device="cpu")
        args = (VECTORS[:24], y)
    else:
        estimator, (X, _), _ = _case(name, device="cpu")
        args = (X, y)
    with pytest.raises(TypeError, match=r"y mixes labels of types \[.*'str'\]"):
        estimator.fit(*args)


def test_an_empty_y_is_refused_by_name():
    with pytest.raises(ValueError, match=r"labelled rows are none \(y is empty\)"):
        _fine_tune(device="cpu").fit(IMAGES[:0], LABELS[:0])


@pytest.mark.parametrize("name", ["FineTuneClassifier", "DANNClassifier"])
def test_images_without_y_are_refused_in_scikit_learns_words(name):
    # It said "Expected array-like (array or non-string sequence), got None".
    estimator, args, kwargs = _case(name, device="cpu")
    with pytest.raises(ValueError, match=f"{name} requires y to be passed, but the target y is"):
        estimator.fit(args[0], None, **kwargs)
    assert not hasattr(estimator, "net_")


def test_a_warm_start_without_y_is_refused_in_scikit_learns_words():
    # It said "y should be a 1d array, got an array of shape () instead".
    clf = _fine_tune(device="cpu", warm_start=True).fit(IMAGES, LABELS)
    with pytest.raises(ValueError, match="FineTuneClassifier requires y to be passed"):
        clf.fit(IMAGES, None)


def test_unlabelled_rows_are_named_when_too_few_classes_remain():
    y = np.r_[np.ones(16, dtype=int), np.full(8, -1)]
    with pytest.raises(ValueError, match="8 rows with y == -1 were taken as unlabelled"):
        _dann(device="cpu").fit(IMAGES, y)


# --- feature names and outputs ----------------------------------------------------------------


def test_dann_features_have_names_and_follow_set_output():
    pd = pytest.importorskip("pandas")
    clf = _dann(device="cpu").set_output(transform="pandas")
    clf.fit(*CASES["DANNClassifier"][1], **CASES["DANNClassifier"][2])
    features = clf.transform(IMAGES)
    assert isinstance(features, pd.DataFrame)
    assert list(features.columns) == [f"dannclassifier{i}" for i in range(8)]


def test_decision_function_orders_like_predict_proba():
    clf = _fine_tune(device="cpu").fit(IMAGES, LABELS)
    scores, proba = clf.decision_function(IMAGES), clf.predict_proba(IMAGES)
    np.testing.assert_array_equal(scores.argmax(1), proba.argmax(1))
    np.testing.assert_allclose(proba.sum(1), 1.0)


# --- precision and compilation ----------------------------------------------------------------


def test_bfloat16_codes_are_close_to_float32_ones():
    full = _extractor(device="cpu", precision="float32").fit_transform(IMAGES)
    half = _extractor(device="cpu", precision="bfloat16").fit_transform(IMAGES)
    assert not np.array_equal(full, half)
    np.testing.assert_allclose(half, full, atol=0.05 * np.abs(full).max())


@pytest.mark.parametrize(
    "capability, precision", [((7, 0), "float32"), ((7, 5), "float32"), ((8, 0), "bfloat16")]
)
def test_auto_precision_is_bfloat16_only_on_gpus_fast_at_it(monkeypatch, capability, precision):
    # A V100 (7.0) or a T4 (7.5) has no bfloat16 tensor cores; an A100 (8.0) has.
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert resolved_precision("auto", torch.device("cuda")) == precision
    assert resolved_precision("auto", torch.device("cpu")) == "float32"
    assert resolved_precision("float32", torch.device("cuda")) == "float32"


@pytest.mark.slow
def test_compiled_codes_equal_eager_ones():
    eager = _extractor(device="cpu").fit_transform(IMAGES)
    compiled = _extractor(device="cpu", compile=True).fit_transform(IMAGES)
    np.testing.assert_allclose(compiled, eager, atol=1e-4)


# --- GPU ------------------------------------------------------------------------------------

_FINE_TUNE_VARIANTS = {
    "head-only": {"freeze_depth": "all"},
    "freeze-2": {"freeze_depth": 2},
    "whole": {},
    "l2sp": {"regularization": "l2sp", "freeze_depth": 1},
    "lwf": {"regularization": "lwf", "freeze_depth": 1},
    "head-first": {"head_epochs": 1},
    "reinit": {"reinit_layers": ["block3"]},
    # A picklable transform: a lambda cannot be pickled, on any device.
    "augment": {"augment": RandomHorizontalFlip(p=1.0)},
}

# One process for every model: importing torch dominates a process's start.
_LOAD_ON_CPU = """
import sys, joblib, numpy as np, torch
assert not torch.cuda.is_available()
for model in sys.argv[1:]:
    estimator = joblib.load(model)
    method = "transform" if hasattr(estimator, "layer_name_") else "predict_proba"
    inputs = np.load(model + ".inputs.npy")
    np.save(model + ".npy", getattr(estimator.set_params(device="cpu"), method)(inputs))
"""


def _fitted_on(device):
    """Every network estimator fitted on ``device``: name, estimator, inputs to predict."""
    yield "CNNCodeExtractor", _extractor(device=device).fit(IMAGES), IMAGES
    for variant, params in _FINE_TUNE_VARIANTS.items():
        clf = _fine_tune(device=device, **params).fit(IMAGES, LABELS)
        yield f"FineTune-{variant}", clf, IMAGES
    name = "DANNClassifier"
    yield name, _dann(device=device).fit(*CASES[name][1], **CASES[name][2]), IMAGES
    zero_shot = EmbeddingZeroShot(
        {"a": [1, 0], "b": [0, 1], "c": [1, 1]}, candidates="seen", device=device, random_state=0
    )
    yield "EmbeddingZeroShot", zero_shot.fit(VECTORS, np.array(["a", "b", "c"] * 10)), VECTORS


@pytest.mark.gpu
@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_models_fitted_on_a_gpu_load_and_predict_in_a_cpu_only_process(tmp_path):
    on_gpu = {}
    for name, estimator, inputs in _fitted_on("cuda"):
        joblib.dump(estimator, tmp_path / f"{name}.joblib")
        np.save(tmp_path / f"{name}.joblib.inputs.npy", inputs)
        on_gpu[name] = _outputs(estimator, inputs)
    models = [str(tmp_path / f"{name}.joblib") for name in on_gpu]
    subprocess.run(
        [sys.executable, "-c", _LOAD_ON_CPU, *models],
        check=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    for name, outputs in on_gpu.items():
        # bfloat16 autocast on the GPU, float32 on the CPU.
        on_cpu = np.load(tmp_path / f"{name}.joblib.npy")
        np.testing.assert_allclose(on_cpu, outputs, atol=0.05, err_msg=name)


_ON_THE_GPU = pytest.param(
    "cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")]
)


def test_a_net_fitted_on_a_gpu_this_machine_lacks_loads_on_the_cpu(monkeypatch):
    # Fitted on cuda:1 as far as the pickles tell, loaded where CUDA has one device.
    saved = {}
    for name, estimator, inputs in _fitted_on("cpu"):
        if hasattr(estimator, "net_"):
            expected = _outputs(estimator, inputs)
            estimator.net_.device = torch.device("cuda:1")
            saved[name] = pickle.dumps(estimator), inputs, expected
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    loaded = {name: pickle.loads(blob) for name, (blob, _, _) in saved.items()}
    monkeypatch.undo()
    for name, estimator in loaded.items():
        _, inputs, expected = saved[name]
        assert estimator.net_.device == torch.device("cpu"), name
        np.testing.assert_array_equal(_outputs(estimator, inputs), expected, err_msg=name)


@pytest.mark.parametrize("device", ["cpu", _ON_THE_GPU])
def test_every_fitted_network_round_trips_in_process(device):
    for name, estimator, inputs in _fitted_on(device):
        loaded = pickle.loads(pickle.dumps(estimator))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_allclose(
                _outputs(loaded, inputs), _outputs(estimator, inputs), atol=1e-5, err_msg=name
            )


# --- the training loop's skorch glue ----------------------------------------------------------


class _DeferredEverywhere(OneSyncPerEpoch, NeuralNetClassifier):
    def _defer_losses(self):
        return True


def _toy_net(cls):
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    return cls(
        module, criterion=nn.CrossEntropyLoss, max_epochs=3, batch_size=7, train_split=ValidSplit(4)
    )


def test_losses_read_once_per_epoch_give_skorchs_history():
    with torch.random.fork_rng():
        plain = _toy_net(NeuralNetClassifier).fit(VECTORS, VECTOR_LABELS)
    with torch.random.fork_rng():
        deferred = _toy_net(_DeferredEverywhere).fit(VECTORS, VECTOR_LABELS)
    for key in ["train_loss", "valid_loss", "train_batch_count", "valid_batch_count"]:
        assert deferred.history[:, key] == plain.history[:, key], key
    assert deferred.history[-1, "batches", -1, "valid_loss"] == pytest.approx(
        plain.history[-1, "batches", -1, "valid_loss"]
    )


def test_in_memory_batches_cover_every_row_once_per_epoch():
    X = {"x": torch.arange(10.0)[:, None], "w": np.arange(10)}
    dataset = Dataset(X, np.arange(10))
    ordered = list(InMemoryBatches(dataset, batch_size=4))
    assert [len(y) for _, y in ordered] == [4, 4, 2]
    assert np.concatenate([y for _, y in ordered]).tolist() == list(range(10))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        shuffled = list(InMemoryBatches(dataset, batch_size=4, shuffle=True))
    rows = np.concatenate([y for _, y in shuffled])
    assert sorted(rows.tolist()) == list(range(10)) and rows.tolist() != list(range(10))
    for batch, y in shuffled:
        assert batch["x"][:, 0].long().tolist() == batch["w"].tolist() == y.tolist()
    subset = torch.utils.data.Subset(dataset, [1, 3, 5, 7])
    assert np.concatenate([y for _, y in InMemoryBatches(subset, 2)]).tolist() == [1, 3, 5, 7]


@pytest.mark.parametrize(
    "n_rows, steps", [(1, 1), (2, 1), (32, 1), (33, 1), (34, 2), (64, 2), (65, 2), (66, 3)]
)
def test_an_epoch_leaves_out_a_last_batch_of_one_row(n_rows, steps):
    # BatchNorm cannot normalise one row in training mode.
    dataset = Dataset(np.zeros((n_rows, 2), np.float32), np.arange(n_rows))
    assert steps_per_epoch(n_rows, 32) == steps
    for batches in (InMemoryBatches(dataset, 32, shuffle=True), train_loader(dataset, 32)):
        sizes = [len(y) for _, y in batches]
        assert len(sizes) == len(batches) == steps
        assert sizes[-1] > 1 or n_rows == 1


def _one_row_over(n_rows=33):
    """Images of a network whose BatchNorm sees 1x1 maps (toy_cnn at 4 px)."""
    X = np.random.default_rng(0).integers(0, 256, (n_rows, 16, 16, 3), dtype=np.uint8)
    return X, np.arange(n_rows) % 3


@pytest.mark.parametrize("freeze_depth", [0, 1])
def test_fine_tuning_fits_when_one_row_is_left_over(freeze_depth):
    """Before: 33 rows in batches of 32 failed in torch ("Expected more than 1 value per
    channel when training"), so a cross-validation could fail on its fold sizes alone."""
    X, y = _one_row_over()
    clf = _fine_tune(image_size=4, batch_size=32, freeze_depth=freeze_depth, device="cpu")
    clf.fit(X, y)
    assert clf.net_.history[-1, "batches", -1, "train_batch_size"] == 32


@pytest.mark.parametrize("with_target", [False, True])
def test_dann_fits_when_one_source_row_is_left_over(with_target):
    X, y = _one_row_over(23 if with_target else 21)
    sample_domain = np.where(np.arange(len(X)) < 21, 1, -1)
    y = np.where(sample_domain > 0, y, -1)
    dann = DANNClassifier("toy_cnn", image_size=4, batch_size=10, max_epochs=1, device="cpu")
    dann.fit(X, y, sample_domain=sample_domain if with_target else None)
    assert len(dann.net_.history[-1, "batches"]) == 2  # 21 source rows: 10, 10, and 1 left out


# torch warns once per process: a fresh one sees the first read-only table.
_READ_ONLY_TABLES = """
import numpy as np
from sktransfer.domain_adaptation import DANNClassifier
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.fine_tuning import FineTuneClassifier
from sktransfer.pipeline import make_da_pipeline

X = np.random.default_rng(0).normal(size=(24, 5)).astype(np.float32)
X.setflags(write=False)  # as pandas 3 hands out a DataFrame's values
y = np.arange(24) % 3
FineTuneClassifier("toy_mlp", max_epochs=1, random_state=0).fit(X, y).predict(X)
DANNClassifier("toy_mlp", max_epochs=1, random_state=0).fit(X, y).predict(X)
CNNCodeExtractor("toy_mlp", random_state=0).fit(X).transform(X)
"""


def test_read_only_tables_reach_torch_without_a_warning():
    """Before: torch's "The given NumPy array is not writable" for a pandas 3 DataFrame."""
    subprocess.run([sys.executable, "-W", "error", "-c", _READ_ONLY_TABLES], check=True)


class _CountedModes(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.modes = []

    def train(self, mode=True):
        self.modes.append(mode)
        return super().train(mode)

    def forward(self, x):
        return self.linear(x)


def test_the_train_mode_is_set_when_it_changes_not_at_every_step():
    class Net(ModeSetOnChange, NeuralNetClassifier):
        pass

    X, y = np.zeros((64, 2), np.float32), np.arange(64) % 2
    params = {"max_epochs": 2, "batch_size": 8, "train_split": None, "verbose": 0}
    plain = NeuralNetClassifier(_CountedModes, **params).fit(X, y)
    ours = Net(_CountedModes, **params).fit(X, y)
    assert plain.module_.modes.count(True) >= 16  # skorch: before each of the 16 steps
    assert ours.module_.modes.count(True) <= 1
    assert ours.module_.training


def _count_copies_to(monkeypatch, device):
    """Count the tensors copied to ``device`` (``meta`` stands in for a GPU here)."""
    copies = []
    to = torch.Tensor.to

    def counted(tensor, *args, **kwargs):
        moved = to(tensor, *args, **kwargs)
        if moved.device.type == device and tensor.device.type != device:
            copies.append(tensor.shape)
        return moved

    monkeypatch.setattr(torch.Tensor, "to", counted)
    return copies


def test_in_memory_batches_copy_the_order_to_the_device_once_per_epoch(monkeypatch):
    # A copy from pageable host memory at each step makes each step wait for the last one.
    dataset = Dataset(torch.zeros(10, 3, device="meta"), torch.zeros(10, device="meta"))
    copies = _count_copies_to(monkeypatch, "meta")
    batches = list(InMemoryBatches(dataset, batch_size=4, shuffle=True))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    assert copies == [(10,)]


def test_dann_batches_copy_the_order_to_the_device_once_per_epoch(monkeypatch):
    is_target = torch.tensor([False] * 10 + [True] * 6)
    rows = DomainRows(
        torch.zeros(16, 3, device="meta"),
        torch.zeros(16, device="meta"),
        is_target,
        source_seed=0,
        target_seed=1,
    )
    copies = _count_copies_to(monkeypatch, "meta")
    batches = list(PairedBatches(rows, batch_size=4))
    assert [batch["is_target"].tolist().count(False) for batch, _ in batches] == [4, 4, 2]
    assert [len(y) for _, y in batches] == [8, 8, 4]
    assert copies == [(10,), (12,)]  # the source order, and two passes over the target rows


def test_verbose_shows_progress_for_transform_only(capsys):
    extractor = _extractor(verbose=1, batch_size=8, device="cpu").fit(IMAGES)
    assert "batch" not in capsys.readouterr().err  # fit encodes one image, silently
    extractor.transform(IMAGES)
    assert "3/3" in capsys.readouterr().err


# --- shared documentation ---------------------------------------------------------------------


@pytest.mark.parametrize("cls", [CNNCodeExtractor, FineTuneClassifier, DANNClassifier])
def test_shared_docs_fill_whole_entries(cls):
    from numpydoc.docscrape import ClassDoc

    doc = ClassDoc(cls)
    parameters = {entry.name for entry in doc["Parameters"]}
    assert {"device", "precision", "num_workers", "random_state"} <= parameters
    attributes = {entry.name for entry in doc["Attributes"]}
    assert {"n_features_in_", "feature_names_in_"} <= attributes
    assert "%(" not in cls.__doc__ + cls.fit.__doc__


# --- batch_size="auto" ----------------------------------------------------------------------

MANY_IMAGES = RNG.integers(0, 256, size=(300, 12, 12, 3), dtype=np.uint8)
MANY_LABELS = np.array(["cat", "dog", "owl"] * 100)


def _record_forward_batches(monkeypatch):
    """The sizes of the batches every forward pass without gradients goes through."""
    sizes = []
    real_run = NetworkEstimator._run

    def recording_run(self, module, forward, batches, device, progress=None):
        def counted():
            for batch in batches:
                sizes.append(len(batch))
                yield batch

        return real_run(self, module, forward, counted(), device, progress)

    monkeypatch.setattr(NetworkEstimator, "_run", recording_run)
    return sizes


def _fit_many(name, **params):
    common = {"random_state": 0, "backbone": "toy_cnn", "image_size": 12, **params}
    if name == "CNNCodeExtractor":
        return CNNCodeExtractor(**common).fit(MANY_IMAGES), MANY_IMAGES
    if name == "FineTuneClassifier":
        estimator = FineTuneClassifier(max_epochs=1, **common)
        return estimator.fit(MANY_IMAGES, MANY_LABELS), MANY_IMAGES
    y = np.where(np.arange(300) < 200, np.arange(300) % 3, -1)
    estimator = DANNClassifier(max_epochs=1, hidden_layer_sizes=(8,), **common)
    return estimator.fit(MANY_IMAGES, y), MANY_IMAGES


# Rows per optimisation step under "auto": the same on every device.
_STEP = {"FineTuneClassifier": 32, "DANNClassifier": 64}


@pytest.mark.parametrize("device", ["cpu", _ON_THE_GPU])
@pytest.mark.parametrize("name", ["CNNCodeExtractor", "FineTuneClassifier", "DANNClassifier"])
def test_auto_batch_size_trains_alike_everywhere_and_infers_gpu_sized(name, device, monkeypatch):
    estimator, X = _fit_many(name, device=device)
    if name in _STEP:
        assert estimator.net_.batch_size == _STEP[name]
    sizes = _record_forward_batches(monkeypatch)
    _outputs(estimator, X)
    on_cpu = _STEP.get(name, 64)
    assert max(sizes) == (on_cpu if device == "cpu" else 256)


@pytest.mark.parametrize("device", ["cpu", _ON_THE_GPU])
@pytest.mark.parametrize("name", ["CNNCodeExtractor", "FineTuneClassifier", "DANNClassifier"])
def test_an_integer_batch_size_is_used_for_steps_and_forward_passes(name, device, monkeypatch):
    estimator, X = _fit_many(name, device=device, batch_size=40)
    if name in _STEP:
        assert estimator.net_.batch_size == 40
    sizes = _record_forward_batches(monkeypatch)
    _outputs(estimator, X)
    assert max(sizes) == 40


@pytest.mark.parametrize(
    "changed", [{"image_size": 8}, {"preprocess": False}, {"pooling": "flatten"}], ids=str
)
def test_set_params_after_fit_leaves_the_codes_and_their_cache_to_the_next_fit(tmp_path, changed):
    # The codes were computed with the fitted settings but cached under the new ones, which a
    # later extractor fitted with those settings then read; pooling changed the codes' width
    # under get_feature_names_out.
    settings = {"device": "cpu", "image_size": 16, "memory": str(tmp_path)}
    extractor = _extractor(**settings).fit(IMAGES)
    expected = extractor.transform(IMAGES)
    extractor.set_params(**changed)
    codes = extractor.transform(IMAGES)
    np.testing.assert_array_equal(codes, expected)
    assert codes.shape[1] == len(extractor.get_feature_names_out())
    fresh = _extractor(**{**settings, **changed}).fit(IMAGES)
    truth = _extractor(**{**settings, **changed, "memory": None}).fit(IMAGES)
    np.testing.assert_allclose(fresh.transform(IMAGES), truth.transform(IMAGES), atol=1e-6)


def test_set_params_image_size_after_fit_leaves_predictions_to_the_next_fit(tmp_path):
    for memory in (None, str(tmp_path)):
        clf = _fine_tune(device="cpu", image_size=16, memory=memory).fit(IMAGES, LABELS)
        expected = clf.predict_proba(IMAGES)
        clf.set_params(image_size=8)
        np.testing.assert_array_equal(clf.predict_proba(IMAGES), expected)


def test_move_net_leaves_the_step_counter_where_torch_puts_it():
    # Beside a 0-d weight the counter has the weight's shape, and was remade like the weight
    # (its dtype, and on a GPU its device, where a plain Adam wants it on the CPU in float32).
    from types import SimpleNamespace

    from sktransfer._network_base import move_net

    module = nn.Module()
    module.scale = nn.Parameter(torch.tensor(2.0, dtype=torch.float64))
    optimizer = torch.optim.Adam(module.parameters())
    module.scale.sum().backward()
    optimizer.step()
    net = SimpleNamespace(module_=module, criterion_=nn.Identity(), optimizer_=optimizer)
    move_net(net, "cpu")
    step = optimizer.state[module.scale]["step"]
    assert step.dtype == torch.float32 and step.device.type == "cpu"
