"""Fine-tuning: a pretrained network, a new head, and training with frozen and slowed layers."""

from __future__ import annotations

import copy
import os
from enum import Enum
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNetClassifier
from torch import nn

from ..backbones import Backbone, load_backbone
from ..utils._images import check_fitted_input, check_images, check_input_kind, is_table
from ..utils._sklearn import HasMethods, Interval, StrOptions, _fit_context
from ..utils._torch import resolve_device, seeded
from ._network import FrozenPrefix, TrainableSuffix, WholeNetwork
from ._prefix_cache import encode_prefix

_OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}


class FineTuneClassifier(ClassifierMixin, BaseEstimator):
    """Fine-tune a pretrained network on a classification task.

    The backbone's head is replaced by a new linear layer with one output per class, then the
    network is trained with cross-entropy. The first ``freeze_depth`` layers stay fixed: the
    early layers of a network hold general features that transfer across tasks, the late ones
    features specific to the source task (Yosinski et al., 2014). The trainable layers learn
    more slowly the further they are from the head, the discriminative learning rates of
    Howard and Ruder (2018), so that fine-tuning adapts rather than overwrites them.

    The outputs of the frozen layers do not change during training, so they are computed once
    per fit, without autograd, and only the trainable part of the network is run at each epoch:
    with ``freeze_depth="all"`` fitting costs one forward pass plus the training of a linear
    classifier.

    Parameters
    ----------
    backbone : str, callable or Backbone, default="efficientnet_lite0"
        The network: a name from :func:`~sktransfer.backbones.available_backbones`, a callable
        returning an ``nn.Module``, or a :class:`~sktransfer.backbones.Backbone` (copied, never
        changed). Its head must be an ``nn.Linear``.
    weights : None, str, path or weights enum, default=None
        Pretrained weights, see :func:`~sktransfer.backbones.load_backbone`; ``None`` keeps a
        random initialisation seeded by ``random_state``, which is training from scratch
        rather than transfer: pass ``weights="imagenet"`` to fine-tune ImageNet weights.
    freeze_depth : int, str or "all", default=0
        Layers kept fixed, from the input side: an integer ``k`` freezes the first ``k`` layers
        of the backbone's ``layer_names``, a layer name freezes every layer up to and including
        it, and ``"all"`` freezes every layer and the pooling step, so only the head trains.
        Frozen layers are also kept in evaluation mode: their batch-norm statistics do not move.
    lr : float, default=1e-3
        Learning rate of the new head.
    lr_decay : float, default=0.1
        Each trainable layer learns at ``lr * lr_decay ** k``, where ``k`` counts layers down
        from the head (``k=1`` for the last layer). ``1.0`` gives every layer the same rate.
    max_epochs : int, default=10
        Passes over the training data.
    batch_size : int, default=32
        Samples per optimisation step, and per forward pass of the frozen layers.
    optimizer : {"adamw", "adam", "sgd"} or callable, default="adamw"
        The torch optimizer, by name or as a class (or any callable taking parameter groups and
        ``lr``), as skorch accepts it.
    image_size : int, default=None
        Resize images so that their shorter side is ``image_size`` and keep the centre square,
        instead of the backbone's own size. Ignored for vector backbones.
    memory : None, str or joblib.Memory, default=None
        Cache the outputs of the frozen layers on disk, per image, under this location, so
        that the folds, grid points, refits and random seeds of a search compute them once: a
        search over ``freeze_depth`` also runs a deeper prefix from the deepest depth already
        cached. Entries are keyed by the image and by everything its activations depend on
        (preprocessing, ``image_size``, the architecture and the weights of the frozen layers,
        the device's precision). Used only when the frozen layers run apart from training
        (``freeze_depth`` above 0); delete the folder to free the space.
    train_split : None or callable, default=None
        How skorch holds out validation data during training, e.g. ``skorch.dataset.ValidSplit
        (0.2)``; ``None`` trains on every sample.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks, e.g. ``skorch.callbacks.EarlyStopping`` with a ``train_split``.
    device : str or torch.device, default="auto"
        Where the network runs; ``"auto"`` takes CUDA when a GPU is visible.
    verbose : int, default=0
        Print skorch's table of epochs when positive.
    random_state : int, RandomState instance or None, default=None
        Seeds the new head, a randomly initialised backbone and the shuffling of batches
        (torch's global RNG is left as it was). Fits with the same integer are identical on
        the CPU.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    net_ : skorch.NeuralNetClassifier
        The trained part of the network (trainable layers, pooling step and new head), taking
        the outputs of the frozen layers.
    prefix_ : torch.nn.Module
        The frozen part: input preparation and the frozen layers, in evaluation mode.
    frozen_layers_ : list of str
        Names of the frozen layers.
    n_features_in_ : int
        Number of features of 2-D input, for vector backbones only.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the input features, for vector backbones given a DataFrame.

    See Also
    --------
    sktransfer.feature_extraction.CNNCodeExtractor : Frozen features for any estimator.

    References
    ----------
    .. [1] J. Yosinski, J. Clune, Y. Bengio, H. Lipson, "How transferable are features in deep
       neural networks?", NeurIPS, 2014.
    .. [2] J. Howard, S. Ruder, "Universal Language Model Fine-tuning for Text
       Classification", ACL, 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.fine_tuning import FineTuneClassifier
    >>> rng = np.random.default_rng(0)
    >>> images = rng.integers(0, 256, size=(8, 32, 32, 3), dtype=np.uint8)
    >>> labels = ["cat", "dog"] * 4
    >>> clf = FineTuneClassifier("toy_cnn", freeze_depth=2, max_epochs=2, random_state=0)
    >>> clf.fit(images, labels).predict(images[:2]).shape
    (2,)
    >>> clf.frozen_layers_
    ['block1', 'block2']
    """

    _parameter_constraints: dict = {
        "backbone": [str, callable, Backbone],
        "weights": [None, str, os.PathLike, Enum],
        "freeze_depth": [Interval(Integral, 0, None, closed="left"), str],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), callable],
        "image_size": [Interval(Integral, 1, None, closed="left"), None],
        "memory": [None, str, HasMethods(["cache"])],
        "train_split": [None, callable],
        "callbacks": [None, list],
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    # Tests turn this off to train the whole network with the prefix frozen inside it, the
    # reference the cached path must match.
    _cache_frozen_prefix = True

    def __init__(
        self,
        backbone="efficientnet_lite0",
        weights=None,
        *,
        freeze_depth=0,
        lr=1e-3,
        lr_decay=0.1,
        max_epochs=10,
        batch_size=32,
        optimizer="adamw",
        image_size=None,
        memory=None,
        train_split=None,
        callbacks=None,
        device="auto",
        verbose=0,
        random_state=None,
    ):
        self.backbone = backbone
        self.weights = weights
        self.freeze_depth = freeze_depth
        self.lr = lr
        self.lr_decay = lr_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.image_size = image_size
        self.memory = memory
        self.train_split = train_split
        self.callbacks = callbacks
        self.device = device
        self.verbose = verbose
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Replace the head and train the network.

        Parameters
        ----------
        X : images or array-like of shape (n_samples, n_features)
            Images (see the user guide for the accepted forms) or, for vector backbones,
            a 2-D array.
        y : array-like of shape (n_samples,)
            Class labels, of any type; at least two classes.

        Returns
        -------
        self : FineTuneClassifier
        """
        vectors = is_table(X)
        if vectors:
            X, y = validate_data(self, X, y, dtype=np.float32)
        else:
            y = np.asarray(y)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least two classes to learn; y holds 1 class: "
                f"{encoder.classes_.tolist()[0]!r}."
            )
        device = resolve_device(self.device)
        with seeded(self.random_state):
            backbone = self._load_backbone(X.shape[1] if vectors else None)
            check_input_kind(backbone, vectors)
            n_frozen = _n_frozen(backbone, self.freeze_depth)
            if not vectors:
                X = check_images(X, channels=backbone.in_channels)
            if len(X) != len(y):
                raise ValueError(f"X holds {len(X)} samples but y holds {len(y)} labels.")
            prefix, module = self._split(backbone, n_frozen, len(encoder.classes_))
            inputs = self._encode(prefix, X, device)
            net = self._build_net(module, len(encoder.classes_), device)
            net.fit(inputs, encoder.transform(y))
        self.classes_ = encoder.classes_
        self.frozen_layers_ = backbone.layer_names[:n_frozen]
        self.prefix_ = prefix
        self.net_ = net
        return self

    def _encode(self, prefix, X, device):
        return encode_prefix(
            prefix,
            X,
            memory=self.memory,
            batch_size=self.batch_size,
            device=device,
            image_size=self.image_size,
        )

    def _load_backbone(self, in_features):
        if isinstance(self.backbone, Backbone):
            # Training changes weights in place: the user's network stays as it was given.
            return copy.deepcopy(self.backbone)
        return load_backbone(self.backbone, self.weights, in_features=in_features)

    def _split(self, backbone, n_frozen, n_classes):
        """The frozen prefix and the module skorch trains, around a new head."""
        head = _new_head(backbone, n_classes)
        modules = [backbone.layer(name) for name in backbone.layer_names]
        everything_frozen = n_frozen == len(modules)
        pool = backbone.pool_module
        frozen = FrozenPrefix(modules[:n_frozen], pool if everything_frozen else None, backbone)
        suffix = TrainableSuffix(modules[n_frozen:], None if everything_frozen else pool, head)
        if self._cache_frozen_prefix:
            return frozen, suffix
        return FrozenPrefix([], None, backbone), WholeNetwork(frozen, suffix)

    def _build_net(self, module, n_classes, device):
        n_trainable = len(
            module.layers if isinstance(module, TrainableSuffix) else module.suffix.layers
        )
        scope = "" if isinstance(module, TrainableSuffix) else "suffix."
        return NeuralNetClassifier(
            module=module,
            criterion=nn.CrossEntropyLoss,
            optimizer=_OPTIMIZERS.get(self.optimizer, self.optimizer),
            lr=self.lr,
            optimizer__param_groups=layerwise_param_groups(
                n_trainable, self.lr, self.lr_decay, scope=scope
            ),
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train__shuffle=True,
            train_split=self.train_split,
            callbacks=self.callbacks,
            classes=np.arange(n_classes),
            device=device,
            verbose=self.verbose,
        )

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : images or array-like of shape (n_samples, n_features)
            As in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        check_is_fitted(self)
        X = check_fitted_input(self, X, self.prefix_)
        device = resolve_device(self.device)
        inputs = self._encode(self.prefix_, X, device)
        proba = self.net_.predict_proba(inputs).astype(np.float64)
        # The softmax ran in float32: renormalise so that rows sum to one in float64.
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : images or array-like of shape (n_samples, n_features)
            As in :meth:`fit`.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __getstate__(self):
        # A prefix fitted on a GPU is stored on the CPU, so the pickle loads on any machine.
        state = super().__getstate__()
        prefix = state.get("prefix_")
        if prefix is not None and any(p.device.type != "cpu" for p in prefix.parameters()):
            state["prefix_"] = copy.deepcopy(prefix).cpu()
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


def layerwise_param_groups(n_trainable, lr, lr_decay, *, scope=""):
    """skorch ``param_groups`` giving trainable layer ``j`` the rate ``lr * lr_decay ** k``.

    ``k = n_trainable - j`` counts layers down from the head; the head and the pooling step
    are left to the default group, at ``lr``.
    """
    return [
        (f"{scope}layers.{j}.*", {"lr": lr * lr_decay ** (n_trainable - j)})
        for j in range(n_trainable)
    ]


def _n_frozen(backbone, freeze_depth):
    names = backbone.layer_names
    if freeze_depth == "all":
        return len(names)
    if isinstance(freeze_depth, str):
        return backbone.layer_index(freeze_depth) + 1
    if freeze_depth > len(names):
        raise ValueError(
            f"freeze_depth={freeze_depth} is larger than the {len(names)} layers of the "
            f"backbone: use an integer in [0, {len(names)}], 'all', or a layer name in {names}."
        )
    return freeze_depth


def _new_head(backbone, n_classes):
    old = backbone.head
    if not isinstance(old, nn.Linear):
        found = "no head" if old is None else f"a {type(old).__name__} head"
        raise ValueError(
            f"Fine-tuning replaces the backbone's head by a new nn.Linear, but the backbone has "
            f"{found}; only backbones whose head is an nn.Linear are supported for now."
        )
    return nn.Linear(old.in_features, n_classes)
