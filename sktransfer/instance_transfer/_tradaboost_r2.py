"""TrAdaBoost for regression: TrAdaBoost.R2 and two-stage TrAdaBoost.R2 (Pardoe & Stone, 2010)."""

import math
import warnings
from numbers import Integral

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp
from sklearn.base import RegressorMixin
from sklearn.model_selection import KFold, check_cv
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..utils._atomic import atomic_fit
from ..utils._domains import LabelledRegressionScoreMixin
from ..utils._sklearn import Integers, StrOptions, _fit_context
from ._tradaboost import (
    _BaseTransferBoosting,
    _clip_error,
    _rebalance,
    _reweight,
    _source_factor,
    _target_step,
    _weighted_mean,
)

__all__ = ["TrAdaBoostR2", "TwoStageTrAdaBoostR2"]


class _BaseTransferBoostingRegressor(
    LabelledRegressionScoreMixin, RegressorMixin, _BaseTransferBoosting
):
    """Fit signature, prediction by weighted median and the default learner of the regressors.

    Warning: this class should not be used directly. Use the derived classes instead.
    """

    _parameter_constraints: dict = {
        **_BaseTransferBoosting._parameter_constraints,
        "loss": [StrOptions({"linear", "square", "exponential"})],
    }

    def _fit_checked(self, X, y, sample_weight, sample_domain):
        X, y, weights, is_source = self._check_fit_data(X, y, sample_weight, sample_domain)
        _check_squares_are_finite(y, type(self).__name__)
        self._validate_estimator(DecisionTreeRegressor(max_depth=4))
        if isinstance(self.estimator_, DecisionTreeRegressor):
            _warn_if_trees_cannot_split(y, weights, type(self).__name__)
        return X, y, weights, is_source, check_random_state(self.random_state)

    def predict(self, X):
        """Predict the target value of each row of ``X``.

        The weighted median of the predictions of the voting learners, weighted by
        ``estimator_weights_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input rows.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The predicted values.
        """
        check_is_fitted(self)
        X = self._check_X(X)
        voters = self._voters()
        predictions = [learner.predict(X) for learner in self.estimators_[voters]]
        return _weighted_median(predictions, self.estimator_weights_[voters])

    def staged_predict(self, X):
        """Yield the predictions after each boosting iteration.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input rows.

        Yields
        ------
        y : ndarray of shape (n_samples,)
            The predicted values of the ensemble of the first iterations.
        """
        check_is_fitted(self)
        X = self._check_X(X)
        predictions = []
        for n_learners, learner in enumerate(self.estimators_, start=1):
            predictions.append(learner.predict(X))
            voters = self._voters(n_learners)
            yield _weighted_median(predictions[voters], self.estimator_weights_[voters])


class TrAdaBoostR2(_BaseTransferBoostingRegressor):
    """TrAdaBoost for regression: TrAdaBoost.R2 (Pardoe & Stone, 2010).

    TrAdaBoost (Dai et al., 2007) with the adjusted errors of AdaBoost.R2 (Drucker, 1997). At
    every iteration a learner is fitted on source and target rows with the current weights; each
    row gets an adjusted error in ``[0, 1]`` (its absolute error divided by the largest one, then
    shaped by ``loss``). Target rows gain weight as ``beta_t ** -e_i`` where
    ``beta_t = eps_t / (1 - eps_t)`` and ``eps_t`` is the weighted adjusted error on the target
    rows; source rows lose weight as ``beta ** e_i`` with the fixed
    ``beta = 1 / (1 + sqrt(2 ln n / N))``. The prediction is the weighted median of the last
    half of the learners.

    Source and target rows travel in one ``X``, told apart by ``sample_domain`` (positive for
    source rows, negative for target rows). With ``sample_domain=None`` every row is a target
    row: AdaBoost.R2 fitted with weights instead of weighted resampling, the last half voting.
    Target rows whose ``y`` is NaN (the mark of an unlabelled regression row, as in skada) are
    left out with a warning; ``-1`` is a value like any other. ``score`` leaves out the rows
    whose ``y`` is NaN.

    Read more in the :ref:`User Guide <instance_transfer>`.

    Parameters
    ----------
    estimator : object, default=None
        The base regressor. Its ``fit`` must accept ``sample_weight``. If None, a
        :class:`~sklearn.tree.DecisionTreeRegressor` with ``max_depth=4``.

    n_estimators : int, default=50
        The number of boosting iterations ``N``. It also sets the source factor ``beta``.

    learning_rate : float, default=1.0
        Shrinks every update: the exponents of the source and target factors and the learner
        weights are multiplied by it.
        A rate so large that one round's update spans more than the float range stops the
        boosting with a UserWarning, keeping the learners fitted so far, as AdaBoost does
        on overflow.

    loss : {"linear", "square", "exponential"}, default="linear"
        How the absolute error, divided by the largest one, becomes the adjusted error, as in
        :class:`~sklearn.ensemble.AdaBoostRegressor`.

    random_state : int, RandomState instance or None, default=None
        Seeds the ``random_state`` of every learner that has one. Pass an int for reproducible
        output across multiple function calls.

    Attributes
    ----------
    estimator_ : estimator
        The base estimator (unfitted) the ensemble is grown from.

    estimators_ : list of regressors
        The fitted learners, in boosting order.

    estimator_weights_ : ndarray of shape (n_learners,)
        The weight ``ln(1 / beta_t)`` of each learner in the median.

    estimator_errors_ : ndarray of shape (n_learners,)
        The weighted adjusted error ``eps_t`` of each learner on the target rows, before
        clipping to ``[1e-10, 1/2 - 1e-10]``.

    source_weights_ : ndarray of shape (n_learners, n_source)
        The weight of each source row when each learner was fitted (all rows sum to one).

    target_weights_ : ndarray of shape (n_learners, n_target)
        The same for the target rows.

    feature_importances_ : ndarray of shape (n_features,)
        The importances of the voting learners, when they have them.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    TwoStageTrAdaBoostR2 : Lowers the source weights step by step and picks the step by
        cross-validation; usually more accurate.
    TrAdaBoost : The classification original.
    sklearn.ensemble.AdaBoostRegressor : AdaBoost.R2 without a source/target distinction.

    Notes
    -----
    Where Pardoe and Stone stop the boosting once ``eps_t >= 1/2``, such a round is a stall,
    handled as in :class:`TrAdaBoost`: the learner gets an almost zero weight, the target rows
    grow by ``((2 - eps_t) / eps_t) ** e_i`` and their total is raised to at least the source
    total; a :class:`~sklearn.exceptions.ConvergenceWarning` names the stalled rounds.
    Boosting stops when a learner predicts every row exactly.

    References
    ----------
    .. [1] D. Pardoe and P. Stone, "Boosting for Regression Transfer", ICML 2010.

    .. [2] W. Dai, Q. Yang, G.-R. Xue and Y. Yu, "Boosting for Transfer Learning", ICML 2007.

    .. [3] H. Drucker, "Improving Regressors using Boosting Techniques", ICML 1997.

    Examples
    --------
    >>> from sktransfer.datasets import make_shifted_regression
    >>> from sktransfer.instance_transfer import TrAdaBoostR2
    >>> from sktransfer.utils import pack_domains
    >>> Xs, ys, Xt, yt = make_shifted_regression(n_source=500, n_target=1020, random_state=0)
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:20], yt[:20]))
    >>> reg = TrAdaBoostR2(n_estimators=20, random_state=0)
    >>> reg.fit(X, y, sample_domain=sample_domain)
    TrAdaBoostR2(n_estimators=20, random_state=0)
    >>> print(f"target R2: {reg.score(Xt[20:], yt[20:]):.2f}")
    target R2: 0.77
    """

    def __init__(
        self,
        estimator=None,
        *,
        n_estimators=50,
        learning_rate=1.0,
        loss="linear",
        random_state=None,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.loss = loss
        self.random_state = random_state

    @atomic_fit
    @_fit_context(
        # TrAdaBoostR2.estimator is not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, sample_weight=None, *, sample_domain=None):
        """Boost the learners on source and target rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Source and target rows together.

        y : array-like of shape (n_samples,)
            The target values of every row; NaN marks an unlabelled target row, left out with
            a warning (a source row needs a finite value).

        sample_weight : array-like of shape (n_samples,), default=None
            Initial row weights. If None, every row starts with the same weight.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows. If None, the rows whose ``y``
            is NaN are unlabelled target rows and the others source rows; with no NaN either,
            every row is a target row (plain AdaBoost.R2). Requested through metadata routing
            (``set_fit_request(sample_domain=True)``).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y, weights, is_source, random_state = self._fit_checked(
            X, y, sample_weight, sample_domain
        )
        self._source_factor = _source_factor(weights[is_source], self.n_estimators)
        boosting = self._boost_loop(X, y, weights, is_source, random_state, self.n_estimators)
        del self._source_factor
        self._store_boosting(boosting, is_source)
        self._warn_out_of_range(boosting)
        self._warn_stall(boosting)
        return self

    def _boost(self, iboost, X, y, weights, is_source, random_state):
        """One TrAdaBoost.R2 round: fit, measure the adjusted error on the target, re-weight."""
        learner = self._fit_learner(X, y, weights, random_state)
        adjusted = _adjusted_errors(y, learner.predict(X), weights, self.loss)
        error = _weighted_mean(adjusted[~is_source], weights[~is_source])
        stalled = bool(is_source.any()) and error >= 0.5
        learner_weight = self.learning_rate * _r2_weight(error)
        if not adjusted.any():
            return learner, None, learner_weight, error, stalled
        target_step = _target_step(error, learner_weight, stalled, self.learning_rate)
        log_factors = np.empty(weights.shape[0])
        log_factors[is_source] = (
            self.learning_rate * adjusted[is_source] * math.log(self._source_factor)
        )
        log_factors[~is_source] = target_step * adjusted[~is_source]
        weights = _reweight(weights, log_factors)
        if stalled:
            weights = _rebalance(weights, is_source)
        return learner, weights, learner_weight, error, stalled


class TwoStageTrAdaBoostR2(_BaseTransferBoostingRegressor):
    """Two-stage TrAdaBoost.R2 (Pardoe & Stone, 2010).

    Stage one lowers the total weight of the source rows step by step, from its initial share to
    zero over ``n_steps`` steps: at each step a learner is fitted and the source rows it predicts
    worst lose the most weight (``w_i * beta_t ** e_i``, with ``beta_t`` found by bisection so
    that the target rows hold the scheduled share). Stage two, run at every step, is
    AdaBoost.R2 with the source weights frozen (AdaBoost.R2'), scored by ``cv``-fold
    cross-validation on the target rows (shuffled folds; source rows always train). The step
    with the lowest cross-validated mean squared error is refitted on every row.
    The factor ``beta`` of each step is solved exactly (``scipy.optimize.brentq`` over
    ``ln beta``), however small it must be, so that every step meets its scheduled share.

    Source and target rows travel in one ``X``, told apart by ``sample_domain`` (positive for
    source rows, negative for target rows). With ``sample_domain=None`` every row is a target
    row: there is nothing to re-weight, a single step runs and the model is AdaBoost.R2 fitted
    with weights. Target rows whose ``y`` is NaN (the mark of an unlabelled regression row, as
    in skada) are left out with a warning; ``-1`` is a value like any other. ``score`` leaves
    out the rows whose ``y`` is NaN.

    Read more in the :ref:`User Guide <instance_transfer>`.

    Parameters
    ----------
    estimator : object, default=None
        The base regressor. Its ``fit`` must accept ``sample_weight``. If None, a
        :class:`~sklearn.tree.DecisionTreeRegressor` with ``max_depth=4``.

    n_steps : int, default=10
        The number of steps ``S`` of stage one, the candidates of the cross-validation. The
        last step gives the source rows no weight at all.

    n_estimators : int, default=10
        The number of boosting iterations ``N`` of AdaBoost.R2' at each step.

    learning_rate : float, default=1.0
        Shrinks the updates of AdaBoost.R2' and its learner weights, as in
        :class:`~sklearn.ensemble.AdaBoostRegressor`.
        A rate so large that one round's update spans more than the float range stops the
        boosting with a UserWarning, keeping the learners fitted so far, as AdaBoost does
        on overflow.

    cv : int, cross-validation generator or iterable, default=5
        How the target rows are split to score each step; the source rows always train. An int
        is the number of shuffled folds (:class:`~sklearn.model_selection.KFold` seeded by
        ``random_state``) and needs at least that many target rows. A splitter is applied to the
        target rows alone, and an iterable yields ``(train, test)`` positions among the target
        rows, in their order in ``X``.

    loss : {"linear", "square", "exponential"}, default="linear"
        How the absolute error, divided by the largest one, becomes the adjusted error, as in
        :class:`~sklearn.ensemble.AdaBoostRegressor`.

    random_state : int, RandomState instance or None, default=None
        Seeds the learners and the shuffling of the folds. Pass an int for reproducible
        output across multiple function calls.

    Attributes
    ----------
    estimator_ : estimator
        The base estimator (unfitted) the ensemble is grown from.

    estimators_ : list of regressors
        The learners of AdaBoost.R2' at the chosen step, refitted on every row.

    estimator_weights_ : ndarray of shape (n_learners,)
        The weight ``ln(1 / beta_k)`` of each learner in the median.

    estimator_errors_ : ndarray of shape (n_learners,)
        The weighted adjusted error of each learner over every row, before clipping.

    source_weights_ : ndarray of shape (n_learners, n_source)
        The weight of each source row when each learner of the final AdaBoost.R2' was fitted:
        those of the chosen step, frozen.

    target_weights_ : ndarray of shape (n_learners, n_target)
        The same for the target rows.

    cv_errors_ : ndarray of shape (n_candidates,)
        The cross-validated mean squared error on the target rows at each step; ``[nan]`` when
        there was a single candidate (``n_steps=1`` or no source rows) and nothing to choose.

    best_step_ : int
        The index of the chosen step (0: the initial weights).

    feature_importances_ : ndarray of shape (n_features,)
        The importances of the learners, when they have them.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    TrAdaBoostR2 : The one-stage algorithm.
    sklearn.ensemble.AdaBoostRegressor : AdaBoost.R2 without a source/target distinction.

    Notes
    -----
    ``fit`` trains up to ``n_steps * cv * n_estimators + (n_steps - 1) + n_estimators``
    learners: ``n_steps - 1`` in stage one, a boosting run of ``n_estimators`` on each of the
    ``cv`` folds of each of the ``n_steps`` steps, and the final refit (fewer when a boosting
    run stops early, and only the refit without source rows or with ``n_steps=1``). In
    AdaBoost.R2' the error of a learner is its weighted adjusted error over all rows, as in
    AdaBoost.R2, and it is clipped below ``1/2`` instead of ending the boosting.

    References
    ----------
    .. [1] D. Pardoe and P. Stone, "Boosting for Regression Transfer", ICML 2010.

    .. [2] H. Drucker, "Improving Regressors using Boosting Techniques", ICML 1997.

    Examples
    --------
    >>> from sktransfer.datasets import make_shifted_regression
    >>> from sktransfer.instance_transfer import TwoStageTrAdaBoostR2
    >>> from sktransfer.utils import pack_domains
    >>> Xs, ys, Xt, yt = make_shifted_regression(n_source=300, n_target=1020, random_state=0)
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:20], yt[:20]))
    >>> reg = TwoStageTrAdaBoostR2(n_steps=4, n_estimators=5, cv=3, random_state=0)
    >>> reg.fit(X, y, sample_domain=sample_domain)
    TwoStageTrAdaBoostR2(cv=3, n_estimators=5, n_steps=4, random_state=0)
    >>> reg.cv_errors_.shape
    (4,)
    """

    _parameter_constraints: dict = {
        **_BaseTransferBoostingRegressor._parameter_constraints,
        "n_steps": [Integers(1, None, closed="left")],
        "cv": ["cv_object"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_steps=10,
        n_estimators=10,
        learning_rate=1.0,
        cv=5,
        loss="linear",
        random_state=None,
    ):
        self.estimator = estimator
        self.n_steps = n_steps
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.cv = cv
        self.loss = loss
        self.random_state = random_state

    @atomic_fit
    @_fit_context(
        # TwoStageTrAdaBoostR2.estimator is not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, sample_weight=None, *, sample_domain=None):
        """Choose the source weights by cross-validation, then boost with them.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Source and target rows together.

        y : array-like of shape (n_samples,)
            The target values of every row; NaN marks an unlabelled target row, left out with
            a warning (a source row needs a finite value).

        sample_weight : array-like of shape (n_samples,), default=None
            Initial row weights; they also weigh the cross-validated squared errors. If None,
            every row starts with the same weight.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows. If None, the rows whose ``y``
            is NaN are unlabelled target rows and the others source rows; with no NaN either,
            every row is a target row (plain AdaBoost.R2). Requested through metadata routing
            (``set_fit_request(sample_domain=True)``).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y, weights, is_source, random_state = self._fit_checked(
            X, y, sample_weight, sample_domain
        )
        n_candidates = self.n_steps if is_source.any() else 1
        folds = self._target_folds(X, y, is_source, n_candidates, random_state)
        _check_fold_weights(folds, weights)
        step_weights = self._stage_one(X, y, weights, is_source, n_candidates, random_state)
        n_cv_out_of_range = 0
        if n_candidates > 1:
            scored = [
                self._cv_error(X, y, w, is_source, folds, weights, random_state)
                for w in step_weights
            ]
            self.cv_errors_ = np.array([error for error, _ in scored])
            n_cv_out_of_range = sum(n for _, n in scored)
            self.best_step_ = int(np.argmin(self.cv_errors_))
        else:
            self.cv_errors_, self.best_step_ = np.array([np.nan]), 0
        boosting = self._boost_loop(
            X, y, step_weights[self.best_step_], is_source, random_state, self.n_estimators
        )
        self._store_boosting(boosting, is_source)
        self._warn_out_of_range(boosting, n_cv_out_of_range)
        return self

    def _voters(self, n_learners=None):
        # AdaBoost.R2' is plain AdaBoost.R2 in its vote: every learner takes part.
        n_learners = len(self.estimators_) if n_learners is None else n_learners
        return slice(0, n_learners)

    def _target_folds(self, X, y, is_source, n_candidates, random_state):
        """``(train, test)`` row indices; only target rows are split, source rows always train."""
        if n_candidates == 1:
            return []
        target_rows = np.flatnonzero(~is_source)
        n_target = target_rows.shape[0]
        cv = self.cv
        if isinstance(cv, Integral):
            if target_rows.shape[0] < cv:
                raise ValueError(
                    f"cv={cv} folds over the target rows need at least {cv} target rows; "
                    f"got {target_rows.shape[0]}."
                )
            cv = KFold(cv, shuffle=True, random_state=random_state.randint(np.iinfo(np.int32).max))
        splits = check_cv(cv).split(X[target_rows], y[target_rows])
        folds = [
            (_fold_positions(train, n_target), _fold_positions(test, n_target))
            for train, test in splits
        ]
        if not folds:
            raise ValueError("cv gave no (train, test) split of the target rows to score with.")
        return [(target_rows[train], target_rows[test]) for train, test in folds]

    def _stage_one(self, X, y, weights, is_source, n_candidates, random_state):
        """The weights of every step, the target share rising linearly to one."""
        initial_share = weights[~is_source].sum()
        step_weights = [weights]
        for step in range(1, n_candidates):
            share = initial_share + step / (n_candidates - 1) * (1.0 - initial_share)
            learner = self._fit_learner(X, y, weights, random_state)
            adjusted = _adjusted_errors(y, learner.predict(X), weights, self.loss)
            weights = _shrink_source(weights, adjusted, is_source, share)
            step_weights.append(weights)
        return step_weights

    def _cv_error(self, X, y, weights, is_source, folds, sample_weight, random_state):
        """Mean squared error on held-out target rows; source rows always train.

        Also returns how many of the folds' boosting runs left the float range.
        """
        squared_error, total, n_out_of_range = 0.0, 0.0, 0
        source_rows = np.flatnonzero(is_source)
        for train_target, test in folds:
            train = np.concatenate([source_rows, train_target])
            boosting = self._boost_loop(
                X[train],
                y[train],
                weights[train],
                is_source[train],
                random_state,
                self.n_estimators,
            )
            predictions = [learner.predict(X[test]) for learner in boosting.learners]
            residual = _weighted_median(predictions, boosting.learner_weights) - y[test]
            squared_error += np.dot(sample_weight[test], residual**2)
            total += sample_weight[test].sum()
            n_out_of_range += boosting.out_of_range is not None
        return squared_error / total, n_out_of_range

    def _boost(self, iboost, X, y, weights, is_source, random_state):
        """One round of AdaBoost.R2 that never changes the source weights (AdaBoost.R2')."""
        learner = self._fit_learner(X, y, weights, random_state)
        adjusted = _adjusted_errors(y, learner.predict(X), weights, self.loss)
        error = _weighted_mean(adjusted, weights)
        learner_weight = self.learning_rate * _r2_weight(error)
        if not adjusted.any():
            return learner, None, learner_weight, error, False
        # Drucker's update: rows predicted well lose weight, by beta_k ** (1 - e_i).
        log_factors = np.where(is_source, 0.0, -learner_weight * (1.0 - adjusted))
        weights = _reweight(weights, log_factors)
        return learner, weights, learner_weight, error, False


def _fold_positions(positions, n_target):
    """A fold's positions among the target rows, checked before they index anything."""
    positions = np.asarray(positions)
    if (
        positions.ndim != 1
        or positions.size == 0
        or positions.dtype.kind not in "iu"
        or positions.min() < 0
        or positions.max() >= n_target
    ):
        raise ValueError(
            "cv must split the target rows into non-empty (train, test) arrays of positions "
            f"among the {n_target} target rows (0 to {n_target - 1}); got {positions!r}."
        )
    return positions


def _check_fold_weights(folds, weights):
    """Refuse folds that ``sample_weight`` leaves unable to score every step."""
    # The last step gives the source rows no weight: the training target rows fit it alone.
    empty = [k for k, (train, _) in enumerate(folds) if weights[train].sum() <= 0]
    if empty:
        raise ValueError(
            f"sample_weight is zero on every training target row of the cv folds {empty}, "
            "which leaves the last step (no source weight) nothing to fit. Give those rows "
            "weight or choose other folds."
        )
    if folds and sum(weights[test].sum() for _, test in folds) <= 0:
        raise ValueError(
            "sample_weight is zero on every test row of the cv folds: no error can be measured."
        )


# scikit-learn's trees take a node whose impurity (its weighted variance for the squared
# error) is at most the float64 epsilon as pure, whatever the scale of y; below this multiple
# of it, a tree on y stops splitting at once or after a few levels.
_TREE_VARIANCE_FLOOR = 10 * np.finfo(np.float64).eps


def _check_squares_are_finite(y, name):
    """Refuse a ``y`` whose squared errors overflow float64 (beyond about 1e154): the learners
    then fitted constants with numpy's overflow warnings, or boosting stalled."""
    spread = float(np.ptp(y))
    if not np.isfinite(spread * spread):
        raise ValueError(
            f"{name}: y spans {spread:.3g}, whose square overflows float64, so the learners' "
            "squared errors are infinite. Rescale y (and the predictions back), for example to "
            "unit variance."
        )


def _warn_if_trees_cannot_split(y, weights, name):
    """Warn when ``y`` varies too little for scikit-learn's trees to split on it.

    Every learner was then a single leaf: y of 1e-8 gave the same prediction for every row
    without a word, where the same y in other units was fitted.
    """
    mean = np.average(y, weights=weights)
    variance = np.average((y - mean) ** 2, weights=weights)
    if 0 < variance < _TREE_VARIANCE_FLOOR:
        warnings.warn(
            f"{name}: the variance of y ({variance:.3g}) is within "
            f"{_TREE_VARIANCE_FLOOR / np.finfo(np.float64).eps:g} times the float64 epsilon at "
            "which scikit-learn's trees take a node as pure, so its tree learners split little "
            "or not at all and the predictions are about constant. Rescale y (and the "
            "predictions back), for example to unit variance.",
            UserWarning,
            stacklevel=4,
        )


def _adjusted_errors(y_true, y_pred, weights, loss):
    """AdaBoost.R2's adjusted errors in ``[0, 1]``: absolute errors over the largest one."""
    error = np.abs(y_pred - y_true)
    # Rows without weight are ignored by the learner, so they do not set the scale.
    largest = error[weights > 0].max()
    if largest <= 0:
        return np.zeros_like(error)
    error = np.minimum(error / largest, 1.0)
    if loss == "square":
        return error**2
    if loss == "exponential":
        return 1.0 - np.exp(-error)
    return error


def _r2_weight(error):
    """``ln(1 / beta_t)`` with ``beta_t = eps_t / (1 - eps_t)``, the error clipped below 1/2."""
    error = _clip_error(error, 2)
    return math.log((1.0 - error) / error)


def _shrink_source(weights, adjusted, is_source, target_share):
    """Scale source weights by ``beta ** e_i`` so that the target rows hold ``target_share``."""
    weights = weights.copy()
    source_weights, source_errors = weights[is_source], adjusted[is_source]
    target_total = weights[~is_source].sum()
    if target_share >= 1.0:
        weights[is_source] = 0.0
        return weights / weights.sum()
    wanted = target_total * (1.0 - target_share) / target_share
    weights[is_source] = source_weights * _solve_beta(source_weights, source_errors, wanted)
    return weights / weights.sum()


def _solve_beta(source_weights, source_errors, wanted):
    """The factors ``beta ** e_i`` that bring the source total to ``wanted``, solved exactly.

    ``sum_i w_i beta ** e_i`` grows with ``beta``; the root is found by ``brentq`` over
    ``ln beta``, where the total is a log-sum-exp that neither underflows nor floors, however
    small ``beta`` must be. Rows predicted exactly (``e_i = 0``) keep their weight for every
    ``beta``; when they alone hold more than ``wanted``, the other rows get no weight and
    these are scaled down to ``wanted``.
    """
    if source_weights.sum() <= wanted:
        return np.ones_like(source_weights)
    exact = source_errors <= 0
    floor = source_weights[exact].sum()
    if floor >= wanted:
        return np.where(exact, wanted / floor, 0.0)
    log_wanted = math.log(wanted)

    def gap(log_beta):
        return logsumexp(log_beta * source_errors, b=source_weights) - log_wanted

    low = -1.0
    while gap(low) > 0:
        low *= 2.0
    log_beta = brentq(gap, low, 0.0, xtol=1e-14, rtol=1e-14)
    return np.exp(log_beta * source_errors)


def _weighted_median(predictions, learner_weights):
    """Per row, the prediction where the cumulative learner weight first reaches half."""
    predictions = np.column_stack(predictions)
    order = np.argsort(predictions, axis=1)
    cumulative = np.cumsum(np.asarray(learner_weights)[order], axis=1)
    median_position = np.argmax(cumulative >= 0.5 * cumulative[:, -1:], axis=1)
    rows = np.arange(predictions.shape[0])
    return predictions[rows, order[rows, median_position]]
