import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer.zero_shot import (
    ClassHoldoutSplit,
    EmbeddingZeroShot,
    harmonic_mean_scorer,
    per_class_accuracy_score,
    per_class_accuracy_scorer,
)
from sktransfer.zero_shot._embedding_zero_shot import _RankingNet

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = {"max_epochs": 20, "random_state": 0, "device": "cpu"}


def _problem(n_per_class=30, noise=0.5, seed=0):
    """Sixteen classes, each a random continuous vector of 6 attributes; 12 seen, 4 unseen.

    The image features are a fixed random linear mix of the attributes (20 features) plus
    noise: what an image shows is its class's description, seen through an unknown map that
    the two networks must learn from the seen classes alone.
    """
    rng = np.random.default_rng(1)
    names = [f"c{i}" for i in range(12)] + ["u0", "u1", "u2", "u3"]
    table = pd.DataFrame(rng.normal(size=(16, 6)), index=names)
    mixing = rng.normal(size=(6, 20))
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.asarray(names), n_per_class)
    X = table.loc[labels].to_numpy() @ mixing + rng.normal(0, noise, (len(labels), 20))
    seen = np.isin(labels, names[:12])
    return table, X[seen], labels[seen], X[~seen], labels[~seen]


def test_unseen_classes_are_recognised_well_above_chance():
    table, X, y, X_unseen, y_unseen = _problem()
    zsl = make_pipeline(StandardScaler(), EmbeddingZeroShot(table, **FAST)).fit(X, y)

    assert zsl.classes_.tolist() == ["u0", "u1", "u2", "u3"]
    # Chance is 0.25 among the four unseen classes; the same networks barely trained are there.
    assert per_class_accuracy_score(y_unseen, zsl.predict(X_unseen)) >= 0.8
    untrained = clone(zsl).set_params(embeddingzeroshot__max_epochs=1, embeddingzeroshot__lr=1e-6)
    assert per_class_accuracy_score(y_unseen, untrained.fit(X, y).predict(X_unseen)) <= 0.5


def test_training_lowers_the_ranking_loss_and_separates_the_seen_classes():
    table, X, y, _, _ = _problem()
    zsl = EmbeddingZeroShot(table, candidates="seen", **FAST).fit(X, y)
    losses = zsl.net_.history[:, "train_loss"]

    assert losses[-1] < 0.3 * losses[0]
    assert np.mean(zsl.predict(X) == y) >= 0.9


def test_losses_read_once_per_epoch_give_the_same_history(monkeypatch):
    # On CUDA the ranking net reads its losses back once per epoch, not after every step.
    table, X, y, _, _ = _problem(n_per_class=10)
    params = {**FAST, "max_epochs": 3, "batch_size": 16}
    per_step = EmbeddingZeroShot(table, **params).fit(X, y)
    monkeypatch.setattr(_RankingNet, "_defer_losses", lambda net: True)
    per_epoch = EmbeddingZeroShot(table, **params).fit(X, y)
    assert per_epoch.net_.history[:, "train_loss"] == per_step.net_.history[:, "train_loss"]
    assert per_epoch.net_.history[-1, "batches", -1, "train_loss"] == pytest.approx(
        per_step.net_.history[-1, "batches", -1, "train_loss"]
    )


def test_same_random_state_same_model_and_a_different_one_differs():
    table, X, y, X_unseen, _ = _problem(n_per_class=10)
    first = EmbeddingZeroShot(table, **FAST).fit(X, y)
    second = EmbeddingZeroShot(table, **FAST).fit(X, y)
    other = EmbeddingZeroShot(table, **{**FAST, "random_state": 1}).fit(X, y)

    np.testing.assert_array_equal(
        first.decision_function(X_unseen), second.decision_function(X_unseen)
    )
    assert not np.allclose(first.decision_function(X_unseen), other.decision_function(X_unseen))


def test_torch_global_rng_is_left_alone():
    table, X, y, _, _ = _problem(n_per_class=5)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    zsl = EmbeddingZeroShot(table, **{**FAST, "max_epochs": 2}).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)
    # Nor do the methods of the fitted model.
    torch.manual_seed(123)
    zsl.predict(X), zsl.predict_proba(X), zsl.decision_function(X), zsl.embed(X)
    torch.testing.assert_close(torch.rand(3), expected)


def test_fitted_model_pickles():
    table, X, y, X_unseen, _ = _problem(n_per_class=10)
    zsl = EmbeddingZeroShot(table, **FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(zsl))

    np.testing.assert_array_equal(restored.predict(X_unseen), zsl.predict(X_unseen))
    np.testing.assert_allclose(
        restored.decision_function(X_unseen), zsl.decision_function(X_unseen)
    )


def test_scores_are_cosines_of_the_two_embeddings():
    table, X, y, X_unseen, _ = _problem(n_per_class=10)
    zsl = EmbeddingZeroShot(table, candidates="all", **FAST).fit(X, y)
    images = zsl.embed(X_unseen)

    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(zsl.class_embeddings_, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(
        zsl.decision_function(X_unseen), images @ zsl.class_embeddings_.T, rtol=1e-5, atol=1e-6
    )
    assert zsl.class_embeddings_.shape == (16, zsl.embedding_dim)


def test_calibration_and_temperature():
    table, X, y, X_unseen, _ = _problem(n_per_class=10)
    plain = EmbeddingZeroShot(table, candidates="all", **FAST).fit(X, y)
    shifted = clone(plain).set_params(calibration=0.3, temperature=0.5).fit(X, y)
    seen = np.isin(plain.classes_, plain.seen_classes_)

    difference = plain.decision_function(X_unseen) - shifted.decision_function(X_unseen)
    np.testing.assert_allclose(difference[:, seen], 0.3, atol=1e-9)
    np.testing.assert_allclose(difference[:, ~seen], 0.0, atol=1e-9)
    proba = shifted.predict_proba(X_unseen)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(shifted.classes_[proba.argmax(axis=1)], shifted.predict(X_unseen))
    # A large calibration hands every image to an unseen class.
    huge = clone(plain).set_params(calibration=10.0).fit(X, y)
    assert not np.isin(huge.predict(X_unseen), huge.seen_classes_).any()


def test_fit_does_not_depend_on_the_candidates():
    table, X, y, X_unseen, _ = _problem(n_per_class=10)
    unseen = EmbeddingZeroShot(table, **FAST).fit(X, y)
    every = EmbeddingZeroShot(table, candidates="all", **FAST).fit(X, y)
    columns = np.isin(every.classes_, unseen.classes_)

    np.testing.assert_allclose(
        every.decision_function(X_unseen)[:, columns], unseen.decision_function(X_unseen)
    )


def test_dot_similarity_and_hidden_layers_in_both_networks():
    table, X, y, X_unseen, y_unseen = _problem()
    zsl = EmbeddingZeroShot(
        table,
        similarity="dot",
        class_hidden_layer_sizes=(32,),
        image_hidden_layer_sizes=[64, 32],
        embedding_dim=16,
        **FAST,
    )
    zsl = make_pipeline(StandardScaler(), zsl).fit(X, y)

    assert zsl[-1].embed(X_unseen[:3]).shape == (3, 16)
    assert per_class_accuracy_score(y_unseen, zsl.predict(X_unseen)) >= 0.6


def test_class_disjoint_grid_search_and_harmonic_mean_folds():
    table, X, y, _, _ = _problem(n_per_class=10)
    pipe = make_pipeline(StandardScaler(), EmbeddingZeroShot(table, **FAST))
    search = GridSearchCV(
        pipe,
        {"embeddingzeroshot__margin": [0.1, 0.3]},
        cv=GroupKFold(n_splits=3),
        scoring=per_class_accuracy_scorer,
        refit=False,
    ).fit(X, y, groups=y)
    assert np.all(search.cv_results_["mean_test_score"] > 0.5)

    pipe.set_params(embeddingzeroshot__candidates="all")
    search = GridSearchCV(
        pipe,
        {"embeddingzeroshot__calibration": [0.0, 0.2]},
        cv=ClassHoldoutSplit(n_splits=2, n_unseen=2, random_state=0),
        scoring=harmonic_mean_scorer,
        refit=False,
    ).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


@pytest.mark.parametrize("scorer", [harmonic_mean_scorer, per_class_accuracy_scorer])
def test_scorers_warn_when_seen_classes_cannot_be_predicted(scorer):
    """Before: the scorers found no warning on this model and scored 0 without a word."""
    table, X, y, _, _ = _problem(n_per_class=5)
    pipe = make_pipeline(StandardScaler(), EmbeddingZeroShot(table, max_epochs=2, random_state=0))
    cv = ClassHoldoutSplit(n_splits=1, n_unseen=2, random_state=0)
    with pytest.warns(UserWarning, match=r"seen classes.*candidates='all'"):
        cross_val_score(pipe, X, y, cv=cv, scoring=scorer, error_score="raise")


@pytest.mark.parametrize(
    "params, labels, error, message",
    [
        ({}, ["c0", "c1", "zebra"], ValueError, r"not rows of class_attributes: \['zebra'\]"),
        ({}, ["c0"] * 3, ValueError, "at least 2 seen classes"),
        ({"candidates": ["u0", "okapi"]}, ["c0", "c1", "c2"], ValueError, r"\['okapi'\]"),
        # An empty list was said to hold classes "not in the table: []".
        ({"candidates": []}, ["c0", "c1", "c2"], ValueError, "candidates is empty"),
        ({"image_hidden_layer_sizes": (8, 0)}, ["c0", "c1", "c2"], ValueError, "positive"),
        ({"device": "cuda:7"}, ["c0", "c1", "c2"], ValueError, "device='cuda:7'"),
        ({"callbacks": ["x"]}, ["c0", "c1", "c2"], TypeError, "callbacks must hold"),
    ],
)
def test_bad_inputs_are_refused_and_leave_no_fitted_state(params, labels, error, message):
    table, X, _, _, _ = _problem(n_per_class=1)
    zsl = EmbeddingZeroShot(table, **params)
    with pytest.raises(error, match=message):
        zsl.fit(X[:3], labels)
    assert not [key for key in vars(zsl) if key.endswith("_")]
    with pytest.raises(NotFittedError):
        zsl.predict(X[:1])


def test_identical_candidate_rows_are_refused():
    X, y = np.random.default_rng(0).normal(size=(4, 2)), ["a", "a", "b", "b"]
    table = {"a": [1, 0], "b": [0, 1], "c": [1, 1], "d": [1, 1]}
    with pytest.raises(ValueError, match=r"class network cannot tell.*\['c', 'd'\]"):
        EmbeddingZeroShot(table).fit(X, y)


def test_a_failed_refit_keeps_the_previous_model():
    table, X, y, X_unseen, _ = _problem(n_per_class=5)
    zsl = EmbeddingZeroShot(table, **{**FAST, "max_epochs": 2}).fit(X, y)
    before = zsl.decision_function(X_unseen)
    with pytest.raises(ValueError, match="zebra"):
        zsl.fit(X[:3], ["c0", "c1", "zebra"])
    np.testing.assert_array_equal(zsl.decision_function(X_unseen), before)


def test_precision_is_that_of_the_network_base_predictions():
    # Image embeddings run through the base's inference loop: precision="bfloat16" moves them
    # in the third significant digit, and the float32 default on the CPU is exact.
    table, X, y, X_unseen, _ = _problem()
    exact = EmbeddingZeroShot(table, **FAST).fit(X, y)
    half = clone(exact).set_params(precision="bfloat16").fit(X, y)
    full_embedding, half_embedding = exact.embed(X_unseen), half.embed(X_unseen)
    assert not np.array_equal(full_embedding, half_embedding)
    relative = np.abs(full_embedding - half_embedding).max() / np.abs(full_embedding).max()
    assert relative < 0.05
    assert np.mean(exact.predict(X_unseen) == half.predict(X_unseen)) >= 0.9
