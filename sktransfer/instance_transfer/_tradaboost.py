"""TrAdaBoost: boosting that lowers the weight of the source rows the target disagrees with."""

import math
import warnings
from numbers import Real
from typing import NamedTuple

import numpy as np
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier, is_regressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)

from ..utils._atomic import atomic_fit
from ..utils._domains import LabelledScoreMixin, domain_rows, regression_domains
from ..utils._sklearn import (
    HasMethods,
    Integers,
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    check_labels,
)
from ._unlabelled_targets import check_source_targets

__all__ = ["TrAdaBoost"]

# Errors of exactly 0 or of chance level would give infinite or zero learner weights.
_ERROR_MARGIN = 1e-10


class _Boosting(NamedTuple):
    """What one run of the boosting loop leaves behind."""

    learners: list
    learner_weights: np.ndarray
    errors: np.ndarray
    sample_weights: np.ndarray
    stalled: np.ndarray
    # The round whose update left the float range and ended the loop, or None.
    out_of_range: int | None = None


class _BaseTransferBoosting(BaseEstimator):
    """Shared input checks, boosting loop and ensemble plumbing of the TrAdaBoost family.

    The loop follows scikit-learn's ``BaseWeightBoosting.fit``: one loop over the rounds, one
    ``_boost`` step per variant, weights normalised in one place. It cannot inherit that
    ``fit`` because the rounds also need to know which rows are source rows.

    Warning: this class should not be used directly. Use the derived classes instead.
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Integers(1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def _validate_estimator(self, default):
        self.estimator_ = clone(default) if self.estimator is None else clone(self.estimator)
        name, own = type(self.estimator_).__name__, type(self).__name__
        if not has_fit_parameter(self.estimator_, "sample_weight"):
            raise ValueError(
                f"{name} does not accept sample_weight in fit, which {own} needs to re-weight "
                "the rows at every iteration. Pick an estimator whose fit takes sample_weight "
                "(trees, linear models, SVC, ...)."
            )
        if is_regressor(self) and is_classifier(self.estimator_):
            raise ValueError(
                f"{own} boosts regressors, but estimator={name} is a classifier. Use "
                "TrAdaBoost for classification, or pass a regressor."
            )
        if is_classifier(self) and is_regressor(self.estimator_):
            raise ValueError(
                f"{own} boosts classifiers, but estimator={name} is a regressor: its "
                "predictions would be read as class labels. Use TrAdaBoostR2 for regression, "
                "or pass a classifier."
            )

    def _make_estimator(self, random_state):
        """Clone the base estimator with fresh seeds, so learners differ when they randomise."""
        estimator = clone(self.estimator_)
        seeds = {
            key: random_state.randint(np.iinfo(np.int32).max)
            for key in sorted(estimator.get_params(deep=True))
            if key == "random_state" or key.endswith("__random_state")
        }
        return estimator.set_params(**seeds)

    def _check_fit_data(self, X, y, sample_weight, sample_domain):
        """Validate everything before any learner is fitted.

        Returns ``X, y``, the initial weights (summing to one) and a boolean mask of the
        source rows (all False when there are no domains: every row is then a target row).
        Classifiers drop the unlabelled rows (``y == -1``) here, regressors those whose ``y``
        is NaN, with a warning.
        """
        _check_not_a_domain(sample_weight)
        unlabelled = None
        if is_regressor(self) and y is not None:
            # NaN marks an unlabelled regression row; scikit-learn's validation refuses it,
            # so the rows are found first and hold 0 until they are dropped.
            y, unlabelled = _regression_target(y)
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], y_numeric=is_regressor(self))
        if is_regressor(self) and y.dtype.kind not in "iuf":
            y = _as_floats(y)
        weights = _check_sample_weight(
            sample_weight, X, dtype=np.float64, copy=True, ensure_non_negative=True
        )
        if not weights.any():
            raise ValueError("sample_weight sums to zero.")
        # Only the proportions count; scaled to a largest weight of 1, huge weights cannot
        # overflow the sums that normalise them (1e308 gave inf, then NaN weights).
        weights /= weights.max()
        # y == -1 marks unlabelled rows of a classification task; -1 is an ordinary value of a
        # regression target, so regressors read the domains from sample_domain, or without it
        # from the NaN targets that mark a regression's unlabelled target rows.
        if is_regressor(self):
            rows = domain_rows(None, regression_domains(unlabelled, sample_domain), X.shape[0])
        else:
            rows = domain_rows(y, sample_domain, X.shape[0])
        is_source = rows.is_source
        if sample_domain is not None:
            _check_both_domains(is_source, type(self).__name__)
        if is_regressor(self):
            if not rows.has_target:
                # Without domains every row is a target row: plain AdaBoost.R2.
                is_source = np.zeros_like(is_source)
            if unlabelled is not None and unlabelled.any():
                check_source_targets(
                    unlabelled, is_source, type(self).__name__, sample_domain is not None
                )
                X, y, weights, is_source = self._drop_unlabelled(
                    X, y, weights, ~unlabelled, is_source
                )
            _warn_if_targets_look_unlabelled(y, is_source, type(self).__name__)
        else:
            if not rows.labelled.all():
                X, y, weights, is_source = self._drop_unlabelled(
                    X, y, weights, rows.labelled, rows.is_source
                )
            if not rows.has_target:
                # With neither domains nor unlabelled rows: a plain supervised model.
                is_source = np.zeros_like(is_source)
        if weights[~is_source].sum() <= 0:
            raise ValueError("sample_weight is zero on every target row; nothing to learn from.")
        return X, y, weights / weights.sum(), is_source

    def _drop_unlabelled(self, X, y, weights, labelled, is_source):
        mark = "y is NaN" if is_regressor(self) else "y == -1"
        if not (labelled & ~is_source).any():
            raise ValueError(
                f"Every target row is unlabelled ({mark}). {type(self).__name__} needs "
                "labelled target rows to measure each learner's error on: pass their "
                f"{'values' if is_regressor(self) else 'labels'} to pack_domains."
            )
        n_unlabelled = np.count_nonzero(~labelled)
        never = "" if is_regressor(self) else ", and y == -1 is never a class"
        warnings.warn(
            f"{type(self).__name__} ignores the {n_unlabelled} unlabelled target rows "
            f"({mark}): it learns from labelled rows only{never}.",
            UserWarning,
            stacklevel=4,
        )
        return X[labelled], y[labelled], weights[labelled], is_source[labelled]

    def _check_X(self, X):
        return validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)

    def _fit_learner(self, X, y, weights, random_state):
        estimator = self._make_estimator(random_state)
        # Weights that average to one over the rows that count (rows of weight 0 are rows
        # left out) keep the usual strength of regularised learners (LogisticRegression,
        # SVC); trees do not care about the scale.
        estimator.fit(X, y, sample_weight=weights * np.count_nonzero(weights))
        return estimator

    def _boost_loop(self, X, y, weights, is_source, random_state, n_rounds, monitor=None):
        """The one boosting loop: ``n_rounds`` calls of the variant's ``_boost`` step.

        ``monitor(learner, learner_weights)`` may end the loop early by returning True.
        """
        weights = weights / weights.sum()
        learners, learner_weights, errors, history, stalled = [], [], [], [], []
        out_of_range = None
        for iboost in range(n_rounds):
            history.append(weights)
            learner, new_weights, learner_weight, error, stall = self._boost(
                iboost, X, y, weights, is_source, random_state
            )
            learners.append(learner)
            learner_weights.append(learner_weight)
            errors.append(error)
            stalled.append(stall)
            if monitor is not None and monitor(learner, learner_weights):
                break
            # A learner without mistakes leaves every weight as it is: the next would be alike.
            if new_weights is None:
                break
            if not _weights_representable(weights, new_weights):
                # As scikit-learn's AdaBoost on overflow: stop, keeping the learners so far.
                out_of_range = iboost
                break
            weights = new_weights / new_weights.sum()
        return _Boosting(
            learners,
            np.asarray(learner_weights),
            np.asarray(errors),
            np.asarray(history),
            np.asarray(stalled, dtype=bool),
            out_of_range,
        )

    def _warn_out_of_range(self, boosting, n_cv_runs=0):
        """One warning when the sample weights left the float range, as scikit-learn's
        AdaBoost warns on overflow; ``n_cv_runs`` counts such runs in a cross-validation."""
        if boosting.out_of_range is None and n_cv_runs == 0:
            return
        where = (
            f"at round {boosting.out_of_range}; boosting stopped with the "
            f"{len(boosting.learners)} learner(s) fitted so far"
            if boosting.out_of_range is not None
            else "in the cross-validation"
        )
        if n_cv_runs:
            where += f" ({n_cv_runs} cross-validation run(s) stopped early too)"
        warnings.warn(
            f"{type(self).__name__}'s sample weights left the floating-point range {where}: "
            f"with learning_rate={self.learning_rate}, one round's update raised some rows "
            "more than 1e308 times above the others, whose weights fell to 0. Lower "
            "learning_rate.",
            UserWarning,
            stacklevel=3,
        )

    def _store_boosting(self, boosting, is_source):
        """Set the fitted attributes of one boosting run."""
        self.estimators_ = boosting.learners
        self.estimator_weights_ = boosting.learner_weights
        self.estimator_errors_ = boosting.errors
        self.source_weights_ = boosting.sample_weights[:, is_source]
        self.target_weights_ = boosting.sample_weights[:, ~is_source]

    def _warn_stall(self, boosting):
        """One ConvergenceWarning naming the rounds whose learner was no better than chance."""
        rounds = np.flatnonzero(boosting.stalled)
        if rounds.size == 0:
            return
        shown = ", ".join(str(r) for r in rounds[:10]) + (", ..." if rounds.size > 10 else "")
        warnings.warn(
            f"{type(self).__name__} stalled at round {rounds[0]}: the learner's weighted error "
            f"on the target rows was {boosting.errors[rounds[0]]:.3f}, no better than chance, "
            "because the source rows outweigh the target rows. Such a round gets (almost) no "
            "vote and raises the weight of the target rows it got wrong by "
            f"(2 - eps) / eps, as ADAPT does, so that boosting goes on. Stalled rounds: {shown} "
            f"of {len(boosting.learners)}. More learners (n_estimators) or more labelled target "
            "rows reduce the stall.",
            ConvergenceWarning,
            stacklevel=3,
        )

    def _voters(self, n_learners=None):
        """The slice of learners that vote: t = ceil(N/2), ..., N in Dai et al.'s indexing."""
        n_learners = len(self.estimators_) if n_learners is None else n_learners
        return slice(_first_voter(n_learners), n_learners)

    @property
    def feature_importances_(self):
        """Impurity-based feature importances of the voting learners.

        The average of the ``feature_importances_`` of the learners that vote, weighted by
        their ``estimator_weights_``. Only defined when the learners have
        ``feature_importances_`` (trees, forests, gradient boosting).

        Returns
        -------
        feature_importances_ : ndarray of shape (n_features,)
            The importances, summing to one.
        """
        check_is_fitted(self)
        voters = self._voters()
        learners, weights = self.estimators_[voters], self.estimator_weights_[voters]
        if not all(hasattr(learner, "feature_importances_") for learner in learners):
            raise AttributeError(
                f"{type(self.estimator_).__name__} has no feature_importances_, so "
                f"{type(self).__name__} has none either."
            )
        importances = np.array([learner.feature_importances_ for learner in learners])
        return weights @ importances / weights.sum()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class TrAdaBoost(LabelledScoreMixin, ClassifierMixin, _BaseTransferBoosting):
    """Boosting for transfer learning: TrAdaBoost (Dai et al., 2007).

    Many labelled source rows, drawn from a related but different distribution, are boosted
    together with a few labelled target rows. At every iteration a learner is fitted on all rows
    with the current weights; the target rows it misclassifies gain weight as in AdaBoost, while
    the source rows it misclassifies *lose* weight by the fixed factor
    ``beta = 1 / (1 + sqrt(2 ln n / N))`` (``n`` source rows, ``N = n_estimators``), so that
    source rows which disagree with the target fade out. The learner's error is measured on the
    target rows only, and the prediction is a weighted vote of the learners (of the last half
    of them in the paper, ``voters="last_half"``).

    Source and target rows travel in one ``X``; ``sample_domain`` tells them apart (positive
    for source rows, negative for target rows; see :func:`sktransfer.utils.pack_domains`).
    With ``sample_domain=None``, rows with ``y == -1`` are unlabelled target rows and the others
    source rows; without ``y == -1`` either, every row is a target row and the model is plain
    AdaBoost-SAMME, except that the error is clipped instead of stopping the boosting (and,
    with ``voters="last_half"``, that the last half of the learners vote). Unlabelled rows are
    ignored with a warning: ``-1`` is never a class.

    Read more in the :ref:`User Guide <instance_transfer>`.

    Parameters
    ----------
    estimator : object, default=None
        The base estimator the ensemble is built from. Its ``fit`` must accept
        ``sample_weight``. If None, a :class:`~sklearn.tree.DecisionTreeClassifier` with
        ``max_depth=5``. TrAdaBoost reads a misclassified source row as one the target
        disagrees with, so the learners must be able to fit the source concept: with decision
        stumps it would also discard source rows that are merely hard.

    n_estimators : int, default=50
        The number of boosting iterations ``N``. It also sets the source factor ``beta``.

    learning_rate : float, default=1.0
        Shrinks every update: the source factor becomes ``beta ** learning_rate`` and the
        target factor and the vote are multiplied by ``learning_rate`` in the exponent, as in
        :class:`~sklearn.ensemble.AdaBoostClassifier`.
        A rate so large that one round's update spans more than the float range stops the
        boosting with a UserWarning, keeping the learners fitted so far, as AdaBoost does
        on overflow.

    dynamic_correction : bool, default=False
        Multiply the source weights by ``2 (1 - eps_t)`` at every iteration, the correction of
        Al-Stouhi and Reddy (2011). Without it the source weights collapse in the first
        iterations even for source rows that the learners classify correctly, because the target
        weights grow faster than the source weights shrink.

    balance_domains : bool, default=True
        Start with the target rows weighing, in total, at least as much as the source rows
        (each domain's rows keep the proportions of ``sample_weight``), so that the first
        learner already has to fit the target. ``False`` is Dai et al.'s start: the rows start
        from ``sample_weight`` (uniform), a few target rows then weigh little next to many
        source rows, and the first learners fit the source. Dai et al.'s start gains a little
        where most source rows agree with the target; where the source misleads, its first
        rounds are lost until a stall raises the target rows' weight (see Notes), and with few
        learners the ensemble can end below AdaBoost on the target rows alone. The balanced
        start is the default because it bounds that loss
        (``benchmarks/bench_da_tradaboost.py``).

    voters : {"all", "last_half"}, default="all"
        Which learners vote in the prediction, each with its weight ``estimator_weights_``.
        ``"last_half"`` is Dai et al.'s rule: only the learners ``t = ceil(N/2), ..., N`` vote,
        because the early ones were fitted while the source rows that disagree with the target
        still weighed much. ``"all"`` lets every learner vote, as AdaBoost does; an early
        learner that was no better than chance on the target rows gets (almost) no vote anyway,
        and with few learners the last half is too small an ensemble.

    n_iter_no_change : int, default=None
        Early stopping: hold out ``validation_fraction`` of the target rows and stop once the
        accuracy of the ensemble on them has not improved for ``n_iter_no_change`` iterations.
        None disables early stopping and every target row is used for boosting.

    validation_fraction : float, default=0.2
        The fraction of the target rows held out for early stopping (at least one row). Only
        used when ``n_iter_no_change`` is set.

    random_state : int, RandomState instance or None, default=None
        Seeds the ``random_state`` of every learner (when it has one) and the early-stopping
        split. Pass an int for reproducible output across multiple function calls.

    Attributes
    ----------
    estimator_ : estimator
        The base estimator (unfitted) the ensemble is grown from.

    estimators_ : list of classifiers
        The fitted learners, in boosting order. Fewer than ``n_estimators`` when boosting
        stopped early.

    estimator_weights_ : ndarray of shape (n_learners,)
        The vote of each learner: ``ln((1 - eps_t) / eps_t) + ln(K - 1)`` for ``K`` classes,
        which is ``ln(1 / beta_t)`` of the paper for two classes.

    estimator_errors_ : ndarray of shape (n_learners,)
        The weighted error ``eps_t`` of each learner on the target rows, before clipping.

    source_weights_ : ndarray of shape (n_learners, n_source)
        The weight of each source row when each learner was fitted (every row's weights sum
        to one per round), in the order of the source rows in ``X``.

    target_weights_ : ndarray of shape (n_learners, n_target)
        The same for the labelled target rows used for boosting (without those held out for
        early stopping).

    classes_ : ndarray of shape (n_classes,)
        The class labels: every label seen in the labelled rows, source and target alike.

    n_classes_ : int
        The number of classes.

    validation_scores_ : ndarray of shape (n_learners,)
        The accuracy on the held-out target rows after each iteration. Only present when
        ``n_iter_no_change`` is set.

    feature_importances_ : ndarray of shape (n_features,)
        The importances of the voting learners, when they have them.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    sktransfer.instance_transfer.TrAdaBoostR2 : The regression counterpart.
    sklearn.ensemble.AdaBoostClassifier : AdaBoost-SAMME without a source/target distinction.

    Notes
    -----
    Faithful to Dai et al. (2007) for two classes with ``balance_domains=False`` and
    ``voters="last_half"``. The differences, all documented choices:

    * By default (``balance_domains=True``) the target rows start with as much total weight
      as the source rows, so that the first learner already has to fit the target.
    * By default every learner votes (``voters="all"``). In
      ``benchmarks/bench_da_tradaboost.py``, on a task whose source rows mislead, the last half
      of 10 learners is too small an ensemble to keep up with AdaBoost on the target rows.
    * The paper requires ``eps_t < 1/2``. A learner no better than chance on the target rows
      (``eps_t >= (K - 1) / K``, ``1/2`` for two classes) means the source rows outweigh the
      target rows: the *stall*, where the paper's update would freeze every weight for good.
      Such a learner gets a vote of (almost) zero (``eps_t`` is clipped below chance), the
      target rows it got wrong are multiplied by ``(2 - eps_t) / eps_t`` (ADAPT's target
      factor, 3 at ``eps_t = 1/2``), and the target rows' total weight is then raised to at
      least the source rows' total, so that the next learner must fit the target. A
      :class:`~sklearn.exceptions.ConvergenceWarning` names the stalled rounds.
    * More than two classes follow SAMME (Zhu et al., 2009): the target update and the vote
      use ``ln((1 - eps_t) / eps_t) + ln(K - 1)``; the source factor ``beta`` is unchanged.
    * A tied vote goes to the first class of ``classes_`` (the paper gives it to the positive
      class), so that ``predict`` agrees with the sign of ``decision_function``.
    * Boosting stops when a learner classifies every row correctly, as the weights would not
      change any more.

    A label that only the target rows carry is learned from those rows alone; a label that only
    the source rows carry stays in ``classes_`` and may still be predicted. Neither is an error.

    References
    ----------
    .. [1] W. Dai, Q. Yang, G.-R. Xue and Y. Yu, "Boosting for Transfer Learning", ICML 2007.

    .. [2] S. Al-Stouhi and C. K. Reddy, "Adaptive Boosting for Transfer Learning using Dynamic
           Updates", ECML PKDD 2011.

    .. [3] J. Zhu, H. Zou, S. Rosset and T. Hastie, "Multi-class AdaBoost", Statistics and its
           Interface 2(3), 2009.

    .. [4] A. de Mathelin, F. Deheeger, G. Richard, M. Mougeot and N. Vayatis, "ADAPT: Awesome
           Domain Adaptation Python Toolbox", arXiv:2107.03049, 2021.

    Examples
    --------
    >>> from sktransfer.datasets import make_shifted_classification
    >>> from sktransfer.instance_transfer import TrAdaBoost
    >>> from sktransfer.utils import pack_domains
    >>> Xs, ys, Xt, yt = make_shifted_classification(
    ...     n_source=500, n_target=1020, random_state=0
    ... )
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:20], yt[:20]))
    >>> clf = TrAdaBoost(n_estimators=20, random_state=0)
    >>> clf.fit(X, y, sample_domain=sample_domain)
    TrAdaBoost(n_estimators=20, random_state=0)
    >>> print(f"target accuracy: {clf.score(Xt[20:], yt[20:]):.2f}")
    target accuracy: 0.94
    """

    _parameter_constraints: dict = {
        **_BaseTransferBoosting._parameter_constraints,
        "dynamic_correction": ["boolean"],
        "balance_domains": ["boolean"],
        "voters": [StrOptions({"all", "last_half"})],
        "n_iter_no_change": [Integers(1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_estimators=50,
        learning_rate=1.0,
        dynamic_correction=False,
        balance_domains=True,
        voters="all",
        n_iter_no_change=None,
        validation_fraction=0.2,
        random_state=None,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.dynamic_correction = dynamic_correction
        self.balance_domains = balance_domains
        self.voters = voters
        self.n_iter_no_change = n_iter_no_change
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    @atomic_fit
    @_fit_context(
        # TrAdaBoost.estimator is not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, sample_weight=None, *, sample_domain=None):
        """Boost the learners on source and target rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Source and target rows together.

        y : array-like of shape (n_samples,)
            The class labels of every row. TrAdaBoost learns from labelled rows only: target
            rows with ``y == -1`` (unlabelled) are ignored with a warning, and ``-1`` is never
            a class.

        sample_weight : array-like of shape (n_samples,), default=None
            Initial row weights. If None, every row starts with the same weight.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows; keyword-only. If None, rows
            with ``y == -1`` are unlabelled target rows and all others source rows; with no
            ``y == -1`` either, every row is a target row (plain AdaBoost-SAMME with the last
            half voting). Requested through metadata routing, so it flows through
            :class:`~sklearn.pipeline.Pipeline` and
            :class:`~sklearn.model_selection.GridSearchCV` once
            ``set_fit_request(sample_domain=True)`` is set.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y, weights, is_source = self._check_fit_data(X, y, sample_weight, sample_domain)
        check_labels(y)
        self.classes_ = np.unique(y)
        self.n_classes_ = len(self.classes_)
        if self.n_classes_ < 2:
            raise ValueError(
                f"TrAdaBoost needs at least two classes in y; got one class: {self.classes_[0]}."
            )
        self._validate_estimator(DecisionTreeClassifier(max_depth=5))
        random_state = check_random_state(self.random_state)
        fit_rows, validation_rows = self._split_validation(is_source, random_state)
        validation = None
        if validation_rows is not None:
            validation = _TargetValidation(
                X[validation_rows], y[validation_rows], weights[validation_rows], self
            )
        X, y, weights, is_source = X[fit_rows], y[fit_rows], weights[fit_rows], is_source[fit_rows]
        if self.balance_domains:
            weights = _rebalance(weights, is_source)
        self._source_factor = _source_factor(weights[is_source], self.n_estimators)
        boosting = self._boost_loop(
            X,
            y,
            weights,
            is_source,
            random_state,
            self.n_estimators,
            monitor=None if validation is None else validation.stop_after,
        )
        del self._source_factor
        self._store_boosting(boosting, is_source)
        self._warn_out_of_range(boosting)
        if validation is not None:
            self.validation_scores_ = np.asarray(validation.scores)
        else:  # a refit without early stopping kept the scores of an earlier fit
            self.__dict__.pop("validation_scores_", None)
        self._warn_stall(boosting)
        return self

    def _split_validation(self, is_source, random_state):
        all_rows = np.arange(is_source.shape[0])
        if self.n_iter_no_change is None:
            return all_rows, None
        target_rows = random_state.permutation(np.flatnonzero(~is_source))
        n_validation = math.ceil(self.validation_fraction * target_rows.shape[0])
        if n_validation >= target_rows.shape[0]:
            raise ValueError(
                f"Early stopping holds out validation_fraction={self.validation_fraction} of the "
                f"{target_rows.shape[0]} target rows, which leaves none to boost on. Lower "
                "validation_fraction, add target rows or set n_iter_no_change=None."
            )
        validation_rows = np.sort(target_rows[:n_validation])
        return np.setdiff1d(all_rows, validation_rows), validation_rows

    def _boost(self, iboost, X, y, weights, is_source, random_state):
        """One TrAdaBoost round: fit, measure the error on the target rows, re-weight."""
        learner = self._fit_learner(X, y, weights, random_state)
        incorrect = learner.predict(X) != y
        error = _weighted_mean(incorrect[~is_source], weights[~is_source])
        # Without source rows nothing outweighs the target: plain AdaBoost, error clipped.
        stalled = bool(is_source.any()) and error >= _chance_error(self.n_classes_)
        learner_weight = self.learning_rate * _samme_weight(error, self.n_classes_)
        if not incorrect.any():
            return learner, None, learner_weight, error, stalled
        target_step = _target_step(error, learner_weight, stalled, self.learning_rate)
        log_factors = np.empty(weights.shape[0])
        log_factors[is_source] = math.log(self._source_correction(error)) + (
            self.learning_rate * incorrect[is_source] * math.log(self._source_factor)
        )
        log_factors[~is_source] = target_step * incorrect[~is_source]
        weights = _reweight(weights, log_factors)
        if stalled:
            weights = _rebalance(weights, is_source)
        return learner, weights, learner_weight, error, stalled

    def _voters(self, n_learners=None):
        if self.voters == "last_half":
            return super()._voters(n_learners)
        return slice(0, len(self.estimators_) if n_learners is None else n_learners)

    def _source_correction(self, error):
        """Al-Stouhi and Reddy's factor ``2 (1 - eps_t)``, or 1 without the correction."""
        if not self.dynamic_correction:
            return 1.0
        return 2.0 * (1.0 - _clip_error(error, self.n_classes_))

    def _class_index(self, predictions):
        return np.searchsorted(self.classes_, predictions)

    def _scores(self, X, learners, weights):
        votes = [self._class_index(learner.predict(X)) for learner in learners]
        return _samme_scores(votes, weights, self.n_classes_)

    def decision_function(self, X):
        """Compute the decision function of ``X``.

        The weighted vote of the voting learners (see ``voters``), coded as in SAMME: a learner adds
        its weight to the class it predicts and ``-1 / (K - 1)`` times its weight to the others;
        the sum is divided by the total weight.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input rows.

        Returns
        -------
        score : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, one score per row: positive means the second class of
            ``classes_``. Otherwise one score per class, in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = self._check_X(X)
        voters = self._voters()
        scores = self._scores(X, self.estimators_[voters], self.estimator_weights_[voters])
        return _binary_decision(scores)

    def staged_decision_function(self, X):
        """Yield the decision function after each boosting iteration.

        After iteration ``t`` the learners ``1, ..., t`` vote (``ceil(t/2), ..., t`` with
        ``voters="last_half"``), the ensemble that ``fit`` with ``n_estimators=t`` would have
        voted with (up to the source factor, which depends on ``n_estimators``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input rows.

        Yields
        ------
        score : ndarray of shape (n_samples,) or (n_samples, n_classes)
            As in :meth:`decision_function`.
        """
        check_is_fitted(self)
        X = self._check_X(X)
        votes = []
        for n_learners, learner in enumerate(self.estimators_, start=1):
            votes.append(self._class_index(learner.predict(X)))
            voters = self._voters(n_learners)
            scores = _samme_scores(votes[voters], self.estimator_weights_[voters], self.n_classes_)
            yield _binary_decision(scores)

    def predict(self, X):
        """Predict the class of each row of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input rows.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The predicted classes.
        """
        return self._decision_to_class(self.decision_function(X))

    def staged_predict(self, X):
        """Yield the predicted classes after each boosting iteration.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input rows.

        Yields
        ------
        y : ndarray of shape (n_samples,)
            The predicted classes.
        """
        for decision in self.staged_decision_function(X):
            yield self._decision_to_class(decision)

    def predict_proba(self, X):
        """Predict class probabilities for ``X``.

        The softmax of the decision function divided by ``K - 1`` (Zhu et al., 2009, eq. 15),
        as :class:`~sklearn.ensemble.AdaBoostClassifier` does.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The class probabilities, in the order of ``classes_``.
        """
        return _proba_from_decision(self.decision_function(X), self.n_classes_)

    def staged_predict_proba(self, X):
        """Yield the class probabilities after each boosting iteration.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input rows.

        Yields
        ------
        proba : ndarray of shape (n_samples, n_classes)
            The class probabilities, in the order of ``classes_``.
        """
        for decision in self.staged_decision_function(X):
            yield _proba_from_decision(decision, self.n_classes_)

    def predict_log_proba(self, X):
        """Predict class log-probabilities for ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input rows.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log of :meth:`predict_proba`.
        """
        return np.log(self.predict_proba(X))

    def _decision_to_class(self, decision):
        if decision.ndim == 1:
            return self.classes_[(decision > 0).astype(int)]
        return self.classes_[np.argmax(decision, axis=1)]


class _TargetValidation:
    """The accuracy of the growing ensemble on held-out target rows, for early stopping."""

    def __init__(self, X, y, weights, model):
        self.X, self.y, self.weights, self.model = X, y, weights, model
        self.votes, self.scores = [], []

    def stop_after(self, learner, learner_weights):
        """Score the ensemble with ``learner`` added; True once it stopped improving."""
        self.votes.append(self.model._class_index(learner.predict(self.X)))
        voters = self.model._voters(len(self.votes))
        scores = _samme_scores(self.votes[voters], learner_weights[voters], self.model.n_classes_)
        correct = self.model.classes_[np.argmax(scores, axis=1)] == self.y
        self.scores.append(_weighted_mean(correct, self.weights))
        return _no_improvement(self.scores, self.model.n_iter_no_change)


def _check_not_a_domain(sample_weight):
    """Catch skada's ``fit(X, y, sample_domain)``: the domains land in ``sample_weight``."""
    if sample_weight is None or np.isscalar(sample_weight):
        return
    values = np.asarray(sample_weight)
    if values.dtype.kind in "iu" and np.any(values < 0):
        raise ValueError(
            "sample_weight holds negative integers, which looks like a sample_domain array "
            "passed positionally: fit(X, y, sample_domain) puts it in sample_weight. "
            "sample_domain is keyword-only: call fit(X, y, sample_domain=sample_domain)."
        )


def _regression_target(y):
    """``y`` as floats, with 0 in place of NaN, and the mask of the NaN rows (or None).

    Numeric strings parse, as scikit-learn's regressors take them: ``validate_data(y_numeric=
    True)`` converts only object arrays, so string targets reached the boosting loop and
    failed there in a NumPy subtraction. NaN marks an unlabelled row (skada's convention for
    regression), which scikit-learn's validation would refuse. A ``y`` that is not 1-D is left
    to that validation.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)  # a column, as scikit-learn's regressors take it
    # Complex and other kinds are left to scikit-learn's validation and its messages.
    if y.ndim == 1 and y.dtype.kind in "USOb":
        y = _as_floats(y)
    if y.ndim != 1 or y.dtype.kind != "f":
        return y, None
    unlabelled = np.isnan(y)
    if unlabelled.any():
        y = np.where(unlabelled, 0.0, y)
    return y, unlabelled


def _as_floats(y):
    try:
        return y.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"y must hold numbers, the regression targets; got values of dtype {y.dtype}."
        ) from None


def _warn_if_targets_look_unlabelled(y, is_source, name):
    """Warn when every target row's ``y`` is -1: pack_domains' mark of unlabelled rows, which a
    regressor learns as a value (the learners' error was measured against -1)."""
    target = y[~is_source]
    if not is_source.any() or target.shape[0] < 2 or not np.all(target == -1):
        return
    warnings.warn(
        f"Every target row's y is -1, which {name} reads as a value like any other, not as an "
        "unlabelled row: each learner's error is measured against -1. Unlabelled regression "
        "rows are marked with NaN (sktransfer.utils.pack_domains fills NaN for continuous "
        f"source labels), and {name} needs labelled target rows.",
        UserWarning,
        stacklevel=4,
    )


def _check_both_domains(is_source, name):
    if not is_source.any():
        raise ValueError(
            f"sample_domain marks no source row (positive value); {name} needs source rows to "
            "transfer from. Pass sample_domain=None to boost on target rows alone."
        )
    if is_source.all():
        raise ValueError(
            f"sample_domain marks no target row (negative value); {name} needs labelled "
            "target rows to measure each learner's error on."
        )


def _target_step(error, learner_weight, stalled, learning_rate):
    """The log-factor by which misclassified target rows grow in a round.

    Dai et al.'s target factor ``1 / beta_t = exp(learner_weight)`` is 1 at chance level, which
    would freeze every weight for good; in a stalled round ADAPT's ``(2 - eps) / eps`` stays
    above one.
    """
    if not stalled:
        return learner_weight
    return learning_rate * math.log((2.0 - error) / max(error, _ERROR_MARGIN))


def _reweight(weights, log_factors):
    """``weights * exp(log_factors)``, up to a common scale, without overflow.

    The factors are divided by the largest one among the rows that have weight, which the
    normalisation of the loop undoes anyway: ``exp`` of a large ``learning_rate`` times a learner
    weight (``exp(2300)`` at ``learning_rate=100``) no longer overflows into inf, then NaN
    weights. The rows that hold the largest factor keep their weight, so the sum stays positive.
    """
    new_weights = np.zeros_like(weights)
    has_weight = weights > 0
    log_factors = log_factors[has_weight]
    new_weights[has_weight] = weights[has_weight] * np.exp(log_factors - log_factors.max())
    return new_weights


def _weights_representable(weights, new_weights):
    """False when an update left the float range: a non-finite or zero total, or rows that
    had weight dropping to exactly 0 (a spread of factors beyond 1e308 underflows them)."""
    total = new_weights.sum()
    if not (np.isfinite(total) and total > 0):
        return False
    return not np.any((weights > 0) & (new_weights == 0))


def _rebalance(weights, is_source):
    """Raise the target rows' total weight to at least the source rows' total.

    Done before the first round (``balance_domains``) and after a stall, where the learner was
    no better than chance on the target because the source rows outweighed the target rows.
    With both totals equal, the next learner has to fit the target rows as much as the source
    rows, and the source rows that disagree with the target start to lose weight.
    """
    source_total, target_total = weights[is_source].sum(), weights[~is_source].sum()
    if 0 < target_total < source_total:
        weights = weights.copy()
        weights[~is_source] *= source_total / target_total
    return weights


def _source_factor(source_weights, n_estimators):
    """The fixed factor ``beta = 1 / (1 + sqrt(2 ln n / N))`` of Dai et al. (2007).

    ``n`` counts the source rows of positive weight: a row of weight 0 is a row left out, as
    everywhere in scikit-learn.
    """
    n_source = np.count_nonzero(source_weights > 0)
    if n_source == 0:
        return 1.0
    return 1.0 / (1.0 + math.sqrt(2.0 * math.log(n_source) / n_estimators))


def _first_voter(n_learners):
    return math.ceil(n_learners / 2) - 1


def _weighted_mean(values, weights):
    total = weights.sum()
    return float(np.dot(values, weights) / total) if total > 0 else 0.0


def _chance_error(n_classes):
    """The error of a uniform guess among ``K`` classes, ``(K - 1) / K``."""
    return (n_classes - 1) / n_classes


def _clip_error(error, n_classes):
    return min(max(error, _ERROR_MARGIN), _chance_error(n_classes) - _ERROR_MARGIN)


def _samme_weight(error, n_classes):
    """``ln((1 - eps) / eps) + ln(K - 1)``; for two classes ``ln(1 / beta_t)`` of the paper."""
    error = _clip_error(error, n_classes)
    return math.log((1.0 - error) / error) + math.log(n_classes - 1.0)


def _samme_scores(votes, learner_weights, n_classes):
    """SAMME-coded scores from the class indices each learner predicted."""
    learner_weights = np.asarray(learner_weights)
    total = learner_weights.sum()
    tally = np.zeros((votes[0].shape[0], n_classes))
    rows = np.arange(votes[0].shape[0])
    for vote, weight in zip(votes, learner_weights, strict=True):
        tally[rows, vote] += weight
    scores = (tally - (total - tally) / (n_classes - 1)) / total
    return scores


def _binary_decision(scores):
    if scores.shape[1] == 2:
        return scores[:, 1]
    return scores


def _proba_from_decision(decision, n_classes):
    if decision.ndim == 1:
        decision = np.column_stack([-decision, decision])
    return softmax(decision / (n_classes - 1), axis=1)


def _no_improvement(scores, n_iter_no_change):
    if len(scores) <= n_iter_no_change:
        return False
    return max(scores[-n_iter_no_change:]) <= max(scores[:-n_iter_no_change])
