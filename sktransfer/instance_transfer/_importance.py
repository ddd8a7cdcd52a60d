"""Importance weighting: source rows re-weighted by the density ratio p_target(x) / p_source(x).

Two estimators of the ratio learn from the unlabelled target rows alone: kernel mean matching
(KMM) and the Kullback-Leibler importance estimation procedure (KLIEP). The meta-estimators hand
the weights to any classifier or regressor whose ``fit`` takes ``sample_weight``.
"""

import inspect
import warnings
from numbers import Real

import numpy as np
from scipy import optimize
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    clone,
    is_classifier,
    is_regressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.kernel_approximation import Nystroem
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics.pairwise import euclidean_distances, rbf_kernel
from sklearn.model_selection import KFold
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)
from threadpoolctl import threadpool_limits

from ..utils._atomic import atomic_fit
from ..utils._domains import (
    LabelledRegressionScoreMixin,
    LabelledScoreMixin,
    domain_rows,
    is_unlabelled_value,
    regression_domains,
    warn_if_one_domain,
)
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

__all__ = ["KLIEP", "KMM", "ImportanceWeightedClassifier", "ImportanceWeightedRegressor"]

# Rows drawn to compute the median heuristic: the median of 1,000 rows' distances is stable to
# about a percent, and the full n x n distance matrix would not fit in memory at 20,000 rows.
_MEDIAN_ROWS = 1000
# Below this share of 1 - eps, the kernel between source and target rows (kappa) moves no
# weight by more than a thousandth of the value the sum constraint alone gives every weight:
# the weights are then uniform and carry no information on the target.
_KMM_MIN_KAPPA = 1e-3
# KMM's ridge, relative to the kernel's diagonal of 1: lam/2 sum_i w_i (beta_i - 1)^2 added to
# the objective. A smooth kernel's Gram matrix is nearly singular (unscaled features, a few
# dimensions, many rows), and without it a flat set of near-optimal weights left the solution
# to where the solver stopped: casting X to float32 moved weights by up to 7. The ridge makes
# the programme strictly convex, so it has one solution, the one nearest uniform weights among
# the near-optimal ones, and moves the weights of a well-conditioned problem by about 1%.
# Centred on 1, it leaves weights that are already uniform as they are (a flat kernel's); it
# weighs (beta_i - 1)^2 by w_i, as k copies of a row would weigh theirs, so that integer
# sample_weight stays repeating the row.
_KMM_RIDGE = 1e-3
# Multipliers of the median-heuristic gamma that KLIEP's likelihood cross-validation tries: the
# kernel width sigma from a quarter to four times the median distance.
_KLIEP_GAMMA_FACTORS = (16.0, 4.0, 1.0, 0.25, 1.0 / 16.0)
# Below this, the largest kernel value between a source row and a KLIEP centre is about 0: the
# ratio at every source row is a far tail of the kernel, and the row nearest a centre takes
# about all the weight. The median heuristic's grid stays far above it on ordinary data.
_KLIEP_MIN_KERNEL = 1e-8


def _median_heuristic_gamma(X, random_state=None, sample_weight=None):
    """The RBF ``gamma`` of the median heuristic: ``1 / (2 sigma^2)``, sigma the median distance.

    Computed on at most 1,000 rows drawn at random, so that it costs the same at any size. With
    ``sample_weight``, the median is weighted, a pair of rows by the product of their weights:
    the median of the rows repeated as many times as their (integer) weights.
    """
    rng = check_random_state(random_state)
    if X.shape[0] > _MEDIAN_ROWS:
        pick = rng.choice(X.shape[0], _MEDIAN_ROWS, replace=False)
        X = X[pick]
        sample_weight = None if sample_weight is None else sample_weight[pick]
    distances = euclidean_distances(X, squared=True)
    first, second = np.triu_indices_from(distances, k=1)
    upper = distances[first, second]
    if sample_weight is not None and np.unique(sample_weight).shape[0] <= 1:
        # Equal weights repeat every row as often: the unweighted median, to the last bit
        # (the cumulative sum of equal pair weights rounds, and moved it by 0.1%).
        sample_weight = None
    if sample_weight is None:
        median = np.median(upper[upper > 0]) if np.any(upper > 0) else 1.0
    else:
        # Copies of one row are 0 apart, and distances of 0 are left out in both forms. The
        # weights are divided by the largest first: products of weights of 1e200 overflowed
        # to inf (then an IndexError), of 1e-300 underflowed to 0 (then a median of 1).
        sample_weight = sample_weight / sample_weight.max()
        pair = sample_weight[first] * sample_weight[second]
        keep = (upper > 0) & (pair > 0)
        median = _weighted_median(upper[keep], pair[keep]) if np.any(keep) else 1.0
    return 1.0 / median  # exp(-||x - x'||^2 / (2 sigma^2)) with sigma^2 = median / 2


def _weighted_median(values, weights):
    """The median of ``values`` repeated ``weights`` times, for integer weights: the mean of the
    two middle values when the total is even, as :func:`numpy.median` takes them."""
    order = np.argsort(values, kind="stable")
    values, cumulative = values[order], np.cumsum(weights[order])
    half = cumulative[-1] / 2
    low = values[np.searchsorted(cumulative, half, side="left")]
    high = values[np.searchsorted(cumulative, half, side="right")]
    return (low + high) / 2


# Kernel entries all above 1 - _FLAT_KERNEL_TOL tell no row from another.
_FLAT_KERNEL_TOL = 1e-8


def _warn_if_kernel_is_flat(X, gamma, name, rng, sample_weight=None):
    """Warn when ``gamma`` is so small that the RBF kernel is about 1 between every two rows.

    No row is then nearer the target than another, and the weights come out uniform: KMM and
    KLIEP with gamma=1e-300 gave every source row weight 1 without a word. The largest squared
    distance between rows is at most four times the largest from their (weighted) mean.
    """
    if sample_weight is None:
        center = X.mean(axis=0)
    else:  # weights of 1e200 times X overflowed
        center = np.average(X, 0, sample_weight / sample_weight.max())
    spread = 4.0 * np.max(np.sum((X - center) ** 2, axis=1))
    if not gamma * spread < _FLAT_KERNEL_TOL or spread == 0:
        return
    warnings.warn(
        f"{name}'s kernel with gamma={gamma:.3g} is about 1 between every two rows (gamma "
        f"times their largest squared distance is below {_FLAT_KERNEL_TOL:.0e}), so no row is "
        "nearer the target than another and the weights carry no information on it: they come "
        "out uniform. Raise gamma: the median heuristic (gamma=None) gives gamma="
        f"{_median_heuristic_gamma(X, rng, sample_weight):.3g} here.",
        UserWarning,
        stacklevel=4,
    )


class _BaseWeighter(BaseEstimator):
    """Shared input handling of the density-ratio estimators.

    Warning: this class should not be used directly. Use the derived classes instead.
    """

    _parameter_constraints: dict = {
        "per_source": ["boolean"],
        "random_state": ["random_state"],
    }

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None, *, sample_domain=None):
        """Learn the importance weights of the source rows from the target rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows together.

        y : array-like of shape (n_samples,), default=None
            Labels, ``-1`` for unlabelled target rows. Only read to find the target rows when
            ``sample_domain`` is None; the weights never depend on the labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights, of source and target rows alike. They weight the
            objective, so that a row of integer weight ``k`` counts as ``k`` copies of the row
            (for KMM, up to its ridge and default ``eps``; for the median heuristic's
            ``gamma``, when the domains' mean weights agree) and a row of weight 0 as no row at
            all: the other rows' weights are those learned without it. Only their ratios
            count: weights times a constant give the same weights, and so do the target's
            weights times another (each source's too, when its weights are learned on their
            own, ``per_source=True``); equal weights give those of ``sample_weight=None``. A
            weight too small to show beside the largest of the rows it is rescaled with (its
            source's, all sources' with ``per_source=False``, or the target's; below about
            ``1e-308`` of it) counts as 0. If None, every row weighs 1.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows (``1, 2, ...`` for several sources), negative for target
            rows. Requested through metadata routing (``set_fit_request(sample_domain=True)``).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        X = X.astype(np.float64, copy=False)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
            if np.any(sample_weight < 0):
                raise ValueError(
                    "sample_weight has negative values; row weights must be non-negative. "
                    "sample_domain is keyword-only: pass it as fit(X, sample_domain=...), not "
                    "as the third positional argument."
                )
        rows = domain_rows(y, sample_domain, X.shape[0], require_source_labels=False)
        groups = _source_groups(rows.domain, self.per_source)
        if sample_weight is not None:
            programmes = [*groups.values(), np.flatnonzero(rows.is_target)]
            sample_weight = _without_negligible(programmes, sample_weight)
        warn_if_one_domain(self, rows, sample_domain, "every row keeps weight 1")
        self._check_params()
        rng = check_random_state(self.random_state)
        self.weights_ = np.ones(X.shape[0])
        # Rows of weight 0 are left out of every step, as if they had not been given.
        counted = np.ones(X.shape[0], dtype=bool) if sample_weight is None else sample_weight > 0
        # The kernel width reads each domain's weights at mean 1, so that scaling one domain's
        # weights (to sum 1, say) leaves it as it leaves the programme.
        gamma_weight = None if sample_weight is None else _unit_mean_by(rows.domain, sample_weight)
        is_target = rows.is_target & counted
        if not is_target.any() or not (rows.is_source & counted).any():
            # Nothing to match: every row keeps its weight, as a plain supervised fit would.
            if sample_weight is None:
                self.gamma_ = self._default_gamma(X, rng)
            else:
                self.gamma_ = self._default_gamma(X[counted], rng, gamma_weight[counted])
            self._fit_nothing()
            return self
        self._fit_weights(X, groups, is_target, sample_weight, gamma_weight, rng)
        return self

    def _check_params(self):
        """Checks that span several parameters, run before any heavy compute."""

    def _default_gamma(self, X, rng, sample_weight=None):
        gamma = self.gamma
        if gamma is None or not np.isscalar(gamma):
            return _median_heuristic_gamma(X, rng, sample_weight)
        return float(gamma)

    def _fit_nothing(self):
        """Fitted attributes of a fit without target rows (or without source rows)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags


def _counted_groups(groups, counted):
    """The rows of positive weight of each group, leaving out groups with none."""
    kept = {key: rows[counted[rows]] for key, rows in groups.items()}
    return {key: rows for key, rows in kept.items() if rows.shape[0] > 0}


def _source_groups(domain, per_source):
    """``{key: row indices}`` of each group of source rows whose weights are learned together.

    The key is the group's ``sample_domain``, or 1 for all the sources pooled.
    """
    if not per_source:
        return {1: np.flatnonzero(domain > 0)}
    return {int(d): np.flatnonzero(domain == d) for d in np.unique(domain[domain > 0])}


class KMM(_BaseWeighter):
    """Kernel mean matching: source weights that match the target's mean in a kernel space.

    KMM (Huang, Smola, Gretton, Borgwardt and Schölkopf, 2007) re-weights the ``n_s`` source
    rows so that their weighted mean in the feature space of a Gaussian kernel comes as close as
    possible to the mean of the ``n_t`` target rows (the maximum mean discrepancy). This is the
    quadratic programme

    .. code-block:: text

        minimise   1/2 beta' K beta - kappa' beta + lam/2 ||beta - 1||^2
        subject to 0 <= beta_i <= B,   |sum(beta) - n_s| <= n_s eps

    with ``K`` the kernel between source rows and ``kappa_i = n_s / n_t sum_j k(x_i, x'_j)``.
    The small ridge ``lam = 1e-3`` (the kernel's diagonal is 1) is not in the paper: a Gaussian
    kernel's ``K`` is often nearly singular, and the ridge picks, of the many weights that match
    the means about equally well, those nearest uniform weights, so that the weights do not
    depend on where the solver stops.
    The weights estimate the density ratio ``p_target(x) / p_source(x)`` without estimating
    either density, and need no labels: only the rows of ``X``.

    With ``sample_weight`` (``w_i`` on source rows, ``v_j`` on target rows), the weighted source
    mean ``sum_i w_i beta_i phi(x_i) / sum_i w_i`` is matched to the weighted target mean
    ``sum_j v_j phi(x'_j) / sum_j v_j``, under ``0 <= beta_i <= B`` and a weighted mean of
    ``beta`` within ``eps`` of 1. Only the ratios of the weights count: each source's ``w`` is
    rescaled to mean 1 over its ``n_s`` rows of positive weight, so that weights times any
    constant (weights that sum to 1, say) give the same programme, and equal weights the
    unweighted one. In the rows' masses ``g_i = w_i beta_i`` it is the programme above with
    ``kappa_i = n_s sum_j v_j k(x_i, x'_j) / sum_j v_j``, the ridge
    ``lam/2 sum_i (g_i - w_i)^2 / w_i`` and the box ``0 <= g_i <= w_i B``: that of the rows
    repeated, a row of integer weight ``k`` as ``k`` copies which share its mass, except that
    the ridge is multiplied by the mean count and the default ``eps`` counts distinct rows (the
    repeated rows' number is not a ratio of the weights).

    Source and target rows travel in one ``X`` (see :func:`sktransfer.utils.pack_domains`):
    ``sample_domain`` is positive for source rows and negative for target rows, or, when it is
    None, rows with ``y == -1`` are target rows. Without target rows every weight is 1.

    Read more in the :ref:`User Guide <importance_weighting>`.

    Parameters
    ----------
    gamma : float, default=None
        The RBF kernel's ``gamma`` in ``exp(-gamma ||x - x'||^2)``. If None, the median
        heuristic: ``1 / (2 sigma^2)`` with ``sigma`` the median distance between rows (source
        and target together, at most 1,000 rows drawn at random).

    B : float, default=1000.0
        The largest weight a source row may receive (the paper's default). A lower bound keeps
        a few source rows from carrying the whole fit when the target lies far from the source.

    eps : float, default=None
        How far the mean weight may stray from 1: ``|mean(beta) - 1| <= eps`` (the mean
        weighted by ``sample_weight``). If None, ``(sqrt(n_s) - 1) / sqrt(n_s)``, the paper's
        choice, with ``n_s`` the number of source rows of positive ``sample_weight`` (not
        their total weight, so that only the weights' ratios count).

    n_components : int or None, default=500
        Source domains with more rows than this are matched with a Nyström approximation of
        the kernel (:class:`~sklearn.kernel_approximation.Nystroem`) of rank ``n_components``,
        whose landmarks are drawn from the source and target rows (half from each, so a
        target domain of few rows lowers the rank): memory and time then grow linearly with
        the rows instead of quadratically (the exact kernel of 20,000 rows takes 3.2 GB). None
        uses the exact kernel at any size.

    per_source : bool, default=True
        With several source domains (``sample_domain`` 1, 2, ...), match each of them to the
        target on its own. False pools every source row into one domain first.

    max_iter : int, default=10000
        The most iterations of the L-BFGS-B solver, per solve.

    tol : float, default=1e-6
        The solver's tolerance on the projected gradient, relative to the objective's scale:
        the weights are then within about ``tol / 1e-3`` of the programme's solution.

    random_state : int, RandomState instance or None, default=None
        Draws the rows of the median heuristic and the Nyström landmarks.

    Attributes
    ----------
    weights_ : ndarray of shape (n_samples,)
        One weight per row of the ``X`` given to ``fit``: the importance weight of each source
        row (mean, weighted by ``sample_weight``, between ``1 - eps`` and ``1 + eps`` within
        each source), and 1 for every target row. A source row of ``sample_weight`` 0 takes no
        part in the matching and gets 0: KMM learns weights only for the rows it matches.

    gamma_ : float
        The kernel ``gamma`` used.

    n_iter_ : int
        The solver's iterations, summed over the source domains and over the solves.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    KLIEP : A density-ratio model fitted by maximum likelihood, which also weights new rows.
    ImportanceWeightedClassifier : Hands the weights to a classifier.

    Notes
    -----
    The programme is solved in the masses ``g = w beta`` (``beta`` without ``sample_weight``)
    with :func:`scipy.optimize.minimize` (L-BFGS-B) on the box ``[0, w B]``, until the projected
    gradient is below ``tol``. The sum constraint is usually inactive at the paper's ``eps``;
    when it is not, a Lagrange multiplier on it is found with :func:`scipy.optimize.brentq`,
    each step a warm-started box-constrained solve, and the weights are then moved to the
    nearest point of the box whose sum meets the bound, which a multiplier found over inexact
    solves misses. With the Nyström
    approximation ``K ~ Phi Phi'``, every gradient costs ``O(n_s n_components)``.

    References
    ----------
    .. [1] J. Huang, A. J. Smola, A. Gretton, K. M. Borgwardt and B. Schölkopf, "Correcting
           Sample Selection Bias by Unlabeled Data", NIPS 2006 (published 2007).

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.instance_transfer import KMM
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.RandomState(0)
    >>> Xs = rng.normal(0.5, 1.0, size=(300, 1))
    >>> Xt = rng.normal(0.0, 0.5, size=(300, 1))
    >>> X, y, sample_domain = pack_domains(source=(Xs, np.zeros(300)), target=(Xt, None))
    >>> kmm = KMM(random_state=0).fit(X, sample_domain=sample_domain)
    >>> weights = kmm.weights_[:300]
    >>> true_ratio = np.exp(-Xs[:, 0] ** 2 / 0.5 + (Xs[:, 0] - 0.5) ** 2 / 2)
    >>> print(f"correlation with the true ratio: {np.corrcoef(weights, true_ratio)[0, 1]:.1f}")
    correlation with the true ratio: 1.0
    """

    _parameter_constraints: dict = {
        **_BaseWeighter._parameter_constraints,
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
        "B": [Interval(Real, 0, None, closed="neither")],
        "eps": [Interval(Real, 0, 1, closed="left"), None],
        "n_components": [Integers(1, None, closed="left"), None],
        "max_iter": [Integers(1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        gamma=None,
        B=1000.0,
        eps=None,
        n_components=500,
        per_source=True,
        max_iter=10000,
        tol=1e-6,
        random_state=None,
    ):
        self.gamma = gamma
        self.B = B
        self.eps = eps
        self.n_components = n_components
        self.per_source = per_source
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _fit_nothing(self):
        self.n_iter_ = 0

    def _fit_weights(self, X, groups, is_target, sample_weight, gamma_weight, rng):
        weight = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        counted = weight > 0
        # A source row of weight 0 carries no mass in the source mean: it has no weight of its
        # own to learn, and gets 0.
        for rows in groups.values():
            self.weights_[rows] = 0.0
        solved = _counted_groups(groups, counted)
        for rows in solved.values():
            self._check_feasible(rows.shape[0])
        X_counted = X if sample_weight is None else X[counted]
        counted_weight = None if sample_weight is None else gamma_weight[counted]
        self.gamma_ = self._default_gamma(X_counted, rng, counted_weight)
        _warn_if_kernel_is_flat(X_counted, self.gamma_, "KMM", rng, counted_weight)
        X_target, target_weight = X[is_target], _unit_mean(weight[is_target])
        self.n_iter_ = 0
        blind = []
        for key, rows in solved.items():
            weights, n_iter, kappa_max = self._match(
                X[rows], _unit_mean(weight[rows]), X_target, target_weight, rng
            )
            self.weights_[rows] = weights
            self.n_iter_ += n_iter
            if kappa_max < _KMM_MIN_KAPPA * (1 - self._eps(rows.shape[0])):
                blind.append((key, kappa_max))
        if blind:
            self._warn_blind_kernel(X_counted, counted_weight, blind, rng)

    def _warn_blind_kernel(self, X, sample_weight, blind, rng):
        """Warn that the kernel between source and target rows is about 0.

        KLIEP raises where its kernel is exactly 0, as its ratio is then 0 / 0. KMM's weights
        stay defined, those of the sum constraint alone (uniform where the kernel is near the
        identity), and a fit with them is no worse than an unweighted one: a warning, as for a
        method that cannot do its job well, not an error.
        """
        domains = ", ".join(str(key) for key, _ in blind)
        kappa_max = max(value for _, value in blind)
        if self.gamma is None:
            advice = (
                "The kernel already has the median heuristic's width: the target rows lie "
                "outside the source rows' support, and no re-weighting of the source can match "
                "them"
            )
        else:
            suggested = _median_heuristic_gamma(X, rng, sample_weight)
            advice = (
                "The kernel is too narrow for the distance between the domains. Lower gamma: "
                f"the median heuristic (gamma=None) gives gamma={suggested:.3g} here"
            )
        warnings.warn(
            f"KMM's kernel with gamma={self.gamma_:.3g} is about 0 between every row of source "
            f"domain(s) {domains} and every target row (largest kappa {kappa_max:.2g}), so the "
            "weights carry no information on the target: only the sum constraint, which holds "
            f"their mean at 1 - eps, shapes them. {advice}.",
            UserWarning,
            stacklevel=4,
        )

    def _match(self, X_source, source_weight, X_target, target_weight, rng):
        """The weights of one source domain, every row of positive ``source_weight``.

        ``source_weight`` has mean 1 (see :func:`_unit_mean`), so that ``n_s = sum w`` is the
        number of rows, and the programme, its ridge and its sum constraint are those of
        ``sample_weight`` times any constant.

        The programme is solved in ``g_i = w_i beta_i``, the mass row ``i`` carries: the
        weighted source mean ``sum w_i beta_i phi(x_i) / sum w`` is then ``sum g_i phi(x_i) /
        sum w``, the objective is the unweighted one with ``n_s = sum w`` and the weighted
        target mean in ``kappa``, and only the box changes, to ``0 <= g_i <= w_i B``. This is
        the programme of the rows repeated, whose copies of one row share its mass. Whether the
        kernel is exact or Nyström's still depends on the number of rows, which sets the memory.
        """
        n_source = X_source.shape[0]
        mass = source_weight.sum()
        if self.n_components is None or n_source <= self.n_components:
            gram = rbf_kernel(X_source, gamma=self.gamma_)
            kappa = _mean_kernel(X_source, X_target, self.gamma_, target_weight) * mass
            qp = _KernelQP(kappa, lambda beta: gram @ beta, source_weight, _KMM_RIDGE)
        else:
            pool = _landmark_pool(X_source, X_target, self.n_components, rng)
            # Few target rows leave fewer landmarks than n_components: Nystroem warned
            # "n_components > n_samples" from inside KMM's default settings.
            nystroem = Nystroem(
                gamma=self.gamma_,
                n_components=min(self.n_components, pool.shape[0]),
                random_state=rng,
            ).fit(pool)
            features = nystroem.transform(X_source)
            target_features = nystroem.transform(X_target) * target_weight[:, None]
            target_mean = target_features.sum(axis=0) / target_weight.sum()
            kappa = features @ target_mean * mass
            qp = _KernelQP(
                kappa, lambda beta: features @ (features.T @ beta), source_weight, _KMM_RIDGE
            )
        eps = self._eps(n_source)
        bounds = (mass * (1 - eps), mass * (1 + eps))
        mass_per_row, n_iter = qp.solve(self.B, bounds, self.max_iter, self.tol)
        return mass_per_row / source_weight, n_iter, kappa.max()

    def _eps(self, n_source):
        """The paper's ``eps`` for ``n_source`` rows, or the one given.

        ``n_source`` counts the rows of positive ``sample_weight``, not their total weight: the
        total depends on the weights' scale (weights summing to 1 made eps negative, which
        swapped the bounds on the sum), and ``sample_weight`` times a constant is the same
        problem. For integer weights this is fewer rows than the repeated rows count, so eps
        is that of the distinct rows.
        """
        return (np.sqrt(n_source) - 1) / np.sqrt(n_source) if self.eps is None else self.eps

    def _check_feasible(self, n_source):
        """Refuse a bound ``B`` below ``1 - eps``: no weights in ``[0, B]`` average ``1 - eps``.

        The solver would otherwise look for the multiplier of the sum constraint in vain and
        fail in ``brentq`` ("f(a) and f(b) must have different signs").
        """
        eps = self._eps(n_source)
        if self.B < 1 - eps:
            raise ValueError(
                f"B={self.B} is below 1 - eps = {1 - eps:.3g} for {n_source} source rows: "
                "weights of at most B cannot average at least 1 - eps. Raise B or eps."
            )


def _unit_mean(weight):
    """Row weights, all positive, rescaled to mean 1: exactly 1 where they are all equal.

    KMM's masses, its ridge and its bound on their sum are then those of weights of any scale,
    and the unweighted programme's (``n_s`` rows of weight 1) where the weights are equal.
    """
    if np.all(weight == weight[0]):
        return np.ones_like(weight)
    weight = weight / weight.max()  # no overflow in the mean
    return weight / weight.mean()


def _without_negligible(programmes, weight):
    """``weight`` with 0 for the weights too small to show beside the largest of the rows they
    are rescaled with (``programmes``, lists of rows: the source groups and the target). Only
    ratios count, and rescaled they round to 0 or to subnormal numbers, with which KMM's
    weights came out NaN or erratic (1e-300 beside 1e30)."""
    weight = weight.copy()
    for rows in programmes:
        if rows.shape[0] == 0:
            continue
        largest = weight[rows].max()
        if largest > 0:
            # Divided by the largest too: sums of weights of 1e307 overflowed to inf.
            scaled = weight[rows] / largest
            weight[rows] = np.where(scaled < np.finfo(np.float64).tiny, 0.0, scaled)
    return weight


def _unit_mean_by(domain, weight):
    """``weight`` with each domain's positive weights rescaled to mean 1 (zeros stay 0)."""
    scaled = weight.copy()
    for value in np.unique(domain):
        rows = np.flatnonzero((domain == value) & (weight > 0))
        if rows.shape[0]:
            scaled[rows] = _unit_mean(weight[rows])
    return scaled


def _mean_kernel(X, X_target, gamma, target_weight, chunk=2048):
    """``sum_j v_j k(x_i, x'_j) / sum_j v_j`` for every row of ``X``, ``v`` the target rows'
    weights, over target chunks to bound memory."""
    total = np.zeros(X.shape[0])
    for start in range(0, X_target.shape[0], chunk):
        stop = start + chunk
        kernel = rbf_kernel(X, X_target[start:stop], gamma=gamma)
        # A product then a sum, not a matrix product: with unit weights the sum is the same
        # to the last bit as the unweighted one.
        total += (kernel * target_weight[start:stop]).sum(axis=1)
    return total / target_weight.sum()


def _landmark_pool(X_source, X_target, n_components, rng):
    """Half the Nyström landmarks from each domain, so both are represented in the features."""
    half = n_components // 2
    pick_s = rng.choice(X_source.shape[0], min(half, X_source.shape[0]), replace=False)
    n_t = min(n_components - pick_s.shape[0], X_target.shape[0])
    pick_t = rng.choice(X_target.shape[0], n_t, replace=False)
    return np.vstack([X_source[pick_s], X_target[pick_t]])


class _KernelQP:
    """KMM's quadratic programme ``1/2 g'Kg - kappa'g + ridge/2 sum_i (g_i - w_i)^2 / w_i`` on the
    box ``0 <= g_i <= w_i B``, with a bounded sum; ``w`` the rows' weights (the rows' masses
    ``g = w beta``, so that the ridge is ``ridge/2 sum_i w_i (beta_i - 1)^2``)."""

    def __init__(self, kappa, matvec, row_weight, ridge):
        self.row_weight, self.mass = row_weight, row_weight.sum()
        # Divided by n_s^2 so that the objective is O(1) whatever the size.
        self.scale = 1.0 / self.mass**2
        self.kappa, self.ridge = kappa, ridge
        self.matvec = lambda g: matvec(g) + ridge * (g / row_weight)

    def _solve_box(self, shift, upper, start, max_iter, tol):
        # The ridge's linear part, -ridge sum(g), up to a constant.
        linear = self.kappa + self.ridge - shift

        def objective(beta):
            k_beta = self.matvec(beta)
            value = 0.5 * beta @ k_beta - linear @ beta
            return value * self.scale, (k_beta - linear) * self.scale

        with _one_blas_thread():
            result = optimize.minimize(
                objective,
                start,
                jac=True,
                method="L-BFGS-B",
                bounds=optimize.Bounds(0.0, upper),
                # No test on the objective's decrease: near the solution it is below rounding
                # long before the weights settle, and stopping there left them anywhere in a
                # region of near-optimal weights (ftol=1e-12 still moved them by 2).
                options={"maxiter": max_iter, "gtol": tol * self.scale, "ftol": 0.0},
            )
        self.n_iter += result.nit
        if result.status == 1:  # the iteration limit
            self.not_converged = True
        return result.x

    def solve(self, bound, bounds, max_iter, tol):
        """The masses ``g`` of the rows, for the bound ``B`` on their weights ``g / w``."""
        self.n_iter, self.not_converged = 0, False
        upper = bound * self.row_weight
        start = np.clip(self.row_weight, 0.0, upper)
        beta = self._solve_box(0.0, upper, start, max_iter, tol)
        low, high = bounds
        total = beta.sum()
        if not low <= total <= high:
            # The sum is non-increasing in the multiplier ``shift`` on the sum constraint.
            target = high if total > high else low
            last = {"beta": beta}

            def excess(shift):
                last["beta"] = self._solve_box(shift, upper, last["beta"], max_iter, tol)
                return last["beta"].sum() - target

            # The kernel is at most 1, so a shift beyond these bounds drives every weight to 0
            # (sum too large) or to B (sum too small): K g is at most sum(g) <= B sum(w), and
            # the ridge's gradient ridge (g_i / w_i - 1) between -ridge and ridge (B - 1).
            bracket = (
                (0.0, self.kappa.max() + self.ridge)
                if total > high
                else (
                    self.kappa.min() - bound * (self.mass + self.ridge),
                    0.0,
                )
            )
            shift = optimize.brentq(excess, *bracket, xtol=1e-6 * self.mass, rtol=1e-6)
            beta = self._solve_box(shift, upper, last["beta"], max_iter, tol)
            # The multiplier is only as exact as the inexact solves that brentq evaluates: the
            # sum missed its bound by 1.2e-3 n_s on a small problem, where KMM promises
            # |mean(beta) - 1| <= eps. The nearest weights in the box whose sum is the bound's
            # keep the promise to rounding, at an objective as low as a constrained solver's.
            beta = _nearest_with_sum(beta, upper, target)
        if self.not_converged:
            warnings.warn(
                f"KMM's solver reached max_iter={max_iter} before converging; the weights may "
                "be off. Raise max_iter, or lower n_components.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return beta, self.n_iter


def _nearest_with_sum(beta, upper, total):
    """The point of ``{b : 0 <= b <= upper, sum(b) = total}`` nearest to ``beta``.

    It is ``clip(beta - nu, 0, upper)`` for the one ``nu`` that gives the sum (the projection
    onto a box cut by a hyperplane); the sum is piecewise linear and non-increasing in ``nu``,
    so brentq reaches it to rounding.
    """

    if total <= 0:
        return np.zeros_like(beta)

    def excess(nu):
        return np.clip(beta - nu, 0.0, upper).sum() - total

    # Above the bracket every weight is 0; below it every weight is at least min(total, upper),
    # so the sum is at least total (0 <= total <= n upper). A bracket from upper instead was
    # as wide as B, and with B = 1e16 brentq's tolerance alone missed the sum by half.
    low, high = beta.min() - total, beta.max()
    nu = optimize.brentq(excess, low, high, xtol=1e-15 * (high - low), rtol=4 * np.finfo(float).eps)
    return np.clip(beta - nu, 0.0, upper)


class KLIEP(_BaseWeighter):
    """Kullback-Leibler importance estimation: a kernel model of the density ratio.

    KLIEP (Sugiyama, Nakajima, Kashima, von Bünau and Kawanabe, 2008) models the density ratio
    ``w(x) = p_target(x) / p_source(x)`` as a non-negative combination of Gaussian kernels
    centred on target rows, ``w(x) = sum_l alpha_l k(x, c_l)``, and fits ``alpha`` by
    maximising the likelihood of the target rows under ``w(x) p_source(x)``:

    .. code-block:: text

        maximise   sum_j log w(x'_j)
        subject to alpha >= 0,   1/n_s sum_i w(x_i) = 1

    The kernel width is chosen by likelihood cross-validation on the target rows, as in the
    paper: the held-out target rows' mean ``log w`` is compared across a grid of widths. Unlike
    :class:`KMM`, the fitted model also weights rows it has not seen
    (:meth:`density_ratio`).

    With ``sample_weight``, both means are weighted: the target rows' mean ``log w`` (in the fit
    and in the held-out scores of the cross-validation) and the source rows' mean ``w``, so that
    a row of integer weight ``k`` counts as ``k`` copies (for the median heuristic's ``gamma``,
    when the domains' mean weights agree: it reads each domain's weights at mean 1). Rows of
    weight 0 are left out of every
    step, the draw of the centres and the folds included.

    Source and target rows travel in one ``X`` (see :func:`sktransfer.utils.pack_domains`):
    ``sample_domain`` is positive for source rows and negative for target rows, or, when it is
    None, rows with ``y == -1`` are target rows. Without target rows every weight is 1.

    Read more in the :ref:`User Guide <importance_weighting>`.

    Parameters
    ----------
    gamma : float, array-like of float or None, default=None
        The RBF kernel's ``gamma`` in ``exp(-gamma ||x - x'||^2)``. One value is used as it
        is; several are the grid of the likelihood cross-validation. If None, the grid is the
        median-heuristic ``gamma`` times 16, 4, 1, 1/4 and 1/16 (the kernel width from a
        quarter to four times the median distance between rows).

    n_centers : int, default=100
        The number of kernel centres, target rows drawn at random (the paper's ``b = 100``)
        among those of positive ``sample_weight``.

    cv : int, default=5
        The number of folds of the likelihood cross-validation over the target rows. Only used
        when there are several candidate ``gamma``.

    per_source : bool, default=True
        With several source domains (``sample_domain`` 1, 2, ...), fit one density ratio per
        source domain. False pools every source row into one domain first. The width is chosen
        once, by the likelihood summed over the source domains.

    max_iter : int, default=1000
        The most iterations of the L-BFGS-B solver, per fit.

    random_state : int, RandomState instance or None, default=None
        Draws the kernel centres, the folds and the rows of the median heuristic.

    Attributes
    ----------
    weights_ : ndarray of shape (n_samples,)
        One weight per row of the ``X`` given to ``fit``: the estimated ratio at each source
        row (mean 1 within each source, weighted by ``sample_weight``), and 1 for every target
        row. A source row of ``sample_weight`` 0 gets the fitted ratio at its ``x``, as
        :meth:`density_ratio` gives it (0 if no row of its source domain weighs more than 0).

    gamma_ : float
        The kernel ``gamma`` used.

    cv_scores_ : ndarray of shape (n_gammas,)
        The held-out target rows' mean ``log w`` (weighted by ``sample_weight``) for each
        candidate ``gamma``, summed over the source domains. Empty when one ``gamma`` was given
        or there were no target rows.

    centers_ : ndarray of shape (n_centers, n_features)
        The kernel centres.

    alphas_ : dict of int to ndarray of shape (n_centers,)
        The fitted coefficients, one array per source domain (keyed by its ``sample_domain``;
        a single key ``1`` when the sources are pooled).

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    KMM : Kernel mean matching, which weights the source rows it is given.
    ImportanceWeightedClassifier : Hands the weights to a classifier.

    Notes
    -----
    The objective is invariant to the scale of ``alpha``, so it is maximised as
    ``sum_j log w(x'_j) - n_t log(mean_i w(x_i))`` on ``alpha >= 0`` with
    :func:`scipy.optimize.minimize` (L-BFGS-B), and ``alpha`` is then normalised, which solves
    the constrained problem exactly; the paper's projected gradient ascent solves the same.
    With ``sample_weight``, the sum and the means are weighted and ``n_t`` is the target rows'
    total weight.

    References
    ----------
    .. [1] M. Sugiyama, S. Nakajima, H. Kashima, P. von Bünau and M. Kawanabe, "Direct
           Importance Estimation with Model Selection and Its Application to Covariate Shift
           Adaptation", NIPS 2007 (published 2008).

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.instance_transfer import KLIEP
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.RandomState(0)
    >>> Xs = rng.normal(0.5, 1.0, size=(300, 1))
    >>> Xt = rng.normal(0.0, 0.5, size=(300, 1))
    >>> X, y, sample_domain = pack_domains(source=(Xs, np.zeros(300)), target=(Xt, None))
    >>> kliep = KLIEP(random_state=0).fit(X, sample_domain=sample_domain)
    >>> weights = kliep.weights_[:300]
    >>> true_ratio = np.exp(-Xs[:, 0] ** 2 / 0.5 + (Xs[:, 0] - 0.5) ** 2 / 2)
    >>> print(f"correlation with the true ratio: {np.corrcoef(weights, true_ratio)[0, 1]:.1f}")
    correlation with the true ratio: 1.0
    """

    _parameter_constraints: dict = {
        **_BaseWeighter._parameter_constraints,
        "gamma": [Interval(Real, 0, None, closed="neither"), "array-like", None],
        "n_centers": [Integers(1, None, closed="left")],
        "cv": [Integers(2, None, closed="left")],
        "max_iter": [Integers(1, None, closed="left")],
    }

    def __init__(
        self,
        gamma=None,
        n_centers=100,
        cv=5,
        per_source=True,
        max_iter=1000,
        random_state=None,
    ):
        self.gamma = gamma
        self.n_centers = n_centers
        self.cv = cv
        self.per_source = per_source
        self.max_iter = max_iter
        self.random_state = random_state

    def _advice(self, own, built):
        """The advice of an error: ``own``, in terms of this estimator's parameters, or, for a
        KLIEP that an importance-weighted estimator built from its string ``weighting``,
        ``built`` (formatted with that ``string``), since that estimator has no cv or gamma
        to change."""
        string = getattr(self, "_built_from_string", None)
        return own if string is None else built.format(string=string)

    def _check_params(self):
        if self.gamma is not None and not np.isscalar(self.gamma):
            try:
                grid = np.asarray(self.gamma, dtype=np.float64)
            except (TypeError, ValueError):
                grid = np.empty(0)
            if grid.ndim != 1 or grid.shape[0] == 0 or not np.all(np.isfinite(grid) & (grid > 0)):
                raise ValueError(
                    "gamma must be a positive float, a non-empty 1-D list of positive floats "
                    f"(the cross-validation grid) or None; got {self.gamma!r}."
                )

    def _fit_nothing(self):
        self.cv_scores_ = np.empty(0)
        self.centers_ = np.empty((0, self.n_features_in_))
        self.alphas_ = {}

    def _grid(self, X, rng, sample_weight=None):
        if self.gamma is None:
            gamma = _median_heuristic_gamma(X, rng, sample_weight)
            return gamma * np.asarray(_KLIEP_GAMMA_FACTORS)
        return np.atleast_1d(np.asarray(self.gamma, dtype=np.float64))

    def _fit_weights(self, X, groups, is_target, sample_weight, gamma_weight, rng):
        weight = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        counted = weight > 0
        X_counted = X if sample_weight is None else X[counted]
        # A group whose every row weighs 0 is no group: its rows get 0, as no ratio is fitted.
        for rows in groups.values():
            self.weights_[rows] = 0.0
        solved = _counted_groups(groups, counted)
        gamma_weight = None if sample_weight is None else gamma_weight[counted]
        grid = self._grid(X_counted, rng, gamma_weight)
        sources = [(X[rows], weight[rows]) for rows in solved.values()]
        X_target, target_weight = X[is_target], weight[is_target]
        self.cv_scores_ = np.empty(0)
        if grid.shape[0] > 1:
            if X_target.shape[0] < self.cv:
                raise ValueError(
                    f"cv={self.cv} folds need at least {self.cv} target rows; got "
                    f"{X_target.shape[0]}. "
                    + self._advice(
                        "Lower cv, or pass a single gamma.",
                        "weighting={string!r} picks KLIEP's gamma by cross-validation over "
                        "these folds: pass weighting=KLIEP(cv=...) with a lower cv, or "
                        "weighting=KLIEP(gamma=...) with a single gamma.",
                    )
                )
            self.cv_scores_ = np.array(
                [self._cv_score(sources, X_target, target_weight, gamma, rng) for gamma in grid]
            )
            self.gamma_ = float(grid[np.argmax(self.cv_scores_)])
        else:
            self.gamma_ = float(grid[0])
        _warn_if_kernel_is_flat(X_counted, self.gamma_, "KLIEP", rng, gamma_weight)
        self.centers_ = _pick_centers(X_target, self.n_centers, rng)
        self.alphas_ = {}
        for key, (X_source, source_weight) in zip(solved, sources, strict=True):
            alpha = self._fit_alpha(
                X_source, source_weight, X_target, target_weight, self.centers_, self.gamma_
            )
            if alpha is None:
                raise ValueError(
                    f"gamma={self.gamma_:.3g} is so large that the kernel between every row of "
                    f"source domain {key} and every target centre is 0: no density ratio can be "
                    "estimated. "
                    + self._advice(
                        "Lower gamma, or pass gamma=None (the median heuristic).",
                        "weighting={string!r} picked it from the median heuristic's grid: pass "
                        "weighting=KLIEP(gamma=...) with a lower gamma.",
                    )
                )
            self.alphas_[key] = alpha
            # Every row of the group, those of weight 0 included: the model's ratio at them.
            rows = groups[key]
            self.weights_[rows] = rbf_kernel(X[rows], self.centers_, gamma=self.gamma_) @ alpha
        self._warn_if_kernel_is_blind(solved, sources, grid, X_counted, gamma_weight, rng)

    def _warn_if_kernel_is_blind(self, keys, sources, grid, X, sample_weight, rng):
        """Warn when the kernel between every source row and every centre is about 0.

        The ratio at a source row is then the far tail of the kernel at its nearest centre, and
        the row nearest a centre takes about all the weight: gamma=1e16 gave one source row
        weight 100 and the other 99 rows 0 without a word. In a grid, only when every candidate
        is so narrow (the largest kernel value falls as gamma grows, so when the smallest one
        is): the likelihood cross-validation then had no candidate to prefer.
        """
        blind = []
        for key, (X_source, _) in zip(keys, sources, strict=True):
            nearest = euclidean_distances(X_source, self.centers_, squared=True).min()
            if np.exp(-grid.min() * nearest) < _KLIEP_MIN_KERNEL:
                blind.append((key, np.exp(-self.gamma_ * nearest)))
        if not blind:
            return
        domains = ", ".join(str(key) for key, _ in blind)
        largest = max(value for _, value in blind)
        if self.gamma is None:
            advice = (
                "The median heuristic's grid already goes to four times the median distance "
                "between rows: the target rows lie outside the source rows' support, and no "
                "re-weighting of the source can match them"
            )
        else:
            suggested = _median_heuristic_gamma(X, rng, sample_weight)
            grid_words = "" if grid.shape[0] == 1 else " (every candidate of the grid is)"
            advice = (
                f"The kernel is too narrow for the distance between the rows{grid_words}. "
                "Lower gamma: the median heuristic (gamma=None) gives gamma="
                f"{suggested:.3g} here"
            )
        warnings.warn(
            f"KLIEP's kernel with gamma={self.gamma_:.3g} is about 0 between every row of "
            f"source domain(s) {domains} and every centre (largest kernel value "
            f"{largest:.2g}), so the ratio at every source row is a far tail of the kernel and "
            "the weights carry no information on the target: the few source rows nearest a "
            f"centre take about all the weight. {advice}.",
            UserWarning,
            stacklevel=4,
        )

    def _cv_score(self, sources, X_target, target_weight, gamma, rng):
        """Held-out target rows' weighted mean ``log w``, summed over the source domains."""
        folds = KFold(self.cv, shuffle=True, random_state=rng.randint(np.iinfo(np.int32).max))
        score = 0.0
        for train, test in folds.split(X_target):
            centers = _pick_centers(X_target[train], self.n_centers, rng)
            held_out = rbf_kernel(X_target[test], centers, gamma=gamma)
            for X_source, source_weight in sources:
                alpha = self._fit_alpha(
                    X_source, source_weight, X_target[train], target_weight[train], centers, gamma
                )
                if alpha is None:  # a kernel too narrow to reach the source: never chosen
                    return -np.inf
                log_ratio = np.log(np.maximum(held_out @ alpha, _TINY))
                score += _weighted_mean(log_ratio, target_weight[test]) / self.cv
        return score

    def _fit_alpha(self, X_source, source_weight, X_target, target_weight, centers, gamma):
        at_target = rbf_kernel(X_target, centers, gamma=gamma)
        source_mean = _weighted_mean(rbf_kernel(X_source, centers, gamma=gamma), source_weight)
        if not source_mean.max() > 0:
            # The kernel underflows to 0 between every source row and every centre: the ratio
            # is undefined, and the scaling below would divide by zero (NaN weights).
            return None

        # The Lagrangian of the normalisation constraint, whose multiplier is known at the
        # optimum (n_t, from the KKT conditions): its minimiser over alpha >= 0 meets
        # mean_i w(x_i) = 1 by itself. It is solved in u = alpha * source_mean, the share of the
        # source mean each centre carries: a centre where the source has few rows needs a
        # huge alpha, which L-BFGS-B reaches only after thousands of steps in alpha, while every
        # u is between 0 and 1. The floor keeps a centre with no source mass finite.
        scale = np.maximum(source_mean, source_mean.max() * 1e-12)
        at_target = at_target / scale
        total_target = target_weight.sum()

        def objective(u):
            w_target = np.maximum(at_target @ u, _TINY)
            value = -_weighted_mean(np.log(w_target), target_weight) + u.sum()
            grad = 1.0 - at_target.T @ (target_weight / w_target) / total_target
            return value, grad

        n_centers = centers.shape[0]
        with _one_blas_thread():
            result = optimize.minimize(
                objective,
                np.full(n_centers, 1.0 / n_centers),
                jac=True,
                method="L-BFGS-B",
                bounds=optimize.Bounds(0.0, np.inf),
                options={"maxiter": self.max_iter},
            )
        if result.status == 1:
            warnings.warn(
                f"KLIEP's solver reached max_iter={self.max_iter} before converging; the "
                "weights may be off. Raise max_iter.",
                ConvergenceWarning,
                stacklevel=4,
            )
        alpha = result.x / scale
        return alpha / max(source_mean @ alpha, _TINY)

    def density_ratio(self, X, source_domain=None):
        """Estimate ``p_target(x) / p_source(x)`` at new rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to weight.

        source_domain : int, default=None
            Whose source domain's ratio to use, by its ``sample_domain`` value. If None, the
            only one fitted (an error when there are several).

        Returns
        -------
        ratio : ndarray of shape (n_samples,)
            The estimated ratio at every row; 1 everywhere when ``fit`` saw no target rows.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        if not self.alphas_:
            return np.ones(X.shape[0])
        if source_domain is None:
            if len(self.alphas_) > 1:
                raise ValueError(
                    f"KLIEP was fitted on several source domains {sorted(self.alphas_)}; pass "
                    "source_domain to say whose density ratio to use."
                )
            (source_domain,) = self.alphas_
        if source_domain not in self.alphas_:
            raise ValueError(
                f"source_domain={source_domain!r} is not one of the fitted source domains "
                f"{sorted(self.alphas_)}."
            )
        kernel = rbf_kernel(X.astype(np.float64, copy=False), self.centers_, gamma=self.gamma_)
        return kernel @ self.alphas_[source_domain]


_TINY = 1e-300


def _weighted_mean(values, weights):
    """The mean of ``values`` along the first axis, row ``i`` weighted by ``weights[i]``.

    A product then a sum, not a matrix product: with unit weights it is :func:`numpy.mean` to
    the last bit, so that ``sample_weight=None`` and all ones give the same weights.
    """
    if values.ndim == 2:
        weights = weights[:, None]
    return (values * weights).sum(axis=0) / weights.sum()


def _one_blas_thread():
    """L-BFGS-B's many small vector operations run far slower when BLAS spreads each over
    threads (100 times slower on a loaded two-core machine): one thread while it runs."""
    return threadpool_limits(limits=1, user_api="blas")


def _pick_centers(X_target, n_centers, rng):
    if X_target.shape[0] <= n_centers:
        return X_target.copy()
    return X_target[rng.choice(X_target.shape[0], n_centers, replace=False)]


def _takes_sample_domain(method):
    parameters = inspect.signature(method).parameters.values()
    return any(p.name == "sample_domain" or p.kind is p.VAR_KEYWORD for p in parameters)


def _estimator_has(attr):
    """Check the fitted estimator first, then the unfitted one (as sklearn's meta-estimators)."""

    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(
            self._default_estimator() if self.estimator is None else self.estimator, attr
        )

    return check


# Below this effective sample size, a handful of source rows carry the whole fit and the
# estimate is mostly noise. An absolute count: under strong selection bias even the true ratio
# leaves a small share of a large source (about 130 of 20,000 rows in the benchmark), and the
# weighted fit is still the better one.
_MIN_EFFECTIVE_ROWS = 10.0


class _BaseImportanceWeighted(MetaEstimatorMixin, BaseEstimator):
    """Weights from a density-ratio estimator, handed to an estimator's ``sample_weight``.

    Warning: this class should not be used directly. Use the derived classes instead.
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "weighting": [StrOptions({"kmm", "kliep"}), HasMethods(["fit"])],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, weighting="kmm", random_state=None):
        self.estimator = estimator
        self.weighting = weighting
        self.random_state = random_state

    def _check_estimator(self):
        estimator = self._default_estimator() if self.estimator is None else self.estimator
        if not self._is_right_kind(estimator):
            raise ValueError(
                f"estimator must be a {self._kind}; got {type(estimator).__name__}. Use "
                f"{self._twin} for a {'classifier' if self._kind == 'regressor' else 'regressor'}."
            )
        if not has_fit_parameter(estimator, "sample_weight"):
            raise ValueError(
                f"{type(estimator).__name__} does not accept sample_weight in fit, which "
                f"{type(self).__name__} needs to hand it the importance weights. Pick an "
                "estimator whose fit takes sample_weight (linear models, SVC, trees, ...)."
            )
        return clone(estimator)

    def _make_weighter(self):
        if isinstance(self.weighting, str):
            weighter = {"kmm": KMM, "kliep": KLIEP}[self.weighting]()
            # Its errors then advise the weighting to pass, not parameters this lacks.
            weighter._built_from_string = self.weighting
            return weighter.set_params(random_state=self.random_state)
        if not _takes_sample_domain(self.weighting.fit):
            raise TypeError(
                f"weighting={type(self.weighting).__name__} must be 'kmm', 'kliep' or a "
                "density-ratio estimator whose fit(X, sample_domain=...) sets weights_, such as "
                "KMM or KLIEP; its fit takes no sample_domain."
            )
        return clone(self.weighting)

    def _fit_weighted(self, X, y, sample_weight, rows, train, sample_domain):
        """Fit the weighter on every row, then the estimator on the ``train`` rows, weighted.

        The weighter learns the importance on the weighted rows, so the estimator's weight of a
        row, importance times ``sample_weight``, is that of the row repeated as many times.
        """
        domain = rows.domain
        estimator = self._check_estimator()
        weighted = sample_weight is not None
        sample_weight = _check_sample_weight(sample_weight, X)
        if np.any(sample_weight < 0):
            raise ValueError(
                "sample_weight has negative values. sample_domain is keyword-only: pass it as "
                "fit(X, y, sample_domain=...), not as the third positional argument."
            )
        # A plain supervised fit (no sample_domain, no target row): KMM and KLIEP get no
        # domains either, and so do not warn that there is nothing to adapt. A user's weighter
        # is promised an array of domains.
        self.weighter_ = self._make_weighter()
        plain = sample_domain is None and not rows.has_target
        given = None if plain and isinstance(self.weighter_, _BaseWeighter) else domain
        if not weighted:
            self.weighter_.fit(X, sample_domain=given)
        elif has_fit_parameter(self.weighter_, "sample_weight"):
            self.weighter_.fit(X, sample_weight=sample_weight, sample_domain=given)
        else:
            warnings.warn(
                f"weighting={type(self.weighting).__name__}'s fit takes no sample_weight: it "
                "learns the importance weights as if every row weighed 1, and sample_weight is "
                "only multiplied into them, so a row of weight 0 still shapes the other rows' "
                "weights. Use KMM or KLIEP, whose fit takes sample_weight.",
                UserWarning,
                stacklevel=3,
            )
            self.weighter_.fit(X, sample_domain=given)
        importance = getattr(self.weighter_, "weights_", None)
        if importance is None or np.shape(importance) != (X.shape[0],):
            raise TypeError(
                f"weighting={type(self.weighting).__name__} must expose weights_ of shape "
                f"(n_samples,) after fit, one weight per row of X; got {importance!r}."
            )
        importance = np.asarray(importance, dtype=np.float64)
        if not np.all(np.isfinite(importance)) or np.any(importance < 0):
            raise ValueError("The weighter's weights_ must be finite and non-negative.")
        source = domain > 0
        self._warn_if_few_rows_count(importance[source], sample_weight[source])
        weights = importance * sample_weight
        self.estimator_ = estimator.fit(X[train], y[train], sample_weight=weights[train])
        return self

    def _warn_if_few_rows_count(self, weights, sample_weight):
        """Refuse weights all 0, and warn of a low effective sample size of the importance
        weights: Kish's effective size with frequency weights, ``sample_weight`` rescaled to
        mean 1 over the rows of positive weight, out of those rows.

        Rescaled, the count does not depend on the scale of ``sample_weight``: in its own
        units, uniform weights of 0.05 on 200 rows read as 10 rows and warned. A
        ``sample_weight`` that is uneven by itself leaves the size at the number of rows as
        long as the importance weights are uniform: this warns of the importance weights."""
        counted = sample_weight > 0
        if not counted.any():
            # No source rows (or none of positive weight): nothing was weighted, and the
            # classifier is fitted on the labelled target rows alone, as a plain one would be.
            return
        weights, sample_weight = weights[counted], sample_weight[counted]
        sample_weight = _unit_mean(sample_weight)
        total = np.sum(sample_weight * weights)
        if total <= 0:
            raise ValueError(
                "Every source row got weight 0: the target rows lie outside the source rows' "
                "support, and weighting cannot help. Check sample_domain."
            )
        effective = total**2 / np.sum(sample_weight * weights**2)
        n_rows = weights.shape[0]
        if effective < min(_MIN_EFFECTIVE_ROWS, 0.5 * n_rows):
            warnings.warn(
                f"The importance weights leave an effective sample size of {effective:.1f} of "
                f"{n_rows} source rows: a few source rows carry the whole fit, as the "
                "target lies mostly where the source has few rows. The fit is likely poor; a "
                "wider kernel (smaller gamma) or a lower bound B flattens the weights.",
                UserWarning,
                stacklevel=3,
            )

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict with the estimator fitted on the weighted rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predictions, one per row.
        """
        check_is_fitted(self)
        return self.estimator_.predict(self._check_X(X))

    def _check_X(self, X):
        return validate_data(self, X, dtype=[np.float64, np.float32], reset=False)


class ImportanceWeightedClassifier(LabelledScoreMixin, ClassifierMixin, _BaseImportanceWeighted):
    """A classifier fitted on source rows weighted by their importance for the target.

    Under covariate shift the target rows follow another distribution of ``x`` than the labelled
    source rows, while ``p(y | x)`` is the same. A model that cannot represent ``p(y | x)``
    everywhere (a linear model on a curved boundary) then fits the regions where the source has
    many rows, not where the target has them. Weighting every source row by the density ratio
    ``p_target(x) / p_source(x)`` makes the weighted source loss estimate the target loss
    (Shimodaira, 2000). The ratio is learned from the unlabelled target rows by :class:`KMM` or
    :class:`KLIEP`, then handed to ``estimator.fit`` as ``sample_weight``.

    Source and target rows travel in one ``X`` (see :func:`sktransfer.utils.pack_domains`):
    ``sample_domain`` is positive for source rows and negative for target rows, or, when it is
    None, rows with ``y == -1`` are target rows. The estimator is fitted on the labelled rows
    only: the source rows with their importance weights and labelled target rows, if any, with
    weight 1. Without target rows, or without source rows (labelled target rows alone), it is
    the plain estimator; given a ``sample_domain`` that marks one domain only, its weighter
    warns that there is nothing to adapt.

    Read more in the :ref:`User Guide <importance_weighting>`.

    Parameters
    ----------
    estimator : object, default=None
        The classifier to fit; its ``fit`` must accept ``sample_weight``. If None,
        :class:`~sklearn.linear_model.LogisticRegression`.

    weighting : {"kmm", "kliep"} or estimator, default="kmm"
        The density-ratio estimator: :class:`KMM` or :class:`KLIEP` with their defaults, or an
        unfitted instance of either (to set their parameters), or any object whose
        ``fit(X, sample_domain=...)`` sets ``weights_``, one weight per row. ``sample_weight``
        is handed to its ``fit``; one whose ``fit`` takes no ``sample_weight`` is fitted
        without it, with a warning, and the weights are only multiplied in afterwards.

    random_state : int, RandomState instance or None, default=None
        Seeds the weighter built from ``"kmm"`` or ``"kliep"``. A weighter passed as an object
        keeps its own ``random_state``.

    Attributes
    ----------
    estimator_ : classifier
        The classifier fitted on the weighted labelled rows.

    weighter_ : estimator
        The fitted density-ratio estimator; ``weighter_.weights_`` holds the weights.

    classes_ : ndarray of shape (n_classes,)
        The class labels of the labelled rows.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    ImportanceWeightedRegressor : The regression counterpart.
    TrAdaBoost : Instance transfer when a few target rows are labelled.

    References
    ----------
    .. [1] H. Shimodaira, "Improving Predictive Inference under Covariate Shift by Weighting the
           Log-Likelihood Function", Journal of Statistical Planning and Inference 90(2), 2000.

    .. [2] J. Huang, A. J. Smola, A. Gretton, K. M. Borgwardt and B. Schölkopf, "Correcting
           Sample Selection Bias by Unlabeled Data", NIPS 2006 (published 2007).

    .. [3] M. Sugiyama, S. Nakajima, H. Kashima, P. von Bünau and M. Kawanabe, "Direct
           Importance Estimation with Model Selection and Its Application to Covariate Shift
           Adaptation", NIPS 2007 (published 2008).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.datasets._selection_bias import make_selection_bias
    >>> from sktransfer.instance_transfer import ImportanceWeightedClassifier
    >>> from sktransfer.utils import pack_domains
    >>> Xs, ys, Xt, yt = make_selection_bias(n_source=500, n_target=2000, random_state=0)
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:500], None))
    >>> clf = ImportanceWeightedClassifier(weighting="kmm", random_state=0)
    >>> clf = clf.fit(X, y, sample_domain=sample_domain)
    >>> print(f"weighted: {clf.score(Xt[500:], yt[500:]):.2f}")
    weighted: 0.8...
    >>> unweighted = LogisticRegression().fit(Xs, ys)
    >>> print(f"unweighted: {unweighted.score(Xt[500:], yt[500:]):.2f}")
    unweighted: 0.7...
    """

    _kind, _twin = "classifier", "ImportanceWeightedRegressor"

    @staticmethod
    def _default_estimator():
        return LogisticRegression()

    @staticmethod
    def _is_right_kind(estimator):
        return is_classifier(estimator)

    @atomic_fit
    @_fit_context(
        # ImportanceWeightedClassifier.estimator and .weighting are not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, sample_weight=None, *, sample_domain=None):
        """Learn the source rows' weights from the target rows, then fit the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows together.

        y : array-like of shape (n_samples,)
            Class labels, ``-1`` for unlabelled target rows.

        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, of source and target rows. The weighter learns the importance weights
            on the weighted rows (a row of weight 0 is a row left out, one of integer weight
            ``k`` counts as ``k`` copies), and the estimator is fitted with the importance
            weights times ``sample_weight``. If None, every row weighs 1.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows (``1, 2, ...`` for several sources), negative for target
            rows. If None, rows with ``y == -1`` are target rows and all others source rows.
            Requested through metadata routing (``set_fit_request(sample_domain=True)``).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        rows = domain_rows(y, sample_domain, X.shape[0])
        labelled = rows.labelled
        check_labels(y[labelled])
        classes = np.unique(y[labelled])
        if classes.shape[0] < 2:
            raise ValueError(
                "ImportanceWeightedClassifier needs at least two classes among the labelled "
                f"rows; got {classes.shape[0]} class: {classes.tolist()}. Rows with y == -1 are "
                "unlabelled target rows, "
                "never a class."
            )
        return self._fit_weighted(X, y, sample_weight, rows, labelled, sample_domain)

    @property
    def classes_(self):
        """The class labels of the labelled rows, from the fitted classifier."""
        # NotFittedError is an AttributeError too: hasattr(unfitted, "classes_") stays False.
        check_is_fitted(self)
        return self.estimator_.classes_

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the fitted classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(self._check_X(X))

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Class log-probabilities from the fitted classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input rows.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(self._check_X(X))

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """The fitted classifier's decision function.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input rows.

        Returns
        -------
        score : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The classifier's scores.
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(self._check_X(X))


class ImportanceWeightedRegressor(
    LabelledRegressionScoreMixin, RegressorMixin, _BaseImportanceWeighted
):
    """A regressor fitted on source rows weighted by their importance for the target.

    The regression counterpart of :class:`ImportanceWeightedClassifier`: the density ratio
    ``p_target(x) / p_source(x)``, learned from the target rows by :class:`KMM` or
    :class:`KLIEP`, is handed to ``estimator.fit`` as ``sample_weight``, so that a model that
    cannot fit the regression function everywhere fits it where the target rows lie.

    In regression ``-1`` is a value like any other, so ``sample_domain`` marks the target rows
    (negative values), or without it a NaN ``y`` (the mark of an unlabelled regression row, as
    in skada); the target rows' ``y`` is ignored, and the regressor is fitted on the source
    rows alone, whose ``y`` must be finite. With neither, every row is a source row and this is
    the plain regressor. ``score`` leaves out the rows whose ``y`` is NaN.

    Read more in the :ref:`User Guide <importance_weighting>`.

    Parameters
    ----------
    estimator : object, default=None
        The regressor to fit; its ``fit`` must accept ``sample_weight``. If None,
        :class:`~sklearn.linear_model.LinearRegression`.

    weighting : {"kmm", "kliep"} or estimator, default="kmm"
        The density-ratio estimator: :class:`KMM` or :class:`KLIEP` with their defaults, or an
        unfitted instance of either (to set their parameters), or any object whose
        ``fit(X, sample_domain=...)`` sets ``weights_``, one weight per row. ``sample_weight``
        is handed to its ``fit``; one whose ``fit`` takes no ``sample_weight`` is fitted
        without it, with a warning, and the weights are only multiplied in afterwards.

    random_state : int, RandomState instance or None, default=None
        Seeds the weighter built from ``"kmm"`` or ``"kliep"``. A weighter passed as an object
        keeps its own ``random_state``.

    Attributes
    ----------
    estimator_ : regressor
        The regressor fitted on the weighted source rows.

    weighter_ : estimator
        The fitted density-ratio estimator; ``weighter_.weights_`` holds the weights.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    ImportanceWeightedClassifier : The classification counterpart.

    References
    ----------
    .. [1] H. Shimodaira, "Improving Predictive Inference under Covariate Shift by Weighting the
           Log-Likelihood Function", Journal of Statistical Planning and Inference 90(2), 2000.

    .. [2] J. Huang, A. J. Smola, A. Gretton, K. M. Borgwardt and B. Schölkopf, "Correcting
           Sample Selection Bias by Unlabeled Data", NIPS 2006 (published 2007).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.metrics import mean_squared_error
    >>> from sktransfer.instance_transfer import ImportanceWeightedRegressor
    >>> rng = np.random.RandomState(0)
    >>> Xs = rng.normal(0.5, 0.5, size=(200, 1)); Xt = rng.normal(0.0, 0.3, size=(200, 1))
    >>> def f(X):
    ...     return -X[:, 0] + X[:, 0] ** 3  # Shimodaira's curve, fitted with a line
    >>> X = np.vstack([Xs, Xt]); sample_domain = np.r_[np.ones(200), -2 * np.ones(200)]
    >>> y = np.r_[f(Xs) + 0.1 * rng.normal(size=200), np.zeros(200)]  # target y is ignored
    >>> reg = ImportanceWeightedRegressor(weighting="kliep", random_state=0)
    >>> reg = reg.fit(X, y, sample_domain=sample_domain)
    >>> weighted = mean_squared_error(f(Xt), reg.predict(Xt))
    >>> plain = mean_squared_error(f(Xt), LinearRegression().fit(Xs, y[:200]).predict(Xt))
    >>> print(f"weighting lowers the target error: {weighted < plain}")
    weighting lowers the target error: True
    """

    _kind, _twin = "regressor", "ImportanceWeightedClassifier"

    @staticmethod
    def _default_estimator():
        return LinearRegression()

    @staticmethod
    def _is_right_kind(estimator):
        return is_regressor(estimator)

    @atomic_fit
    @_fit_context(
        # ImportanceWeightedRegressor.estimator and .weighting are not validated yet
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, sample_weight=None, *, sample_domain=None):
        """Learn the source rows' weights from the target rows, then fit the regressor.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows together.

        y : array-like of shape (n_samples,)
            Targets; those of target rows are ignored, and may be NaN (the mark of an
            unlabelled regression row, as in skada). Those of source rows must be finite.

        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, of source and target rows. The weighter learns the importance weights
            on the weighted rows (a row of weight 0 is a row left out, one of integer weight
            ``k`` counts as ``k`` copies), and the estimator is fitted with the importance
            weights times ``sample_weight``. If None, every row weighs 1.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows (``1, 2, ...`` for several sources), negative for target
            rows. If None, the rows whose ``y`` is NaN are the target rows and all others
            source rows. Requested through metadata routing
            (``set_fit_request(sample_domain=True)``).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        if y is None:  # scikit-learn's own message
            validate_data(self, X, y)
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        # y == -1 is a value in regression, so the domains come from sample_domain, or without
        # it from the NaN targets that mark the unlabelled target rows.
        unlabelled = is_unlabelled_value(column_or_1d(y))
        rows = domain_rows(None, regression_domains(unlabelled, sample_domain), X.shape[0])
        if not rows.is_source.any():
            raise ValueError(
                "There are no source rows (positive sample_domain, or without it rows whose y "
                "is not NaN): the regressor learns from labelled source rows."
            )
        y = _source_targets(X, y, rows.is_source, sample_domain is not None)
        return self._fit_weighted(X, y, sample_weight, rows, rows.is_source, sample_domain)


def _source_targets(X, y, is_source, has_domains):
    """Regression targets checked as scikit-learn checks them, on the source rows only: the
    target rows' values are ignored, so they are set to 0 and may be anything, NaN included."""
    y = column_or_1d(y, warn=True)
    check_consistent_length(X, y)
    if y.dtype.kind == "O":
        y = y.astype(np.float64)
    if y.dtype.kind == "f":
        not_finite = ~np.isfinite(y)
        check_source_targets(not_finite, is_source, "ImportanceWeightedRegressor", has_domains)
        if not is_source.all():
            y = np.where(is_source, y, 0)
    return check_array(y, ensure_2d=False, dtype=None, input_name="y")
