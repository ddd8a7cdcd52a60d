"""Few-shot learning: prototypes, episodes as CV folds, intervals, base/novel scores, imprinting."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from scipy.special import softmax
from scipy.stats import t as student_t
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate
from threadpoolctl import threadpool_limits

from sktransfer.few_shot import (
    FewShotSplit,
    PrototypeClassifier,
    base_novel_accuracy,
    mean_confidence_interval,
)
from sktransfer.fine_tuning import FineTuneClassifier


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


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


@pytest.mark.parametrize("scale", [1e-200, 1e160, 1e300])
@pytest.mark.parametrize(
    "params",
    [{"normalize": False}, {"normalize": True}, {"metric": "cosine", "normalize": False}],
)
def test_predictions_do_not_depend_on_the_scale_of_the_embeddings(params, scale):
    # Squares of 1e160 overflowed (NaN probabilities), of 1e-200 underflowed (tied scores).
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2, 3], 5)
    X = rng.normal(size=(20, 4)) + 2.0 * y[:, None]
    X_test = rng.normal(size=(40, 4)) + 2.0 * np.repeat([0, 1, 2, 3], 10)[:, None]
    unscaled = PrototypeClassifier(**params).fit(X, y)
    scaled = PrototypeClassifier(**params).fit(X * scale, y)
    np.testing.assert_array_equal(scaled.predict(X_test * scale), unscaled.predict(X_test))
    proba = scaled.predict_proba(X_test * scale)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    if params.get("normalize") or params.get("metric") == "cosine":
        np.testing.assert_allclose(proba, unscaled.predict_proba(X_test), rtol=1e-12)
    elif scale > 1:  # distances grow by scale ** 2: all the mass on the nearest prototype
        np.testing.assert_array_equal(proba.argmax(axis=1), unscaled.predict(X_test))
        np.testing.assert_allclose(proba.max(axis=1), 1.0)
    else:  # and shrink below float64's smallest: every class as likely
        np.testing.assert_allclose(proba, 0.25)


def test_distances_too_large_for_float64_are_refused_by_decision_function():
    X, y = np.eye(4) * 1e160, [0, 0, 1, 1]
    model = PrototypeClassifier(normalize=False).fit(X, y)
    with pytest.raises(ValueError, match="squared distances overflow float64"):
        model.decision_function(X)


def test_labels_of_mixed_types_are_refused_by_name():
    with pytest.raises(TypeError, match=r"y mixes labels of types \['NoneType', 'str'\]"):
        PrototypeClassifier().fit(np.eye(4), np.array(["a", None, "b", "a"], dtype=object))


@pytest.mark.parametrize(
    "y, error, match",
    [
        (np.r_[np.repeat([0.0, 1.0, 2.0], 4), np.nan], ValueError, r"y holds NaN at rows \[12\]"),
        (
            np.array(["a", 1, "b"] * 4, dtype=object),
            TypeError,
            r"y mixes labels of types \['int', 'str'\]",
        ),
    ],
    ids=["nan", "mixed"],
)
def test_few_shot_split_refuses_labels_that_are_no_classes(y, error, match):
    """Before: NaN rows were a class of the episodes, and mixed labels failed in NumPy."""
    cv = FewShotSplit(n_way=2, n_shot=1, n_query=1, n_episodes=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(error, match=match):
            next(cv.split(y, y))


def test_partial_fit_refuses_labels_of_another_kind():
    model = PrototypeClassifier().fit(np.eye(4), [0, 0, 1, 1])
    with pytest.raises(
        ValueError,
        match=r"y holds labels of dtype <U1, such as 'a', but classes_ labels of dtype int",
    ):
        model.partial_fit(np.eye(4)[:2], ["a", "b"])
    np.testing.assert_array_equal(model.classes_, [0, 1])
    model.partial_fit(np.eye(4)[:1], [2.0])  # another number type is still a number
    assert model.predict(np.eye(4)[:1])[0] == 2


@pytest.mark.parametrize("fit", ["fit", "partial_fit"])
@pytest.mark.parametrize(
    ("params", "y", "match"),
    [
        ({}, [0.5, 1.5, 2.5, 3.5], "Unknown label type: continuous"),
        ({"center": np.zeros(3)}, [0, 0, 1, 1], r"center has shape \(3,\)"),
    ],
)
def test_a_failed_first_fit_leaves_the_model_unfitted(fit, params, y, match):
    model = PrototypeClassifier(**params)
    with pytest.raises(ValueError, match=match):
        getattr(model, fit)(np.eye(4), y)
    assert not [key for key in vars(model) if key.endswith("_")]
    with pytest.raises(NotFittedError):
        model.predict(np.eye(4))


def test_a_fitted_model_pickles():
    X, y = np.random.RandomState(4).normal(size=(12, 3)), np.repeat([0, 1, 2], 4)
    model = PrototypeClassifier(metric="cosine", center="support").fit(X, y)
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copy.predict_proba(X), model.predict_proba(X))
    copy.partial_fit(X[:1] + 3, [7])
    assert copy.classes_.tolist() == [0, 1, 2, 7] and model.classes_.tolist() == [0, 1, 2]


def test_partial_fit_updates_a_model_loaded_read_only(tmp_path):
    # joblib.load(..., mmap_mode="r") gives read-only prototypes_; they were updated in place,
    # and adding rows of a known class failed with "assignment destination is read-only".
    X, y = np.random.RandomState(5).normal(size=(24, 3)), np.repeat([0, 1, 2], 8)
    joblib.dump(PrototypeClassifier().partial_fit(X[::2], y[::2]), tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    assert not loaded.prototypes_.flags.writeable
    loaded.partial_fit(X[1::2], y[1::2])
    whole = PrototypeClassifier().fit(X, y)
    np.testing.assert_array_equal(loaded.class_count_, whole.class_count_)
    np.testing.assert_allclose(loaded.prototypes_, whole.prototypes_)


# FewShotSplit


def test_episodes_hold_n_way_classes_with_n_shot_and_n_query_rows_each():
    y = np.repeat(np.arange(8), 12)
    cv = FewShotSplit(n_way=3, n_shot=2, n_query=5, n_episodes=20, random_state=0)
    assert cv.get_n_splits() == 20
    episodes = list(cv.split(np.zeros((len(y), 1)), y))
    assert len(episodes) == 20
    for train, test in episodes:
        assert not np.intersect1d(train, test).size
        classes, shots = np.unique(y[train], return_counts=True)
        assert len(classes) == 3 and (shots == 2).all()
        query_classes, queries = np.unique(y[test], return_counts=True)
        np.testing.assert_array_equal(query_classes, classes)
        assert (queries == 5).all()
    # Episodes differ from one another.
    assert len({tuple(train) for train, _ in episodes}) == 20


def test_episodes_are_deterministic_given_random_state():
    y = np.repeat(np.arange(6), 10)

    def episodes(seed):
        cv = FewShotSplit(n_way=4, n_shot=1, n_query=3, n_episodes=5, random_state=seed)
        return [np.concatenate(fold) for fold in cv.split(y, y)]

    np.testing.assert_array_equal(episodes(0), episodes(0))
    assert not np.array_equal(episodes(0), episodes(1))


def test_impossible_episodes_are_refused():
    y = np.array([0] * 10 + [1] * 10 + [2] * 3)
    with pytest.raises(ValueError, match=r"n_way=4 asks for more classes .* \(3\)"):
        next(FewShotSplit(n_way=4, n_shot=1, n_query=1).split(y, y))
    with pytest.raises(ValueError, match=r"Class 2 has 3 rows, fewer than n_shot \+ n_query"):
        next(FewShotSplit(n_way=2, n_shot=1, n_query=5).split(y, y))
    with pytest.raises(ValueError, match="n_shot must be an int of at least 1, got 0"):
        next(FewShotSplit(n_way=2, n_shot=0).split(y, y))
    with pytest.raises(ValueError, match="n_way must be an int of at least 2"):
        next(FewShotSplit(n_way=1).split(y, y))
    with pytest.raises(ValueError, match="needs y"):
        next(FewShotSplit(n_way=2).split(y))
    # Before: get_n_splits returned 0 unchecked, and cross_validate then ran no fold.
    with pytest.raises(ValueError, match="n_episodes must be an int of at least 1, got 0"):
        FewShotSplit(n_episodes=0).get_n_splits()


def test_episodes_as_cv_in_cross_validate_and_grid_search(digits):
    X, y = digits
    cv = FewShotSplit(n_way=5, n_shot=1, n_query=10, n_episodes=10, random_state=0)
    result = cross_validate(PrototypeClassifier(), X, y, cv=cv)
    assert len(result["test_score"]) == 10
    assert result["test_score"].mean() > 0.5  # chance is 0.2
    # The temperature changes only the probabilities: a search on the log loss picks it.
    search = GridSearchCV(
        PrototypeClassifier(), {"temperature": [0.01, 0.1, 10.0]}, cv=cv, scoring="neg_log_loss"
    ).fit(X, y)
    assert search.best_params_ == {"temperature": 0.1}
    assert search.best_estimator_.classes_.tolist() == list(range(10))


def test_searches_over_episodes_repeat_and_refuse_impossible_episodes(digits):
    X, y = digits
    cv = FewShotSplit(n_way=3, n_shot=2, n_query=5, n_episodes=6, random_state=7)
    grid = {"metric": ["euclidean", "cosine"], "temperature": [0.05, 0.5]}

    def search():
        return GridSearchCV(PrototypeClassifier(), grid, cv=cv, scoring="neg_log_loss").fit(X, y)

    first, second = search(), search()
    for key in ["mean_test_score", *(f"split{i}_test_score" for i in range(6))]:
        np.testing.assert_array_equal(first.cv_results_[key], second.cv_results_[key])
    # Another seed draws other episodes, hence other scores.
    other = cross_validate(PrototypeClassifier(), X, y, cv=FewShotSplit(3, 2, 5, 6, 8))
    again = cross_validate(PrototypeClassifier(), X, y, cv=FewShotSplit(3, 2, 5, 6, 8))
    np.testing.assert_array_equal(other["test_score"], again["test_score"])
    assert not np.array_equal(
        other["test_score"], cross_validate(PrototypeClassifier(), X, y, cv=cv)["test_score"]
    )
    # The splitter's refusals reach the user unchanged through the model-selection tools.
    few = y < 4
    with pytest.raises(ValueError, match=r"n_way=5 asks for more classes .* \(4\)"):
        cross_validate(PrototypeClassifier(), X[few], y[few], cv=FewShotSplit(n_way=5))
    with pytest.raises(ValueError, match=r"Class 0 has 178 rows, fewer than n_shot \+ n_query"):
        GridSearchCV(PrototypeClassifier(), grid, cv=FewShotSplit(n_shot=100, n_query=100)).fit(
            X, y
        )


def test_prototypes_beat_logistic_regression_at_one_shot_on_digits(digits):
    # SimpleShot's claim on a fixed seed: centred on the mean of the base digits (0-4), the
    # nearest prototype beats logistic regression on the same single shots of the novel
    # digits (5-9), episode for episode on average. The margin is small (about 1 point).
    X, y = digits
    base = y < 5
    cv = FewShotSplit(n_way=5, n_shot=1, n_query=15, n_episodes=50, random_state=0)
    with threadpool_limits(1):
        prototype = cross_val_score(
            PrototypeClassifier(center=X[base].mean(axis=0)), X[~base], y[~base], cv=cv
        )
        logistic = cross_val_score(LogisticRegression(), X[~base], y[~base], cv=cv)
    difference, half_width = mean_confidence_interval(prototype - logistic)
    assert prototype.mean() > 0.6
    assert difference > 0


# Intervals and generalised few-shot scores


def test_mean_confidence_interval_is_the_student_t_interval():
    """Before: the normal quantile 1.96 at every n, 38% too narrow over 4 episodes."""
    scores = np.random.RandomState(5).uniform(size=600)
    mean, half = mean_confidence_interval(scores)
    assert mean == pytest.approx(scores.mean())
    assert half == pytest.approx(1.963932 * scores.std(ddof=1) / np.sqrt(600))
    _, wider = mean_confidence_interval(scores, level=0.99)
    assert wider == pytest.approx(2.584062 * scores.std(ddof=1) / np.sqrt(600))
    four = [0.6, 0.8, 0.7, 0.9]
    _, half = mean_confidence_interval(four)
    assert half == pytest.approx(3.182446 * np.std(four, ddof=1) / 2)
    with pytest.raises(ValueError, match="at least 2 episodes"):
        mean_confidence_interval([0.5])
    with pytest.raises(ValueError, match=r"level must be in \(0, 1\)"):
        mean_confidence_interval([0.5, 0.6], level=95)


def test_mean_confidence_interval_names_scores_for_a_table_of_scores():
    # column_or_1d's message said "y should be a 1d array", naming no parameter of this one.
    with pytest.raises(ValueError, match=r"scores must be a 1d array .* shape \(2, 2\)"):
        mean_confidence_interval([[0.6, 0.8], [0.7, 0.9]])
    # A column of scores is still one score per episode.
    assert mean_confidence_interval([[0.6], [0.8], [0.7], [0.9]]) == mean_confidence_interval(
        [0.6, 0.8, 0.7, 0.9]
    )


def test_base_novel_accuracy_of_a_model_extended_by_partial_fit(digits):
    X, y = digits
    rng = np.random.RandomState(0)
    test = rng.uniform(size=len(y)) < 0.3
    base = y < 7
    model = PrototypeClassifier().fit(X[base & ~test], y[base & ~test])
    # Three novel digits, five shots each, added to the fitted base model.
    shots = np.concatenate([np.flatnonzero((y == k) & ~test)[:5] for k in (7, 8, 9)])
    model.partial_fit(X[shots], y[shots])
    scores = base_novel_accuracy(y[test], model.predict(X[test]), base_classes=range(7))
    assert set(scores) == {"novel", "base", "harmonic_mean"}
    # Five shots make weaker prototypes than hundreds: the novel digits score lower.
    assert scores["base"] > 0.85 and 0.4 < scores["novel"] < scores["base"]
    novel, base_score = scores["novel"], scores["base"]
    assert scores["harmonic_mean"] == pytest.approx(2 * novel * base_score / (novel + base_score))


@pytest.mark.parametrize(
    "base_classes, match",
    [
        ("a", "base_classes must be a 1-D array-like of the classes learned from many rows"),
        ([0, 1], "but base_classes labels of dtype"),
        (["a", "b", "c"], "no row of a novel class: generalised few-shot evaluation needs"),
        (["z"], "no row of a base class: generalised few-shot evaluation needs test rows of base"),
    ],
)
def test_base_novel_accuracy_errors_name_base_classes(base_classes, match):
    """Before: they named seen_classes, a parameter of the zero-shot score it calls."""
    with pytest.raises(ValueError, match=match) as error:
        base_novel_accuracy(["a", "b", "c"], ["a", "b", "c"], base_classes=base_classes)
    assert "seen" not in str(error.value) and "zero-shot" not in str(error.value)


# Imprinted heads (FineTuneClassifier(head_init="imprint"))


def _cpu_features(clf, X):
    return clf.prefix_.encode(X, batch_size=64, device=torch.device("cpu"))


def test_an_imprinted_head_starts_as_the_cosine_nearest_class_mean(digits):
    X, y = digits
    X = (X / 16).astype(np.float32)
    rng = np.random.RandomState(0)
    shots = np.concatenate(
        [rng.choice(np.flatnonzero(y == k), 5, replace=False) for k in range(10)]
    )
    test = np.setdiff1d(np.arange(len(y)), shots)
    # The head alone trains, at a rate that leaves it where it started.
    params = dict(freeze_depth="all", lr=1e-12, max_epochs=1, random_state=0, device="cpu")
    imprinted = FineTuneClassifier("toy_mlp", head_init="imprint", **params).fit(X[shots], y[shots])
    head = imprinted.net_.module_.head
    prototypes = PrototypeClassifier(metric="cosine").fit(
        _cpu_features(imprinted, X[shots]), y[shots]
    )
    np.testing.assert_allclose(
        head.weight.detach().numpy(), _unit(prototypes.prototypes_), atol=1e-6
    )
    np.testing.assert_allclose(head.bias.detach().numpy(), 0, atol=1e-9)
    np.testing.assert_array_equal(
        imprinted.predict(X[test]), prototypes.predict(_cpu_features(imprinted, X[test]))
    )
    # A random head at the same (no) training is at chance; the imprinted one is not.
    random = FineTuneClassifier("toy_mlp", head_init="random", **params).fit(X[shots], y[shots])
    assert imprinted.score(X[test], y[test]) > random.score(X[test], y[test]) + 0.15


def test_imprinting_through_the_whole_network_with_augmentation():
    # With augment, the network trains end to end and imprinting runs through all of it.
    images = np.random.RandomState(0).randint(0, 256, size=(12, 32, 32, 3), dtype=np.uint8)
    labels = np.repeat(["a", "b", "c"], 4)
    clf = FineTuneClassifier(
        "toy_cnn",
        head_init="imprint",
        augment=lambda image: image,
        lr=1e-12,
        max_epochs=1,
        random_state=0,
        device="cpu",
    ).fit(images, labels)
    weight = clf.net_.module_.suffix.head.weight.detach().numpy()
    np.testing.assert_allclose(np.linalg.norm(weight, axis=1), 1, rtol=1e-5)


def test_mean_confidence_interval_of_huge_scores_is_finite_or_refused():
    """Before: scores of 1e308 overflowed the sums, and the interval came out (inf, inf)."""
    scores = np.array([1.0, 1.0, 0.5])
    mean, half = mean_confidence_interval(scores * 1e308)
    assert mean == pytest.approx(scores.mean() * 1e308)
    assert half == pytest.approx(mean_confidence_interval(scores)[1] * 1e308)
    with pytest.raises(ValueError, match="wider than the float64 range"):
        mean_confidence_interval([1e308, 1e308, -1e308])


def test_mean_confidence_interval_of_ordinary_scores_is_the_plain_computation():
    # Rescaling against overflow moved the last bits: the mean of [0.1, 0.2, 0.3] was
    # 0.19999999999999998, where NumPy's mean is 0.20000000000000004.
    scores = np.array([0.1, 0.2, 0.3])
    mean, half = mean_confidence_interval(scores)
    assert mean == scores.mean()
    assert half == student_t.ppf(0.975, df=2) * scores.std(ddof=1) / np.sqrt(3)
