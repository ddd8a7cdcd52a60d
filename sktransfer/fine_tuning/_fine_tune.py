"""Fine-tuning: a pretrained network, a new head, and training with frozen and slowed layers."""

from __future__ import annotations

import copy
import dataclasses
from numbers import Real

import numpy as np
import torch
from sklearn.utils import check_consistent_length
from sklearn.utils.validation import column_or_1d
from torch import nn

from .._network_base import (
    TrainedNetworkClassifier,
    fill_doc,
    keep_on_device,
    move_net,
)
from ..few_shot._prototypes import _unit_rows
from ..utils._sklearn import HasMethods, Integers, Interval, StrOptions, _fit_context, check_labels
from ..utils._skorch import training_batches
from ..utils._torch import input_errors_named, module_device, seeded
from ._network import Augment, Frozen, FrozenPrefix, TrainableSuffix, WholeNetwork
from ._prefix_cache import encode_prefix
from ._training import L2SP, HeadFirst, LwF, RegularizedNet, trained_suffix

# The papers' values: alpha of L2-SP (Li et al., 2018), lambda_o of LwF (Li and Hoiem, 2016).
_DEFAULT_STRENGTH = {"l2sp": 0.1, "lwf": 1.0}


@fill_doc
class FineTuneClassifier(TrainedNetworkClassifier):
    """Fine-tune a pretrained network on a classification task.

    The backbone's head is replaced by a new linear layer with one output per class, then the
    network is trained with cross-entropy. The first ``freeze_depth`` layers stay fixed: the
    early layers of a network hold general features that transfer across tasks, the late ones
    features specific to the source task (Yosinski et al., 2014). The trainable layers learn
    more slowly the further they are from the head, the discriminative learning rates of
    Howard and Ruder (2018), so that fine-tuning adapts rather than overwrites them.

    Any other set of layers can be kept fixed (``freeze_layers``) or trained from a new
    initialisation (``reinit_layers``), e.g. the first layers of a speech network, and
    ``head_epochs`` trains the new head alone before the layers join in. Two regularizations keep
    fine-tuning conservative on small target sets: L2-SP pulls the weights towards their
    pretrained values (Li et al., 2018), Learning without Forgetting keeps the network's answers
    to the source task on the target data (Li and Hoiem, 2016).

    The outputs of the frozen layers do not change during training, so they are computed once
    per fit, without autograd, and only the trainable part of the network is run at each epoch:
    with ``freeze_depth="all"`` fitting costs one forward pass plus the training of a linear
    classifier. Random augmentation (``augment``) changes the inputs at every epoch, so it turns
    this cache off: the whole network then runs at each step, its frozen layers inside it.

    Parameters
    ----------
    backbone : str, callable, nn.Module or Backbone, default="efficientnet_lite0"
        The network: a name from :func:`~sktransfer.backbones.available_backbones`, a callable
        returning an ``nn.Module``, an ``nn.Module`` or a
        :class:`~sktransfer.backbones.Backbone` (both copied, never changed). Its head must be
        an ``nn.Linear``.
    %(weights)s
        Without weights this is training from scratch rather than transfer: pass
        ``weights="imagenet"`` to fine-tune ImageNet weights.
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
    batch_size : int or "auto", default="auto"
        Samples per optimisation step, and per forward pass of the frozen layers and at
        prediction. ``"auto"``: 32 per step on every device, so that a fit does not depend on
        where it runs; forward passes without gradients take 256 at a time on a GPU, 32 on the
        CPU.
    optimizer : {"adamw", "adam", "sgd"} or callable, default="adamw"
        The torch optimizer, by name or as a class (or any callable taking parameter groups and
        ``lr``), as skorch accepts it.
    regularization : {"l2sp", "lwf"} or None, default=None
        Conservative training. ``"l2sp"`` adds ``alpha / 2 * ||w - w0||^2`` over the
        pretrained trainable weights, ``w0`` being their values when fine-tuning starts, plus
        ``beta / 2 * ||w||^2`` over the new ones (the head and any re-initialised layer);
        the named optimizers then get no weight decay, which would pull towards zero.
        ``"lwf"`` keeps the backbone's own head beside the new one and adds
        ``lambda * T**2 * KL(p_recorded || p_source)`` between the softened outputs the original
        network gave on each training image (recorded once before training, or computed by a
        frozen copy of it when ``augment`` is set) and those of the source head now; the
        source head trains too, as in the paper. The validation loss stays the
        cross-entropy.
    regularization_strength : float, default=None
        ``alpha`` of L2-SP or ``lambda`` of LwF; ``None`` takes the papers' values, 0.1 and
        1.0.
    head_weight_decay : float, default=0.01
        ``beta`` of L2-SP: plain L2 on the new parameters. Unused otherwise.
    temperature : float, default=2.0
        ``T`` of LwF: outputs are softened as ``softmax(z / T)``.
    head_init : {"random", "imprint"}, default="random"
        How the new head starts. ``"random"`` draws its weights as ``nn.Linear`` does;
        ``"imprint"`` imprints them (Qi, Brown and Lowe, 2018): the row of each class is the
        mean of its training rows' features (the input of the head, each scaled to unit
        length), itself scaled to unit length, and the bias is zero. The network then starts
        as the nearest class mean by cosine, which suits classes with few examples; training
        goes on from there. Unlike the paper, features are not normalised during training:
        the head stays a plain linear layer.
    head_epochs : int, default=0
        Epochs at the start of training during which only the new head trains; the layers
        (and, with LwF, the source head) are held fixed, batch-norm statistics included, then
        join in. Counted over the net's whole history, so a warm-started fit continues the
        schedule.
    freeze_layers : list of str, default=None
        More layers kept fixed, anywhere in the network: layer names, or full names of
        submodules inside a layer (e.g. ``"layer3.1.bn2"`` for a ResNet). Named layers that
        directly follow the ``freeze_depth`` prefix join it (and its cache).
    reinit_layers : list of str, default=None
        Layers (or submodules, named as in ``freeze_layers``) whose weights are drawn anew,
        seeded by ``random_state``, before training: they learn at ``lr`` like the head, and
        L2-SP treats them as new.
    augment : callable, default=None
        A random transform applied to each training image at each epoch, e.g. a
        ``torchvision.transforms.v2`` transform. It gets a float ``(C, H, W)`` tensor in
        [0, 1] at the network's input size, before normalisation, and must return one of the
        same size; it is not used at prediction. Images only.
    warm_start : bool, default=False
        When fitted already, ``fit`` trains the existing network ``max_epochs`` more epochs
        (optimizer state kept) instead of starting over; ``y`` must hold the same classes.
        The other parameters keep the values of the first fit.
    %(image_size)s
    memory : None, str or joblib.Memory, default=None
        Cache the outputs of the frozen layers on disk, per image, under this location, so
        that the folds, grid points, refits and random seeds of a search compute them once: a
        search over ``freeze_depth`` also runs a deeper prefix from the deepest depth already
        cached. Entries are keyed by the image and by everything its activations depend on
        (preprocessing, ``image_size``, the architecture, code and weights of the frozen
        layers, the device's precision). Used only when the frozen layers run apart from training
        (``freeze_depth`` above 0); delete the folder to free the space.
    train_split : None or callable, default=None
        How skorch holds out validation data during training, e.g. ``skorch.dataset.ValidSplit
        (0.2)``; ``None`` trains on every sample.
    %(callbacks)s
        With a ``train_split``, ``EarlyStopping`` works as in skorch.
    %(device)s
    %(precision)s
        Training itself runs in float32.
    %(num_workers)s
    %(compile)s
    verbose : int, default=0
        When positive, :meth:`fit` shows a progress bar over the pass of the training images
        through the frozen layers (the batches read from ``memory`` are not counted), then
        prints skorch's table of epochs.
    %(random_state)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    net_ : skorch.NeuralNetClassifier
        The skorch net that trained the network. Its module is the trained part of the
        network (trainable layers, pooling step and new head), taking the outputs of the
        frozen layers; with ``augment``, the whole network.
    prefix_ : torch.nn.Module
        The cached part: input preparation and the frozen first layers (only input
        preparation with ``augment``), in evaluation mode.
    frozen_layers_ : list of str
        Names of the frozen layers: the ``freeze_depth`` prefix, then the other
        ``freeze_layers``.
    %(input_attributes)s

    See Also
    --------
    sktransfer.feature_extraction.CNNCodeExtractor : Frozen features for any estimator.

    References
    ----------
    .. [1] J. Yosinski, J. Clune, Y. Bengio, H. Lipson, "How transferable are features in deep
       neural networks?", NeurIPS, 2014.
    .. [2] J. Howard, S. Ruder, "Universal Language Model Fine-tuning for Text
       Classification", ACL, 2018.
    .. [3] X. Li, Y. Grandvalet, F. Davoine, "Explicit Inductive Bias for Transfer Learning
       with Convolutional Networks", ICML, 2018.
    .. [4] Z. Li, D. Hoiem, "Learning without Forgetting", ECCV, 2016; IEEE TPAMI, 2018.
    .. [5] G. Hinton, O. Vinyals, J. Dean, "Distilling the Knowledge in a Neural Network",
       NeurIPS Deep Learning Workshop, 2015.
    .. [6] H. Qi, M. Brown, D. G. Lowe, "Low-Shot Learning with Imprinted Weights", CVPR,
       2018.

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
    >>> conservative = FineTuneClassifier(
    ...     "toy_cnn", regularization="l2sp", head_epochs=1, max_epochs=2, random_state=0
    ... ).fit(images, labels)
    >>> conservative.predict(images[:2]).shape
    (2,)
    """

    _default_batch_size = 32
    _callback_names = (*TrainedNetworkClassifier._callback_names, "head_first")

    _parameter_constraints: dict = {
        **TrainedNetworkClassifier._parameter_constraints,
        "freeze_depth": [Integers(0, None, closed="left"), str],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "regularization": [StrOptions({"l2sp", "lwf"}), None],
        "regularization_strength": [Interval(Real, 0, None, closed="left"), None],
        "head_weight_decay": [Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "head_init": [StrOptions({"random", "imprint"})],
        "head_epochs": [Integers(0, None, closed="left")],
        "freeze_layers": [list, tuple, None],
        "reinit_layers": [list, tuple, None],
        "augment": [callable, None],
        "warm_start": ["boolean"],
        "memory": [None, str, HasMethods(["cache"])],
        "train_split": [None, callable],
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
        batch_size="auto",
        optimizer="adamw",
        regularization=None,
        regularization_strength=None,
        head_weight_decay=0.01,
        temperature=2.0,
        head_init="random",
        head_epochs=0,
        freeze_layers=None,
        reinit_layers=None,
        augment=None,
        warm_start=False,
        image_size=None,
        memory=None,
        train_split=None,
        callbacks=None,
        device="auto",
        precision="auto",
        num_workers=0,
        compile=False,
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
        self.regularization = regularization
        self.regularization_strength = regularization_strength
        self.head_weight_decay = head_weight_decay
        self.temperature = temperature
        self.head_init = head_init
        self.head_epochs = head_epochs
        self.freeze_layers = freeze_layers
        self.reinit_layers = reinit_layers
        self.augment = augment
        self.warm_start = warm_start
        self.image_size = image_size
        self.memory = memory
        self.train_split = train_split
        self.callbacks = callbacks
        self.device = device
        self.precision = precision
        self.num_workers = num_workers
        self.compile = compile
        self.verbose = verbose
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Replace the head and train the network.

        With ``warm_start=True`` and a fitted network, train it ``max_epochs`` more epochs
        instead.

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
            The fitted classifier.
        """
        if self.warm_start and hasattr(self, "net_"):
            return self._fit_more(X, y)
        X, y, vectors = self._validate_fit_input(X, y)
        codes, classes = self._encode_labels(y)
        device = self._fit_device()
        callbacks = self._user_callbacks()
        with seeded(self.random_state, device):
            backbone = self._build_backbone(X.shape[1] if vectors else None)
            images = self._check_images(X, backbone, vectors)
            check_consistent_length(codes, X if vectors else images)
            layers = self._choose_layers(backbone)
            spec = self._input_spec(backbone, images)
            prefix, module, plan = self._split(backbone, layers, len(classes))
            inputs = self._encode(
                prefix, X if vectors else images, device, spec=spec, verbose=self.verbose
            )
            _check_runs(module, inputs[:1])
            if self.head_init == "imprint":
                self._imprint(module, inputs, codes, len(classes), device)
            net = self._build_net(module, plan, len(classes), device, callbacks)
            net.fit(self._net_input(module, inputs, device), codes)
        self.classes_ = classes
        self.frozen_layers_ = layers.frozen_names(backbone)
        self.prefix_ = prefix
        self.net_ = net
        self._input = spec
        return self

    def _fit_more(self, X, y):
        """Warm start: more epochs of the fitted network, on data with the same classes."""
        self._check_y_given(y)
        X = self._validate_input(X)
        y = column_or_1d(y, warn=True)
        check_labels(y)
        check_consistent_length(X, y)
        classes = np.unique(y)
        if not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True continues training a network whose classes are "
                f"{self.classes_.tolist()}, but y holds {classes.tolist()}; fit with "
                "warm_start=False to start over with the new classes."
            )
        device = self._fit_device()
        inputs = self._encode(self.prefix_, X, device, verbose=self.verbose)
        # A copy trains, so that a failed warm start leaves the fitted network as it was.
        net = copy.deepcopy(self.net_)
        move_net(net, device)
        with seeded(self.random_state, device):
            net.partial_fit(
                self._net_input(net.module_, inputs, device),
                np.searchsorted(self.classes_, y),
                epochs=self.max_epochs,
            )
        self.net_ = net
        return self

    def _imprint(self, module, inputs, codes, n_classes, device):
        """Weight imprinting: each class's head row is its normalised mean feature direction."""
        features = self._run(module, module.features, self._rows(inputs, device), device)
        features = _unit_rows(features.reshape(len(features), -1).astype(np.float64))
        means = np.zeros((n_classes, features.shape[1]))
        np.add.at(means, codes, features)
        head = trained_suffix(module).head
        with torch.no_grad():
            head.weight.copy_(torch.as_tensor(_unit_rows(means), dtype=head.weight.dtype))
            head.bias.zero_()

    def _encode(self, prefix, X, device, *, spec=None, verbose=0):
        # After fit, the fitted image size: set_params(image_size=...) acts at the next fit.
        spec = spec or self._input
        return encode_prefix(
            prefix,
            X,
            memory=self.memory,
            batch_size=self._inference_batch_size(device),
            device=device,
            image_size=spec.image_size,
            precision=self.precision,
            num_workers=self.num_workers,
            verbose=verbose,
        )

    def _choose_layers(self, backbone):
        """Validate the layer parameters against ``backbone``, before any heavy compute."""
        if self.augment is not None and backbone.input_kind == "vector":
            raise ValueError(
                "augment transforms images, but the backbone takes vectors: set augment=None."
            )
        frozen = _submodules(backbone, self.freeze_layers, "freeze_layers")
        n_prefix = _n_frozen(backbone, self.freeze_depth)
        # Layers named in freeze_layers right after the prefix extend it, and the cache with it.
        while n_prefix < len(backbone.layer_names) and backbone.layer_names[n_prefix] in frozen:
            n_prefix += 1
        reinit = _submodules(backbone, self.reinit_layers, "reinit_layers")
        return _Layers(n_prefix, frozen, reinit)

    def _split(self, backbone, layers, n_classes):
        """The frozen prefix, the module skorch trains, and where the layer options fell in it."""
        modules = [backbone.layer(name) for name in backbone.layer_names]
        n_prefix = layers.n_prefix
        everything_frozen = n_prefix == len(modules)
        pool = None if everything_frozen else backbone.pool_module
        lwf = self.regularization == "lwf"
        # The source copy is taken before any layer is re-initialised: LwF keeps the outputs of
        # the network as it was pretrained.
        source = _frozen_copy(modules[n_prefix:], pool, backbone.head) if lwf else None
        for module in layers.reinit.values():
            _reset(module)
        suffix = TrainableSuffix(
            modules[n_prefix:],
            pool,
            _new_head(backbone, n_classes),
            source_head=backbone.head if lwf else None,
            source=source,
        )
        plan = _Plan.locate(suffix, layers)
        suffix.hold(plan.held)
        suffix.regularizer = self._regularizer(suffix, plan)
        frozen = FrozenPrefix(
            modules[:n_prefix], backbone.pool_module if everything_frozen else None, backbone
        )
        if self._cache_frozen_prefix and self.augment is None:
            return frozen, suffix, plan
        return self._whole_network(backbone, frozen, suffix, plan)

    def _whole_network(self, backbone, frozen, suffix, plan):
        """The network trained end to end, with its input preparation as the cached part."""
        preprocessing = backbone.preprocessing
        augment = None
        if self.augment is not None:
            # Augmentation works on images in [0, 1]: normalisation moves into the network.
            augment = Augment(
                self.augment, preprocessing.mean, preprocessing.std, backbone.in_channels
            )
            preprocessing = dataclasses.replace(preprocessing, mean=(0.0,), std=(1.0,))
        prepare = FrozenPrefix([], None, backbone, preprocessing=preprocessing)
        return prepare, WholeNetwork(frozen, suffix, augment), plan.within("suffix.")

    def _regularizer(self, suffix, plan):
        strength = self.regularization_strength
        if strength is None and self.regularization is not None:
            strength = _DEFAULT_STRENGTH[self.regularization]
        if self.regularization == "l2sp":
            return L2SP(suffix, plan.pretrained, plan.new, strength, self.head_weight_decay)
        if self.regularization == "lwf":
            return LwF(strength, self.temperature)
        return None

    def _build_net(self, module, plan, n_classes, device, callbacks):
        params = self._net_params(device, [*callbacks, *self._schedule(plan)])
        if self.regularization == "l2sp" and isinstance(self.optimizer, str):
            # L2-SP replaces weight decay: AdamW's default decay pulls weights towards zero.
            params["optimizer__weight_decay"] = 0.0
        return RegularizedNet(
            module=module,
            criterion=nn.CrossEntropyLoss,
            optimizer__param_groups=plan.param_groups(self.lr, self.lr_decay),
            **training_batches(device),
            train_split=self.train_split,
            classes=np.arange(n_classes),
            **params,
        )

    def _schedule(self, plan):
        if not self.head_epochs:
            return []
        return [("head_first", HeadFirst(self.head_epochs, plan.head_phase, plan.held))]

    def _net_input(self, module, inputs, device):
        """The cached inputs, with the recorded source outputs when LwF can precompute them."""
        augmented = getattr(module, "augment", None) is not None
        if trained_suffix(module).source is None or augmented:
            # Without LwF nothing to record; with augmentation the frozen copy runs online.
            return keep_on_device(inputs, device)
        recorded = self._run(module, module.recorded_outputs, self._rows(inputs, device), device)
        return {"x": keep_on_device(inputs, device), "recorded": keep_on_device(recorded, device)}

    def _logits(self, X):
        X = self._validate_input(X)
        device = self._predict_device()
        inputs = self._encode(self.prefix_, X, device)
        module = self.net_.module_
        return self._run(module, module, self._rows(inputs, device), device)


def layerwise_param_groups(n_trainable, lr, lr_decay, *, scope=""):
    """skorch ``param_groups`` giving trainable layer ``j`` the rate ``lr * lr_decay ** k``.

    ``k = n_trainable - j`` counts layers down from the head; the head and the pooling step
    are left to the default group, at ``lr``.
    """
    return [
        (f"{scope}layers.{j}.*", {"lr": lr * lr_decay ** (n_trainable - j)})
        for j in range(n_trainable)
    ]


def _check_runs(module, inputs):
    """Run the trained part on the first sample's input, so that a network that cannot take
    ``X`` fails here, named, rather than at the first training step. (The frozen layers'
    pass, through the library's inference loop, names such a failure already.)

    In evaluation mode and without gradients: no batch-norm statistic moves, nothing is drawn
    at random; the modules get their modes back.
    """
    modes = [(submodule, submodule.training) for submodule in module.modules()]
    module.eval()
    try:
        with input_errors_named(), torch.no_grad():
            # Where the trained part is now: a user's network may come on a GPU.
            module(torch.as_tensor(inputs).to(module_device(module)))
    finally:
        for submodule, training in modes:
            submodule.training = training


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


@dataclasses.dataclass
class _Layers:
    """The layers the parameters name, validated: ``{qualified name: module}``."""

    n_prefix: int
    frozen: dict
    reinit: dict

    def frozen_names(self, backbone):
        prefix = backbone.layer_names[: self.n_prefix]
        return prefix + [name for name in self.frozen if name not in prefix]


@dataclasses.dataclass
class _Plan:
    """Where the layer options fall in the trained suffix: submodule and parameter names."""

    n_trainable: int
    held: list
    reinit: list
    pretrained: list
    new: list
    head_phase: list
    scope: str = ""

    @classmethod
    def locate(cls, suffix, layers):
        names = {}
        for name, module in suffix.named_modules():
            if name.split(".")[0] not in ("source", "source_head"):
                names.setdefault(id(module), name)
        held = [names[id(m)] for m in layers.frozen.values() if id(m) in names]
        reinit = [names[id(m)] for m in layers.reinit.values() if id(m) in names]
        held_params = {id(p) for name in held for p in suffix.get_submodule(name).parameters()}
        new_params = {id(p) for name in reinit for p in suffix.get_submodule(name).parameters()}
        pretrained, new = [], []
        for name, parameter in suffix.named_parameters():
            top = name.split(".")[0]
            if top in ("source", "source_head") or id(parameter) in held_params:
                continue
            is_new = top == "head" or id(parameter) in new_params
            (new if is_new else pretrained).append(name)
        head_phase = ["layers", "pool"] + (
            ["source_head"] if suffix.source_head is not None else []
        )
        return cls(len(suffix.layers), held, reinit, pretrained, new, head_phase)

    def within(self, scope):
        return dataclasses.replace(self, scope=scope)

    def param_groups(self, lr, lr_decay):
        """Re-initialised layers learn at ``lr``, like the head; the others by their depth."""
        fresh = [(f"{self.scope}{name}.*", {"lr": lr}) for name in self.reinit]
        return fresh + layerwise_param_groups(self.n_trainable, lr, lr_decay, scope=self.scope)


def _submodules(backbone, names, parameter):
    """``{qualified name: module}`` for ``names``: layers, or submodules inside one."""
    modules = {}
    for name in names or []:
        if not isinstance(name, str):
            raise TypeError(f"{parameter} must hold layer names (str), got {name!r}.")
        try:
            qualified = backbone.resolve_layer(name)
        except ValueError as exc:
            raise ValueError(f"{parameter}: {exc}") from None
        if qualified in backbone.layer_names:
            modules[qualified] = backbone.layer(qualified)
        else:
            modules[qualified] = backbone.model.get_submodule(qualified)
    return modules


def _frozen_copy(layers, pool, head):
    """A frozen copy of the network's last part and its own head, as loaded."""
    return Frozen(
        copy.deepcopy(nn.Sequential(*layers, nn.Identity() if pool is None else pool, head))
    )


def _reset(module):
    """Re-initialise every submodule of ``module`` that knows how (batch norm statistics too)."""
    for submodule in module.modules():
        if hasattr(submodule, "reset_parameters"):
            submodule.reset_parameters()
