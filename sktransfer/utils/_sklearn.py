"""The one module that imports private scikit-learn helpers, so an upgrade breaks one place."""

from numbers import Integral, Number

import numpy as np
from sklearn.base import _fit_context
from sklearn.pipeline import _final_estimator_has, _name_estimators
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
from sklearn.utils.validation import _check_method_params, _check_sample_weight, _num_samples

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
    "_final_estimator_has",
    "_fit_context",
    "_name_estimators",
    "_num_samples",
    "_routing_enabled",
    "_safe_indexing",
    "check_labels",
    "check_same_label_kind",
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
    """scikit-learn's ``check_classification_targets``, after :func:`check_label_values`: its
    own errors for these did not name ``y`` (or came after a RuntimeWarning, for NaN).
    """
    check_label_values(y)
    check_classification_targets(y)


def check_label_values(y, name="y"):
    """Refuse labels that cannot be classes, naming ``name``: NaN, which never equals itself,
    and labels of mixed types (``["a", None]``, ``["a", 1]``), which NumPy cannot sort into
    classes. Unlike :func:`check_labels` it takes any other labels (object arrays of numbers,
    floats), as a splitter or a metric may be given them.

    Raises
    ------
    ValueError
        If ``y`` holds NaN.
    TypeError
        If ``y`` mixes labels that cannot be sorted together.
    """
    labels = np.asarray(y)
    if labels.dtype.kind == "f" and np.isnan(labels).any():
        rows = np.flatnonzero(np.isnan(labels.ravel()))
        raise ValueError(f"{name} holds NaN at rows {rows[:5].tolist()}, which is no class.")
    if labels.dtype.kind != "O":
        return
    try:
        np.unique(labels)
    except TypeError as exc:
        kinds = sorted({type(label).__name__ for label in labels.ravel()})
        raise TypeError(
            f"{name} mixes labels of types {kinds}, which cannot be sorted into classes: use "
            "labels of one type, all strings or all numbers."
        ) from exc


def check_same_label_kind(first, second, first_name, second_name):
    """Refuse number labels in one array and string labels in the other.

    NumPy compares them as never equal and joins them as strings (``0`` with ``"a"`` gives
    ``"0"``), so such labels silently made disjoint classes or predictions that are all
    wrong. Empty labels have no kind to compare.

    Parameters
    ----------
    first, second : ndarray
        The labels to compare.
    first_name, second_name : str
        Their parameter names, for the message.

    Raises
    ------
    ValueError
        If one holds numbers and the other strings (or other objects).
    """
    if not (first.size and second.size) or _holds_numbers(first) == _holds_numbers(second):
        return
    raise ValueError(
        f"{first_name} holds labels of dtype {first.dtype}, such as {first.ravel().tolist()[0]!r}, "
        f"but {second_name} labels of dtype {second.dtype}, such as "
        f"{second.ravel().tolist()[0]!r}: give both labels of the same kind (numbers or "
        "strings); a number never equals a string, so they would be different classes."
    )


def _holds_numbers(labels):
    """Whether the labels are numbers; an object array (a pandas column) by its values."""
    if labels.dtype.kind == "O":
        return all(isinstance(label, Number) for label in labels.ravel())
    return labels.dtype.kind in "biuf"
