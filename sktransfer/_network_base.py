"""The base of every estimator that runs a torch network.

It owns what network estimators share, so that each of them is its algorithm plus a subclass:
the shared parameters, their constraints and documentation; device checks made before any
work; a backbone built without touching the user's object; input checks; the one data path
(a torch ``DataLoader``, workers decoding files, pinned non-blocking copies, preprocessing on
the network's device) and the one inference loop (:func:`~sktransfer.utils._torch.run_network`);
persistence that loads a GPU-fitted model on a CPU-only machine; and atomic fits.
"""

from __future__ import annotations

import copy
import io
import os
import re
import warnings
from dataclasses import dataclass
from enum import Enum
from numbers import Integral, Real

import numpy as np
import torch
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import MetadataRequest
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from skorch.callbacks import Callback
from skorch.exceptions import DeviceWarning
from torch import nn

from .backbones import Backbone, load_backbone
from .utils._atomic import atomic_fit
from .utils._images import Preprocessor, check_images, check_input_kind, is_table
from .utils._sklearn import Integers, Interval, StrOptions, check_labels
from .utils._torch import (
    check_device,
    inference_device,
    input_errors_named,
    module_device,
    run_network,
)

# Rows per forward pass without gradients on a GPU under batch_size="auto": the batch at which
# benchmarks/bench_gpu.py measures codes of 224 px images.
ACCELERATOR_BATCH_SIZE = 256

OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}

# Documentation of the shared parameters, written once: docstrings name them as %(name)s.
SHARED_PARAMETERS = {
    "weights": """weights : None, str, path or weights enum, default=None
        Pretrained weights, see :func:`~sktransfer.backbones.load_backbone`: ``"imagenet"``,
        ``"DEFAULT"``, a torchvision weights enum or name, or a local file. ``None`` keeps a
        random initialisation seeded by ``random_state``.""",
    "image_size": """image_size : int, default=None
        Resize images so that their shorter side is ``image_size`` and keep the centre square,
        instead of the backbone's own size. Ignored for vector backbones.""",
    "device": """device : str or torch.device, default="auto"
        Where the network runs: ``"auto"`` takes CUDA when a GPU is visible, then Apple's
        ``"mps"``, else the CPU. A device this machine lacks is refused by ``fit`` before any
        work; a fitted model loaded where its device is missing runs on the CPU, with a
        warning.""",
    "precision": """precision : {"auto", "float32", "bfloat16"}, default="auto"
        Numeric precision of the forward passes that need no gradient (codes, frozen layers,
        predictions): ``"auto"`` is bfloat16 autocast on a CUDA GPU of compute capability 8.0
        (Ampere) or newer, and float32 elsewhere.""",
    # Fitted attributes, documented under "Attributes".
    "input_attributes": """n_features_in_ : int
        Number of features of 2-D input, when the network takes vectors.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the input features, when the network takes vectors given as a DataFrame.""",
    "num_workers": """num_workers : int, default=0
        Worker processes of the ``DataLoader`` that decodes image files; ``0`` decodes in the
        calling process. Arrays already in memory are sliced, not decoded.""",
    "compile": """compile : bool, default=False
        Run the forward passes that need no gradient through ``torch.compile``. The first call
        pays the compilation; it pays off on GPUs and large inputs.""",
    "verbose": """verbose : int, default=0
        Progress output when positive.""",
    "random_state": """random_state : int, RandomState instance or None, default=None
        Seeds every random choice of the network (initial weights, batch order); torch's
        global RNG is left as it was. With an integer no global RNG moves, and fits with the
        same integer are identical on the CPU; with ``None`` the seed is drawn from NumPy's
        global RNG, as in scikit-learn.""",
    "X": """X : images or array-like of shape (n_samples, n_features)
        As in :meth:`fit`: images, or a 2-D array for a network that takes vectors.""",
    "callbacks": """callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (instances of ``skorch.callbacks.Callback``, or
        ``(name, callback)`` pairs), e.g. ``skorch.callbacks.EarlyStopping``. Each fit trains
        with shallow copies, left as trained in ``net_.callbacks_`` (read their state there):
        the objects given are not changed, and what they refer to (a log file, a writer) is
        shared.""",
}


def fill_doc(cls):
    """Replace ``%(name)s`` in the docstrings of ``cls`` and of the methods it defines by the
    shared parameter's documentation, indented as the placeholder is."""

    def replace(match):
        newline_indent, name = match.group(1), match.group(2)
        first, *rest = SHARED_PARAMETERS[name].split("\n")
        # Entries are written for a class docstring (names at 4 spaces, text at 8): re-indent.
        return newline_indent + first + "".join(newline_indent + line[4:] for line in rest)

    for owner in [cls, *(v for v in vars(cls).values() if callable(v) and v.__doc__)]:
        if owner.__doc__:
            owner.__doc__ = re.sub(r"(\n[ ]*)%\((\w+)\)s", replace, owner.__doc__)
    return cls


@dataclass(frozen=True)
class InputSpec:
    """What a fitted network takes: its input kind, channels, preprocessing and image size."""

    kind: str
    channels: int | None
    preprocessing: object
    image_size: int | None
    normalize: bool = True
    # (height, width) of the images seen by fit when nothing resizes them, else None.
    fit_size: tuple | None = None

    @property
    def resizes(self):
        return self.image_size is not None or (
            self.normalize and self.preprocessing.size is not None
        )


class NetworkEstimator(BaseEstimator):
    """Shared ground of the estimators that run a torch network (private).

    Subclasses extend ``_parameter_constraints`` with their own, store their parameters in
    ``__init__`` and implement their algorithm; ``fit`` is made atomic automatically.
    """

    _parameter_constraints: dict = {
        "backbone": [str, callable, Backbone],
        "weights": [None, str, os.PathLike, Enum],
        "image_size": [Integers(1, None, closed="left"), None],
        "batch_size": [Integers(1, None, closed="left"), StrOptions({"auto"})],
        "device": [str, torch.device],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "num_workers": [Integers(0, None, closed="left")],
        "compile": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    # What batch_size="auto" means on the CPU; each subclass states its own.
    _default_batch_size = 64

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "fit" in cls.__dict__ and not getattr(cls.fit, "__atomic__", False):
            cls.fit = atomic_fit(cls.fit)

    # -- fit-time checks --------------------------------------------------------------------

    def _fit_device(self):
        return check_device(self.device)

    def _predict_device(self):
        return inference_device(self.device)

    def _build_backbone(self, in_features=None):
        """The backbone as a new object: the user's network is never changed nor shared."""
        if isinstance(self.backbone, nn.Module):
            # A Backbone or a module instance: weights, if any, are loaded into the copy.
            return load_backbone(copy.deepcopy(self.backbone), self.weights)
        return load_backbone(self.backbone, self.weights, in_features=in_features)

    def _validate_fit_input(self, X, y=None, **check_params):
        """``(X, y, vectors)``: a validated table, or images left as they are for later."""
        self._check_y_given(y)
        vectors = is_table(X)
        if vectors:
            X = detached(X)
            if y is None:
                X = validate_data(self, X, dtype=np.float32, **check_params)
            else:
                X, y = validate_data(self, X, y, dtype=np.float32, **check_params)
            X = writable(X)
        elif y is not None:
            y = column_or_1d(y, warn=True)
        return X, y, vectors

    def _check_y_given(self, y):
        if y is None and get_tags(self).target_tags.required:
            # scikit-learn's own words, which its checks and users' habits look for.
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )

    def _input_spec(self, backbone, images=None, *, normalize=True):
        """Check ``images`` against ``backbone`` and record what the network takes."""
        spec = InputSpec(
            kind=backbone.input_kind,
            channels=backbone.in_channels,
            preprocessing=backbone.preprocessing,
            image_size=self.image_size,
            normalize=normalize,
        )
        if images is None or spec.resizes:
            return spec
        sizes = set(images.sizes())
        if len(sizes) > 1:
            raise ValueError(
                f"The images differ in size (height, width): {sorted(sizes)[:4]}, and nothing "
                "resizes them. Pass image_size to resize every image to one size."
            )
        return InputSpec(**{**spec.__dict__, "fit_size": sizes.pop()})

    def _check_images(self, X, backbone, vectors):
        check_input_kind(backbone, vectors)
        if vectors:
            return None
        return check_images(X, channels=backbone.in_channels, num_workers=self.num_workers)

    # -- post-fit checks --------------------------------------------------------------------

    def _validate_input(self, X, *, same_size=False):
        """Validate ``X`` for the fitted network: a table of the fitted width, or images.

        ``same_size`` requires the size seen by ``fit`` when nothing resizes the images (the
        network's output width depends on it).
        """
        spec = self._input
        if spec.kind == "vector":
            return writable(validate_data(self, detached(X), dtype=np.float32, reset=False))
        if is_table(X):
            raise ValueError(
                "Got a 2-D array, but the network takes images: pass images as a 4-D array "
                "(n, C, H, W) or (n, H, W, C), a 3-D array of grayscale images, file paths or "
                "PIL images."
            )
        images = check_images(X, channels=spec.channels, num_workers=self.num_workers)
        if spec.resizes:
            return images
        sizes = set(images.sizes())
        if len(sizes) > 1 or (same_size and spec.fit_size not in sizes):
            raise ValueError(
                f"The network was fitted on images of size {spec.fit_size} (height, width), "
                f"and nothing resizes them, but X holds {sorted(sizes)[:4]}. Resize the images, "
                "or fit with image_size set so that every image is resized to one size."
            )
        return images

    # -- the data path and the inference loop -----------------------------------------------

    def _train_batch_size(self):
        """Rows per optimisation step. Under ``batch_size="auto"`` the same on every device,
        so that where a fit runs does not change what it learns."""
        return self._default_batch_size if self.batch_size == "auto" else self.batch_size

    def _inference_batch_size(self, device):
        """Rows per forward pass without gradients: GPU-sized on an accelerator under
        ``batch_size="auto"``, since the outputs do not depend on it."""
        if self.batch_size != "auto":
            return self.batch_size
        return self._default_batch_size if device.type == "cpu" else ACCELERATOR_BATCH_SIZE

    def _rows(self, inputs, device):
        """Rows already prepared (a table, or a frozen prefix's outputs), batch by batch."""
        return row_batches(torch.as_tensor(inputs), self._inference_batch_size(device))

    def _batches(self, X, device, spec=None):
        """The network's inputs, batch by batch: table rows, or prepared images on ``device``."""
        return input_batches(
            X,
            spec or self._input,
            self._inference_batch_size(device),
            device,
            num_workers=self.num_workers,
        )

    def _training_inputs(self, X, spec, device):
        """Training inputs as one float32 tensor, images preprocessed once, kept on the GPU
        when they fit there."""
        inputs = torch.cat([batch.cpu() for batch in self._batches(X, device, spec)])
        return keep_on_device(inputs, device)

    def _run(self, module, forward, batches, device, progress=None):
        """``forward`` (a method of ``module``) over ``batches``, as one float32 array."""
        module.eval()
        to_device(module, device)
        if self.compile:
            # Dynamo caches compiled code per function body, guarded on what it closes over,
            # so compiling at each call recompiles only when the network changes.
            forward = torch.compile(forward)
        return run_network(
            forward, batches, device=device, precision=self.precision, progress=progress
        )

    # -- persistence ------------------------------------------------------------------------

    def __getstate__(self):
        # Every fitted torch object goes through torch.save, so that loading maps tensors fitted
        # on a GPU to the CPU; the model is moved to its device again on first use.
        # object.__getstate__ may return the instance's own __dict__: never pop from it.
        state = dict(super().__getstate__())
        params = set(self.get_params(deep=False))
        fitted = {
            k: state.pop(k) for k in list(state) if k not in params and _holds_torch(state[k])
        }
        if fitted:
            buffer = io.BytesIO()
            torch.save(fitted, buffer)
            state["_torch_state"] = buffer.getvalue()
        return state

    def __setstate__(self, state):
        blob = state.pop("_torch_state", None)
        if blob is not None:
            with warnings.catch_warnings():
                # skorch warns when a CUDA net loads on the CPU: that is the point here.
                warnings.filterwarnings("ignore", category=DeviceWarning)
                state.update(torch.load(io.BytesIO(blob), map_location="cpu", weights_only=False))
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


@fill_doc
class TrainedNetworkClassifier(ClassifierMixin, NetworkEstimator):
    """Shared ground of network classifiers trained with skorch (private): labels, optimizer,
    callbacks, and predictions from the network's logits."""

    _parameter_constraints: dict = {
        **NetworkEstimator._parameter_constraints,
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Integers(1, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS)), callable],
        "callbacks": [None, list],
    }

    # Names of the callbacks every net has (skorch's defaults); subclasses add their own.
    _callback_names = ("epoch_timer", "train_loss", "valid_loss", "valid_acc", "print_log")

    def _encode_labels(self, y, *, unlabelled=0):
        """Integer codes of ``y`` and the sorted classes, refusing fewer than two classes.

        ``unlabelled`` counts the rows left out of ``y`` as unlabelled (``y == -1``).
        """
        check_labels(y)
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            note = (
                f" ({unlabelled} rows with y == -1 were taken as unlabelled target rows, the "
                "library's convention, not as a class)"
                if unlabelled
                else ""
            )
            # An empty y has no class at all: there is no first class to name.
            found = (
                f"hold 1 class: {encoder.classes_.tolist()[0]!r}"
                if len(encoder.classes_)
                else "are none (y is empty)"
            )
            raise ValueError(
                f"{type(self).__name__} needs at least two classes to learn; the labelled rows "
                f"{found}{note}."
            )
        return encoder.transform(y), encoder.classes_

    def _optimizer(self):
        return OPTIMIZERS.get(self.optimizer, self.optimizer)

    def _net_params(self, device, callbacks):
        """The skorch arguments every trained network takes from the shared parameters.

        A subclass adds its module, criterion and own settings; to change one of these, it
        sets it in the returned dict (passing it again as a keyword would be a duplicate).
        """
        return {
            "optimizer": self._optimizer(),
            "lr": self.lr,
            "max_epochs": self.max_epochs,
            "batch_size": self._train_batch_size(),
            "callbacks": callbacks,
            "device": device,
            "verbose": self.verbose,
            **self._optimizer_kwargs(device),
        }

    def _optimizer_kwargs(self, device):
        """skorch ``optimizer__`` arguments: torch's fused step for a named optimizer on CUDA.

        Small networks train in many short steps, where kernel launches, not arithmetic, set
        the pace; the fused step is one launch per parameter group.
        """
        if isinstance(self.optimizer, str) and torch.device(device).type == "cuda":
            return {"optimizer__fused": True}
        return {}

    def _user_callbacks(self):
        """``callbacks`` checked before training, as copies: skorch callbacks or
        ``(name, callback)``.

        skorch trains with the callback objects it is given, and keeps its state in them (the
        best score, the best weights of ``EarlyStopping(load_best=True)``): the user's objects
        changed with each fit, even a failed one, and one callback given to two estimators
        joined their nets, so that a warm start of the first went on from the second's state.
        Shallow copies suffice, since skorch's callbacks set their state anew (``initialize``,
        ``on_train_begin``) rather than change it in place; what a callback refers to (a log
        file, a ``SummaryWriter``, an Optuna trial, a lock) stays shared, as it must.
        """
        for item in self.callbacks or []:
            callback = item[1] if isinstance(item, tuple) and len(item) == 2 else item
            if isinstance(item, tuple) and not isinstance(item[0], str):
                callback = None
            if not isinstance(callback, Callback) and not (
                isinstance(callback, type) and issubclass(callback, Callback)
            ):
                raise TypeError(
                    "callbacks must hold skorch callbacks (skorch.callbacks.Callback instances) "
                    f"or (name, callback) pairs; got {item!r}."
                )
        names = [item[0] for item in self.callbacks or [] if isinstance(item, tuple)]
        taken = sorted({n for n in names if n in self._callback_names or names.count(n) > 1})
        if taken:
            # skorch refused them only once the heavy work (images, frozen layers) was done.
            raise ValueError(
                f"callbacks names {', '.join(map(repr, taken))}, a name that repeats or that "
                f"{type(self).__name__} gives a callback of its own "
                f"({', '.join(self._callback_names)}); give your callback another name."
            )
        return [_shallow_copy(item) for item in self.callbacks or []]

    def _logits(self, X):
        """The network's class scores for ``X``, one float32 row per sample."""
        raise NotImplementedError

    def decision_function(self, X):
        """The network's class scores (logits), before the softmax.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Columns follow ``classes_``; for two classes, the score of the second class minus
            that of the first, as scikit-learn's binary classifiers give.
        """
        check_is_fitted(self)
        scores = self._logits(X).astype(np.float64)
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        check_is_fitted(self)
        return softmax(self._logits(X).astype(np.float64), axis=1)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self._logits(X), axis=1)]


def input_batches(X, spec, batch_size, device, *, num_workers=0):
    """The one data path: rows of a table, or images decoded by a ``DataLoader`` (in
    ``num_workers`` processes for files, pinned on CUDA) and prepared on ``device``."""
    if spec.kind == "vector":
        return row_batches(torch.as_tensor(np.asarray(X, dtype=np.float32)), batch_size)
    prepare = Preprocessor(
        spec.preprocessing,
        spec.channels,
        image_size=spec.image_size,
        normalize=spec.normalize,
        device=device,
    )
    loader = X.loader(batch_size, num_workers=num_workers, pin_memory=device.type == "cuda")
    return (prepare(batch) for batch in loader)


def row_batches(rows, batch_size):
    """Slices of ``batch_size`` rows of a tensor. Slicing, unlike a ``DataLoader`` without its
    own generator, draws nothing from torch's global RNG."""
    return (rows[i : i + batch_size] for i in range(0, len(rows), batch_size))


def mlp(in_features, hidden_layer_sizes):
    """Linear layers, each followed by a ReLU; the identity when ``hidden_layer_sizes`` is empty.

    Returns the ``nn.Sequential`` and the width of its output.
    """
    layers, width = [], in_features
    for size in hidden_layer_sizes:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    return nn.Sequential(*layers), width


def backbone_trunk(backbone, example):
    """The whole ``backbone`` as one trainable module ending in flat features, and their width
    on the ``example`` batch."""
    layers = [backbone.layer(name) for name in backbone.layer_names]
    trunk = nn.Sequential(*layers, backbone.pool_module, nn.Flatten())
    trunk.eval()
    # A network given as a module stays on its device (a GPU) until the net moves it.
    with torch.no_grad(), input_errors_named():
        width = trunk(example.to(module_device(trunk))).shape[1]
    trunk.train()
    return trunk, width


def check_layer_sizes(name, sizes):
    """Refuse hidden layer sizes that are not positive integers, naming the parameter."""
    if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
        raise ValueError(f"{name} must hold positive integers; got {sizes!r}.")


def to_device(module, device):
    module.to(device)
    if any(p.ndim == 4 for p in module.parameters()):
        module.to(memory_format=torch.channels_last)


def detached(X):
    """A table given as a tensor, detached and on the CPU, where NumPy can read it: a table of
    features computed with autograd on failed with torch's RuntimeError "Can't call numpy()
    on Tensor that requires grad" (images were accepted), as one on a GPU would have."""
    return X.detach().cpu() if torch.is_tensor(X) else X


def writable(X):
    """``X``, copied if it is read-only (pandas 3 hands out read-only arrays): torch warned
    "The given NumPy array is not writable" at the first such table, though nothing here
    writes to it."""
    return X if X.flags.writeable else X.copy()


def keep_on_device(data, device):
    """Training data as a tensor on the GPU when it takes under a quarter of the free memory
    there, so that no step copies its batch from the host; otherwise ``data`` unchanged."""
    if device.type != "cuda":
        return data
    tensor = torch.as_tensor(data)
    free, _ = torch.cuda.mem_get_info(device)
    return tensor.to(device) if tensor.element_size() * tensor.nelement() < free // 4 else data


def move_net(net, device):
    """Move a fitted skorch net, with its optimizer state, to ``device`` (for more training)."""
    net.device = device
    net.module_.to(device)
    net.criterion_.to(device)
    optimizer = net.optimizer_
    # Loading its own state puts every state tensor where torch wants it beside its weight:
    # a fused optimizer's step counter on the weight's device, a plain one's on the CPU.
    optimizer.load_state_dict(optimizer.state_dict())
    for weight, state in optimizer.state.items():
        for key, value in state.items():
            if torch.is_tensor(value) and value.ndim == 4 and value.shape == weight.shape:
                # Inference made the convolution weights channels-last after the moments were
                # made; torch's fused step (used on CUDA) needs both in one layout: it raised
                # on CUDA and updated wrongly on the CPU. (The step counter, 0-d, stays where
                # torch put it, even beside a 0-d weight.)
                state[key] = torch.empty_like(weight).copy_(value)


def _shallow_copy(callback):
    """A copy of a callback instance or ``(name, callback)`` pair; a class stays as it is."""
    if isinstance(callback, tuple):
        return (callback[0], _shallow_copy(callback[1]))
    return callback if isinstance(callback, type) else copy.copy(callback)


def _holds_torch(value):
    if isinstance(value, (torch.Tensor, nn.Module)):
        return True
    # A metadata request (set_fit_request...) points back to its estimator: pickled apart, in
    # torch.save's own pickler, it pickled the estimator again, without end.
    if isinstance(value, (np.ndarray, str, bytes, Integral, Real, type(None), MetadataRequest)):
        return False
    return True
