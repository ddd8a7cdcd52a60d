"""Checks shared by the data generators."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_scalar


def check_count(x, name, min_val):
    """scikit-learn's ``check_scalar`` for an int count, refusing booleans too.

    ``bool`` is an ``int``: ``n_source=True`` drew one row, or failed deep in NumPy with "an
    integer is required", naming nothing. A boolean count is a mistake, not a number (as
    :class:`sktransfer.utils._sklearn.Integers` says for the estimators).
    """
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be an int, not a boolean; got {x!r}.")
    return check_scalar(x, name, Integral, min_val=min_val)


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
