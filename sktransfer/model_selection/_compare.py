"""Whether transfer helps: a transfer estimator against a baseline, on the same folds."""

import html
import inspect
import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
from scipy import stats
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv, cross_validate
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.validation import column_or_1d

from ..pipeline import _accepts_sample_domain
from ..utils._domains import check_sample_domain, is_unlabelled, learns_unlabelled_as_a_class
from ..utils._sklearn import (
    HasMethods,
    Interval,
    StrOptions,
    _routing_enabled,
    validate_parameter_constraints,
)
from ._report import html_rows, text_table
from ._scorers import _DomainScorer

__all__ = ["TransferComparison", "compare_to_baseline"]

_N_RESAMPLES = 10_000


@dataclass(frozen=True, repr=False, eq=False)
class TransferComparison:
    """The result of :func:`compare_to_baseline`: paired scores, their difference, a verdict.

    Built by :func:`compare_to_baseline`; its fields are read as attributes.

    Parameters
    ----------
    transfer_scores : ndarray of shape (n_splits,)
        The transfer estimator's score on each test fold.
    baseline_scores : ndarray of shape (n_splits,)
        The baseline's score on the same folds.
    differences : ndarray of shape (n_splits,)
        ``transfer_scores - baseline_scores``, fold by fold.
    mean_difference : float
        The mean of ``differences``: positive when transfer scores higher.
    confidence_interval : tuple of float
        The ``1 - level`` confidence interval of the mean difference.
    p_value : float
        The two-sided p-value of "transfer and baseline score the same on average"; NaN
        (and the interval too) when every fold differs by the same non-zero amount, which
        neither test can judge.
    verdict : {"positive", "negative", "inconclusive"}
        ``"positive"`` (transfer helps) or ``"negative"`` (transfer hurts: negative transfer)
        when ``p_value < level``, otherwise ``"inconclusive"``.
    level : float
        The significance level of the verdict.
    test : {"corrected_t", "bootstrap"}
        The test that gave the p-value and the interval.
    scoring : str
        The name of the score compared.
    """

    transfer_scores: np.ndarray
    baseline_scores: np.ndarray
    differences: np.ndarray
    mean_difference: float
    confidence_interval: tuple
    p_value: float
    verdict: str
    level: float
    test: str
    scoring: str

    def _lines(self):
        low, high = self.confidence_interval
        confidence = f"{1 - self.level:.0%}"
        return [
            ("transfer", f"{self.transfer_scores.mean():.4f}"),
            ("baseline", f"{self.baseline_scores.mean():.4f}"),
            ("mean difference", f"{self.mean_difference:+.4f}"),
            (f"{confidence} interval", f"[{low:+.4f}, {high:+.4f}]"),
            ("p-value", f"{self.p_value:.4g}"),
        ]

    def __repr__(self):
        head = (
            f"TransferComparison(verdict={self.verdict!r}, test={self.test!r}, "
            f"level={self.level}, folds={self.differences.size}, scoring={self.scoring!r})"
        )
        return text_table(head, self._lines())

    def _repr_html_(self):
        rows = html_rows(self._lines())
        return (
            f"<table><caption>Transfer vs baseline: <b>{html.escape(self.verdict)}</b> "
            f"({html.escape(self.test)}, level {self.level}, {self.differences.size} folds, "
            f"{html.escape(self.scoring)})</caption>{rows}</table>"
        )

    def plot(self, ax=None):
        """Plot each fold's baseline and transfer scores, joined by a line.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure's axes if None.

        Returns
        -------
        ax : matplotlib Axes
            The axes drawn on.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4, 4))
        colours = {"positive": "tab:green", "negative": "tab:red", "inconclusive": "tab:gray"}
        for baseline, transfer in zip(self.baseline_scores, self.transfer_scores, strict=True):
            ax.plot(
                [0, 1], [baseline, transfer], color=colours[self.verdict], alpha=0.5, marker="o"
            )
        ax.plot(
            [0, 1],
            [self.baseline_scores.mean(), self.transfer_scores.mean()],
            color="black",
            linewidth=2.5,
            marker="s",
            label="mean",
        )
        low, high = self.confidence_interval
        ax.set_xticks([0, 1], ["baseline", "transfer"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_ylabel(self.scoring)
        ax.set_title(
            f"{self.verdict}: {self.mean_difference:+.3f} [{low:+.3f}, {high:+.3f}], "
            f"p={self.p_value:.2g}",
            fontsize=10,
        )
        ax.legend(loc="best")
        return ax


def compare_to_baseline(
    transfer,
    baseline,
    X,
    y,
    *,
    cv=5,
    groups=None,
    scoring=None,
    sample_domain=None,
    params=None,
    level=0.05,
    test="corrected_t",
    random_state=None,
    n_jobs=None,
):
    """Whether transfer helps: cross-validate both estimators on the same folds and test.

    Both estimators are scored by :func:`~sklearn.model_selection.cross_validate` on the
    same train/test splits, so the per-fold differences are paired. Folds share training
    rows, which makes their scores correlated, and the naive paired t-test then finds
    differences that are not there. The default test is the corrected resampled t-test of
    Nadeau and Bengio (2003): the variance of the differences is multiplied by
    ``1 / k + n_test / n_train`` instead of ``1 / k`` (``k`` folds), with ``k - 1`` degrees
    of freedom. ``test="bootstrap"`` resamples the folds' differences instead (10,000
    resamples, percentile interval); it assumes independent folds, so it is less conservative.

    The verdict is ``"positive"`` when transfer scores significantly higher at ``level``,
    ``"negative"`` when it scores significantly lower (negative transfer), and
    ``"inconclusive"`` otherwise. Scores follow scikit-learn's convention: greater is better.
    When every fold differs by the same non-zero amount (few test rows per fold make this
    common) neither test can judge it: the verdict is ``"inconclusive"``, with a warning.

    Parameters
    ----------
    transfer : estimator object
        The estimator that transfers (CNN codes, fine-tuning, instance weighting...).
    baseline : estimator object
        The estimator it must beat, typically trained on the target data alone.
    X : array-like or images
        The rows, in whatever form both estimators take.
    y : array-like of shape (n_samples,)
        The labels.
    cv : int, cross-validation generator or iterable, default=5
        The splits, as for :func:`~sklearn.model_selection.cross_validate`. They are drawn
        once and both estimators use them, even from a splitter that shuffles without a
        seed. At least 2 splits; repeated splits (``RepeatedStratifiedKFold``) give the
        corrected test more power.
    groups : array-like of shape (n_samples,), default=None
        Group labels for a splitter that keeps groups apart, such as
        :class:`~sklearn.model_selection.GroupKFold`.
    scoring : str, callable or None, default=None
        One score, as for :func:`~sklearn.model_selection.cross_validate`; None uses the
        estimators' ``score``. With ``sample_domain``, test folds that hold source rows are
        scored on their target rows by :class:`TargetAccuracyScorer` (with metadata routing
        enabled); any other score counts the source rows too, which warns.
    sample_domain : array-like of shape (n_samples,), default=None
        Positive for source rows, negative for target rows. With metadata routing enabled it
        is routed to the splitter, the estimators and the scorer that request it; without
        routing it is passed to the splitter's ``split`` if it takes it (as
        :class:`DomainShuffleSplit` does) and to both estimators' ``fit``, and an estimator
        whose ``fit`` has no ``sample_domain`` parameter is refused with a ValueError.
    params : dict, default=None
        Further metadata, such as ``sample_weight``, passed to
        :func:`~sklearn.model_selection.cross_validate` as its ``params``: routed to the
        estimators and the scorer that request it when metadata routing is enabled, passed
        to both ``fit`` otherwise.
    level : float, default=0.05
        The significance level of the verdict, in ``(0, 1)``; the interval has coverage
        ``1 - level``.
    test : {"corrected_t", "bootstrap"}, default="corrected_t"
        The test of the mean difference.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap resamples.
    n_jobs : int, default=None
        Jobs of each :func:`~sklearn.model_selection.cross_validate`.

    Returns
    -------
    result : TransferComparison
        The paired scores, differences, interval, p-value and verdict; ``result.plot()`` draws
        the folds.

    See Also
    --------
    make_transferability_scorer : Rank candidate representations before training any.

    References
    ----------
    .. [1] C. Nadeau and Y. Bengio, "Inference for the Generalization Error", Machine Learning
       52, 2003.
    .. [2] R. R. Bouckaert and E. Frank, "Evaluating the Replicability of Significance Tests
       for Comparing Learning Algorithms", PAKDD 2004.

    Examples
    --------
    >>> from sklearn.datasets import make_circles
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import PolynomialFeatures
    >>> from sktransfer.model_selection import compare_to_baseline
    >>> X, y = make_circles(200, noise=0.1, factor=0.5, random_state=0)
    >>> richer = make_pipeline(PolynomialFeatures(2), LogisticRegression())
    >>> result = compare_to_baseline(richer, LogisticRegression(), X, y, cv=5)
    >>> result.verdict
    'positive'
    """
    validate_parameter_constraints(
        {
            "transfer": [HasMethods(["fit"])],
            "baseline": [HasMethods(["fit"])],
            "scoring": [None, str, callable],
            "params": [None, dict],
            "level": [Interval(Real, 0, 1, closed="neither")],
            "test": [StrOptions({"corrected_t", "bootstrap"})],
            "random_state": ["random_state"],
        },
        {
            "transfer": transfer,
            "baseline": baseline,
            "scoring": scoring,
            "params": params,
            "level": level,
            "test": test,
            "random_state": random_state,
        },
        caller_name="compare_to_baseline",
    )
    if scoring is None:
        _check_same_default_score(transfer, baseline)
    if sample_domain is not None and not _routing_enabled():
        _check_fit_takes_sample_domain(transfer, baseline)
    _warn_if_minus_one_becomes_a_class(transfer, baseline, y)
    splits, split_consumed = _splits(cv, X, y, groups, sample_domain, is_classifier(transfer))
    _warn_if_source_rows_are_scored(splits, sample_domain, scoring, len(y))
    params = dict(params or {})
    if sample_domain is not None:
        params["sample_domain"] = sample_domain
    params = _routed_params(params, (transfer, baseline), scoring, split_consumed)
    scores = [
        cross_validate(
            estimator,
            X,
            y,
            cv=splits,
            scoring=scoring,
            params=params[i] or None,
            n_jobs=n_jobs,
            error_score="raise",
        )["test_score"]
        for i, estimator in enumerate((transfer, baseline))
    ]
    _check_finite_scores(scores, scoring)
    differences = scores[0] - scores[1]
    n_test = np.mean([len(test_rows) for _, test_rows in splits])
    n_train = np.mean([len(train_rows) for train_rows, _ in splits])
    if _no_spread(differences, test):
        interval, p_value = (np.nan, np.nan), np.nan
    elif test == "corrected_t":
        interval, p_value = _corrected_t(differences, n_test / n_train, level)
    else:
        interval, p_value = _bootstrap(differences, level, random_state)
    mean = float(differences.mean())
    verdict = "inconclusive"
    if p_value < level and mean != 0:
        verdict = "positive" if mean > 0 else "negative"
    return TransferComparison(
        transfer_scores=scores[0],
        baseline_scores=scores[1],
        differences=differences,
        mean_difference=mean,
        confidence_interval=interval,
        p_value=p_value,
        verdict=verdict,
        level=level,
        test=test,
        scoring=_scoring_name(scoring),
    )


def _default_score(estimator):
    """What ``estimator.score`` measures: accuracy, R^2, or None when it cannot be told."""
    if not hasattr(estimator, "__sklearn_tags__"):
        return None
    return {"classifier": "accuracy", "regressor": "R^2"}.get(get_tags(estimator).estimator_type)


def _check_same_default_score(transfer, baseline):
    """With ``scoring=None`` each estimator scores itself: a classifier's accuracy against a
    regressor's R^2 would be compared fold by fold as if they were one score."""
    kinds = _default_score(transfer), _default_score(baseline)
    if None not in kinds and kinds[0] != kinds[1]:
        raise ValueError(
            f"With scoring=None, transfer ({type(transfer).__name__}) is scored by its "
            f"{kinds[0]} and baseline ({type(baseline).__name__}) by its {kinds[1]}, which "
            "cannot be compared. Pass a scoring that both estimators support."
        )


def _check_fit_takes_sample_domain(transfer, baseline):
    """Without routing ``sample_domain`` goes to both ``fit``: refuse an estimator whose ``fit``
    has no such parameter up front, rather than let it fail inside ``cross_validate`` with a
    bare TypeError. A ``fit(**params)`` may take it, and is left to say so itself."""
    for name, estimator in (("transfer", transfer), ("baseline", baseline)):
        parameters = inspect.signature(estimator.fit).parameters.values()
        if any(p.name == "sample_domain" or p.kind is p.VAR_KEYWORD for p in parameters):
            continue
        raise ValueError(
            f"sample_domain is passed to the fit of both estimators when metadata routing is "
            f"off, and the {name} estimator ({type(estimator).__name__}) has no sample_domain "
            "parameter in fit. Enable metadata routing (sklearn.config_context("
            "enable_metadata_routing=True)) and request sample_domain only where it is used "
            "(set_fit_request(sample_domain=True)); a target-only baseline can then keep to "
            "the target rows through a sample_weight of 0 on the source rows, passed in params. "
            "Or leave sample_domain out."
        )


def _warn_if_minus_one_becomes_a_class(transfer, baseline, y):
    """A plain classifier fitted on packed rows learns their ``y == -1`` as a class, and the
    comparison reports a baseline (or a transfer) that no one meant, without a word."""
    if y is None or not is_unlabelled(column_or_1d(y)).any():
        return
    for name, estimator in (("transfer", transfer), ("baseline", baseline)):
        if is_classifier(estimator) and learns_unlabelled_as_a_class(estimator):
            warnings.warn(
                f"y marks unlabelled rows with -1, which the {name} estimator "
                f"({type(estimator).__name__}) would learn as a class. Wrap it in "
                "LabelledOnlyClassifier, or build it with make_da_pipeline, to fit it on the "
                "labelled rows only.",
                UserWarning,
                stacklevel=3,
            )


def _warn_if_source_rows_are_scored(splits, sample_domain, scoring, n_samples):
    """Warn when the test folds hold source rows and ``scoring`` scores them with the target's.

    Whether transfer helps is a question about the target rows. A score of every test row
    (``scoring=None``, ``"accuracy"``) counts the source rows too: a pooled model that learned
    a source whose labels contradict the target's scored 0.73 against 0.26 for the target-only
    model, a "positive" verdict at p = 1e-9 for a transfer that cut the target accuracy to 0.
    The domain scorers (:class:`TargetAccuracyScorer` and the unsupervised ones) read the
    target rows, as does, with routing on, a callable of the user's that requests
    ``sample_domain``.
    """
    if sample_domain is None or isinstance(scoring, _DomainScorer):
        return
    if callable(scoring) and _routing_enabled():
        consumed = get_routing_for_object(scoring).consumes("score", ["sample_domain"])
        if "sample_domain" in consumed:
            return
    source = check_sample_domain(sample_domain, n_samples) > 0
    per_fold = np.mean([np.count_nonzero(source[test]) for _, test in splits])
    if per_fold == 0:
        return
    what = "None (each estimator's score)" if scoring is None else repr(_scoring_name(scoring))
    warnings.warn(
        f"The test folds hold {per_fold:g} source rows each on average (positive "
        f"sample_domain), and "
        f"scoring={what} scores them with the target rows: the comparison "
        "then measures the source as much as the target, and its verdict can be the opposite "
        "of transfer's effect on the target. Score the target rows alone with "
        "scoring=TargetAccuracyScorer() and metadata routing enabled "
        "(sklearn.config_context(enable_metadata_routing=True)), or give cv folds whose test "
        "rows are target rows.",
        UserWarning,
        stacklevel=3,
    )


def _check_finite_scores(scores, scoring):
    """Refuse NaN or infinite fold scores, which would make every statistic NaN."""
    for name, values in zip(("transfer", "baseline"), scores, strict=True):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ValueError(
                f"The {name} estimator's {_scoring_name(scoring)} is not finite on folds "
                f"{bad.tolist()} ({values[bad[0]]}): the score is undefined there, for "
                "instance an R^2 on a single test row. Use folds with more test rows or "
                "another scoring."
            )


def _splits(cv, X, y, groups, sample_domain, classifier):
    """The train/test splits, drawn once; the splitter gets ``sample_domain`` if it asks.

    With routing it asks through its request; without, through a ``sample_domain`` parameter
    of ``split`` (DomainShuffleSplit would otherwise fall back on ``y == -1``, and find no
    target rows when they are all labelled).
    """
    splitter = check_cv(cv, y, classifier=classifier)
    split_params = {}
    if sample_domain is not None:
        if _routing_enabled():
            consumed = get_routing_for_object(splitter).consumes("split", ["sample_domain"])
            wanted = "sample_domain" in consumed
        else:
            wanted = _accepts_sample_domain(splitter, "split")
        if wanted:
            split_params["sample_domain"] = sample_domain
    splits = list(splitter.split(X, y, groups, **split_params))
    if len(splits) < 2:
        raise ValueError(
            f"cv must give at least 2 splits, to estimate the variance of the differences; "
            f"got {len(splits)}."
        )
    return splits, set(split_params)


def _routed_params(params, estimators, scoring, split_consumed):
    """Each estimator's share of ``params``: with routing on, what it or its scorer requests.

    cross_validate refuses metadata that nothing in its call requests, and a baseline often
    requests less than the transfer estimator (``sample_weight`` that keeps it on the target
    rows, say). Metadata that nothing requests, in either call or by the splitter, is left
    in, so that scikit-learn's error names it.
    """
    if not _routing_enabled() or not params:
        return [params, params]
    names = list(params)
    consumed = []
    for estimator in estimators:
        scorer = check_scoring(estimator, scoring)
        wanted = set(get_routing_for_object(estimator).consumes("fit", names))
        wanted |= set(get_routing_for_object(scorer).consumes("score", names))
        consumed.append(wanted)
    orphans = set(names) - set.union(*consumed) - split_consumed
    return [{k: v for k, v in params.items() if k in wanted | orphans} for wanted in consumed]


def _no_spread(differences, test):
    """Whether every fold differs by the same non-zero amount, with a warning if so.

    Both tests then call any such difference certain (a p-value of 0): the t statistic is
    infinite, every bootstrap mean equals it. Yet five folds that each score one test row
    better are no stronger evidence than a coin landing heads five times (p = 0.06).
    """
    if np.ptp(differences) > 1e-12 * max(1.0, abs(differences[0])) or differences[0] == 0:
        return False
    warnings.warn(
        f"Every fold's difference is {differences[0]:+.4g}: with no spread between the folds "
        f"the {test} test cannot tell it from chance, so p_value and the interval are NaN and "
        "the verdict is 'inconclusive'. Use folds with more test rows, or more folds "
        "(RepeatedStratifiedKFold).",
        UserWarning,
        stacklevel=3,
    )
    return True


def _corrected_t(differences, test_train_ratio, level):
    """Nadeau and Bengio's corrected resampled t-test: interval and two-sided p-value."""
    k = differences.size
    mean = differences.mean()
    se = np.sqrt((1 / k + test_train_ratio) * differences.var(ddof=1))
    if se == 0:  # every fold scores the same: no difference at all
        return (float(mean), float(mean)), 1.0
    t = mean / se
    p_value = float(2 * stats.t.sf(abs(t), df=k - 1))
    half = stats.t.ppf(1 - level / 2, df=k - 1) * se
    return (float(mean - half), float(mean + half)), p_value


def _bootstrap(differences, level, random_state):
    """Paired bootstrap over folds: percentile interval and two-sided p-value."""
    rng = check_random_state(random_state)
    resampled = rng.randint(0, differences.size, size=(_N_RESAMPLES, differences.size))
    means = differences[resampled].mean(axis=1)
    low, high = np.percentile(means, [100 * level / 2, 100 * (1 - level / 2)])
    p_value = min(1.0, 2 * min(np.mean(means <= 0), np.mean(means >= 0)))
    return (float(low), float(high)), float(p_value)


def _scoring_name(scoring):
    if scoring is None:
        return "score"
    if isinstance(scoring, str):
        return scoring
    return getattr(scoring, "__name__", type(scoring).__name__)
