"""Zero-shot evaluation as in Xian et al.: per-class accuracy, the harmonic mean, class folds."""

from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ..utils._sklearn import (
    Integers,
    Interval,
    check_label_values,
    check_same_label_kind,
    validate_parameter_constraints,
)

__all__ = [
    "ClassHoldoutSplit",
    "harmonic_mean_score",
    "harmonic_mean_scorer",
    "per_class_accuracy_score",
    "per_class_accuracy_scorer",
    "seen_unseen_accuracy",
]


def per_class_accuracy_score(y_true, y_pred):
    """Mean over the classes of ``y_true`` of each class's top-1 accuracy.

    The zero-shot metric of Xian et al. (2019): every class counts the same, however many
    test images it has. It equals :func:`~sklearn.metrics.balanced_accuracy_score`, without its
    warning when ``y_pred`` holds classes absent from ``y_true`` (a zero-shot model predicts
    among candidates that a test fold may not contain).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True classes.
    y_pred : array-like of shape (n_samples,)
        Predicted classes, of the same kind as ``y_true`` (numbers or strings).

    Returns
    -------
    score : float
        In [0, 1]; the chance level with ``k`` candidates is ``1 / k``.

    References
    ----------
    .. [1] Y. Xian, C. H. Lampert, B. Schiele and Z. Akata, "Zero-Shot Learning - A
       Comprehensive Evaluation of the Good, the Bad and the Ugly", IEEE TPAMI 41(9), 2019.

    Examples
    --------
    >>> from sktransfer.zero_shot import per_class_accuracy_score
    >>> per_class_accuracy_score(["a", "a", "a", "b"], ["a", "a", "b", "b"])
    0.8333...
    """
    y_true, y_pred = _check_labels(y_true, y_pred)
    return _per_class_accuracy(y_true, y_pred)


def seen_unseen_accuracy(y_true, y_pred, *, seen_classes):
    """Per-class accuracies ``u`` on the unseen classes and ``s`` on the seen classes.

    The two halves of generalised zero-shot evaluation (Xian et al., 2019): predictions are
    made among all classes, then the per-class accuracy is averaged separately over the test
    rows of unseen classes and of seen classes.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True classes, of both kinds.
    y_pred : array-like of shape (n_samples,)
        Predicted classes, of the same kind as ``y_true`` (numbers or strings).
    seen_classes : array-like
        The classes the model was trained on (its ``seen_classes_``), of the same kind as
        ``y_true``.

    Returns
    -------
    u : float
        Per-class accuracy on the rows whose class is not in ``seen_classes``.
    s : float
        Per-class accuracy on the rows whose class is in ``seen_classes``.

    Examples
    --------
    >>> from sktransfer.zero_shot import seen_unseen_accuracy
    >>> seen_unseen_accuracy(["a", "b", "c", "c"], ["a", "a", "c", "a"], seen_classes=["a", "b"])
    (0.5, 0.5)
    """
    return _known_and_new_accuracy(y_true, y_pred, seen_classes, name="seen_classes")


# The words of the two settings that score known and new classes apart, so that each one's
# errors speak of its own parameter: generalised few-shot learning calls the known classes
# base and the new ones novel.
_SETTINGS = {
    "seen_classes": {
        "known": "seen",
        "new": "unseen",
        "meaning": "the classes the model was trained on",
        "evaluation": "generalised zero-shot evaluation",
        "folds": " (ClassHoldoutSplit makes such folds)",
    },
    "base_classes": {
        "known": "base",
        "new": "novel",
        "meaning": "the classes learned from many rows",
        "evaluation": "generalised few-shot evaluation",
        "folds": "",
    },
}


def _known_and_new_accuracy(y_true, y_pred, known_classes, *, name):
    """Per-class accuracies on the rows of new and of known classes; ``name`` is the
    parameter that gave ``known_classes``, a key of ``_SETTINGS``."""
    words = _SETTINGS[name]
    y_true, y_pred = _check_labels(y_true, y_pred)
    known_classes = _check_known_classes(known_classes, name, words["meaning"])
    # Known classes of another kind than y_true matched no row, and the error blamed y_true.
    check_same_label_kind(y_true, known_classes, "y_true", name)
    is_known = np.isin(y_true, known_classes)
    if is_known.all() or not is_known.any():
        kind = words["new"] if is_known.all() else words["known"]
        raise ValueError(
            f"y_true holds no row of a {kind} class: {words['evaluation']} needs test rows of "
            f"{words['known']} and of {words['new']} classes{words['folds']}."
        )
    new = _per_class_accuracy(y_true[~is_known], y_pred[~is_known])
    known = _per_class_accuracy(y_true[is_known], y_pred[is_known])
    return new, known


def harmonic_mean_score(y_true, y_pred, *, seen_classes):
    """The generalised zero-shot score ``H = 2 u s / (u + s)`` of Xian et al. (2019).

    ``u`` and ``s`` are the per-class accuracies on the test rows of unseen and of seen
    classes (see :func:`seen_unseen_accuracy`). The harmonic mean is high only when both are:
    a model that always predicts seen classes scores ``H = 0``, however good ``s`` is.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True classes, of both kinds.
    y_pred : array-like of shape (n_samples,)
        Predicted classes, of the same kind as ``y_true`` (numbers or strings).
    seen_classes : array-like
        The classes the model was trained on (its ``seen_classes_``), of the same kind as
        ``y_true``.

    Returns
    -------
    H : float
        In [0, 1]; 0 when ``u`` or ``s`` is 0.

    References
    ----------
    .. [1] Y. Xian, C. H. Lampert, B. Schiele and Z. Akata, "Zero-Shot Learning - A
       Comprehensive Evaluation of the Good, the Bad and the Ugly", IEEE TPAMI 41(9), 2019.

    Examples
    --------
    >>> from sktransfer.zero_shot import harmonic_mean_score
    >>> y_true = ["a", "a", "b", "b", "c", "c"]
    >>> y_pred = ["a", "a", "b", "a", "c", "a"]
    >>> round(harmonic_mean_score(y_true, y_pred, seen_classes=["a", "b"]), 3)
    0.6
    """
    u, s = seen_unseen_accuracy(y_true, y_pred, seen_classes=seen_classes)
    return 0.0 if u + s == 0 else 2 * u * s / (u + s)


def per_class_accuracy_scorer(estimator, X, y):
    """Scorer for :func:`per_class_accuracy_score`, usable as ``scoring=`` in a search.

    Warns, as the zero-shot models' ``score`` does, when ``y`` holds classes that the model
    cannot predict (seen classes with ``candidates="unseen"``, as in stratified folds): their
    rows all count as wrong.

    Parameters
    ----------
    estimator : fitted classifier
        A zero-shot model, or a pipeline ending in one.
    X : array-like
        Test input.
    y : array-like of shape (n_samples,)
        True classes.

    Returns
    -------
    score : float
        The mean over the classes of ``y`` of each class's accuracy.
    """
    _warn_if_classes_cannot_be_predicted(_final_model(estimator), y)
    return per_class_accuracy_score(y, estimator.predict(X))


def harmonic_mean_scorer(estimator, X, y):
    """Scorer for :func:`harmonic_mean_score`, usable as ``scoring=`` in a search.

    The seen classes are read from the fitted model's ``seen_classes_`` (the last step's, for a
    pipeline; the best estimator's, for a fitted search in nested cross-validation), so each
    fold is scored against the classes it was trained on. Use it with
    folds holding test rows of seen and of unseen classes, such as :class:`ClassHoldoutSplit`,
    and a model predicting among all classes (``candidates="all"``).

    Parameters
    ----------
    estimator : fitted classifier
        An :class:`AttributeZeroShot`, a pipeline ending in one, or a fitted search over them.
    X : array-like
        Test input.
    y : array-like of shape (n_samples,)
        True classes.

    Returns
    -------
    H : float
        The harmonic mean of the per-class accuracies on the seen and on the unseen classes.
    """
    model = _final_model(estimator)
    if not hasattr(model, "seen_classes_"):
        raise TypeError(
            f"harmonic_mean_scorer needs a fitted model with seen_classes_ (such as "
            f"AttributeZeroShot), got {type(model).__name__}."
        )
    # A model that cannot predict seen classes scores H = 0 on every fold: say why.
    _warn_if_classes_cannot_be_predicted(model, y)
    return harmonic_mean_score(y, estimator.predict(X), seen_classes=model.seen_classes_)


def _warn_if_classes_cannot_be_predicted(model, y):
    """The zero-shot model's warning for test classes it never predicts; other models have none.

    per_class_accuracy_scorer had no warning: on stratified folds with candidates="unseen"
    every fold scored 0 without a word, where score warned.
    """
    warn = getattr(model, "_warn_if_classes_cannot_be_predicted", None)
    if warn is not None:
        warn(y)


def _final_model(estimator):
    """The model that predicts, inside pipelines and fitted searches.

    A search's scorer is given the fitted search itself in nested cross-validation
    (``cross_val_score(GridSearchCV(...), scoring=harmonic_mean_scorer)``): its
    ``best_estimator_`` has the seen classes, and before, every outer fold failed to score.
    """
    while True:
        if hasattr(estimator, "steps"):
            estimator = estimator[-1]
        elif hasattr(estimator, "best_estimator_"):
            estimator = estimator.best_estimator_
        else:
            return estimator


class ClassHoldoutSplit(BaseCrossValidator):
    """Folds for generalised zero-shot learning: some classes held out, and some rows of others.

    Each fold draws ``n_unseen`` classes at random; all their rows go to the test set (they are
    the fold's unseen classes), and a fraction ``seen_test_size`` of the rows of every other
    class joins them (the seen classes' test rows). The model trains on the remaining rows, so
    the fold can be scored by :func:`harmonic_mean_scorer`. For zero-shot learning alone,
    :class:`~sklearn.model_selection.GroupKFold` with ``groups=y`` gives class-disjoint folds.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds (each draws its own classes, so folds may share unseen classes).
    n_unseen : int or float, default=0.3
        Unseen classes per fold: a count, or a fraction of the classes of ``y`` (rounded,
        at least one). At least two classes must stay seen.
    seen_test_size : float, default=0.2
        Fraction of the rows of each seen class held out for testing.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.zero_shot import ClassHoldoutSplit
    >>> y = np.repeat(["a", "b", "c", "d"], 5)
    >>> train, test = next(ClassHoldoutSplit(n_unseen=1, random_state=0).split(y, y))
    >>> np.unique(y[train]).tolist(), np.unique(y[test]).tolist()
    (['a', 'b', 'd'], ['a', 'b', 'c', 'd'])
    """

    _parameter_constraints: dict = {
        "n_splits": [Integers(1, None, closed="left")],
        "n_unseen": [
            Integers(1, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
        ],
        "seen_test_size": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, n_splits=5, *, n_unseen=0.3, seen_test_size=0.2, random_state=None):
        self.n_splits = n_splits
        self.n_unseen = n_unseen
        self.seen_test_size = seen_test_size
        self.random_state = random_state
        # Checked when built, as the library's other splitters: n_splits=0 gave no fold at
        # all, silently, and n_unseen="x" or NaN failed in a bare comparison or cast.
        validate_parameter_constraints(
            self._parameter_constraints,
            {
                "n_splits": n_splits,
                "n_unseen": n_unseen,
                "seen_test_size": seen_test_size,
                "random_state": random_state,
            },
            caller_name=type(self).__name__,
        )

    def split(self, X, y, groups=None):
        """Generate indices of the training and test rows of each fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input; only its length is used.
        y : array-like of shape (n_samples,)
            Classes of the rows.
        groups : None
            Ignored; the classes are the groups.

        Yields
        ------
        train : ndarray
            Indices of the training rows.
        test : ndarray
            Indices of the test rows.
        """
        check_consistent_length(X, y)
        y = column_or_1d(y)
        # NaN labels made a class of their own, and labels of mixed types failed in NumPy's sort.
        check_label_values(y)
        classes, y_index = np.unique(y, return_inverse=True)
        n_unseen = self._n_unseen(len(classes))
        if not 0 < self.seen_test_size < 1:
            raise ValueError(f"seen_test_size must be in (0, 1), got {self.seen_test_size!r}.")
        rng = check_random_state(self.random_state)
        for _ in range(self.n_splits):
            unseen = rng.choice(len(classes), n_unseen, replace=False)
            test = np.isin(y_index, unseen)
            for k in np.setdiff1d(np.arange(len(classes)), unseen):
                rows = np.flatnonzero(y_index == k)
                n_test = min(max(1, round(self.seen_test_size * len(rows))), len(rows) - 1)
                test[rng.choice(rows, n_test, replace=False)] = True
            yield np.flatnonzero(~test), np.flatnonzero(test)

    def _n_unseen(self, n_classes):
        n = self.n_unseen
        if isinstance(n, Real) and not isinstance(n, Integral):
            n = max(1, round(n * n_classes))
        if not 1 <= n <= n_classes - 2:
            raise ValueError(
                f"n_unseen={self.n_unseen!r} leaves {n_classes - n} of {n_classes} classes seen; "
                "each fold needs at least one unseen and two seen classes."
            )
        return int(n)

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of folds, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Ignored.

        Returns
        -------
        n_splits : int
            The number of folds.
        """
        return self.n_splits


def _check_labels(y_true, y_pred):
    y_true, y_pred = column_or_1d(y_true), column_or_1d(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true and y_pred have different lengths: {len(y_true)} and {len(y_pred)}."
        )
    if len(y_true) == 0:
        raise ValueError("y_true is empty.")
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        # NaN != NaN: rows labelled NaN would count as a class that is never predicted right.
        if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
            raise ValueError(f"{name} holds NaN or infinite values, which are no classes.")
    # Labels of mixed types failed in NumPy's sort into classes.
    check_label_values(y_true, name="y_true")
    # A number never equals a string: [0, 1] against ["0", "1"] scored 0.0 without a word,
    # where scikit-learn's accuracy_score refuses such labels.
    check_same_label_kind(y_true, y_pred, "y_true", "y_pred")
    return y_true, y_pred


def _check_known_classes(classes, name, meaning):
    """The seen (or base) classes as given, not cast to the dtype of ``y_true``: such a cast
    cuts 'abc' to 'a' for one-letter labels and 0.5 to 0 for integer labels, silently."""
    known = None if classes is None else np.asarray(classes)
    if known is None or known.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array-like of {meaning}; got {classes!r}.")
    return known


def _per_class_accuracy(y_true, y_pred):
    classes, y_index = np.unique(y_true, return_inverse=True)
    correct = y_true == y_pred
    return float(np.mean([correct[y_index == k].mean() for k in range(len(classes))]))
