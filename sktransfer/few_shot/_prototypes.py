"""PrototypeClassifier: one mean embedding per class, new classes added from a few examples."""

from numbers import Real

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..utils._atomic import atomic_fit
from ..utils._sklearn import (
    Interval,
    StrOptions,
    _fit_context,
    check_labels,
    check_same_label_kind,
)

__all__ = ["PrototypeClassifier"]


class PrototypeClassifier(ClassifierMixin, BaseEstimator):
    """Nearest class mean on normalised embeddings: few-shot learning without meta-learning.

    Each class is represented by a prototype, the mean of its examples (Snell, Swersky and
    Zemel, 2017), and a row goes to the nearest prototype. The rows are first transformed as in
    SimpleShot (Wang et al., 2019): scaled to unit length ("L2N", the default), or centred on a
    mean first ("CL2N": pass the base classes' mean as ``center``, or ``"support"``). On
    the features of a pretrained network, this nearest-mean rule learns a class from one or a
    few examples and rivals meta-learned few-shot methods.

    ``partial_fit`` adds examples, or whole new classes, to a fitted model: each prototype is a
    running mean kept with its count, so a class added later needs no refit of the others.

    Read more in the :ref:`user guide <few_shot>`.

    Parameters
    ----------
    metric : {"euclidean", "cosine"}, default="euclidean"
        The distance to a prototype: the squared Euclidean distance (as in Snell et al.), or the
        cosine distance ``1 - cos(x, p)``. On unit-length rows the two rank prototypes alike
        only when prototypes have equal norms; the cosine ignores a prototype's length, which
        shrinks when its examples disagree.
    temperature : float, default=1.0
        Divides the negative distances before the softmax of :meth:`predict_proba`: small
        values give confident probabilities, large values flat ones. Predictions do not depend
        on it.
    center : "support", array-like of shape (n_features,) or None, default=None
        The mean subtracted from every row before the prototypes are computed and before
        prediction. ``"support"`` centres on the mean of the training rows of ``fit`` (or of
        the first ``partial_fit``; later calls keep it, so that the existing prototypes stay
        valid). An array is a fixed mean, typically that of the features of *base* classes with
        many labels, as SimpleShot prescribes: pass ``X_base.mean(axis=0)``. ``None`` does not
        centre.
    normalize : bool, default=True
        Scale each (centred) row to unit Euclidean length before averaging and measuring
        distances (rows of zeros stay zeros).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    prototypes_ : ndarray of shape (n_classes, n_features)
        The mean of each class's transformed rows, in the order of ``classes_``.
    class_count_ : ndarray of shape (n_classes,)
        Number of rows behind each prototype.
    center_ : ndarray of shape (n_features,)
        The mean subtracted from every row (zeros when ``center=None``).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when ``X`` has feature names that
        are all strings.

    See Also
    --------
    FewShotSplit : Episodes of ``n_way`` classes and ``n_shot`` examples each, as CV folds.
    sklearn.neighbors.NearestCentroid : The nearest class mean, without normalisation or
        incremental classes.

    References
    ----------
    .. [1] J. Snell, K. Swersky and R. Zemel, "Prototypical Networks for Few-shot Learning",
       NeurIPS 2017.
    .. [2] Y. Wang, W.-L. Chao, K. Q. Weinberger and L. van der Maaten, "SimpleShot:
       Revisiting Nearest-Neighbor Classification for Few-Shot Learning", arXiv:1911.04623,
       2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.few_shot import PrototypeClassifier
    >>> X = np.array([[1.0, 0.1], [0.9, 0.0], [0.0, 1.0], [0.1, 0.8]])
    >>> model = PrototypeClassifier().fit(X, ["a", "a", "b", "b"])
    >>> model.predict([[0.7, 0.2], [0.2, 0.9]])
    array(['a', 'b'], dtype='<U1')
    >>> model.partial_fit([[-1.0, 0.0]], ["c"]).classes_
    array(['a', 'b', 'c'], dtype='<U1')
    """

    _parameter_constraints = {
        "metric": [StrOptions({"euclidean", "cosine"})],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "center": [StrOptions({"support"}), "array-like", None],
        "normalize": ["boolean"],
    }

    def __init__(self, metric="euclidean", temperature=1.0, center=None, normalize=True):
        self.metric = metric
        self.temperature = temperature
        self.center = center
        self.normalize = normalize

    # Atomic: validation sets n_features_in_ before y or center can be refused, and a model
    # left with it but without prototypes would pass check_is_fitted, then fail in predict.
    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Compute one prototype per class, the mean of its transformed rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings of the training rows (the "support set").
        y : array-like of shape (n_samples,)
            Their classes.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_labels(y)
        self._start(X, y)
        self._add(self._transform(X), y)
        return self

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Add rows to the prototypes of their classes, creating the prototypes of new classes.

        Each prototype is updated as a running mean, so that fitting in several calls gives the
        prototypes of one ``fit`` on all the rows (with ``center="support"``, the centre stays
        that of the first call).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings of the new rows.
        y : array-like of shape (n_samples,)
            Their classes: known ones or new ones.
        classes : array-like of shape (n_classes,), default=None
            Accepted for compatibility with scikit-learn's incremental learners and unused: a
            class gets its prototype when its first row arrives, not before. When given, every
            label of ``y`` must be among them.

        Returns
        -------
        self : object
            The updated classifier.
        """
        first_call = not hasattr(self, "prototypes_")
        X, y = validate_data(self, X, y, dtype=np.float64, reset=first_call)
        check_labels(y)
        if classes is not None:
            unknown = np.setdiff1d(y, column_or_1d(classes))
            if len(unknown):
                raise ValueError(
                    f"y holds labels that are not in classes: {unknown.tolist()}; classes must "
                    "list every label, or be left as None."
                )
        if first_call:
            self._start(X, y)
        else:
            # NumPy would join the two kinds as strings, and predict strings for numbers.
            check_same_label_kind(y, self.classes_, "y", "classes_")
        self._add(self._transform(X), y)
        return self

    def decision_function(self, X):
        """Negative distances from each row to each prototype.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings of the rows to classify.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            ``-distance`` to the prototype of each class in ``classes_`` (higher is closer);
            for two classes, the score of the second class minus that of the first.
        """
        check_is_fitted(self)
        scores, scale = self._scaled_scores(X)
        with np.errstate(over="ignore"):
            scores = scores * scale * scale
        if not np.isfinite(scores).all():
            raise ValueError(
                f"X and the prototypes are so far apart (values up to {scale:.3g}) that their "
                "squared distances overflow float64: scale the embeddings down, or use "
                "normalize=True or metric='cosine', which do not depend on their scale."
            )
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict_proba(self, X):
        """Class probabilities, the softmax of the negative distances over ``temperature``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings of the rows to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes in ``classes_``; each row sums to 1.
        """
        check_is_fitted(self)
        scores, scale = self._scaled_scores(X)
        # Shifted first (softmax does not change): the nearest prototype's score is then 0 and
        # cannot overflow; a score that does becomes -inf, a probability of 0, as it should.
        scores = scores - scores.max(axis=1, keepdims=True)
        with np.errstate(over="ignore"):
            return softmax(scores * scale * scale / self.temperature, axis=1)

    def predict(self, X):
        """The class of the nearest prototype.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Embeddings of the rows to classify.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predicted classes.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self._scaled_scores(X)[0], axis=1)]

    def _scaled_scores(self, X):
        """The scores divided by ``scale ** 2``, and ``scale``.

        Euclidean distances are computed on ``X`` and the prototypes divided by a power of two
        (which changes no digit): the products of embeddings of 1e160 overflowed, those of
        1e-200 underflowed, and NaN or tied scores made the predictions.
        """
        X = self._transform(validate_data(self, X, dtype=np.float64, reset=False))
        if self.metric == "cosine":
            return _unit_rows(X) @ _unit_rows(self.prototypes_).T - 1.0, 1.0
        scale = _power_of_two_above(max(np.abs(X).max(), np.abs(self.prototypes_).max()))
        X, prototypes = X / scale, self.prototypes_ / scale
        squared = (
            np.einsum("ij,ij->i", X, X)[:, None]
            - 2 * X @ prototypes.T
            + np.einsum("ij,ij->i", prototypes, prototypes)[None, :]
        )
        return -np.maximum(squared, 0.0), scale

    def _start(self, X, y):
        """No prototype yet: the centre, and empty classes, counts and prototypes."""
        self.center_ = self._resolve_center(X)
        self.classes_ = np.empty(0, dtype=y.dtype)
        self.class_count_ = np.empty(0, dtype=np.int64)
        self.prototypes_ = np.empty((0, X.shape[1]))

    def _resolve_center(self, X):
        if self.center is None:
            return np.zeros(X.shape[1])
        if isinstance(self.center, str):  # "support"
            return X.mean(axis=0)
        center = np.asarray(self.center, dtype=np.float64)
        if center.shape != (X.shape[1],):
            raise ValueError(
                f"center has shape {center.shape}, but X has {X.shape[1]} features: pass the "
                f"mean of the base features, of shape ({X.shape[1]},)."
            )
        if not np.isfinite(center).all():
            raise ValueError("center holds NaN or infinite values.")
        return center

    def _transform(self, X):
        X = X - self.center_
        return _unit_rows(X) if self.normalize else X

    def _add(self, X, y):
        """Fold the rows ``X`` of classes ``y`` into the running means, keeping classes sorted."""
        new = np.setdiff1d(np.unique(y), self.classes_)
        if len(new):
            classes = np.concatenate([self.classes_, new])
            order = np.argsort(classes, kind="stable")
            self.classes_ = classes[order]
            self.class_count_ = np.concatenate([self.class_count_, np.zeros(len(new), np.int64)])[
                order
            ]
            self.prototypes_ = np.vstack([self.prototypes_, np.zeros((len(new), X.shape[1]))])[
                order
            ]
        index = np.searchsorted(self.classes_, y)
        sums = np.zeros_like(self.prototypes_)
        np.add.at(sums, index, X)
        counts = np.bincount(index, minlength=len(self.classes_))
        total = self.class_count_ + counts
        touched = counts > 0
        # A new array: the fitted one may be read-only (joblib.load(..., mmap_mode="r")).
        prototypes = self.prototypes_.copy()
        prototypes[touched] = (
            prototypes[touched] * self.class_count_[touched, None] + sums[touched]
        ) / total[touched, None]
        self.prototypes_ = prototypes
        self.class_count_ = total

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


def _unit_rows(X):
    # Scaled by a power of two first (exact): the squares of values above ~1e154 overflow.
    X = X / _power_of_two_above(np.abs(X).max(axis=1, keepdims=True))
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def _power_of_two_above(values):
    """The powers of two just above ``values`` (1 where a value is 0)."""
    _, exponent = np.frexp(values)
    return np.ldexp(1.0, np.where(np.asarray(values) > 0, exponent, 0))
