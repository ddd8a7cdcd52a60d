"""DANN: domain-adversarial training of a network, through a gradient reversal layer."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import TransformerTags, check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import LRScheduler, ProgressBar
from skorch.utils import to_tensor
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from .._network_base import (
    TrainedNetworkClassifier,
    backbone_trunk,
    check_layer_sizes,
    fill_doc,
    mlp,
)
from ..backbones import Backbone
from ..utils._domains import (
    UNLABELED,
    LabelledScoreMixin,
    _num_rows,
    check_sample_domain,
    domain_rows,
)
from ..utils._sklearn import Interval, StrOptions, _fit_context, check_labels
from ..utils._skorch import LibraryNet
from ..utils._torch import seeded
from ._dann_network import (
    DANNLoss,
    DANNNetwork,
    DomainLog,
    DomainRows,
    DomainWeightSchedule,
    GaninLRFactor,
    PairedBatches,
    ganin_cnn,
)

__all__ = ["DANNClassifier"]


@fill_doc
class DANNClassifier(
    LabelledScoreMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, TrainedNetworkClassifier
):
    """Domain-adversarial neural network: a classifier whose features cannot tell the domains apart.

    A feature extractor feeds two heads: a label head trained on the labelled rows, and a
    domain head that learns to tell source rows from target rows. Between the extractor and the
    domain head sits a gradient reversal layer (:class:`~sktransfer.nn.GradientReversal`): the
    domain head minimises its loss while the extractor receives the reversed gradient and
    *maximises* it, so the features become discriminative for the label and indiscriminate
    between the domains (Ganin et al., 2016). A classifier on such features, trained on the
    source labels, carries over to the target.

    Each optimisation step draws ``batch_size`` shuffled source rows and as many target rows.
    The factor of the reversed gradient grows from 0 to ``domain_weight`` as
    ``2 / (1 + exp(-10 p)) - 1`` with the training progress ``p``, and the learning rate decays
    as ``lr / (1 + 10 p) ** 0.75``, the schedules of the paper.

    Source and target rows travel in one ``X``: ``sample_domain`` marks them (positive for
    source rows, negative for target rows), or, without it, target rows are those with
    ``y == -1``. Target rows with a label join the label loss (semi-supervised adaptation).
    Without target rows the model trains as a plain supervised network.

    Read more in the :ref:`User Guide <domain_adaptation>`.

    Parameters
    ----------
    backbone : None, str, callable, nn.Module or Backbone, default=None
        The first part of the feature extractor. ``None`` takes nothing for 2-D input (the
        extractor is then the multilayer perceptron of ``hidden_layer_sizes``) and, for images,
        the two-block ConvNet Ganin et al. used for MNIST. Otherwise a name from
        :func:`~sktransfer.backbones.available_backbones`, a callable returning an
        ``nn.Module``, an ``nn.Module`` or a :class:`~sktransfer.backbones.Backbone` (both
        copied, never changed): its layers and pooling step are kept, its head dropped, and
        every layer trains.
    %(weights)s
    hidden_layer_sizes : tuple of int, default=(256,)
        Linear layers with ReLU that end the feature extractor, after the backbone; their
        output is the representation that :meth:`transform` returns and the domain head sees.
        ``()`` uses the backbone's output (or, for 2-D input without a backbone, the input).
    domain_hidden_layer_sizes : tuple of int, default=(100,)
        Hidden layers of the domain head, which ends in one logit trained with
        ``BCEWithLogitsLoss``.
    domain_weight : float, default=1.0
        The weight ``lambda`` of the domain loss for the feature extractor: the factor of the
        reversed gradient at the end of the schedule. ``0`` is source-only training: the domain
        head still learns (on the features, as a diagnostic) but never changes them.
    domain_weight_schedule : {"ganin", "constant"}, default="ganin"
        ``"ganin"`` ramps the factor as ``domain_weight * (2 / (1 + exp(-10 p)) - 1)``, so that
        the domain head's early, noisy gradient does not disturb the extractor;
        ``"constant"`` uses ``domain_weight`` from the first step.
    lr : float, default=0.01
        Learning rate of the heads at the start of training.
    lr_schedule : {"ganin", "constant"}, default="ganin"
        ``"ganin"`` anneals every learning rate by ``1 / (1 + 10 p) ** 0.75``.
    extractor_lr_multiplier : float, default=1.0
        The feature extractor learns at ``lr * extractor_lr_multiplier``; below 1 it adapts a
        pretrained backbone more gently than the new heads learn.
    max_epochs : int, default=10
        Passes over the source rows; target rows are drawn alongside, cycling as needed.
    batch_size : int or "auto", default="auto"
        Source rows per step; each step draws as many target rows. ``"auto"``: 64 on every
        device, so that a fit does not depend on where it runs; forward passes without
        gradients (``predict``, ``transform``) take 256 rows at a time on a GPU, 64 on the CPU.
    optimizer : {"sgd", "adam", "adamw"} or callable, default="sgd"
        The torch optimizer, by name or as a class; ``"sgd"`` uses momentum 0.9, as the paper.
    %(image_size)s
        The default ConvNet keeps images as they are: prediction then needs images of the
        size seen by ``fit``.
    %(callbacks)s
    %(device)s
    %(precision)s
        Training itself runs in float32.
    %(num_workers)s
    %(compile)s
    verbose : int, default=0
        ``1`` prints skorch's table of epochs, ``2`` adds a progress bar over the steps. With
        target rows, the table shows the domain head's loss (``train_domain_loss``) and
        accuracy (``train_domain_acc``) beside ``train_loss``: an accuracy that stays near 0.5
        means the features hide the domain, one near 1 that they reveal it.
    %(random_state)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    net_ : skorch.NeuralNet
        The trained network, ``net_.module_``: ``extractor``, ``label_head``, ``reversal``
        (the gradient reversal layer) and ``domain_head``. With target rows, its history
        holds ``train_domain_loss`` and ``train_domain_acc`` for each epoch, e.g.
        ``net_.history[:, "train_domain_acc"]``.
    n_features_out_ : int
        Width of the learned features that :meth:`transform` returns.
    %(input_attributes)s

    See Also
    --------
    sktransfer.nn.GradientReversal : The gradient reversal layer, to build your own networks.
    sktransfer.fine_tuning.FineTuneClassifier : Transfer with labelled target rows only.

    Notes
    -----
    With ``domain_weight=0`` the fit is source-only training: the extractor and label head
    receive exactly the gradients of the label loss (the reversed domain gradient is
    multiplied by 0), source rows are shuffled by their own generator and run through the
    extractor in their own pass, so the weights equal those of a fit on the source rows alone
    up to float rounding: the label loss is reduced over a batch that also holds the ignored
    target rows, which can change the last bit of a step (at 16 rows a step they are equal bit
    for bit on the CPU; at 10, some weights differ by one float32 rounding step). An extractor
    with batch normalisation is the one exception: its running statistics, used at
    prediction, also see the target rows.

    Training inputs are prepared once per fit (images decoded, resized, normalised) and held
    in memory as float32.

    References
    ----------
    .. [1] Y. Ganin, E. Ustinova, H. Ajakan, P. Germain, H. Larochelle, F. Laviolette,
       M. Marchand and V. Lempitsky, "Domain-Adversarial Training of Neural Networks", JMLR
       17(59), 2016.
    .. [2] Y. Ganin and V. Lempitsky, "Unsupervised Domain Adaptation by Backpropagation",
       ICML, 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.domain_adaptation import DANNClassifier
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(100, 2)); ys = (Xs[:, 0] > 0).astype(int)
    >>> Xt = rng.normal(size=(100, 2)) + [0.0, 3.0]
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    >>> clf = DANNClassifier(max_epochs=5, random_state=0)
    >>> clf.fit(X, y, sample_domain=sample_domain).predict(Xt).shape
    (100,)
    >>> clf.transform(Xt).shape
    (100, 256)
    """

    _callback_names = (
        *TrainedNetworkClassifier._callback_names,
        "domain_weight_schedule",
        "domain_log",
        "lr_schedule",
        "progress_bar",
    )

    _parameter_constraints: dict = {
        **TrainedNetworkClassifier._parameter_constraints,
        "backbone": [None, str, callable, Backbone],
        "hidden_layer_sizes": [tuple, list],
        "domain_hidden_layer_sizes": [tuple, list],
        "domain_weight": [Interval(Real, 0, None, closed="left")],
        "domain_weight_schedule": [StrOptions({"ganin", "constant"})],
        "lr_schedule": [StrOptions({"ganin", "constant"})],
        "extractor_lr_multiplier": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        backbone=None,
        weights=None,
        *,
        hidden_layer_sizes=(256,),
        domain_hidden_layer_sizes=(100,),
        domain_weight=1.0,
        domain_weight_schedule="ganin",
        lr=0.01,
        lr_schedule="ganin",
        extractor_lr_multiplier=1.0,
        max_epochs=10,
        batch_size="auto",
        optimizer="sgd",
        image_size=None,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.domain_hidden_layer_sizes = domain_hidden_layer_sizes
        self.domain_weight = domain_weight
        self.domain_weight_schedule = domain_weight_schedule
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.extractor_lr_multiplier = extractor_lr_multiplier
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.image_size = image_size
        self.callbacks = callbacks
        self.device = device
        self.precision = precision
        self.num_workers = num_workers
        self.compile = compile
        self.verbose = verbose
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, *, sample_domain=None):
        """Train the network on labelled rows and both domains at once.

        Parameters
        ----------
        X : images or array-like of shape (n_samples, n_features)
            Source and target rows together: a 2-D array, or images (a 4-D array or tensor,
            NCHW or NHWC; a 3-D array of grayscale images; file paths; PIL images).
        y : array-like of shape (n_samples,)
            Class labels; ``-1`` marks unlabelled target rows.
        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows. If None, rows with ``y == -1``
            are target rows and all others source rows. Requested through metadata routing, so
            it flows through :class:`~sklearn.pipeline.Pipeline` and
            :class:`~sklearn.model_selection.GridSearchCV` once
            ``set_fit_request(sample_domain=True)`` is set.

        Returns
        -------
        self : DANNClassifier
            The fitted classifier.
        """
        check_layer_sizes("hidden_layer_sizes", self.hidden_layer_sizes)
        check_layer_sizes("domain_hidden_layer_sizes", self.domain_hidden_layer_sizes)
        X, y, vectors = self._validate_fit_input(X, y)
        check_labels(y)
        is_target, labelled = _check_domains(y, sample_domain, _num_rows(X))
        labels, classes = self._encode_labels(y[labelled], unlabelled=np.count_nonzero(~labelled))
        codes = np.full(len(y), UNLABELED, dtype=np.int64)
        codes[labelled] = labels
        device = self._fit_device()
        callbacks = self._user_callbacks()
        seeds = check_random_state(self.random_state).randint(0, 2**31 - 1, size=3)
        with seeded(int(seeds[0]), device):
            backbone = self._load_backbone(X.shape[1] if vectors else None, vectors)
            images = self._check_images(X, backbone, vectors)
            if images is not None and self.image_size is None and not backbone.preprocessing.size:
                _check_same_size(images, is_target)
            spec = self._input_spec(backbone, images)
            inputs = self._training_inputs(X if vectors else images, spec, device)
            network = self._build_network(backbone, inputs[:1].cpu(), len(classes))
            rows = DomainRows(
                inputs,
                torch.as_tensor(codes).to(inputs.device),
                torch.as_tensor(is_target).to(inputs.device),
                source_seed=int(seeds[1]),
                target_seed=int(seeds[2]),
            )
            steps = len(PairedBatches(rows, self._train_batch_size()))
            net = self._build_net(network, steps, device, callbacks)
            net.fit(rows, None)
        self.classes_ = classes
        self.net_ = net
        self.n_features_out_ = network.label_head.in_features
        self._input = spec
        return self

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def _load_backbone(self, in_features, vectors):
        if self.backbone is None and self.weights is not None:
            # Neither default network has weights to load: they would be silently ignored.
            raise ValueError(
                f"weights={self.weights!r} needs a backbone to load them into, but "
                "backbone=None (the Ganin ConvNet for images, nothing for 2-D input) starts "
                "from random weights. Pass the backbone the weights belong to, or weights=None."
            )
        if self.backbone is None and vectors:
            return Backbone(nn.Identity(), [("input", nn.Identity())], input_kind="vector")
        if self.backbone is None:
            return ganin_cnn()
        return self._build_backbone(in_features)

    def _build_network(self, backbone, example, n_classes):
        trunk, width = backbone_trunk(backbone, example)
        bottleneck, n_features = mlp(width, self.hidden_layer_sizes)
        extractor = nn.Sequential(trunk, bottleneck)
        return DANNNetwork(extractor, n_features, n_classes, self.domain_hidden_layer_sizes)

    def _build_net(self, network, steps_per_epoch, device, user_callbacks):
        n_steps = self.max_epochs * steps_per_epoch
        callbacks = [
            (
                "domain_weight_schedule",
                DomainWeightSchedule(self.domain_weight, self.domain_weight_schedule, n_steps),
            ),
            ("domain_log", DomainLog()),
        ]
        if self.lr_schedule == "ganin":
            schedule = LRScheduler(LambdaLR, lr_lambda=GaninLRFactor(n_steps), step_every="batch")
            callbacks.append(("lr_schedule", schedule))
        if self.verbose > 1:
            callbacks.append(("progress_bar", ProgressBar(batches_per_epoch=steps_per_epoch)))
        params = self._net_params(device, callbacks + user_callbacks)
        if self.optimizer == "sgd":
            params["optimizer__momentum"] = 0.9
        return _DANNNet(
            module=network,
            criterion=DANNLoss,
            optimizer__param_groups=[
                ("extractor.*", {"lr": self.lr * self.extractor_lr_multiplier})
            ],
            iterator_train=PairedBatches,
            train_split=None,
            **params,
        )

    def _outputs(self, X, part):
        """``part`` ("features" or "logits") of every row, as float32."""
        X = self._validate_input(X, same_size=True)
        device = self._predict_device()
        module = self.net_.module_

        def logits(x):
            return module.label_head(module.extractor(x))

        forward = module.extractor if part == "features" else logits
        return self._run(module, forward, self._batches(X, device), device)

    def _logits(self, X):
        return self._outputs(X, "logits")

    # sample_domain is taken at prediction for a uniform call (skada's and the pipeline's
    # est.predict(X, sample_domain=...)) and read by nothing: not requested by default, so that
    # routing neither passes it nor refuses a search that routes it to fit alone.
    __metadata_request__predict = {"sample_domain": False}
    __metadata_request__predict_proba = {"sample_domain": False}
    __metadata_request__decision_function = {"sample_domain": False}
    __metadata_request__transform = {"sample_domain": False}
    __metadata_request__score = {"sample_domain": False}

    def _check_domain_at_prediction(self, X, sample_domain):
        """Validate a ``sample_domain`` given at prediction, which the network then ignores."""
        check_is_fitted(self)
        if sample_domain is not None:
            # Unused, but a misaligned array (another fold's, the labels) is a caller's slip.
            check_sample_domain(sample_domain, _num_rows(X))

    def decision_function(self, X, *, sample_domain=None):
        """The network's class scores (logits), before the softmax.

        Parameters
        ----------
        %(X)s
        sample_domain : array-like of shape (n_samples,), default=None
            Accepted for a uniform call; the network maps every row the same way. Checked
            (one integer per row, non-zero) and otherwise ignored.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Columns follow ``classes_``; for two classes, the score of the second class minus
            that of the first, as scikit-learn's binary classifiers give.
        """
        self._check_domain_at_prediction(X, sample_domain)
        return super().decision_function(X)

    def predict_proba(self, X, *, sample_domain=None):
        """Probability of each class.

        Parameters
        ----------
        %(X)s
        sample_domain : array-like of shape (n_samples,), default=None
            Accepted for a uniform call; the network maps every row the same way. Checked
            (one integer per row, non-zero) and otherwise ignored.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        self._check_domain_at_prediction(X, sample_domain)
        return super().predict_proba(X)

    def predict(self, X, *, sample_domain=None):
        """Most probable class.

        Parameters
        ----------
        %(X)s
        sample_domain : array-like of shape (n_samples,), default=None
            Accepted for a uniform call; the network maps every row the same way. Checked
            (one integer per row, non-zero) and otherwise ignored.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        self._check_domain_at_prediction(X, sample_domain)
        return super().predict(X)

    def score(self, X, y, sample_weight=None, *, sample_domain=None):
        """Return the accuracy on the labelled rows of ``X``; rows with ``y == -1`` are ignored.

        Parameters
        ----------
        %(X)s
        y : array-like of shape (n_samples,)
            True labels; ``-1`` marks unlabelled rows, which do not count.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        sample_domain : array-like of shape (n_samples,), default=None
            Accepted for a uniform call; the network maps every row the same way. Checked
            (one integer per row, non-zero) and otherwise ignored.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` on the labelled rows.
        """
        self._check_domain_at_prediction(X, sample_domain)
        return super().score(X, y, sample_weight=sample_weight)

    def transform(self, X, *, sample_domain=None):
        """The learned features: the extractor's output, which the two heads read.

        Parameters
        ----------
        %(X)s
        sample_domain : array-like of shape (n_samples,), default=None
            Accepted for a uniform call; the network maps every row the same way. Checked
            (one integer per row, non-zero) and otherwise ignored.

        Returns
        -------
        features : ndarray of shape (n_samples, `n_features_out_`)
            The extractor's output, one row per input.
        """
        self._check_domain_at_prediction(X, sample_domain)
        return self._outputs(X, "features")

    def fit_transform(self, X, y, *, sample_domain=None):
        """Fit, then return the learned features of ``X``.

        Parameters
        ----------
        %(X)s
        y : array-like of shape (n_samples,)
            As in :meth:`fit`.
        sample_domain : array-like of shape (n_samples,), default=None
            As in :meth:`fit`.

        Returns
        -------
        features : ndarray of shape (n_samples, `n_features_out_`)
            The extractor's output, one row per input.
        """
        return self.fit(X, y, sample_domain=sample_domain).transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform gives the learned features, computed in float32 whatever the input dtype.
        tags.transformer_tags = TransformerTags(preserves_dtype=["float32"])
        return tags


def _check_domains(y, sample_domain, n_samples):
    """Boolean masks of the target rows and of the labelled rows, after checking both."""
    rows = domain_rows(y, sample_domain, n_samples)
    if rows.is_target.all():
        raise ValueError(
            "Every row is a target row: DANN learns the labels from source rows, so at least "
            "one source row (positive sample_domain, y != -1) is needed."
        )
    if sample_domain is not None and not rows.has_target:
        raise ValueError(
            "sample_domain marks no target rows (negative values), so there is nothing to "
            "adapt to. Add the target rows, or pass sample_domain=None to train a plain "
            "supervised network on the labelled rows."
        )
    return rows.is_target, rows.labelled


def _check_same_size(images, is_target):
    """Refuse images of different sizes when nothing resizes them, naming the domains."""
    sizes = images.sizes()
    if len(set(sizes)) == 1:
        return
    source = sorted({s for s, t in zip(sizes, is_target, strict=True) if not t})
    target = sorted({s for s, t in zip(sizes, is_target, strict=True) if t})
    raise ValueError(
        f"The images differ in size (height, width): source rows {source[:3]}, target rows "
        f"{target[:3]}, and the network does not resize them. Pass image_size to resize every "
        "image to one size."
    )


class _DANNNet(LibraryNet, NeuralNet):
    """skorch's net, with no step waiting for the GPU: the batch's source rows are counted on
    the host, and the losses are read back once per epoch."""

    def infer(self, x, **fit_params):
        is_target = x["is_target"]
        n_source = len(is_target) - int(is_target.sum())
        return self.module_(to_tensor(x["x"], device=self.device), n_source, **fit_params)
