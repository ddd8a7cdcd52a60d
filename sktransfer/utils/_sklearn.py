"""The one module that imports private scikit-learn helpers, so an upgrade breaks one place."""

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.pipeline import _name_estimators
from sklearn.semi_supervised._label_propagation import BaseLabelPropagation
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metadata_routing import _routing_enabled
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_method_params, _check_sample_weight

__all__ = [
    "BaseLabelPropagation",
    "HasMethods",
    "Hidden",
    "Integers",
    "Interval",
    "Options",
    "StrOptions",
    "_check_method_params",
    "_check_sample_weight",
    "_fit_context",
    "_name_estimators",
    "_routing_enabled",
    "_safe_indexing",
    "check_labels",
    "validate_parameter_constraints",
]


class Integers(Interval):
    """``Interval(Integral, ...)`` that refuses booleans.

    scikit-learn's interval takes ``True`` for ``1`` (``bool`` is an ``int``); for a count
    such as ``batch_size`` or ``max_epochs`` a boolean is a mistake, not a number.
    """

    def __init__(self, left, right, *, closed):
        super().__init__(Integral, left, right, closed=closed)

    def is_satisfied_by(self, val):
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)


def check_labels(y):
    """scikit-learn's ``check_classification_targets``, with a TypeError that names ``y`` for
    labels of mixed types (``["a", None]``, ``["a", 1]``), which NumPy cannot sort into classes.
    """
    try:
        check_classification_targets(y)
    except TypeError as exc:
        kinds = sorted({type(label).__name__ for label in np.asarray(y, dtype=object).ravel()})
        raise TypeError(
            f"y mixes labels of types {kinds}, which cannot be sorted into classes: use labels "
            "of one type, all strings or all numbers."
        ) from exc
