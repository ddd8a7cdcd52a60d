"""Feature transfer: a space shared by source and target, or features that do not betray the domain.

Three transformers in the library's domain convention (source and target rows in one ``X``,
``sample_domain`` positive for source rows and negative for target rows, requested through
metadata routing):

* :class:`TCA` maps every row into transfer components, directions of a kernel space in which
  the source and target distributions are close (Pan, Tsang, Kwok and Yang, 2011);
* :class:`SubspaceAlignment` projects each domain on its own principal axes and turns the
  source axes onto the target's (Fernando, Habrard, Sebban and Tuytelaars, 2013);
* :class:`DomainRevealingFeatureSelector` drops the features that best tell the domains apart.
"""

import warnings
from math import comb
from numbers import Real

import numpy as np
from scipy import linalg, stats
from scipy.sparse import linalg as sparse_linalg
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    clone,
    is_classifier,
)
from sklearn.feature_selection import SelectorMixin
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.utils import check_random_state, gen_batches
from sklearn.utils.extmath import svd_flip
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._atomic import atomic_fit
from ..utils._domains import (
    check_sample_domain,
    domain_rows,
    warn_if_one_domain,
    warn_if_pipeline_learns_unlabelled,
)
from ..utils._sklearn import HasMethods, Integers, Interval, StrOptions, _fit_context

__all__ = ["TCA", "DomainRevealingFeatureSelector", "SubspaceAlignment"]

_KERNELS = {"linear", "rbf", "laplacian", "poly", "sigmoid", "cosine"}
# Rows of a new X whose kernel against the fitted rows is computed at once in ``transform``.
_TRANSFORM_BATCH = 2048


def _rows(X, y, sample_domain):
    """The library's domain policy; transformers read no labels, so any source row may be -1."""
    return domain_rows(y, sample_domain, X.shape[0], require_source_labels=False)


class TCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Transfer component analysis: a kernel feature space in which the two domains look alike.

    TCA (Pan, Tsang, Kwok and Yang, 2011) looks for ``n_components`` directions of a kernel
    feature space along which the source and target rows have close distributions, measured
    by the maximum mean discrepancy (MMD), while the rows keep as much of their variance as
    possible. With the kernel matrix ``K`` of the fitted rows, the MMD matrix ``L`` and the
    centring matrix ``H``, the directions ``W`` are the leading eigenvectors of
    ``(K L K + mu I)^(-1) K H K``, and a row ``x`` maps to ``k(x, X_fit) W``.

    Every row, source or target, goes through the same map, so ``transform`` needs no
    ``sample_domain``: a classifier trained on the mapped source rows applies to mapped target
    rows, including new rows at prediction time. Several source domains (``sample_domain``
    1, 2, ...) are pooled into one source distribution, as are several target domains.

    Without any target row (no ``sample_domain`` and no ``y == -1``), the MMD term is zero
    and TCA is kernel PCA with a ridge ``mu``.

    Read more in the :ref:`User Guide <feature_transfer>`.

    Parameters
    ----------
    n_components : int, default=2
        The number of transfer components, at most the number of fitted rows.

    kernel : {"linear", "rbf", "laplacian", "poly", "sigmoid", "cosine"}, default="linear"
        The kernel, computed by :func:`sklearn.metrics.pairwise.pairwise_kernels`.

    mu : float, default=1.0
        The trade-off of the paper: larger values favour variance over a small MMD. It also
        keeps the eigenproblem well posed, so it must be positive.

    gamma : float, default=None
        Kernel coefficient of the "rbf", "laplacian", "poly" and "sigmoid" kernels; None uses
        ``1 / n_features``.

    degree : float, default=3
        Degree of the "poly" kernel.

    coef0 : float, default=1
        Independent term of the "poly" and "sigmoid" kernels.

    max_samples : int, default=1000
        The most rows TCA is fitted on. Its memory grows as the square and its time as the
        cube of that number (1000 rows: three 8 MB matrices and about a second). Above it, a
        random subset is drawn, half from each domain where the smaller domain has enough
        rows; the rest of the rows are then mapped like new rows.

    random_state : int, RandomState instance or None, default=None
        The draw of the subset when there are more than ``max_samples`` rows, and of the
        random splits of the rows that test for a shift between the domains (a fixed seed
        when None). Pass an int for reproducible results.

    Attributes
    ----------
    X_fit_ : ndarray of shape (n_fit_rows, n_features)
        The rows TCA was fitted on; new rows are mapped through their kernel against them.

    components_ : ndarray of shape (n_fit_rows, n_components)
        The transfer directions ``W``, one column each, in decreasing order of
        ``eigenvalues_``.

    eigenvalues_ : ndarray of shape (n_components,)
        The eigenvalues of the directions: the variance kept per unit of MMD and ridge.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    SubspaceAlignment : Align the principal axes of the source with the target's.
    sklearn.decomposition.KernelPCA : TCA without the MMD term.

    Notes
    -----
    A shared map cannot undo a shift it cannot see as a mean difference: a rotation of the
    target, or a shift along the direction that carries the label, where removing the shift
    removes the label too. The benchmark ``benchmarks/bench_da_features.py`` shows both.
    Nor is it free without a shift: the MMD of two samples of one distribution is noise,
    which TCA still removes at the cost of variance. ``fit`` warns when a permutation test
    (the MMD against 39 random splits of the rows) cannot tell the domains apart from that
    noise; with a linear kernel the test compares the means only.

    References
    ----------
    .. [1] S. J. Pan, I. W. Tsang, J. T. Kwok and Q. Yang, "Domain Adaptation via Transfer
           Component Analysis", IEEE Transactions on Neural Networks 22(2), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.domain_adaptation import TCA
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.RandomState(0)
    >>> def draw(n):  # two noisy readings of the same quantity z; the label is z > 0
    ...     z = rng.normal(size=n)
    ...     X = np.c_[z + 0.5 * rng.normal(size=n), z + 0.5 * rng.normal(size=n)]
    ...     return X, (z > 0).astype(int)
    >>> Xs, ys = draw(200); Xt, yt = draw(200)
    >>> Xt[:, 1] += 3.0  # the target's second sensor reads 3 units high
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    >>> tca = TCA(n_components=1).fit(X, y, sample_domain=sample_domain)
    >>> clf = LogisticRegression().fit(tca.transform(Xs), ys)
    >>> print(f"target accuracy: {clf.score(tca.transform(Xt), yt):.2f}")
    target accuracy: 0.86
    >>> print(f"without TCA: {LogisticRegression().fit(Xs, ys).score(Xt, yt):.2f}")
    without TCA: 0.55
    """

    _parameter_constraints: dict = {
        "n_components": [Integers(1, None, closed="left")],
        "kernel": [StrOptions(_KERNELS)],
        "mu": [Interval(Real, 0, None, closed="neither")],
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
        "degree": [Interval(Real, 0, None, closed="left")],
        "coef0": [Interval(Real, None, None, closed="neither")],
        "max_samples": [Integers(2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        kernel="linear",
        mu=1.0,
        gamma=None,
        degree=3,
        coef0=1,
        max_samples=1000,
        random_state=None,
    ):
        self.n_components = n_components
        self.kernel = kernel
        self.mu = mu
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.max_samples = max_samples
        self.random_state = random_state

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, sample_domain=None):
        """Learn the transfer components from the source and target rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows together.

        y : array-like of shape (n_samples,), default=None
            Labels, ``-1`` for unlabelled target rows. Only read to find the target rows when
            ``sample_domain`` is None.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows. Requested through metadata
            routing (``set_fit_request(sample_domain=True)``).

        Returns
        -------
        self : object
            Fitted transformer.
        """
        X = validate_data(self, X, dtype=np.float64)
        rows = _rows(X, y, sample_domain)
        warn_if_one_domain(self, rows, sample_domain, "its components are kernel PCA's")
        warn_if_pipeline_learns_unlabelled(self, rows)
        is_target = rows.is_target
        random_state = check_random_state(self.random_state)
        keep = _balanced_subset(is_target, self.max_samples, random_state)
        n_fit = keep.shape[0]
        if self.n_components > n_fit:
            raise ValueError(
                f"n_components={self.n_components} is larger than the {n_fit} sample(s) TCA "
                "is fitted on; lower n_components."
            )
        self.X_fit_, is_target = X[keep], is_target[keep]
        with np.errstate(over="ignore", invalid="ignore"):  # refused just below
            K = self._kernel(self.X_fit_)
            # |H K|^2, the scale of TCA's eigenvalues: its squares overflow first.
            spread = np.sum((K - K.mean(axis=0)) ** 2) if np.all(np.isfinite(K)) else np.inf
        if not np.isfinite(spread):
            # scipy's eigh failed on it with a bare "array must not contain infs or NaNs".
            params = {"linear": "", "cosine": ""}.get(self.kernel)
            if params is None:
                params = ", ".join(
                    f"{name}={getattr(self, name)}"
                    for name in ("gamma", "degree", "coef0")
                    if name in _KERNEL_PARAMS[self.kernel]
                )
                params = f" with {params}"
            raise ValueError(
                f"TCA's {self.kernel} kernel{params} overflows on these rows: some of its "
                "entries, or their squares, are infinite. Standardise the features, or lower "
                "gamma (or degree)."
            )
        degenerate = self.kernel in _KERNEL_PARAMS and _warn_if_kernel_is_degenerate(
            K, self.kernel, self.gamma
        )
        n_target = np.count_nonzero(is_target)
        # The MMD matrix L = e e^T, e = 1/n_s on source rows and -1/n_t on target rows.
        e = np.zeros(n_fit)
        if 0 < n_target < n_fit:
            e = np.where(is_target, -1.0 / n_target, 1.0 / (n_fit - n_target))
        Ke = K @ e
        _check_mu_against_the_kernel(self.mu, spread, Ke)
        W, eigenvalues = _transfer_directions(K, Ke, self.mu, self.n_components, random_state)
        _warn_if_components_are_empty(eigenvalues)
        noise = False
        if not degenerate and 0 < n_target < n_fit:
            # After the eigensolve, so that its draws (and the features) stay as they were;
            # without a random_state, a fixed seed rather than the global generator, so that
            # the warning does not come and go between refits.
            draws = random_state if self.random_state is not None else np.random.RandomState(0)
            noise = _warn_if_no_shift_beyond_noise(self.mu, K, e, Ke, is_target, draws)
        if not degenerate:  # a kernel without information has had its warning
            _warn_if_mu_is_out_of_scale(self.mu, K, Ke, eigenvalues, spread, noise)
        # Eigenvectors have no sign: fix one so that refits give the same features.
        _, W = svd_flip(None, W.T, u_based_decision=False)
        self.components_ = W.T
        self.eigenvalues_ = eigenvalues
        self._n_features_out = self.n_components
        return self

    def transform(self, X):
        """Map rows, source or target, onto the transfer components.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to map.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The rows in the shared space.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        X_new = np.empty((X.shape[0], self.n_components))
        # In batches, so that the kernel against the fitted rows stays small.
        for batch in gen_batches(X.shape[0], _TRANSFORM_BATCH):
            X_new[batch] = self._kernel(X[batch], self.X_fit_) @ self.components_
        return X_new

    def _kernel(self, X, Y=None):
        params = {"linear": {}, "cosine": {}}.get(self.kernel)
        if params is None:
            params = {"gamma": self.gamma, "degree": self.degree, "coef0": self.coef0}
            params = {k: v for k, v in params.items() if k in _KERNEL_PARAMS[self.kernel]}
        return pairwise_kernels(X, Y, metric=self.kernel, filter_params=False, **params)


_KERNEL_PARAMS = {
    "rbf": {"gamma"},
    "laplacian": {"gamma"},
    "poly": {"gamma", "degree", "coef0"},
    "sigmoid": {"gamma", "coef0"},
}


def _transfer_directions(K, Ke, mu, n_components, random_state):
    """The leading solutions of ``K H K w = lambda (K L K + mu I) w``, largest first.

    ``K L K + mu I = mu I + Ke Ke^T`` is a rank-one update of ``mu I``, so its inverse square
    root ``R`` has a closed form, and the problem becomes the ordinary symmetric one of
    ``R K H K R``. Its few leading eigenvectors are found by ARPACK through products with
    ``K``, without forming ``K H K``; small problems go to the dense solver.
    """
    n_fit = K.shape[0]
    norm2 = Ke @ Ke
    shrink = 0.0 if norm2 == 0 else (1.0 - np.sqrt(mu / (mu + norm2))) / norm2

    def inv_sqrt(V):  # (mu I + Ke Ke^T)^(-1/2) V
        return (V - shrink * np.outer(Ke, Ke @ V).reshape(V.shape)) / np.sqrt(mu)

    K_centred = K - K.mean(axis=0)  # H K, and K H K = (H K)^T (H K) as H H = H

    def matvec(V):
        RV = inv_sqrt(V)
        return inv_sqrt(K_centred.T @ (K_centred @ RV))

    if not K_centred.any():
        # Rows the kernel cannot tell apart: the operator is 0, every direction as empty as
        # the next (ARPACK stopped on it with "Starting vector is zero" above 200 rows).
        eigenvalues, U = np.zeros(n_components), np.eye(n_fit)[:, n_fit - n_components :]
    elif n_fit <= 200 or 2 * n_components >= n_fit:
        dense = matvec(np.eye(n_fit))
        eigenvalues, U = linalg.eigh(
            (dense + dense.T) / 2, subset_by_index=[n_fit - n_components, n_fit - 1]
        )
    else:
        operator = sparse_linalg.LinearOperator((n_fit, n_fit), matvec=matvec, dtype=K.dtype)
        # A start vector from random_state, as KernelPCA does, keeps ARPACK reproducible.
        v0 = random_state.uniform(-1, 1, n_fit)
        eigenvalues, U = sparse_linalg.eigsh(operator, k=n_components, which="LA", v0=v0)
        order = np.argsort(eigenvalues)
        eigenvalues, U = eigenvalues[order], U[:, order]
    return inv_sqrt(U)[:, ::-1], eigenvalues[::-1]


# Kernel entries that agree to this share of the largest one are taken as equal.
_DEGENERATE_KERNEL_TOL = 1e-8


def _warn_if_kernel_is_degenerate(K, kernel, gamma):
    """Warn when ``gamma`` leaves the kernel nearly the identity or nearly constant; True if so.

    The eigenvalue check below compares the components with each other, so it misses a kernel
    that is wrong as a whole: near the identity, every new row maps to about 0 (it is close to
    no fitted row); near a constant, every row maps to about the same point, the features
    shrunk to the rounding noise of ``K``.
    """
    scale = np.abs(K).max()
    off_diagonal = K[~np.eye(K.shape[0], dtype=bool)]
    tol = _DEGENERATE_KERNEL_TOL * scale
    if off_diagonal.size and np.abs(off_diagonal).max() <= tol:
        shape, advice = "nearly the identity: new rows map to about 0", "Lower gamma"
    elif np.ptp(K) <= tol:
        shape, advice = "nearly constant: every row maps to about the same point", "Raise gamma"
    else:
        return False
    warnings.warn(
        f"TCA's {kernel} kernel with gamma={gamma} is {shape}, so the transfer components "
        f"carry no information. {advice}, or standardise the features (gamma=None is "
        "1 / n_features, meant for unit-scale features).",
        UserWarning,
        stacklevel=3,
    )
    return True


# Beyond these ratios ``mu`` no longer trades the MMD off against the variance: above
# _MU_MMD_RATIO times the MMD term ``|K L K|``, the MMD weighs less than a millionth against
# mu; below it, mu only rescales the components, whose values grow as ``1 / sqrt(mu)``.
_MU_MMD_RATIO = 1e6
_MU_BLOW_UP = 1e6
# An MMD term under this fraction of the kernel's spread per row is no shift: domains drawn
# alike measure 1e-3 to 1e-1 of it, domains a thousandth of a feature's spread apart 1e-8.
_NO_SHIFT = 1e-6
# The eigenvalues of TCA reach up to ``|H K|_F^2 / mu``: past this, their squares and the
# features' sums of squares overflow (mu=1e-320 stopped ARPACK with a bare error -9999).
_MU_LARGEST_EIGENVALUE = 1e250


def _check_mu_against_the_kernel(mu, spread, Ke):
    """Refuse, before the eigensolve, a ``mu`` so small that the eigenvalues overflow;
    ``spread`` is ``|H K|_F^2``."""
    with np.errstate(over="ignore"):
        bound = spread / mu
    if not bound <= _MU_LARGEST_EIGENVALUE:
        raise ValueError(
            f"mu={mu} is too small for this kernel: TCA's eigenvalues (up to |H K|^2 / mu = "
            f"{bound:.3g}) and its features (about 1 / sqrt(mu) times the kernel) overflow. "
            "Below about 1e-8 times the MMD term |K L K| = "
            f"{Ke @ Ke:.3g}, mu only rescales the components: raise mu."
        )


def _warn_if_mu_is_out_of_scale(mu, K, Ke, eigenvalues, spread, noise=False):
    """Warn when ``mu`` is so large that TCA ignores the MMD (it is then kernel PCA, its
    features shrunk by ``1 / sqrt(mu)``), or so small that it only blows the features up.

    ``mu`` is on the scale of ``K L K``, whose only eigenvalue is ``|K e|^2``: the default 1
    made TCA kernel PCA without a word on features measured in small units (a linear kernel on
    features of 1e-3 left the shift in place), as mu=1e300 did on any features. Domains
    whose MMD is a negligible part of the kernel's spread (``|H K|_F^2``, per row) are already
    together: kernel PCA is then the right answer, and nothing is said. So are domains whose
    MMD is sampling ``noise`` (the permutation test's verdict): lowering mu, as the warning
    advised, would only make TCA remove that noise.
    """
    mmd, n_fit, largest = Ke @ Ke, K.shape[0], np.abs(K).max()
    # An MMD at the rounding level of K e (rows all alike, or domains of equal kernel means)
    # is none: there is no shift for mu to drown.
    rounding = (np.finfo(K.dtype).eps * n_fit * largest) ** 2 * n_fit
    shifted = not noise and mmd > max(rounding, _NO_SHIFT * spread / n_fit)
    if shifted and mu > _MU_MMD_RATIO * mmd:
        warnings.warn(
            f"TCA's mu={mu} is {mu / mmd:.3g} times the MMD term |K L K| = {mmd:.3g}, so the "
            "MMD between the domains weighs nothing: TCA is kernel PCA, its features shrunk by "
            f"1 / sqrt(mu), and it does not bring the domains together. Lower mu to about "
            f"{mmd:.3g} or below (mu is on the scale of the squared kernel), or standardise "
            "the features.",
            UserWarning,
            stacklevel=3,
        )
        return
    # A feature's largest value, about sqrt(eigenvalue) over the rows, against the kernel's.
    if largest > 0 and np.sqrt(max(eigenvalues[0], 0.0) / n_fit) > _MU_BLOW_UP * largest:
        warnings.warn(
            f"TCA's mu={mu} is so small that it only scales the transfer components up by "
            f"about 1 / sqrt(mu): their values reach {np.sqrt(eigenvalues[0] / n_fit):.3g}, "
            f"over {_MU_BLOW_UP:.0g} times the kernel's largest entry ({largest:.3g}), and a "
            "downstream model meets features of that size. Raise mu: below about 1e-8 times the "
            f"MMD term |K L K| = {mmd:.3g} the MMD is already removed as well as it can be.",
            UserWarning,
            stacklevel=3,
        )


# The permutation test of the MMD: random splits of the rows drawn, and the level at which
# the domains' MMD must stand above them. 39 draws make a test at 5%: the domains' MMD must
# be exceeded by at most one of them.
_SHIFT_TEST_DRAWS = 39
_SHIFT_TEST_LEVEL = 0.05
# Below this share of mu, the MMD term costs the direction K e under a tenth of its variance
# (mu / (mu + |K e|^2)): TCA is then about kernel PCA, which does no harm to domains alike.
_MMD_WEIGHS = 0.1


def _warn_if_no_shift_beyond_noise(mu, K, e, Ke, is_target, random_state):
    """Warn when the domains' MMD is within that of random splits of the rows, while the MMD
    term weighs enough against ``mu`` for TCA to act on it. True where the test found no
    shift, warned of or not.

    The MMD of two samples of one distribution is sampling noise, yet TCA removes its
    direction ``K e`` as a shift: on a random split of standardised breast-cancer rows, with
    the default mu=1, that direction lined up with the first principal component, which TCA
    dropped (target accuracy 0.70 against 0.97 for PCA). A permutation test tells noise from
    a shift: the statistic ``e^T K e`` (the biased MMD^2; ``e`` sums to 0, so centring ``K``
    changes nothing) against its values on the domain labels shuffled. Each draw is a
    quadratic form in the kernel already built, ``O(n^2)`` for ``n <= max_samples`` rows, all
    39 together one product ``K E``: less than the eigensolve, which needs several products
    with ``K`` per component.
    """
    n_fit, n_target = K.shape[0], np.count_nonzero(is_target)
    # With so few distinct splits, draws repeat and the test cannot reject at its level.
    if comb(n_fit, n_target) <= _SHIFT_TEST_DRAWS:
        return False
    observed = e @ Ke
    shuffled = np.column_stack(
        [random_state.permutation(is_target) for _ in range(_SHIFT_TEST_DRAWS)]
    )
    E = np.where(shuffled, e[is_target][0], e[~is_target][0])
    null = np.einsum("ij,ij->j", E, K @ E)
    p_value = (1 + np.count_nonzero(null >= observed)) / (1 + _SHIFT_TEST_DRAWS)
    if p_value <= _SHIFT_TEST_LEVEL:
        return False
    mmd = Ke @ Ke
    if mmd < _MMD_WEIGHS * mu:
        return True
    warnings.warn(
        "TCA could not tell the source rows from the target rows in its kernel's mean: their "
        f"MMD (e^T K e = {observed:.3g}) is within the range of random splits of the rows "
        f"(95th percentile {np.percentile(null, 95):.3g} over {_SHIFT_TEST_DRAWS} splits; a "
        "linear kernel compares the means only). If the domains do not differ, its components "
        "give up variance to match noise; PCA (or KernelPCA), or no adaptation, may serve "
        f"better, or a mu well above the MMD term |K L K| = {mmd:.3g}.",
        UserWarning,
        stacklevel=3,
    )
    return True


def _warn_if_components_are_empty(eigenvalues):
    """Warn when the kernel's rank leaves some components without variance: their columns
    of ``transform`` are constant (a linear kernel has rank at most the number of features)."""
    empty = np.count_nonzero(eigenvalues <= 1e-10 * max(eigenvalues[0], 0.0))
    if empty:
        warnings.warn(
            f"{empty} of the n_components={len(eigenvalues)} transfer components carry no "
            f"variance: the kernel's rank allows {len(eigenvalues) - empty}, so their columns "
            "are constant. Lower n_components, or use a kernel of higher rank (kernel='rbf').",
            UserWarning,
            stacklevel=3,
        )


def _balanced_subset(is_target, max_samples, random_state):
    """Indices of at most ``max_samples`` rows, half from each domain where both have enough."""
    n_samples = is_target.shape[0]
    if n_samples <= max_samples:
        return np.arange(n_samples)
    target, source = np.flatnonzero(is_target), np.flatnonzero(~is_target)
    smaller, larger = sorted([source, target], key=len)
    n_smaller = min(len(smaller), max_samples // 2)
    chosen = np.concatenate(
        [
            random_state.choice(smaller, n_smaller, replace=False),
            random_state.choice(larger, max_samples - n_smaller, replace=False),
        ]
    )
    return np.sort(chosen)


class SubspaceAlignment(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Subspace alignment: each domain on its principal axes, the source read in the target's.

    Subspace alignment (Fernando, Habrard, Sebban and Tuytelaars, 2013) computes the
    ``n_components`` principal axes ``P_s`` of the source rows and ``P_t`` of the target rows,
    each domain centred on its own mean. Target rows are projected on ``P_t``; source rows
    are projected on ``P_s`` and then multiplied by the alignment ``M = P_s^T P_t``, which
    expresses the source axes in the target's. A classifier trained on the aligned source rows
    applies to projected target rows. What it removes is the part of the source that lies
    outside the target's subspace, and, by the centring, any translation between the domains.

    Which rows are aligned follows :class:`CORAL`:

    * ``fit_transform(X, y, sample_domain=...)``, as a :class:`~sklearn.pipeline.Pipeline`
      calls it during ``fit``: source rows are aligned, target rows projected on ``P_t``;
    * ``transform(X)``, as a pipeline calls it during ``predict`` or ``score``: the rows are
      taken as target rows and projected on ``P_t``;
    * ``transform(X, sample_domain=...)``: source rows aligned, target rows projected.

    Several source domains are pooled into one source subspace, as are several target domains.
    Without any target row, the target subspace is the source's, and subspace alignment is PCA.

    Read more in the :ref:`User Guide <feature_transfer>`.

    Parameters
    ----------
    n_components : int, default=None
        The dimension of the subspaces, at most the number of features and one less than the
        rows of each domain (centred on its mean, a domain of ``m`` rows spans at most
        ``m - 1`` axes). None keeps ``min(n_features, n_source_rows - 1, n_target_rows - 1)``.
        Each domain needs at least 2 rows.

    Attributes
    ----------
    source_components_ : ndarray of shape (n_components, n_features)
        The principal axes of the source rows, one per row.

    target_components_ : ndarray of shape (n_components, n_features)
        The principal axes of the target rows, one per row.

    alignment_ : ndarray of shape (n_components, n_components)
        ``M = P_s^T P_t``: source coordinates are multiplied by it on the right.

    source_mean_ : ndarray of shape (n_features,)
        The mean of the source rows, subtracted from source rows.

    target_mean_ : ndarray of shape (n_features,)
        The mean of the target rows, subtracted from target rows.

    n_components_ : int
        The dimension of the subspaces.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    TCA : One kernel map for both domains, chosen to make them alike.
    CORAL : Align the full covariances rather than a few principal axes.

    Notes
    -----
    With ``n_components`` equal to the number of features, ``M`` is orthogonal: the source
    rows are only centred and turned with the same rotation as the target rows, so a
    rotation-invariant classifier sees what it would see after centring each domain. The
    method earns more than centring only when the two subspaces differ and ``n_components``
    is smaller than the number of features. It does not undo a rotation of the target within
    a subspace; the benchmark ``benchmarks/bench_da_features.py`` shows the gains and the
    losses, among them a target turned by 90 degrees and a change of class priors.

    References
    ----------
    .. [1] B. Fernando, A. Habrard, M. Sebban and T. Tuytelaars, "Unsupervised Visual Domain
           Adaptation Using Subspace Alignment", ICCV 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn import set_config
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.domain_adaptation import SubspaceAlignment
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.RandomState(0)
    >>> Xs = rng.normal(size=(200, 2)) * [3.0, 1.0]; ys = (Xs[:, 0] > 0).astype(int)
    >>> Xt = rng.normal(size=(200, 2)) * [3.0, 1.0]; yt = (Xt[:, 0] > 0).astype(int)
    >>> angle = np.deg2rad(20); rotation = [[np.cos(angle), np.sin(angle)],
    ...                                     [-np.sin(angle), np.cos(angle)]]
    >>> Xt = Xt @ rotation + 5.0  # the target is turned a little and moved
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    >>> sa = SubspaceAlignment(n_components=2)
    >>> Xnew = sa.fit_transform(X, y, sample_domain=sample_domain)
    >>> clf = LogisticRegression().fit(Xnew[:200], ys)
    >>> print(f"target accuracy: {clf.score(sa.transform(Xt), yt):.2f}")
    target accuracy: 0.96
    >>> print(f"without alignment: {LogisticRegression().fit(Xs, ys).score(Xt, yt):.2f}")
    without alignment: 0.49
    """

    _parameter_constraints: dict = {
        "n_components": [Integers(1, None, closed="left"), None],
    }

    def __init__(self, n_components=None):
        self.n_components = n_components

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, sample_domain=None):
        """Learn both principal subspaces and the alignment of the source onto the target.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows together.

        y : array-like of shape (n_samples,), default=None
            Labels, ``-1`` for unlabelled target rows. Only read to find the target rows when
            ``sample_domain`` is None.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows. Requested through metadata
            routing (``set_fit_request(sample_domain=True)``).

        Returns
        -------
        self : object
            Fitted transformer.
        """
        X = validate_data(self, X, dtype=np.float64)
        rows = _rows(X, y, sample_domain)
        warn_if_one_domain(
            self, rows, sample_domain, "it projects every row on the principal axes of X"
        )
        warn_if_pipeline_learns_unlabelled(self, rows)
        X_source = X[rows.is_source] if rows.is_source.any() else X[rows.is_target]
        X_target = X[rows.is_target] if rows.has_target else X_source
        n_components = _subspace_dimension(self.n_components, X, X_source, X_target)
        # None asks for every axis: a basis filled with arbitrary ones is no surprise then,
        # unless no axis at all carries variance.
        every = self.n_components is None
        self.source_mean_, self.source_components_ = _principal_axes(
            X_source, n_components, "source", every=every
        )
        self.target_mean_, self.target_components_ = _principal_axes(
            X_target, n_components, "target", every=every
        )
        self.alignment_ = self.source_components_ @ self.target_components_.T
        self.n_components_ = self._n_features_out = n_components
        return self

    def transform(self, X, sample_domain=None):
        """Project target rows on the target axes and align source rows onto them.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to transform.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows. If None, every row is a
            target row, which is what a pipeline needs at prediction time. Requested through
            metadata routing (``set_transform_request(sample_domain=True)``).

        Returns
        -------
        X_new : ndarray of shape (n_samples, `n_components_`)
            The rows in the target's subspace.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        is_source = np.zeros(X.shape[0], dtype=bool)
        if sample_domain is not None:
            is_source = check_sample_domain(sample_domain, X.shape[0]) > 0
        return self._map(X, is_source)

    @atomic_fit
    def fit_transform(self, X, y=None, *, sample_domain=None):
        """Fit, then align the source rows of ``X`` and project its target rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows together.

        y : array-like of shape (n_samples,), default=None
            Labels, ``-1`` for unlabelled target rows; marks the target rows when
            ``sample_domain`` is None.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows.

        Returns
        -------
        X_new : ndarray of shape (n_samples, `n_components_`)
            The rows in the target's subspace.
        """
        self.fit(X, y, sample_domain=sample_domain)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._map(X, _rows(X, y, sample_domain).is_source)

    def _map(self, X, is_source):
        X_new = (X - self.target_mean_) @ self.target_components_.T
        source = (X[is_source] - self.source_mean_) @ self.source_components_.T
        X_new[is_source] = source @ self.alignment_
        return X_new


def _subspace_dimension(n_components, X, X_source, X_target):
    """``n_components``, checked against the principal axes each domain has.

    Centred on its mean, ``m`` rows span at most ``m - 1`` directions: one row spans none, and
    its "axis" would be an arbitrary one of the SVD of a zero matrix. Like TCA's check of
    ``n_components`` against its rows, too few rows are refused rather than filled in.
    """
    n_source, n_target = X_source.shape[0], X_target.shape[0]
    if min(n_source, n_target) < 2:
        raise ValueError(
            f"SubspaceAlignment needs at least 2 rows in each domain; got {n_source} sample(s) "
            f"of the source and {n_target} of the target. Centred on its mean, a single row "
            "spans no principal axis."
        )
    largest = min(X.shape[1], n_source - 1, n_target - 1)
    if n_components is None:
        return largest
    if n_components > largest:
        raise ValueError(
            f"n_components={n_components} is larger than min(n_features, source rows - 1, "
            f"target rows - 1) = {largest} (n_features = {X.shape[1]}, {n_source} source and "
            f"{n_target} target sample(s)): centred on its mean, a domain of m rows spans at "
            "most m - 1 principal axes."
        )
    return n_components


def _principal_axes(X, n_components, domain, *, every=False):
    """The mean of ``X`` and its ``n_components`` leading principal axes, signs fixed.

    Warns, naming the ``domain``, when some of the axes carry no variance (when every axis
    was asked for, only when none does): the rows span fewer directions (rows all alike,
    constant or collinear columns), and those axes are an arbitrary choice of the SVD, which
    ``transform`` then projects new rows on without a word.
    """
    mean = X.mean(axis=0)
    _, singular_values, Vt = linalg.svd(X - mean, full_matrices=False)
    # Against the rows' own size: centring rows all alike leaves rounding noise, whose largest
    # singular value would otherwise pass for a direction.
    tol = max(X.shape) * np.finfo(np.float64).eps * np.linalg.norm(X)
    spanned = np.count_nonzero(singular_values > tol)
    if spanned < n_components and not (every and spanned):
        warnings.warn(
            f"{n_components - spanned} of the n_components={n_components} principal axes of the "
            f"{domain} rows carry no variance: the rows span {spanned} direction(s), and the "
            "other axes are arbitrary. Lower n_components.",
            UserWarning,
            stacklevel=4,
        )
    # An axis has no sign; svd_flip fixes one so that refits give the same features.
    _, Vt = svd_flip(None, Vt, u_based_decision=False)
    return mean, Vt[:n_components]


class DomainRevealingFeatureSelector(SelectorMixin, BaseEstimator):
    """Drop the features that best tell the source rows from the target rows.

    A feature whose distribution differs between the domains lets a classifier trained on the
    source rows lean on a relation that does not hold on the target. This selector scores every
    feature by how well it reveals the domain and drops the most revealing ones, in the spirit
    of feature selection for transfer (Uguroglu and Carbonell, 2011, who find the features
    whose distribution varies between the domains and leave them out).

    The score of a feature is, with ``estimator=None``, its own power to separate the domains:
    ``|2 AUC - 1|``, from 0 (same distribution ranks) to 1 (the domains do not overlap), where
    AUC is the area under the ROC curve of the feature as a score for "target row". With an
    ``estimator``, a classifier is fitted to tell target rows from source rows and its
    ``feature_importances_`` or absolute ``coef_`` are the scores; it sees features jointly.

    The same features are dropped from every row, so ``transform`` needs no
    ``sample_domain``. Without any target row, no score can be computed: every score is 0 and
    no feature is dropped. Several source (or target) domains are pooled into one.

    Read more in the :ref:`User Guide <feature_transfer>`.

    Parameters
    ----------
    estimator : classifier, default=None
        A classifier exposing ``feature_importances_`` or ``coef_`` after ``fit``, fitted to
        predict the domain (1 for target rows, 0 for source rows). None scores each feature
        alone by its domain AUC.

    n_features_to_drop : int, default=1
        The number of most revealing features to drop. None drops every feature scoring above
        ``threshold``. With both set, at most ``n_features_to_drop`` features are dropped, and
        only those scoring above ``threshold``.

    threshold : float, default=None
        Keep the features scoring at or below it. For the default scores it is on the
        ``|2 AUC - 1|`` scale, from 0 to 1; with an ``estimator``, on its importances' scale.

    Attributes
    ----------
    scores_ : ndarray of shape (n_features,)
        How much each feature reveals the domain; larger reveals more.

    dropped_ : ndarray of shape (n_dropped,)
        The indices of the dropped features, most revealing first.

    estimator_ : classifier
        The fitted domain classifier. Only when ``estimator`` is not None and there are target
        rows.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    proxy_a_distance : How well a linear classifier tells the two domains apart.
    TCA : Map the features rather than drop them.

    Notes
    -----
    A feature that carries both the label and the shift is dropped too when it reveals the
    domain most: the selector reads no label. Dropping helps when the domain is carried by
    features the label does not need.

    References
    ----------
    .. [1] S. Uguroglu and J. Carbonell, "Feature Selection for Transfer Learning",
           ECML PKDD 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.domain_adaptation import DomainRevealingFeatureSelector
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.RandomState(0)
    >>> Xs = rng.normal(size=(100, 3)); Xt = rng.normal(size=(100, 3))
    >>> Xt[:, 2] += 3.0  # only the third feature differs between the domains
    >>> X, y, sample_domain = pack_domains(source=(Xs, np.zeros(100)), target=(Xt, None))
    >>> selector = DomainRevealingFeatureSelector().fit(X, sample_domain=sample_domain)
    >>> selector.get_support().tolist()
    [True, True, False]
    >>> selector.transform(Xt).shape
    (100, 2)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"]), None],
        "n_features_to_drop": [Integers(0, None, closed="left"), None],
        "threshold": [Interval(Real, None, None, closed="neither"), None],
    }

    def __init__(self, estimator=None, *, n_features_to_drop=1, threshold=None):
        self.estimator = estimator
        self.n_features_to_drop = n_features_to_drop
        self.threshold = threshold

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, sample_domain=None):
        """Score every feature by how well it reveals the domain, and choose those to drop.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows together.

        y : array-like of shape (n_samples,), default=None
            Labels, ``-1`` for unlabelled target rows. Only read to find the target rows when
            ``sample_domain`` is None.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows. Requested through metadata
            routing (``set_fit_request(sample_domain=True)``).

        Returns
        -------
        self : object
            Fitted selector.
        """
        if self.n_features_to_drop is None and self.threshold is None:
            raise ValueError(
                "n_features_to_drop and threshold are both None: set at least one of them."
            )
        if self.estimator is not None and not is_classifier(self.estimator):
            raise TypeError(
                f"estimator must be a classifier of the domain; got {self.estimator!r}."
            )
        X = validate_data(self, X, dtype=np.float64)
        n_features = X.shape[1]
        if self.n_features_to_drop is not None and self.n_features_to_drop >= n_features:
            raise ValueError(
                f"n_features_to_drop={self.n_features_to_drop} would drop all of the "
                f"n_features = {n_features} of X; at least one must be kept."
            )
        rows = _rows(X, y, sample_domain)
        warn_if_one_domain(self, rows, sample_domain, "it drops no feature")
        warn_if_pipeline_learns_unlabelled(self, rows)
        is_target = rows.is_target
        # estimator_ exists only when this fit trained a domain classifier: a refit without
        # target rows (or with estimator=None) kept the one of an earlier fit.
        self.__dict__.pop("estimator_", None)
        self.scores_ = np.zeros(n_features)
        if 0 < np.count_nonzero(is_target) < X.shape[0]:
            self.scores_ = self._domain_scores(X, is_target)
        # Most revealing first; a stable sort keeps ties in column order.
        order = np.argsort(-self.scores_, kind="stable")
        if self.threshold is not None:
            order = order[self.scores_[order] > self.threshold]
        if self.n_features_to_drop is not None:
            order = order[: self.n_features_to_drop]
        if order.shape[0] == n_features:
            raise ValueError(
                f"Every one of the {n_features} features scores above threshold="
                f"{self.threshold}, so none would be kept; raise threshold or set "
                "n_features_to_drop."
            )
        self.dropped_ = order if np.any(self.scores_[order] > 0) else order[:0]
        return self

    def _domain_scores(self, X, is_target):
        if self.estimator is None:
            return _domain_auc_strength(X, is_target)
        self.estimator_ = clone(self.estimator).fit(X, is_target.astype(np.int64))
        if hasattr(self.estimator_, "feature_importances_"):
            return np.asarray(self.estimator_.feature_importances_, dtype=np.float64)
        if hasattr(self.estimator_, "coef_"):
            return np.abs(np.asarray(self.estimator_.coef_, dtype=np.float64)).reshape(-1)
        raise TypeError(
            f"estimator {type(self.estimator).__name__} exposes neither feature_importances_ "
            "nor coef_ after fit, so it cannot score the features."
        )

    def _get_support_mask(self):
        check_is_fitted(self)
        mask = np.ones(self.n_features_in_, dtype=bool)
        mask[self.dropped_] = False
        return mask

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # transform keeps the columns as they are, float32 included, as SelectKBest does.
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _domain_auc_strength(X, is_target):
    """``|2 AUC - 1|`` of each column as a score for "target row" (Mann-Whitney, with ties)."""
    ranks = stats.rankdata(X, axis=0)
    n_target = np.count_nonzero(is_target)
    n_source = X.shape[0] - n_target
    u_statistic = ranks[is_target].sum(axis=0) - n_target * (n_target + 1) / 2
    auc = u_statistic / (n_target * n_source)
    return np.abs(2.0 * auc - 1.0)
