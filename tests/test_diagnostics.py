"""The proxy A-distance: near 0 for one distribution, near 2 for separable domains."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from sktransfer.domain_adaptation import proxy_a_distance


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1, user_api="blas"):
        yield


def test_identical_distributions_are_close():
    rng = np.random.RandomState(0)
    distance = proxy_a_distance(
        rng.normal(size=(300, 5)), rng.normal(size=(300, 5)), random_state=0
    )
    assert 0.0 <= distance < 0.3


def test_separable_domains_are_far_apart():
    rng = np.random.RandomState(0)
    distance = proxy_a_distance(
        rng.normal(size=(200, 5)), rng.normal(4.0, 1.0, size=(200, 5)), random_state=0
    )
    assert distance > 1.9


def test_distance_grows_with_the_shift():
    rng = np.random.RandomState(1)
    source = rng.normal(size=(300, 4))
    distances = [
        proxy_a_distance(source, rng.normal(shift, 1.0, size=(300, 4)), random_state=0)
        for shift in (0.0, 0.5, 1.0, 3.0)
    ]
    assert distances == sorted(distances)
    assert distances[-1] - distances[0] > 1.5


def test_unequal_domain_sizes_do_not_fake_a_distance():
    # A classifier answering "source" everywhere is right on 90% of these rows; the balanced
    # error still reads it as chance.
    rng = np.random.RandomState(2)
    distance = proxy_a_distance(rng.normal(size=(450, 3)), rng.normal(size=(50, 3)), random_state=0)
    assert distance < 0.3


def test_custom_estimator_and_determinism():
    rng = np.random.RandomState(3)
    Xs, Xt = rng.normal(size=(100, 3)), rng.normal(0.7, 1.0, size=(100, 3))
    first = proxy_a_distance(Xs, Xt, estimator=LinearSVC(), cv=3, random_state=0)
    second = proxy_a_distance(Xs, Xt, estimator=LinearSVC(), cv=3, random_state=0)
    assert first == second
    assert 0.0 < first <= 2.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"X_target": np.zeros((20, 4))}, "X_source has 3 features but X_target has 4"),
        ({"cv": 1}, "cv == 1, must be >= 2"),
        ({"X_target": np.zeros((3, 3))}, "X_target has 3 rows, fewer than the cv=5 folds"),
    ],
)
def test_bad_input_is_refused(kwargs, match):
    arguments = {"X_source": np.zeros((20, 3)), "X_target": np.ones((20, 3)), **kwargs}
    with pytest.raises(ValueError, match=match):
        proxy_a_distance(**arguments)


@pytest.mark.parametrize(
    "estimator, message",
    [
        (Ridge(), "estimator must be a classifier of the domain"),
        ("logistic", "'estimator' parameter of proxy_a_distance must be an object implementing"),
        (object(), "'estimator' parameter of proxy_a_distance must be an object implementing"),
    ],
    ids=["regressor", "string", "object"],
)
def test_an_estimator_that_is_not_a_classifier_is_refused_by_name(estimator, message):
    rng = np.random.RandomState(0)
    with pytest.raises(TypeError, match=message):
        proxy_a_distance(rng.normal(size=(20, 2)), rng.normal(size=(20, 2)), estimator=estimator)


def test_a_bad_random_state_is_named():
    # NumPy's 'Seed must be between 0 and 2**32 - 1' named no parameter.
    rng = np.random.RandomState(0)
    with pytest.raises(ValueError, match="random_state"):
        proxy_a_distance(rng.normal(size=(20, 2)), rng.normal(size=(20, 2)), random_state=-1)


def test_dataframe_columns_are_matched_by_name():
    # Matched by position, the same distribution with its columns in another order gave 2.0.
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    A = pd.DataFrame(rng.normal(size=(200, 2)) * [1.0, 10.0], columns=["age", "income"])
    B = pd.DataFrame(rng.normal(size=(200, 2)) * [1.0, 10.0], columns=["age", "income"])
    in_order = proxy_a_distance(A, B, random_state=0)
    assert proxy_a_distance(A, B[["income", "age"]], random_state=0) == in_order < 0.5
    with pytest.raises(ValueError, match="same columns"):
        proxy_a_distance(A, B.set_axis(["x", "y"], axis=1), random_state=0)
