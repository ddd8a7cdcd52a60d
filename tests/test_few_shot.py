"""Few-shot learning: prototypes."""

import pickle

import numpy as np
import pytest
from scipy.special import softmax

from sktransfer.few_shot import PrototypeClassifier


def _unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


# PrototypeClassifier


def test_prototypes_are_the_class_means():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(30, 4)), np.repeat(["b", "a", "c"], 10)
    raw = PrototypeClassifier(normalize=False).fit(X, y)
    np.testing.assert_array_equal(raw.classes_, ["a", "b", "c"])
    np.testing.assert_allclose(raw.prototypes_, [X[y == c].mean(axis=0) for c in "abc"])
    np.testing.assert_array_equal(raw.class_count_, [10, 10, 10])
    # SimpleShot's CL2N: centred on the given mean, each row at unit length, then averaged.
    center = rng.normal(size=4)
    cl2n = PrototypeClassifier(center=center).fit(X, y)
    np.testing.assert_allclose(
        cl2n.prototypes_, [_unit(X[y == c] - center).mean(axis=0) for c in "abc"]
    )
    support = PrototypeClassifier(center="support").fit(X, y)
    np.testing.assert_allclose(support.center_, X.mean(axis=0))


def test_predictions_follow_the_nearest_prototype_and_the_softmax():
    rng = np.random.RandomState(1)
    X, y = rng.normal(size=(40, 5)), np.repeat([0, 1, 2, 3], 10)
    X_test = rng.normal(size=(7, 5))
    model = PrototypeClassifier(temperature=0.5).fit(X, y)
    distances = ((_unit(X_test)[:, None, :] - model.prototypes_[None]) ** 2).sum(axis=2)
    np.testing.assert_allclose(model.decision_function(X_test), -distances, atol=1e-12)
    np.testing.assert_allclose(model.predict_proba(X_test), softmax(-distances / 0.5, axis=1))
    np.testing.assert_array_equal(model.predict(X_test), np.argmin(distances, axis=1))
    # The temperature sharpens the probabilities, never changes the predictions.
    cold = PrototypeClassifier(temperature=0.01).fit(X, y)
    np.testing.assert_array_equal(cold.predict(X_test), model.predict(X_test))
    assert cold.predict_proba(X_test).max(axis=1).min() > model.predict_proba(X_test).max(1).min()


def test_cosine_ignores_the_length_of_a_prototype_and_euclidean_does_not():
    # A far class along the x axis, a near one on the diagonal; the query points along x.
    X = np.array([[10.0, 0.0], [12.0, 0.0], [1.0, 1.0], [1.2, 1.0]])
    y = np.array(["far", "far", "near", "near"])
    query = [[2.0, 0.1]]
    euclidean = PrototypeClassifier(metric="euclidean", normalize=False).fit(X, y)
    cosine = PrototypeClassifier(metric="cosine", normalize=False).fit(X, y)
    assert euclidean.predict(query)[0] == "near"
    assert cosine.predict(query)[0] == "far"
    # Two classes: the score of the second ("near") minus that of the first ("far").
    angle = np.arctan2(0.1, 2.0)
    np.testing.assert_allclose(
        cosine.decision_function(query), np.cos(np.arctan2(1.0, 1.1) - angle) - np.cos(angle)
    )


@pytest.mark.parametrize("center", [None, "array"])
@pytest.mark.parametrize("normalize", [True, False])
def test_partial_fit_equals_fit_on_the_union(center, normalize):
    rng = np.random.RandomState(2)
    X, y = rng.normal(size=(60, 6)), rng.choice([3, 5, 7, 9], size=60)
    if center == "array":
        center = rng.normal(size=6)
    whole = PrototypeClassifier(center=center, normalize=normalize).fit(X, y)
    # Class 3, the smallest label, arrives last: classes_ stays sorted.
    order = np.argsort(y == 3, kind="stable")
    X, y = X[order], y[order]
    parts = PrototypeClassifier(center=center, normalize=normalize)
    for rows in np.array_split(np.arange(60), [7, 30, 45]):
        parts.partial_fit(X[rows], y[rows])
    np.testing.assert_array_equal(parts.classes_, whole.classes_)
    np.testing.assert_array_equal(parts.class_count_, whole.class_count_)
    np.testing.assert_allclose(parts.prototypes_, whole.prototypes_)
    np.testing.assert_allclose(parts.predict_proba(X), whole.predict_proba(X))


def test_partial_fit_adds_a_class_without_moving_the_others():
    rng = np.random.RandomState(3)
    X, y = rng.normal(size=(20, 3)), np.repeat(["b", "c"], 10)
    model = PrototypeClassifier(center="support").fit(X, y)
    before, center = model.prototypes_.copy(), model.center_.copy()
    model.partial_fit(rng.normal(size=(2, 3)) + 5, ["a", "a"])
    np.testing.assert_array_equal(model.classes_, ["a", "b", "c"])
    np.testing.assert_array_equal(model.prototypes_[1:], before)
    np.testing.assert_array_equal(model.center_, center)
    assert model.predict([[5.0, 5.0, 5.0]])[0] == "a"


def test_refusals_name_the_problem():
    X, y = np.eye(4), [0, 0, 1, 1]
    with pytest.raises(ValueError, match=r"center has shape \(3,\), but X has 4 features"):
        PrototypeClassifier(center=np.zeros(3)).fit(X, y)
    with pytest.raises(ValueError, match="center holds NaN"):
        PrototypeClassifier(center=[0, np.nan, 0, 0]).fit(X, y)
    with pytest.raises(ValueError, match="'metric' parameter"):
        PrototypeClassifier(metric="manhattan").fit(X, y)
    with pytest.raises(ValueError, match="'temperature' parameter"):
        PrototypeClassifier(temperature=0).fit(X, y)
    model = PrototypeClassifier().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features"):
        model.partial_fit(np.eye(3), [0, 1, 2])
    with pytest.raises(ValueError, match=r"not in classes: \[2\]"):
        model.partial_fit(X[:2], [1, 2], classes=[0, 1])


def test_a_fitted_model_pickles():
    X, y = np.random.RandomState(4).normal(size=(12, 3)), np.repeat([0, 1, 2], 4)
    model = PrototypeClassifier(metric="cosine", center="support").fit(X, y)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict_proba(X), model.predict_proba(X))
    copy.partial_fit(X[:1] + 3, [7])
    assert copy.classes_.tolist() == [0, 1, 2, 7] and model.classes_.tolist() == [0, 1, 2]
