"""Checks shared by the data generators."""

from numbers import Real

import numpy as np
from sklearn.utils import check_scalar


def check_finite_scalar(x, name, **bounds):
    """scikit-learn's ``check_scalar`` for a real number, refusing NaN and infinities too.

    Its bounds compare False with NaN, so NaN passed every bound, and a parameter without
    bounds took an infinity as well: the generators then returned garbage (a single class,
    NaN regression targets) with at most a NumPy RuntimeWarning.
    """
    check_scalar(x, name, Real)  # the type first: np.isfinite fails on a string
    if not np.isfinite(x):
        raise ValueError(f"{name} must be a finite number; got {x!r}.")
    return check_scalar(x, name, Real, **bounds)
