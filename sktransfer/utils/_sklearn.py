"""The one module that imports private scikit-learn helpers, so an upgrade breaks one place."""

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
from sklearn.utils.validation import _check_method_params, _check_sample_weight

__all__ = [
    "BaseLabelPropagation",
    "HasMethods",
    "Hidden",
    "Interval",
    "Options",
    "StrOptions",
    "_check_method_params",
    "_check_sample_weight",
    "_fit_context",
    "_name_estimators",
    "_routing_enabled",
    "_safe_indexing",
    "validate_parameter_constraints",
]
