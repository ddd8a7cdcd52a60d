"""Transferability scores: how well a pretrained representation suits a labelled target task,
estimated without training a classifier on it.

Each score reads the target labels and what the source model gives for the target rows
(features, class probabilities or hard labels); greater is better. They rank candidate
extractors (backbones, layers, image sizes) in the time a single forward pass takes, before
any of them is trained.
"""

import inspect
import warnings
from numbers import Real

import numpy as np
from scipy.linalg import lapack
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.pipeline import Pipeline
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import FLOAT_DTYPES, check_array, column_or_1d

from ..utils._domains import _warn_if_minus_one_is_a_string, is_unlabelled
from ..utils._sklearn import Integers, Interval, StrOptions, validate_parameter_constraints

__all__ = [
    "h_score",
    "leep_score",
    "logme_score",
    "make_transferability_scorer",
    "nce_score",
]


# The keyword-only parameters of the scores, which make_transferability_scorer also checks.
_KEYWORD_CONSTRAINTS = {
    "logme": {
        "max_iter": [Integers(1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
    },
    "h_score": {"shrinkage": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="both"), None]},
}


def _check_labels(y, n_samples, name="y", n_unlabelled=0):
    """The classes of ``y`` and its rows encoded; ``n_unlabelled`` counts the rows of ``-1``
    that ``_labelled_rows`` left out before, which the message of too few classes names:
    without it, labels in {-1, +1} read as a task of one class for no visible reason.
    """
    y = column_or_1d(y)
    if y.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {y.shape[0]} labels, but the first argument has {n_samples} rows."
        )
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        raise ValueError(f"{name} must hold class labels (binary or multiclass); got {kind!r}.")
    classes, encoded = np.unique(y, return_inverse=True)
    if classes.size < 2:
        left_out = (
            f" ({n_unlabelled} rows with {name} == -1 were left out as unlabelled; -1 marks an "
            "unlabelled row, never a class)"
            if n_unlabelled
            else ""
        )
        raise ValueError(f"{name} must hold at least 2 classes; got {classes.size}{left_out}.")
    _warn_of_classes_of_one_row(classes, encoded, name)
    return classes, encoded


class _SingleRowClassWarning(UserWarning):
    """A class with one labelled row: what a score says of it rests on that row alone."""


def _warn_of_classes_of_one_row(classes, encoded, name):
    # One row per class scored a meaningless value without a word (NCE 0.0, its maximum).
    single = classes[np.bincount(encoded, minlength=classes.size) == 1]
    if single.size:
        warnings.warn(
            f"{name} has one labelled row in {single.size} of its {classes.size} classes "
            f"({single[:5].tolist()}{', ...' if single.size > 5 else ''}): one row cannot show "
            "how the rows of a class spread, and what is measured on it says little about the "
            "class. Label at least 2 rows per class.",
            _SingleRowClassWarning,
            stacklevel=4,
        )


def _labelled_rows(y, n_samples):
    """``y`` without its unlabelled rows, and the mask of the rows kept.

    ``y == -1`` marks an unlabelled row everywhere in the library, never a class (see
    ``domain_rows``): scored as a class, the unlabelled rows of packed data, which a scorer in
    a search over ``pack_domains`` output receives, changed the score. A string ``"-1"``
    cannot mark an unlabelled row and stays a class, with ``domain_rows``' warning.
    """
    y = column_or_1d(y)
    if y.shape[0] != n_samples:
        raise ValueError(f"y has {y.shape[0]} labels, but the first argument has {n_samples} rows.")
    if y.dtype.kind == "f" and np.isnan(y).any():
        rows = np.flatnonzero(np.isnan(y))
        raise ValueError(
            f"y holds NaN at rows {rows[:5].tolist()}: a transferability score needs class "
            "labels. Mark an unlabelled row with -1, which is left out of the score."
        )
    _warn_if_minus_one_is_a_string(y)
    labelled = ~is_unlabelled(y)
    if not labelled.any():
        raise ValueError(
            "y holds no labelled row: every label is -1, which marks an unlabelled row, never "
            "a class. A transferability score needs labelled rows."
        )
    return y[labelled], labelled


def _check_features(features, name="features"):
    features = check_array(features, dtype=np.float64, input_name=name)
    if features.shape[0] < 2:
        raise ValueError(f"{name} must have at least 2 rows; got {features.shape[0]}.")
    return features


def _unit_scale(features):
    """``features`` divided by their largest magnitude.

    LogME and the H-score do not change when the features are multiplied by a constant, but
    their products do: features of 1e150 overflowed ``F'F`` to inf and the scores to NaN.
    """
    largest = np.abs(features).max()
    return features / largest if largest > 0 else features


def logme_score(features, y, *, max_iter=100, tol=1e-6):
    """LogME: the log maximum evidence of a Bayesian linear model of the labels on features.

    You, Liu, Wang and Long (2021) score a representation by how well a linear model on it
    explains the labels, averaged over its evidence rather than fitted: each class ``k``
    gives a one-vs-rest target ``y_k`` in {0, 1}, modelled as ``features @ w`` plus Gaussian
    noise of precision ``beta``, with a prior ``w ~ N(0, I / alpha)``. ``alpha`` and ``beta``
    are set to maximise the marginal likelihood ``p(y_k | features)``: where the paper iterates
    MacKay's fixed point, the maximum is found here on a grid of ``alpha / beta`` refined by
    Newton's method, every class at once, which reaches the same point without the fixed
    point's slow convergence. One eigendecomposition of the smaller Gram matrix of
    ``features`` serves every class and step, so the cost is that of the decomposition. The
    score is the mean over classes of the maximum log evidence divided by the number of rows.

    The score does not change when features are rotated or scaled (up to the tolerance of
    its refinement); it is not a probability and only compares representations of the same
    rows and labels.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        The target rows' features from the candidate representation.
    y : array-like of shape (n_samples,)
        The target rows' class labels. Rows with the number ``-1`` are unlabelled, as
        everywhere in the library, and are left out of the score (a string ``"-1"`` is a
        class).
    max_iter : int, default=100
        The most Newton steps that refine ``alpha / beta`` from the grid's best point; a
        handful is usual.
    tol : float, default=1e-6
        The steps stop when ``alpha / beta`` changes by less than this, relative (a step in
        ``log(alpha / beta)`` below ``tol``).

    Returns
    -------
    score : float
        The mean log evidence per row; greater is better.

    See Also
    --------
    h_score : A faster score from class-conditional means.
    make_transferability_scorer : The score as a scorer for ``GridSearchCV``.

    References
    ----------
    .. [1] K. You, Y. Liu, J. Wang and M. Long, "LogME: Practical Assessment of Pre-trained
       Models for Transfer Learning", ICML 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.model_selection import logme_score
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, size=200)
    >>> informative = np.eye(3)[y] + 0.3 * rng.normal(size=(200, 3))
    >>> noise = rng.normal(size=(200, 3))
    >>> bool(logme_score(informative, y) > logme_score(noise, y))
    True
    """
    validate_parameter_constraints(
        _KEYWORD_CONSTRAINTS["logme"], {"max_iter": max_iter, "tol": tol}, "logme_score"
    )
    features = _check_features(features)
    y, labelled = _labelled_rows(y, features.shape[0])
    features = _unit_scale(features[labelled])
    classes, encoded = _check_labels(y, features.shape[0], n_unlabelled=np.sum(~labelled))
    n_samples = features.shape[0]
    targets = (encoded[:, None] == np.arange(classes.size)).astype(np.float64)
    projections, sigma = _spectrum(features, targets)
    evidences = _max_evidence(targets, projections, sigma, max_iter, tol)
    return float(np.mean(evidences) / n_samples)


def _spectrum(features, targets):
    """The eigenvalues ``sigma`` of ``F'F`` and the targets' projections ``U'y``.

    ``U`` holds the left singular vectors of ``F``. Both come from the eigendecomposition of
    the smaller Gram matrix, ``FF'`` (``n x n``) or ``F'F`` (``d x d``), several times faster
    than a singular value decomposition, and only its eigenvectors' projections of the
    targets are formed (:func:`_eigh_projected`). With ``F'F = V diag(sigma) V'``, ``U'y`` is
    ``diag(sigma)^-1/2 V'F'y``, so ``U`` itself is never formed either. Eigenvalues below
    ``1e-10`` of the largest are rounding noise of the Gram matrix and are dropped: those
    directions count as null directions.
    """
    n_samples, n_features = features.shape
    if n_samples <= n_features:
        sigma, projections = _eigh_projected(features @ features.T, targets)
    else:
        sigma, projections = _eigh_projected(features.T @ features, features.T @ targets)
    keep = sigma > sigma[-1] * 1e-10
    sigma, projections = sigma[keep][::-1], projections[keep][::-1]
    if n_samples > n_features:
        projections /= np.sqrt(sigma)[:, None]
    return projections, sigma


def _eigh_projected(gram, rhs):
    """The eigenvalues of a symmetric matrix, ascending, and ``V'rhs`` for its eigenvectors.

    As ``numpy.linalg.eigh`` followed by ``V.T @ rhs``, without forming ``V``: the matrix is
    reduced to a tridiagonal ``T = Q'AQ`` (LAPACK ``sytrd``), ``Q'`` is applied to the few
    columns of ``rhs`` (``ormqr`` on the stored reflectors) and ``T`` is diagonalised by
    divide and conquer (``stevd``). This skips the costliest step of a full
    eigendecomposition, multiplying ``Q`` into the eigenvectors of ``T`` (``n x n x n``).
    """
    n = gram.shape[0]
    if n < 3:
        sigma, vectors = np.linalg.eigh(gram)
        return sigma, vectors.T @ rhs
    lwork = int(lapack.dsytrd_lwork(n, lower=1)[0])
    reflectors, diagonal, off, tau, info = lapack.dsytrd(gram, lower=1, lwork=lwork)
    rotated = rhs.copy()
    # Q = diag(1, H), H the product of the reflectors stored below the subdiagonal.
    rotated[1:], _, info_q = lapack.dormqr(
        "L", "T", reflectors[1:, :-1], tau, rhs[1:], lwork=max(1, 64 * rhs.shape[1])
    )
    sigma, vectors, info_t = lapack.dstevd(diagonal, off, compute_v=1)
    if info or info_q or info_t:
        sigma, vectors = np.linalg.eigh(gram)
        return sigma, vectors.T @ rhs
    return sigma, vectors.T @ rotated


def _max_evidence(targets, projections, sigma, max_iter, tol):
    """The maximum over ``alpha`` and ``beta`` of the log evidence, per column of ``targets``.

    With ``F'F = V diag(sigma) V'`` and ``z = U'y`` (``projections``), the evidence is a sum
    over the ``rank`` non-zero eigenvalues. Setting ``beta`` to its optimum for a given
    ``lam = alpha / beta`` (``n / q``, where MacKay's fixed point puts it too) leaves a
    function of ``t = log(lam)`` alone, the profile evidence: the ``n_features - rank`` null
    directions cancel out of it, and it stays finite when the features fit the labels exactly
    (``lam -> 0``). Its
    derivative in ``t`` is ``(gamma - n p / q) / 2``, with ``gamma = sum(a)`` the effective
    number of parameters, ``a = sigma / (lam + sigma)``, and ``p = sum(z^2 a (1 - a))``; it
    vanishes exactly at MacKay's fixed point.

    Instead of iterating the fixed point (linear convergence, and arbitrarily slow when the
    maximum lies at ``lam -> 0``), the profile evidence and its derivative are evaluated on a
    grid of ``lam`` spaced half a decade apart, for every column at once through two matrix
    products; the grid interval around the best point where the derivative changes sign is
    then narrowed by Newton's method, safeguarded by bisection, to ``tol`` in ``log(lam)``.
    """
    n_samples = targets.shape[0]
    z2 = projections**2  # the labels in the features' left singular basis
    outside = np.maximum(np.sum(targets**2, axis=0) - z2.sum(axis=0), 0.0)  # out of reach
    if sigma.size == 0:
        # Features that are all zero span nothing: the evidence is that of the noise alone,
        # whatever lam (rank 0), rather than an IndexError on the empty spectrum.
        return _profile(outside, 0.0, 0.0, 0, n_samples)
    # lam is kept within 24 orders of magnitude of the largest eigenvalue, where the evidence
    # has reached its limit; relative bounds keep the score invariant to feature scaling.
    log_grid = np.log(sigma[0]) + np.linspace(-12, 12, 49) * np.log(10)
    lam = np.exp(log_grid)[:, None]
    a = sigma / (lam + sigma)  # (grid, rank)
    q = (lam / (lam + sigma)) @ z2 + outside  # (grid, targets)
    p = (a * (1 - a)) @ z2
    log_det = np.sum(np.log(lam + sigma), axis=1, keepdims=True)
    values = _profile(q, np.log(lam), log_det, sigma.size, n_samples)
    slopes = a.sum(axis=1, keepdims=True) - n_samples * p / q
    best = np.argmax(values, axis=0)
    columns = np.arange(targets.shape[1])
    # The maximum lies where the slope turns from positive to negative: right of the best
    # grid point if the slope is positive there, left of it otherwise.
    rising = slopes[best, columns] > 0
    lo = np.clip(np.where(rising, best, best - 1), 0, log_grid.size - 1)
    hi = np.clip(lo + 1, 0, log_grid.size - 1)
    bracketed = (slopes[lo, columns] > 0) & (slopes[hi, columns] <= 0) & (lo < hi)
    lo_t, hi_t = log_grid[lo], log_grid[hi]
    t = np.where(bracketed, (lo_t + hi_t) / 2, log_grid[best])
    active = bracketed  # the columns still being refined
    for _ in range(max_iter):
        if not active.any():
            break
        slope, curvature = _slope_and_curvature(np.exp(t), z2, sigma, outside, n_samples)
        lo_t = np.where(active & (slope > 0), t, lo_t)
        hi_t = np.where(active & (slope <= 0), t, hi_t)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = t - slope / curvature
        # A Newton step that leaves the bracket is replaced by bisection.
        inside = np.isfinite(newton) & (newton >= lo_t) & (newton <= hi_t)
        step = np.where(active, np.where(inside, newton, (lo_t + hi_t) / 2) - t, 0.0)
        t = t + step
        active = active & (np.abs(step) > tol)
    lam = np.exp(t)
    q = np.sum(lam * z2 / (lam + sigma[:, None]), axis=0) + outside
    log_det = np.sum(np.log(lam + sigma[:, None]), axis=0)
    refined = _profile(q, t, log_det, sigma.size, n_samples)
    # The grid's best point, where no interval was bracketed (a maximum at a bound).
    return np.maximum(refined, values[best, columns])


def _slope_and_curvature(lam, z2, sigma, outside, n_samples):
    """The first and second derivatives of the profile evidence in ``log(lam)``, times 2."""
    a = sigma[:, None] / (lam + sigma[:, None])  # (rank, targets)
    b = lam / (lam + sigma[:, None])  # 1 - a, without cancellation
    q = np.sum(z2 * b, axis=0) + outside
    p = np.sum(z2 * a * b, axis=0)  # dq/dt
    dp = np.sum(z2 * a * b * (a - b), axis=0)  # dp/dt
    slope = a.sum(axis=0) - n_samples * p / q
    curvature = -np.sum(a * b, axis=0) - n_samples * (dp * q - p**2) / q**2
    return slope, curvature


def _profile(q, log_lam, log_det, rank, n_samples):
    """The log evidence at ``alpha / beta = lam``, with ``beta`` at its optimum ``n / q``.

    ``q = |y - Fm|^2 + lam m'm`` and ``log_det = sum(log(lam + sigma))``.
    """
    return (
        n_samples / 2 * np.log(n_samples / q)
        - n_samples / 2
        + rank / 2 * log_lam
        - log_det / 2
        - n_samples / 2 * np.log(2 * np.pi)
    )


def leep_score(source_proba, y):
    """LEEP: the log expected empirical prediction of a source classifier on the target.

    Nguyen, Hassner, Seeger and Archambeau (2020) turn the source model's class probabilities
    ``theta(x)`` on the target rows into a classifier of the target labels: the empirical
    joint ``P(y, z) = mean over rows of theta(x)_z [y_i = y]`` gives ``P(y | z)``, and each
    row is predicted as ``sum_z P(y | z) theta(x)_z``. The score is the mean log-likelihood of
    the true labels under that prediction: at most 0, and greater when the source classes
    say more about the target classes.

    Parameters
    ----------
    source_proba : array-like of shape (n_samples, n_source_classes)
        The source model's predicted probabilities of its own classes (for instance the
        ImageNet classes of a pretrained network) on the target rows; rows sum to 1.
    y : array-like of shape (n_samples,)
        The target rows' class labels. Rows with the number ``-1`` are unlabelled, as
        everywhere in the library, and are left out of the score (a string ``"-1"`` is a
        class).

    Returns
    -------
    score : float
        The mean log expected empirical prediction, in nats; greater is better.

    See Also
    --------
    nce_score : The same question from the source model's hard labels.

    References
    ----------
    .. [1] C. V. Nguyen, T. Hassner, M. Seeger and C. Archambeau, "LEEP: A New Measure to
       Evaluate Transferability of Learned Representations", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.model_selection import leep_score
    >>> y = np.array([0, 0, 1, 1])
    >>> aligned = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8]])
    >>> uniform = np.full((4, 2), 0.5)
    >>> bool(leep_score(aligned, y) > leep_score(uniform, y))
    True
    """
    # Kept in its own precision for the tolerance below, then scored in float64.
    proba = check_array(source_proba, dtype=FLOAT_DTYPES, input_name="source_proba")
    # A softmax computed or stored in float16 leaves its rows off 1 by up to about 0.7 of the
    # type's epsilon (7e-4, whatever the number of classes); a fixed 1e-4 refused them. Logits
    # stay far outside either tolerance.
    atol = max(1e-4, 4 * np.finfo(proba.dtype).eps)
    proba = _check_features(proba, name="source_proba")
    miss = np.abs(proba.sum(axis=1) - 1.0).max() if proba.size else 0.0
    if np.any(proba < 0) or miss > atol:
        raise ValueError(
            "source_proba must hold probabilities: non-negative rows that sum to 1 "
            f"({_probability_advice(proba, miss)})."
        )
    y, labelled = _labelled_rows(y, proba.shape[0])
    proba = proba[labelled]
    classes, encoded = _check_labels(y, proba.shape[0], n_unlabelled=np.sum(~labelled))
    onehot = np.eye(classes.size)[encoded]
    joint = onehot.T @ proba / proba.shape[0]  # P(y, z), shape (n_classes, n_source_classes)
    marginal = joint.sum(axis=0)
    conditional = np.divide(joint, marginal, out=np.zeros_like(joint), where=marginal > 0)
    expected = np.einsum("iz,iz->i", proba, conditional[encoded])
    return float(np.mean(np.log(np.clip(expected, np.finfo(np.float64).tiny, None))))


def _probability_advice(proba, miss):
    # Rows of a softmax computed in bfloat16 and stored in float32 miss 1 by up to 2.4e-3:
    # told to apply a softmax, their user had applied one.
    if np.all(proba >= 0) and miss < 1e-2:
        return (
            f"they miss 1 by up to {miss:.2g}, as a softmax computed in a lower precision, such "
            "as bfloat16, leaves them: divide each row by its sum"
        )
    return "apply a softmax to logits first"


def nce_score(source_labels, y):
    """NCE: minus the conditional entropy of the target labels given the source labels.

    Tran, Nguyen and Hassner (2019) measure how much the source model's hard predictions on
    the target rows say about the target labels: ``-H(Y | Z)`` for the empirical joint
    distribution of source labels ``Z`` and target labels ``Y``. It is 0 when the source label
    determines the target label, and ``-H(Y)`` when it says nothing.

    Parameters
    ----------
    source_labels : array-like of shape (n_samples,)
        The source model's predicted classes (of its own label set) on the target rows.
    y : array-like of shape (n_samples,)
        The target rows' class labels. Rows with the number ``-1`` are unlabelled, as
        everywhere in the library, and are left out of the score (a string ``"-1"`` is a
        class).

    Returns
    -------
    score : float
        Minus the conditional entropy, in nats; at most 0, greater is better.

    See Also
    --------
    leep_score : The same question from the source model's probabilities.

    References
    ----------
    .. [1] A. T. Tran, C. V. Nguyen and T. Hassner, "Transferability and Hardness of
       Supervised Classification Tasks", ICCV 2019.

    Examples
    --------
    >>> from sktransfer.model_selection import nce_score
    >>> nce_score(["cat", "cat", "dog", "dog"], [0, 0, 1, 1])
    0.0
    >>> round(nce_score(["cat", "dog", "cat", "dog"], [0, 0, 1, 1]), 3)
    -0.693
    """
    source_labels = column_or_1d(source_labels)
    if source_labels.dtype.kind == "f" and not np.all(np.isfinite(source_labels)):
        raise ValueError("source_labels holds NaN or infinite values, which are no classes.")
    kind = type_of_target(source_labels, input_name="source_labels")
    if kind not in ("binary", "multiclass"):
        # Continuous values would each be a category of their own, and every target label
        # then "determined": the best score, 0, for a meaningless input.
        raise ValueError(
            "source_labels must hold class labels (the source model's predicted classes); "
            f"got {kind!r}."
        )
    y, labelled = _labelled_rows(y, source_labels.shape[0])
    _, source = np.unique(source_labels[labelled], return_inverse=True)
    classes, encoded = _check_labels(y, source.shape[0], n_unlabelled=np.sum(~labelled))
    joint = np.zeros((source.max() + 1, classes.size))
    np.add.at(joint, (source, encoded), 1.0)
    joint /= joint.sum()
    marginal = joint.sum(axis=1, keepdims=True)
    nonzero = joint > 0
    conditional = joint / marginal
    return float(np.sum(joint[nonzero] * np.log(conditional[nonzero])))


def h_score(features, y, *, shrinkage="auto"):
    """H-score: how much of the features' variance separates the classes.

    Bao, Li, Huang, Zheng and Wang (2019) score features ``f`` for a classification task as
    ``tr(cov(f)^-1 cov(E[f | y]))``, the asymptotic quantity that a linear-softmax model of
    ``y`` on ``f`` optimises: the between-class covariance measured in units of the total
    covariance. High-dimensional features estimated from few rows make ``cov(f)`` singular or
    ill-conditioned, so (after Ibrahim, Ponomareva and Mazumder, 2022) the covariance is shrunk
    towards a multiple of the identity, ``(1 - a) cov(f) + a mean(var(f)) I``, and the
    between-class covariance by the same ``1 - a``.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        The target rows' features from the candidate representation.
    y : array-like of shape (n_samples,)
        The target rows' class labels. Rows with the number ``-1`` are unlabelled, as
        everywhere in the library, and are left out of the score (a string ``"-1"`` is a
        class).
    shrinkage : "auto", float in [0, 1] or None, default="auto"
        ``"auto"`` takes the Ledoit-Wolf shrinkage estimated from the features; a float fixes
        it; ``None`` (or ``0``) is the original score with the Moore-Penrose pseudo-inverse of
        the unshrunk covariance, which over-rates wide features estimated from few rows.

    Returns
    -------
    score : float
        The H-score, between 0 and ``min(n_features, n_classes - 1)``; greater is better.

    See Also
    --------
    logme_score : A score from the evidence of a Bayesian linear model.

    References
    ----------
    .. [1] Y. Bao, Y. Li, S.-L. Huang, L. Zhang, L. Zheng, A. Zamir and L. Guibas, "An
       Information-Theoretic Approach to Transferability in Task Transfer Learning", ICIP
       2019.
    .. [2] S. Ibrahim, N. Ponomareva and R. Mazumder, "Newer is not always better: Rethinking
       transferability metrics, their peculiarities, stability and performance", ECML PKDD
       2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.model_selection import h_score
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 3, size=200)
    >>> informative = np.eye(3)[y] + 0.3 * rng.normal(size=(200, 3))
    >>> noise = rng.normal(size=(200, 3))
    >>> bool(h_score(informative, y) > h_score(noise, y))
    True
    """
    validate_parameter_constraints(
        _KEYWORD_CONSTRAINTS["h_score"], {"shrinkage": shrinkage}, "h_score"
    )
    features = _check_features(features)
    y, labelled = _labelled_rows(y, features.shape[0])
    features = _unit_scale(features[labelled])
    classes, encoded = _check_labels(y, features.shape[0], n_unlabelled=np.sum(~labelled))
    centred = features - features.mean(axis=0)
    # A constant column's mean can miss its value by a rounding error, and its "variance" was
    # then all the score read: rows all alike scored 1 instead of 0 (and, wider than their
    # count, failed in numpy's solve with "Singular matrix").
    centred[:, np.ptp(features, axis=0) == 0] = 0.0
    n_samples, n_features = features.shape
    # Each row replaced by its class mean: the rows of E[f | y], whose covariance is M'M / n.
    means = np.zeros((classes.size, n_features))
    np.add.at(means, encoded, centred)
    means /= np.bincount(encoded)[:, None]
    conditional = means[encoded]
    if shrinkage == "auto":
        shrinkage = _ledoit_wolf_shrinkage(centred)
    scale = np.sum(centred**2) / (n_samples * n_features)  # mean(var(f))
    if scale == 0:
        return 0.0
    if shrinkage is not None and shrinkage > 0 and n_samples < n_features:
        return _h_score_dual(centred, conditional, shrinkage, scale)
    covariance = centred.T @ centred / n_samples
    between = conditional.T @ conditional / n_samples
    if shrinkage is None or shrinkage == 0:
        # Unshrunk, the covariance of collinear or constant features (or of fewer rows than
        # features) is singular: solve raised LinAlgError or, nearly singular, returned a
        # meaningless (even negative) score. The pseudo-inverse is the unshrunk score's own.
        return float(np.trace(np.linalg.pinv(covariance, hermitian=True) @ between))
    shrunk = (1 - shrinkage) * covariance + shrinkage * scale * np.eye(n_features)
    return float(np.trace(np.linalg.solve(shrunk, (1 - shrinkage) * between)))


def _ledoit_wolf_shrinkage(centred):
    """Ledoit and Wolf's shrinkage of centred rows, as scikit-learn's ``ledoit_wolf_shrinkage``.

    Its sums of squares are taken over the ``n x n`` Gram matrix when there are fewer rows
    than features (``|X'X|_F = |XX'|_F``), instead of over ``d x d`` blocks.
    """
    n_samples, n_features = centred.shape
    if n_samples >= n_features:
        return ledoit_wolf_shrinkage(centred, assume_centered=True)
    squares = centred**2
    variances = squares.sum(axis=0) / n_samples
    mu = variances.sum() / n_features
    beta_sum = np.sum(squares.sum(axis=1) ** 2)  # sum of (X**2)'(X**2)
    delta_sum = np.sum((centred @ centred.T) ** 2) / n_samples**2  # |X'X / n|_F^2
    beta = (beta_sum / n_samples - delta_sum) / (n_features * n_samples)
    delta = (delta_sum - 2 * mu * variances.sum() + n_features * mu**2) / n_features
    beta = min(beta, delta)
    return 0.0 if beta == 0 else float(beta / delta)


def _h_score_dual(centred, conditional, shrinkage, scale):
    """The shrunk H-score through ``n x n`` matrices, for fewer rows than features.

    With ``S = c I + b X'X`` (``c = shrinkage * scale``, ``b = (1 - shrinkage) / n``), the
    Woodbury identity gives ``S^-1 = (I - b X' K^-1 X) / c`` with ``K = c I + b XX'``, so
    ``tr(S^-1 M'M)`` needs only ``K`` and ``G = XM'``.
    """
    n_samples = centred.shape[0]
    c, b = shrinkage * scale, (1 - shrinkage) / n_samples
    gram = centred @ centred.T
    cross = centred @ conditional.T  # G = X M'
    kernel = c * np.eye(n_samples) + b * gram
    inner = np.sum(np.linalg.solve(kernel, cross) * cross)  # tr(K^-1 G G')
    trace = (np.sum(conditional**2) - b * inner) / c  # tr(S^-1 M'M)
    return float((1 - shrinkage) * trace / n_samples)


def _features_of(estimator, X):
    """What the estimator's classifier reads: ``transform(X)``, or the pipeline's prefix's."""
    # A missing method raises AttributeError, as in scikit-learn's scorers.
    if hasattr(estimator, "transform"):
        return estimator.transform(X)
    if isinstance(estimator, Pipeline) and len(estimator) > 1:
        return estimator[:-1].transform(X)
    raise AttributeError(
        f"{type(estimator).__name__} has no transform, and is not a Pipeline with a "
        "transformer before its final step: a feature score needs features to score."
    )


def _source_proba(estimator, X):
    if not hasattr(estimator, "predict_proba"):
        raise AttributeError(
            f"leep needs the source model's class probabilities; {type(estimator).__name__} "
            "has no predict_proba."
        )
    return estimator.predict_proba(X)


def _source_labels(estimator, X):
    if not hasattr(estimator, "predict"):
        raise AttributeError(
            f"nce needs the source model's predicted labels; {type(estimator).__name__} has "
            "no predict."
        )
    return estimator.predict(X)


_SCORES = {
    "logme": (logme_score, _features_of),
    "h_score": (h_score, _features_of),
    "leep": (leep_score, _source_proba),
    "nce": (nce_score, _source_labels),
}


class _TransferabilityScorer:
    """A scorer ``scorer(estimator, X, y)`` that applies a transferability score."""

    def __init__(self, score, kwargs):
        self._score_name = score
        self._kwargs = kwargs

    def __repr__(self):
        params = "".join(f", {key}={value!r}" for key, value in self._kwargs.items())
        return f"make_transferability_scorer({self._score_name!r}{params})"

    def __call__(self, estimator, X, y):
        """Score the representation of a fitted estimator on ``X`` and its labels ``y``.

        Parameters
        ----------
        estimator : estimator object
            A fitted transformer, a fitted Pipeline (its steps before the last give the
            features), or for ``"leep"`` and ``"nce"`` a fitted source classifier.
        X : array-like or images
            The rows to score, in whatever form the estimator takes.
        y : array-like of shape (n_samples,)
            Their class labels; rows with ``y == -1`` are unlabelled and left out.

        Returns
        -------
        score : float
            The transferability score; greater is better.
        """
        if y is None:
            raise ValueError("A transferability score needs the labels y of the rows it scores.")
        function, read = _SCORES[self._score_name]
        return function(read(estimator, X), y, **self._kwargs)


def make_transferability_scorer(score="logme", **kwargs):
    """A scorer that ranks fitted feature extractors by a transferability score.

    The scorer is called as ``scorer(estimator, X, y)``, like any scikit-learn scorer. For
    ``"logme"`` and ``"h_score"`` it computes the features of ``X`` (``estimator.transform(X)``,
    or the transform of a Pipeline's steps before its last) and scores them against ``y``; for
    ``"leep"`` it scores ``estimator.predict_proba(X)`` and for ``"nce"``
    ``estimator.predict(X)``, the outputs of a classifier trained on the source task.

    Used as ``scoring=`` of :class:`~sklearn.model_selection.GridSearchCV` over a
    :class:`~sktransfer.feature_extraction.CNNCodeExtractor` (whose fit trains nothing), it
    ranks layers or image sizes by one forward pass each. Nothing is trained, so no rows need
    to be held out: ``cv=[(rows, rows)]`` with ``rows = np.arange(n_samples)`` scores every
    candidate on all labelled rows at once, while a k-fold ``cv`` averages scores over folds
    (each fold then needs a few rows per class). Over a Pipeline ending in a classifier, set
    the final step to ``"passthrough"`` in the grid, so that it is not trained. Rows with
    ``y == -1``, such as the unlabelled target rows of :func:`~sktransfer.utils.pack_domains`'s
    output, are unlabelled and left out of the score.

    Parameters
    ----------
    score : {"logme", "h_score", "leep", "nce"}, default="logme"
        The score: :func:`logme_score`, :func:`h_score`, :func:`leep_score` or
        :func:`nce_score`.
    **kwargs : dict
        Keyword arguments of the score function, such as ``shrinkage`` of :func:`h_score`.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)`` returning the score; greater is better.

    See Also
    --------
    logme_score : The default score.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sktransfer.model_selection import make_transferability_scorer
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, size=100)
    >>> X = np.c_[y + 0.1 * rng.normal(size=100), rng.normal(size=(100, 5))]
    >>> rows = np.arange(100)
    >>> search = GridSearchCV(PCA(), {"n_components": [1, 6]}, cv=[(rows, rows)],
    ...                       scoring=make_transferability_scorer("logme"))
    >>> search.fit(X, y).best_params_
    {'n_components': 6}
    """
    if not isinstance(score, str) or score not in _SCORES:
        raise ValueError(f"score must be one of {sorted(_SCORES)}; got {score!r}.")
    function = _SCORES[score][0]
    # Only the keyword-only parameters can be fixed (max_iter, tol, shrinkage); checked here,
    # not at the first call, after the features of a whole fold were computed.
    accepted = [
        p.name for p in inspect.signature(function).parameters.values() if p.kind is p.KEYWORD_ONLY
    ]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise TypeError(
            f"make_transferability_scorer({score!r}) got unknown parameters {unknown}; "
            f"{function.__name__} takes {accepted or 'none'}."
        )
    constraints = _KEYWORD_CONSTRAINTS.get(score, {})
    validate_parameter_constraints(
        {name: constraints[name] for name in kwargs},
        kwargs,
        f"make_transferability_scorer({score!r})",
    )
    return _TransferabilityScorer(score, kwargs)
