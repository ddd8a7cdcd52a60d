"""Few-shot evaluation: episodes as CV folds, intervals over episodes, base and novel accuracy."""

from numbers import Integral, Real

import numpy as np
from scipy.stats import t as student_t
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ..utils._numeric import power_of_two_scale
from ..utils._sklearn import check_label_values
from ..zero_shot._evaluation import _known_and_new_accuracy

__all__ = ["FewShotSplit", "base_novel_accuracy", "mean_confidence_interval"]


class FewShotSplit(BaseCrossValidator):
    """Few-shot episodes as cross-validation folds: ``n_way`` classes, ``n_shot`` rows each.

    Each split is an episode (Vinyals et al., 2016): ``n_way`` classes drawn at random, then,
    in each of them, ``n_shot`` rows to train on (the *support* set, the split's training
    indices) and ``n_query`` other rows to test on (the *query* set, its test indices). Pass it
    as ``cv=`` to :func:`~sklearn.model_selection.cross_val_score` or
    :class:`~sklearn.model_selection.GridSearchCV`; the scores over many episodes are then
    summarised by :func:`mean_confidence_interval`, as few-shot papers report them.

    Read more in the :ref:`user guide <few_shot>`.

    Parameters
    ----------
    n_way : int, default=5
        Classes per episode (at least 2).
    n_shot : int, default=1
        Training rows per class.
    n_query : int, default=15
        Test rows per class.
    n_episodes : int, default=600
        Number of episodes (splits).
    random_state : int, RandomState instance or None, default=None
        Seeds the draws; with an int, every call to ``split`` gives the same episodes.

    See Also
    --------
    PrototypeClassifier : Nearest class mean on normalised embeddings.
    mean_confidence_interval : The mean score over episodes and its 95% interval.

    References
    ----------
    .. [1] O. Vinyals, C. Blundell, T. Lillicrap, K. Kavukcuoglu and D. Wierstra, "Matching
       Networks for One Shot Learning", NeurIPS 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.few_shot import FewShotSplit
    >>> y = np.repeat([0, 1, 2, 3], 5)
    >>> cv = FewShotSplit(n_way=2, n_shot=1, n_query=2, n_episodes=3, random_state=0)
    >>> train, test = next(cv.split(y, y))
    >>> y[train], y[test]
    (array([2, 3]), array([2, 2, 3, 3]))
    """

    def __init__(self, n_way=5, n_shot=1, n_query=15, n_episodes=600, random_state=None):
        self.n_way = n_way
        self.n_shot = n_shot
        self.n_query = n_query
        self.n_episodes = n_episodes
        self.random_state = random_state

    def split(self, X, y=None, groups=None):
        """Generate the support (training) and query (test) indices of each episode.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input; only its length is used.
        y : array-like of shape (n_samples,)
            Classes of the rows.
        groups : None
            Ignored; the classes define the episodes.

        Yields
        ------
        train : ndarray
            Indices of the support rows, ``n_way * n_shot`` of them, sorted.
        test : ndarray
            Indices of the query rows, ``n_way * n_query`` of them, sorted.
        """
        self._check_params()
        if y is None:
            raise ValueError("FewShotSplit needs y, the classes of the rows.")
        check_consistent_length(X, y)
        y = column_or_1d(y)
        # NaN labels made a class of their own, and labels of mixed types failed in NumPy's sort.
        check_label_values(y)
        classes, y_index, counts = np.unique(y, return_inverse=True, return_counts=True)
        self._check_data(classes, counts)
        rows_of = [np.flatnonzero(y_index == k) for k in range(len(classes))]
        rng = check_random_state(self.random_state)
        for _ in range(self.n_episodes):
            support, query = [], []
            for k in rng.choice(len(classes), self.n_way, replace=False):
                rows = rng.choice(rows_of[k], self.n_shot + self.n_query, replace=False)
                support.append(rows[: self.n_shot])
                query.append(rows[self.n_shot :])
            yield np.sort(np.concatenate(support)), np.sort(np.concatenate(query))

    def get_n_splits(self, X=None, y=None, groups=None):
        """The number of episodes, ``n_episodes``.

        Parameters
        ----------
        X, y, groups : object
            Ignored.

        Returns
        -------
        n_splits : int
            The number of episodes.
        """
        self._check_params()
        return self.n_episodes

    def _check_params(self):
        for name, low in [("n_way", 2), ("n_shot", 1), ("n_query", 1), ("n_episodes", 1)]:
            value = getattr(self, name)
            if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an int of at least {low}, got {value!r}.")

    def _check_data(self, classes, counts):
        if self.n_way > len(classes):
            raise ValueError(
                f"n_way={self.n_way} asks for more classes per episode than y holds "
                f"({len(classes)})."
            )
        needed = self.n_shot + self.n_query
        small = counts < needed
        if small.any():
            k = np.flatnonzero(small)[0]
            label = classes[k].tolist()
            raise ValueError(
                f"Class {label!r} has {counts[k]} rows, fewer than n_shot + n_query = "
                f"{self.n_shot} + {self.n_query} = {needed}: lower n_shot or n_query, or leave "
                "the class out of y."
            )


def mean_confidence_interval(scores, level=0.95):
    """The mean of per-episode scores and the half-width of its confidence interval.

    Few-shot results are reported as ``mean ± t * std / sqrt(n)`` over ``n`` episodes, with
    ``t`` the Student t quantile of ``n - 1`` degrees of freedom (1.96 in the papers, which
    use the normal quantile: the two agree to 0.2% for the hundreds of episodes these
    evaluations use, but over 4 episodes the normal one gives an interval 38% too narrow).
    The standard deviation is the sample one (``ddof=1``).

    Parameters
    ----------
    scores : array-like of shape (n_episodes,)
        One score per episode, such as the ``test_score`` of
        :func:`~sklearn.model_selection.cross_validate` with a :class:`FewShotSplit`.
    level : float, default=0.95
        Coverage of the interval, in (0, 1).

    Returns
    -------
    mean : float
        The mean score.
    half_width : float
        The interval is ``mean - half_width`` to ``mean + half_width``.

    Examples
    --------
    >>> from sktransfer.few_shot import mean_confidence_interval
    >>> mean, half = mean_confidence_interval([0.6, 0.8, 0.7, 0.9])
    >>> round(mean, 3), round(half, 3)
    (0.75, 0.205)
    """
    scores = _one_score_per_episode(scores)
    if not isinstance(level, Real) or not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}.")
    if len(scores) < 2:
        raise ValueError(f"scores needs at least 2 episodes for an interval, got {len(scores)}.")
    if not np.isfinite(scores).all():
        raise ValueError("scores holds NaN or infinite values.")
    quantile = student_t.ppf(0.5 + level / 2, df=len(scores) - 1)
    # Computed on the scores over a power of two above their largest magnitude (exactly, so
    # ordinary scores give the same bits): scores of 1e308 overflowed the sums of the mean and
    # of the squares, and the interval came out (inf, inf).
    scale = power_of_two_scale(scores)
    unit = scores / scale
    mean = unit.mean() * scale
    with np.errstate(over="ignore"):
        half_width = quantile * unit.std(ddof=1) / np.sqrt(len(scores)) * scale
    if not np.isfinite(half_width):
        raise ValueError(
            f"The {level:.0%} interval of these scores (up to {scale:.3g} in magnitude) is wider "
            "than the float64 range; rescale the scores."
        )
    return float(mean), float(half_width)


def _one_score_per_episode(scores):
    """``scores`` as a 1d float array; a column of scores is flattened, as column_or_1d does.

    column_or_1d itself names the input ``y`` in its message, whatever it is called.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if not (scores.ndim == 1 or (scores.ndim == 2 and scores.shape[1] == 1)):
        raise ValueError(
            f"scores must be a 1d array of one score per episode; got an array of shape "
            f"{scores.shape}."
        )
    return scores.reshape(-1)


def base_novel_accuracy(y_true, y_pred, *, base_classes):
    """Generalised few-shot scores: accuracy on base and on novel classes, and their harmonic mean.

    In generalised few-shot learning a model knows *base* classes from many labelled rows and
    *novel* classes from a few, and predicts among all of them. As in generalised zero-shot
    learning (Xian et al., 2019), a model biased toward the base classes can score well
    overall while failing the novel ones; the harmonic mean of the two per-class accuracies is
    high only when both are. This is :func:`~sktransfer.zero_shot.seen_unseen_accuracy` with
    the base classes as the seen ones.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True classes, base and novel.
    y_pred : array-like of shape (n_samples,)
        Predicted classes.
    base_classes : array-like
        The classes learned from many rows; every other class of ``y_true`` is novel.

    Returns
    -------
    scores : dict
        ``"novel"``: per-class accuracy on the rows of novel classes; ``"base"``: on the rows
        of base classes; ``"harmonic_mean"``: ``2 * novel * base / (novel + base)``.

    Examples
    --------
    >>> from sktransfer.few_shot import base_novel_accuracy
    >>> base_novel_accuracy(["a", "b", "c", "c"], ["a", "a", "c", "a"], base_classes=["a", "b"])
    {'novel': 0.5, 'base': 0.5, 'harmonic_mean': 0.5}
    """
    novel, base = _known_and_new_accuracy(y_true, y_pred, base_classes, name="base_classes")
    harmonic = 0.0 if novel + base == 0 else 2 * novel * base / (novel + base)
    return {"novel": novel, "base": base, "harmonic_mean": harmonic}
