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


def check_finite_output(arrays, **params):
    """Refuse drawn data that overflowed: finite parameters near the float range (class_sep or
    scale of 1e308) gave NaN or infinite rows with at most a NumPy RuntimeWarning."""
    if all(np.isfinite(array).all() for array in arrays):
        return
    shown = ", ".join(f"{name}={value!r}" for name, value in params.items())
    raise ValueError(
        f"The data drawn with {shown} overflow float64 (NaN or infinite values): use smaller "
        "values."
    )
