"""Numeric helpers shared by estimators that rescale their inputs against overflow."""

import numpy as np


def power_of_two_scale(values):
    """The power of two at or just below the largest magnitude in ``values`` (1 for none or
    zeros), so that the rescaled values are at most 2 in magnitude (the power just above
    1e308 is out of the float64 range).

    Dividing by it is exact, barring underflow: a computation on the rescaled values gives
    the same bits as on the values themselves wherever the latter did not overflow.
    """
    largest = np.abs(values).max() if np.size(values) else 0.0
    return float(np.ldexp(1.0, np.frexp(largest)[1] - 1)) if largest > 0 else 1.0
