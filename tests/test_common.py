"""Every public estimator of sktransfer through scikit-learn's common checks."""

import inspect
import pkgutil
from importlib import import_module

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.utils import get_tags
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import (
    check_get_feature_names_out_error,
    check_global_output_transform_pandas,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

import sktransfer
from sktransfer.domain_adaptation import CORAL
from sktransfer.pipeline import LabelledOnlyClassifier
from sktransfer.utils._sklearn import Integers

# Small, fast settings: the checks fit every estimator dozens of times.
INIT_PARAMS = {
    # A row for every label the checks fit with (in any order: classes_ is sorted regardless);
    # the seen classes as candidates, so that the checks' training classes are predicted.
    "AttributeZeroShot": {
        "class_attributes": {
            label: np.eye(8)[i] for i, label in enumerate([-1, 0, 1, 2, 3, "one", "three", "two"])
        },
        "candidates": "seen",
    },
    "CNNCodeExtractor": {"backbone": "toy_mlp", "random_state": 0, "device": "cpu"},
    # The table of AttributeZeroShot; a rate that learns the checks' small sets in few epochs.
    "EmbeddingZeroShot": {
        "class_attributes": {
            label: np.eye(8)[i] for i, label in enumerate([-1, 0, 1, 2, 3, "one", "three", "two"])
        },
        "candidates": "seen",
        "lr": 0.01,
        "max_epochs": 20,
        "random_state": 0,
        "device": "cpu",
    },
    "DANNClassifier": {
        "hidden_layer_sizes": (16,),
        "domain_hidden_layer_sizes": (8,),
        "optimizer": "adam",
        "lr": 0.05,
        "lr_schedule": "constant",
        "max_epochs": 20,
        "random_state": 0,
        "device": "cpu",
    },
    # A random toy network learns the tiny check datasets only with every layer at a high rate.
    "DomainAdaptationPipeline": {
        "steps": [("coral", CORAL()), ("classifier", LabelledOnlyClassifier())],
    },
    "FineTuneClassifier": {
        "backbone": "toy_mlp",
        "lr": 0.05,
        "lr_decay": 1.0,
        "max_epochs": 20,
        "random_state": 0,
        "device": "cpu",
    },
    "TrAdaBoost": {"n_estimators": 10, "random_state": 0},
    "TrAdaBoostR2": {"n_estimators": 10, "random_state": 0},
    "TwoStageTrAdaBoostR2": {"n_steps": 2, "n_estimators": 3, "cv": 2, "random_state": 0},
}

_FLOAT32_BATCHES = (
    "The network computes in float32, and torch's CPU matrix products round differently for "
    "different batch shapes: scores of a subset differ from those of the whole set by about "
    "1e-7 relative, above the check's rtol=1e-7 (sklearn's MLPClassifier avoids this only by "
    "computing in float64)."
)

_UNLABELLED_MARKER = (
    "The check uses -1 as a class label, but y == -1 marks unlabelled rows (scikit-learn's "
    "semi-supervised convention, which the domain convention of the library follows): they "
    "are left out of the fit, and the rows left hold a single class."
)

_TREE_TIES = {
    check: (
        "Repeated rows get weight 1 where weighted rows get normalised fractional weights; the "
        "rounding breaks ties between equally good tree splits differently, which moves the "
        "predictions on rows of weight 0 (sklearn marks AdaBoostClassifier and "
        "AdaBoostRegressor the same way)."
    )
    for check in [
        "check_sample_weight_equivalence_on_dense_data",
        "check_sample_weight_equivalence_on_sparse_data",
    ]
}

# Checks that cannot hold for a given estimator, each with its reason.
EXPECTED_FAILED_CHECKS = {
    "TrAdaBoost": {
        "check_classifiers_classes": (
            "The check uses -1 as a class label, but y == -1 marks unlabelled target rows, "
            "which TrAdaBoost ignores with a warning: it never learns -1 as a class."
        ),
        **_TREE_TIES,
    },
    "TrAdaBoostR2": {
        "check_sample_weight_equivalence_on_dense_data": _TREE_TIES[
            "check_sample_weight_equivalence_on_dense_data"
        ],
    },
    "DANNClassifier": {
        "check_classifiers_classes": (
            "The check uses -1 as a class label, but y == -1 marks unlabelled target rows "
            "(scikit-learn's semi-supervised convention, which the domain convention of the "
            "library follows), so DANNClassifier sees a single labelled class."
        ),
        "check_methods_subset_invariance": _FLOAT32_BATCHES,
    },
    "FineTuneClassifier": {
        "check_methods_subset_invariance": _FLOAT32_BATCHES,
    },
    "LabelledOnlyClassifier": {
        "check_classifiers_classes": _UNLABELLED_MARKER,
    },
    "DomainAdaptationPipeline": {
        "check_classifiers_classes": _UNLABELLED_MARKER,
        **{
            check: (
                "A Pipeline fits the estimators of its steps parameter in place, so that "
                "named_steps gives the fitted steps; scikit-learn's Pipeline does the same."
            )
            for check in ["check_estimators_overwrite_params", "check_dont_overwrite_parameters"]
        },
    },
    "ImportanceWeightedClassifier": {
        "check_classifiers_classes": _UNLABELLED_MARKER,
    },
    "KLIEP": {
        "check_sample_weight_equivalence_on_dense_data": (
            "The check sets cv, for an estimator that has it, to a list of splits of all the "
            "rows; KLIEP's cv is the number of folds over the target rows of its likelihood "
            "cross-validation, and refuses a list. KLIEP's sample_weight equivalence is tested "
            "in test_importance_weighting.py (repeated and dropped rows)."
        ),
    },
}


def _public_estimators():
    found = {}
    for module_info in pkgutil.walk_packages(sktransfer.__path__, "sktransfer."):
        if any(part.startswith("_") for part in module_info.name.split(".")[1:]):
            continue
        module = import_module(module_info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found[name] = obj
    return [found[name] for name in sorted(found)]


ESTIMATORS = [cls(**INIT_PARAMS.get(cls.__name__, {})) for cls in _public_estimators()]


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


def test_estimators_are_found():
    assert "CNNCodeExtractor" in {type(est).__name__ for est in ESTIMATORS}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda est: type(est).__name__)
def test_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)


# scikit-learn's set_output and feature-name checks, which parametrize_with_checks does not yield.
OUTPUT_CHECKS = [
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_global_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    check_get_feature_names_out_error,
]


# The pandas checks fit on a DataFrame and transform an array, and the other way round, on
# purpose: the warnings this raises are those scikit-learn's own estimators raise too.
@pytest.mark.filterwarnings("ignore:X does not have valid feature names:UserWarning")
@pytest.mark.filterwarnings("ignore:X has feature names:UserWarning")
@pytest.mark.parametrize("check", OUTPUT_CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize(
    "estimator",
    [est for est in ESTIMATORS if hasattr(est, "transform")],
    ids=lambda est: type(est).__name__,
)
def test_transformers_follow_set_output_and_name_their_features(estimator, check):
    pytest.importorskip("pandas")
    check(type(estimator).__name__, clone(estimator))


def _count_params(estimator):
    """Parameters constrained to integers that take no boolean."""
    constraints = type(estimator)._parameter_constraints
    return [
        name
        for name, options in constraints.items()
        if any(isinstance(option, Integers) for option in options)
        and not any(option in ("boolean", bool) for option in options)
    ]


COUNT_PARAMS = [(estimator, name) for estimator in ESTIMATORS for name in _count_params(estimator)]


def test_every_estimator_with_counts_is_covered():
    # Catches a constraint written as scikit-learn's Interval(Integral, ...), which takes True.
    covered = {type(estimator).__name__ for estimator, _ in COUNT_PARAMS}
    assert {"TrAdaBoost", "KMM", "KLIEP", "TCA", "AttributeZeroShot", "DANNClassifier"} <= covered


@pytest.mark.parametrize(
    ("estimator", "param"),
    COUNT_PARAMS,
    ids=lambda value: value if isinstance(value, str) else type(value).__name__,
)
def test_a_boolean_is_refused_where_a_count_is_expected(estimator, param):
    # bool is an int to Python: n_estimators=True would silently mean 1.
    estimator = clone(estimator).set_params(**{param: True})
    X, y = np.random.default_rng(0).normal(size=(8, 3)), np.array([0, 1] * 4)
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter.*Got True"):
        estimator.fit(X, y)


@pytest.mark.parametrize(
    "estimator",
    [est for est in ESTIMATORS if is_classifier(est)],
    ids=lambda est: type(est).__name__,
)
def test_labels_of_mixed_types_are_refused_by_name(estimator):
    # NumPy cannot sort "one" and 1 into classes; its bare error named neither y nor the cause.
    X = np.random.default_rng(0).normal(size=(8, 3))
    y = np.array(["one", 1] * 4, dtype=object)
    with pytest.raises(TypeError, match=r"y mixes labels of types \['int', 'str'\]"):
        clone(estimator).fit(X, y)


@pytest.mark.parametrize(
    "estimator",
    [est for est in ESTIMATORS if hasattr(est, "transform")],
    ids=lambda est: type(est).__name__,
)
def test_preserves_dtype_tag_lists_the_float_dtypes_transform_keeps(estimator):
    # scikit-learn's check_transformer_preserve_dtypes tests only the dtypes the tag lists: a
    # transformer that kept float32 but did not say so was never checked for it.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 3)) + np.repeat([[0.0], [1.0]], 12, axis=0)
    y = np.array([0, 1] * 6 + [-1] * 12)  # the rows with y == -1 are the target rows
    kept = []
    for dtype in ("float64", "float32"):
        X_dtype = X.astype(dtype)
        fitted = clone(estimator).fit(X_dtype, y)
        out = [fitted.transform(X_dtype), clone(estimator).fit_transform(X_dtype, y)]
        if all(o.dtype == dtype for o in out):
            kept.append(dtype)
    tags = get_tags(estimator).transformer_tags
    assert sorted(tags.preserves_dtype) == sorted(kept)
