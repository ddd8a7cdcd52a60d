"""EmbeddingZeroShot: images and classes embedded by two small networks, DeViSE-like."""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from scipy.special import softmax
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet
from torch import nn
from torch.nn import functional as F

from .._network_base import (
    TrainedNetworkClassifier,
    check_layer_sizes,
    detached,
    fill_doc,
    mlp,
    writable,
)
from ..utils._sklearn import Integers, Interval, StrOptions, _fit_context, check_labels
from ..utils._skorch import LibraryNet, training_batches
from ..utils._torch import seeded
from ._attribute_zero_shot import AttributeZeroShot, _ClassTable

__all__ = ["EmbeddingZeroShot"]

_SHARED = (
    "batch_size",
    "device",
    "precision",
    "compile",
    "verbose",
    "random_state",
    "lr",
    "max_epochs",
    "optimizer",
)


@fill_doc
class EmbeddingZeroShot(TrainedNetworkClassifier):
    """Zero-shot classification in a learned joint embedding of images and classes.

    The picture of zero-shot learning of DeViSE (Frome et al., 2013): a small network ``f``
    maps image features (CNN codes, for instance) into an embedding space, a second small
    network ``g`` maps the class descriptions (rows of ``class_attributes``: attributes or
    class-name vectors) into the same space, and both are trained on the *seen* classes so
    that ``f(x)`` lands nearer to its own class's ``g(y)`` than to any other seen class's, by
    a hinge ranking loss ``sum_j max(0, margin - s(x, y) + s(x, j))`` over the other seen
    classes ``j``. A class without any training image is recognised by ``g`` of its row: the
    candidate whose embedding is most similar to ``f(x)`` is predicted.

    It is a sibling of :class:`AttributeZeroShot` with the same class table, ``candidates``
    and ``calibration``, trained with skorch like the library's other network estimators.

    Read more in the :ref:`user guide <zero_shot>`.

    Parameters
    ----------
    class_attributes : DataFrame, dict or array-like of shape (n_classes, n_attributes)
        One row per class, seen or unseen: a DataFrame indexed by class name, a dict mapping
        each class name to its vector, or an array whose rows are named by ``class_names``.
        Every label of ``y`` must be a row.

    class_names : array-like of shape (n_classes,), default=None
        The class of each row when ``class_attributes`` is an array; must be None otherwise.

    candidates : {"unseen", "all", "seen"} or array-like, default="unseen"
        The classes ``predict`` chooses from: the table's classes absent from ``y``
        (zero-shot learning), every class of the table (generalised zero-shot learning), the
        classes of ``y`` only, or an explicit list of table classes.

    calibration : float, default=0.0
        Calibrated stacking (Chao et al., 2016): subtracted from the scores of the seen classes
        among the candidates. Scores are cosines (``similarity="cosine"``) or dot products.

    center_attributes : bool, default=True
        Subtract from every attribute its mean over all classes of the table before fitting,
        so that a row says how its class differs from the average class.

    embedding_dim : int, default=64
        Width of the joint embedding space, the output of both networks.

    image_hidden_layer_sizes : tuple of int, default=(256,)
        Hidden layers (ReLU) of ``f``, the image network; empty for a linear map.

    class_hidden_layer_sizes : tuple of int, default=()
        Hidden layers (ReLU) of ``g``, the class network; empty (the default) for a linear
        map, as DeViSE's fixed word vectors are in effect: a wider ``g`` can fit the few seen
        rows in ways that do not carry over to unseen rows.

    similarity : {"cosine", "dot"}, default="cosine"
        How an image's embedding is compared with a class's: the cosine of the two, or
        their dot product (DeViSE's choice, with unit class vectors).

    margin : float, default=1.0
        Margin of the hinge ranking loss. DeViSE used 0.1 with its dot products; cosines lie
        in [-1, 1], and a wider margin keeps pulling the classes apart after they are barely
        ranked right (it did better on the animal silhouettes, see the user guide).

    temperature : float, default=0.1
        ``predict_proba`` is the softmax of the scores divided by ``temperature``; it changes
        neither ``predict`` nor ``decision_function``.

    lr : float, default=1e-3
        Learning rate.

    weight_decay : float, default=1e-4
        Weight decay of the optimizer, on both networks.

    max_epochs : int, default=10
        Passes over the training rows.

    batch_size : int or "auto", default="auto"
        Rows per training step and per inference batch. ``"auto"``: 64 per step on every
        device, so that a fit does not depend on where it runs; inference takes 256 rows at a
        time on a GPU, 64 on the CPU.

    optimizer : {"adamw", "adam", "sgd"} or torch optimizer class, default="adam"
        The optimizer; a class is called with the networks' parameters, ``lr`` and
        ``weight_decay``.

    %(callbacks)s

    %(device)s

    %(precision)s

    %(compile)s

    %(verbose)s

    %(random_state)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The candidate classes, sorted: the columns of ``decision_function`` and
        ``predict_proba``.

    seen_classes_ : ndarray of shape (n_seen,)
        The classes of ``y``, sorted, with the type of ``y``.

    attributes_ : ndarray of shape (n_classes, n_attributes)
        The rows of ``classes_`` in the table, as floats (centred by ``center_attributes``).

    seen_attributes_ : ndarray of shape (n_seen, n_attributes)
        The rows of ``seen_classes_`` in the table, as ``attributes_``.

    attribute_names_ : ndarray of shape (n_attributes,)
        The columns of a DataFrame table; ``"a0", "a1", ...`` otherwise.

    class_embeddings_ : ndarray of shape (n_classes, embedding_dim)
        ``g`` of every candidate's row, of unit length.

    net_ : skorch.NeuralNet
        The trained skorch net; ``net_.module_`` holds both networks.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    AttributeZeroShot : Zero-shot methods in closed form or through attribute classifiers.
    harmonic_mean_score : The generalised zero-shot metric ``H = 2us / (u + s)``.
    ClassHoldoutSplit : Cross-validation folds for generalised zero-shot learning.

    References
    ----------
    .. [1] A. Frome, G. S. Corrado, J. Shlens, S. Bengio, J. Dean, M. Ranzato and
       T. Mikolov, "DeViSE: A Deep Visual-Semantic Embedding Model", NeurIPS 2013.
    .. [2] W.-L. Chao, S. Changpinyo, B. Gong and F. Sha, "An Empirical Study and Analysis of
       Generalized Zero-Shot Learning for Object Recognition in the Wild", ECCV 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.zero_shot import EmbeddingZeroShot
    >>> table = {
    ...     "horse": [1, 0, 0, 1], "tiger": [0, 1, 1, 1], "cat": [0, 0, 1, 0],
    ...     "zebra": [1, 1, 0, 1], "lion": [0, 0, 1, 1],
    ... }
    >>> y = np.array(["horse", "tiger", "cat"] * 20)
    >>> noise = np.random.default_rng(0).normal(0, 0.1, (60, 4))
    >>> X = np.array([table[animal] for animal in y]) + noise
    >>> zsl = EmbeddingZeroShot(table, max_epochs=50, random_state=0).fit(X, y)
    >>> zsl.classes_
    array(['lion', 'zebra'], dtype='<U5')
    >>> zsl.predict([[1, 1, 0, 1], [0, 0, 1, 1]])
    array(['zebra', 'lion'], dtype='<U5')
    """

    _parameter_constraints: dict = {
        **{name: TrainedNetworkClassifier._parameter_constraints[name] for name in _SHARED},
        "class_attributes": ["array-like", dict],
        "class_names": ["array-like", None],
        "candidates": [StrOptions({"unseen", "all", "seen"}), "array-like"],
        "calibration": [Interval(Real, None, None, closed="neither")],
        "center_attributes": ["boolean"],
        "embedding_dim": [Integers(1, None, closed="left")],
        "image_hidden_layer_sizes": [tuple, list],
        "class_hidden_layer_sizes": [tuple, list],
        "similarity": [StrOptions({"cosine", "dot"})],
        "margin": [Interval(Real, 0, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "callbacks": [None, list],
    }

    def __init__(
        self,
        class_attributes,
        *,
        class_names=None,
        candidates="unseen",
        calibration=0.0,
        center_attributes=True,
        embedding_dim=64,
        image_hidden_layer_sizes=(256,),
        class_hidden_layer_sizes=(),
        similarity="cosine",
        margin=1.0,
        temperature=0.1,
        lr=1e-3,
        weight_decay=1e-4,
        max_epochs=10,
        batch_size="auto",
        optimizer="adam",
        callbacks=None,
        device="auto",
        precision="auto",
        compile=False,
        verbose=0,
        random_state=None,
    ):
        self.class_attributes = class_attributes
        self.class_names = class_names
        self.candidates = candidates
        self.calibration = calibration
        self.center_attributes = center_attributes
        self.embedding_dim = embedding_dim
        self.image_hidden_layer_sizes = image_hidden_layer_sizes
        self.class_hidden_layer_sizes = class_hidden_layer_sizes
        self.similarity = similarity
        self.margin = margin
        self.temperature = temperature
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.callbacks = callbacks
        self.device = device
        self.precision = precision
        self.compile = compile
        self.verbose = verbose
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train both networks on the images of the seen classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features of images of the seen classes (CNN codes, for instance).
        y : array-like of shape (n_samples,)
            Their classes; every label must be a row of ``class_attributes``.

        Returns
        -------
        self : EmbeddingZeroShot
            The fitted estimator.
        """
        check_layer_sizes("image_hidden_layer_sizes", self.image_hidden_layer_sizes)
        check_layer_sizes("class_hidden_layer_sizes", self.class_hidden_layer_sizes)
        X, y = validate_data(self, detached(X), y, dtype=np.float32)
        X = writable(X)
        # The class table, labels and candidates are checked as AttributeZeroShot checks them,
        # all before any training.
        table = _ClassTable.from_param(self.class_attributes, self.class_names)
        if self.center_attributes:
            table.values = table.values - table.values.mean(axis=0)
        seen_labels, y_index = self._encode_seen(y)
        seen = table.seen_rows(seen_labels)
        candidates, classes = table.candidate_classes(self.candidates, seen, seen_labels)
        table.check_distinct(candidates, "embedding", scorer="the class network")
        device = self._fit_device()
        callbacks = self._user_callbacks()
        seen_attributes = torch.as_tensor(table.values[seen], dtype=torch.float32)
        with seeded(self.random_state, device):
            module = _TwoTowers(
                X.shape[1],
                seen_attributes,
                self.image_hidden_layer_sizes,
                self.class_hidden_layer_sizes,
                self.embedding_dim,
                self.similarity,
            )
            net = self._build_net(module, device, callbacks)
            net.fit(X, y_index.astype(np.int64))

        self.classes_ = classes
        self.seen_classes_ = seen_labels
        self.attributes_ = table.values[candidates]
        self.seen_attributes_ = table.values[seen]
        self.attribute_names_ = table.attribute_names
        self.net_ = net
        self.class_embeddings_ = self._embed_classes(self.attributes_)
        self._candidate_is_seen = np.isin(candidates, seen)
        return self

    def _encode_seen(self, y):
        check_labels(y)
        seen_labels, y_index = np.unique(y, return_inverse=True)
        return seen_labels, y_index.ravel()

    def _build_net(self, module, device, callbacks):
        return _RankingNet(
            module=module,
            criterion=_RankingHingeLoss,
            criterion__margin=self.margin,
            optimizer__weight_decay=self.weight_decay,
            train_split=None,
            **training_batches(device),
            **self._net_params(device, callbacks),
        )

    def _embed_classes(self, attributes):
        module = self.net_.module_
        module.eval()
        device = module.seen_attributes.device
        with torch.inference_mode():
            rows = torch.as_tensor(attributes, dtype=torch.float32, device=device)
            return module.embed_classes(rows).cpu().numpy().astype(np.float64)

    def _image_embeddings(self, X):
        X = writable(validate_data(self, detached(X), dtype=np.float32, reset=False))
        device = self._predict_device()
        module = self.net_.module_
        return self._run(module, module.embed_images, self._rows(X, device), device)

    def embed(self, X):
        """The embedding ``f(x)`` of each image, in the space of ``class_embeddings_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Image features.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, embedding_dim)
            Unit length for ``similarity="cosine"``.
        """
        check_is_fitted(self)
        return self._image_embeddings(X).astype(np.float64)

    def _logits(self, X):
        scores = self._image_embeddings(X).astype(np.float64) @ self.class_embeddings_.T
        scores[:, self._candidate_is_seen] -= self.calibration
        return scores

    def predict_proba(self, X):
        """Probability of each candidate class: a softmax of the scores over ``temperature``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Image features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.
        """
        check_is_fitted(self)
        return softmax(self._logits(X) / self.temperature, axis=1)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y``.

        Warns when ``y`` holds classes that are not candidates: ``predict`` never returns
        them, so their rows all count as wrong.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Image features.
        y : array-like of shape (n_samples,)
            True classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy.
        """
        check_is_fitted(self)
        self._warn_if_classes_cannot_be_predicted(y)
        return super().score(X, y, sample_weight=sample_weight)

    # A method, as AttributeZeroShot's, so that harmonic_mean_scorer and
    # per_class_accuracy_scorer find it: they scored 0 on every fold without its warning.
    _warn_if_classes_cannot_be_predicted = AttributeZeroShot._warn_if_classes_cannot_be_predicted

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = False
        tags.classifier_tags.multi_class = True
        return tags


def _tower(in_features, hidden_layer_sizes, out_features):
    hidden, width = mlp(in_features, hidden_layer_sizes)
    return nn.Sequential(*hidden, nn.Linear(width, out_features))


class _TwoTowers(nn.Module):
    """``f`` on image features and ``g`` on class rows; ``forward`` scores the seen classes."""

    def __init__(
        self, n_features, seen_attributes, image_sizes, class_sizes, embedding_dim, similarity
    ):
        super().__init__()
        self.image_tower = _tower(n_features, image_sizes, embedding_dim)
        self.class_tower = _tower(seen_attributes.shape[1], class_sizes, embedding_dim)
        self.register_buffer("seen_attributes", seen_attributes)
        self.similarity = similarity

    def embed_images(self, x):
        out = self.image_tower(x)
        return F.normalize(out, dim=1) if self.similarity == "cosine" else out

    def embed_classes(self, rows):
        # Unit class vectors for both similarities, as DeViSE's normalised word vectors.
        return F.normalize(self.class_tower(rows), dim=1)

    def forward(self, x):
        return self.embed_images(x) @ self.embed_classes(self.seen_attributes).T


class _RankingHingeLoss(nn.Module):
    """DeViSE's loss: ``sum_j max(0, margin - s_y + s_j)`` over the other classes, averaged."""

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, scores, target):
        true = scores.gather(1, target[:, None])
        violations = (self.margin - true + scores).clamp(min=0)
        own = F.one_hot(target, scores.shape[1]).bool()
        return violations.masked_fill(own, 0.0).sum(dim=1).mean()


class _RankingNet(LibraryNet, NeuralNet):
    """skorch's net, with the train/eval switch trimmed (see ``ModeSetOnChange``), the losses
    read back once per epoch (see ``OneSyncPerEpoch``) and a diverged training refused (see
    ``RaisesOnDivergence``)."""
