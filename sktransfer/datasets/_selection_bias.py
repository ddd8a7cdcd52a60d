"""Sample selection bias: a source that is a biased subsample of the target's distribution."""

import numpy as np
from sklearn.utils import check_random_state

from ._validation import check_count, check_finite_scalar

__all__ = ["make_selection_bias"]


def make_selection_bias(
    n_source=1000, n_target=1000, *, bias=2.5, noise=0.1, n_features=2, random_state=None
):
    """Draw a covariate-shift classification task in the manner of Huang et al. (2007).

    Every row's features are standard normal, and its label says whether it lies above the
    parabola ``x1 = x0^2 / 2 - 1/2`` (plus Gaussian noise of scale ``noise`` on ``x1``). The
    target rows are a plain sample. The source rows are a *biased* sample: a row is kept with
    probability ``1 / (1 + exp(-bias (x0 - 1)))``, so the source crowds where ``x0 > 1``, where
    the parabola is steep. ``p(y | x)`` is the same in both domains; only ``p(x)`` differs, and
    the true density ratio ``p_target(x) / p_source(x)`` is proportional to ``1 / P(keep | x)``.

    A linear classifier cannot follow the parabola: trained on the source rows it fits the steep
    part, while most target rows lie near ``x0 = 0``, where the parabola is flat. This is the
    misspecified setting where importance weighting helps (Shimodaira, 2000).

    Parameters
    ----------
    n_source : int, default=1000
        The number of source rows.

    n_target : int, default=1000
        The number of target rows.

    bias : float, default=2.5
        The slope of the selection probability; 0 keeps every row (no shift).

    noise : float, default=0.1
        The scale of the label noise, at least 0.

    n_features : int, default=2
        The number of features, at least 2; the ones beyond the first two are noise.

    random_state : int, RandomState instance or None, default=None
        Seeds the draw.

    Returns
    -------
    X_source : ndarray of shape (n_source, n_features)
        The source rows.

    y_source : ndarray of shape (n_source,)
        Their labels, 0 or 1.

    X_target : ndarray of shape (n_target, n_features)
        The target rows.

    y_target : ndarray of shape (n_target,)
        Their labels, 0 or 1.

    References
    ----------
    .. [1] J. Huang, A. J. Smola, A. Gretton, K. M. Borgwardt and B. Schölkopf, "Correcting
           Sample Selection Bias by Unlabeled Data", NIPS 2006 (published 2007).

    .. [2] H. Shimodaira, "Improving Predictive Inference under Covariate Shift by Weighting the
           Log-Likelihood Function", Journal of Statistical Planning and Inference 90(2), 2000.

    Examples
    --------
    >>> from sktransfer.datasets._selection_bias import make_selection_bias
    >>> Xs, ys, Xt, yt = make_selection_bias(n_source=100, n_target=50, random_state=0)
    >>> Xs.shape, Xt.shape
    ((100, 2), (50, 2))
    >>> bool(Xs[:, 0].mean() > Xt[:, 0].mean())
    True
    """
    # Zero or negative sizes failed in np.concatenate, and floats deep in NumPy, naming nothing.
    check_count(n_source, "n_source", min_val=1)
    check_count(n_target, "n_target", min_val=1)
    check_count(n_features, "n_features", min_val=2)
    # A NaN bias kept no row, and the loop below drew rows forever.
    check_finite_scalar(bias, "bias")
    check_finite_scalar(noise, "noise", min_val=0.0)  # a scale: -0.1 was taken as 0.1
    rng = check_random_state(random_state)
    kept_X, kept_y, n_kept = [], [], 0
    while n_kept < n_source:
        X, y = _draw(4 * n_source, n_features, noise, rng)
        keep = rng.uniform(size=X.shape[0]) < selection_probability(X, bias)
        kept_X.append(X[keep])
        kept_y.append(y[keep])
        n_kept += int(keep.sum())
    X_source = np.concatenate(kept_X)[:n_source]
    y_source = np.concatenate(kept_y)[:n_source]
    X_target, y_target = _draw(n_target, n_features, noise, rng)
    return X_source, y_source, X_target, y_target


def selection_probability(X, bias=2.5):
    """The probability that a row is kept in the source: ``1 / (1 + exp(-bias (x0 - 1)))``."""
    # exp overflows to inf far on the unlikely side of a steep bias (300 at x0 = -2), where
    # the probability is 0 as it should be: that is no error, so NumPy is not let to warn.
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-bias * (X[:, 0] - 1.0)))


def _draw(n_rows, n_features, noise, rng):
    X = rng.normal(size=(n_rows, n_features))
    above = X[:, 1] - (0.5 * X[:, 0] ** 2 - 0.5) + noise * rng.normal(size=n_rows)
    return X, (above > 0).astype(np.int64)
