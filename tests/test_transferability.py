"""Transferability scores: the papers' definitions, invariances and known orderings."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import multivariate_normal
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer.model_selection import (
    h_score,
    leep_score,
    logme_score,
    make_transferability_scorer,
    nce_score,
)


def _task(n=120, d=6, n_classes=3, signal=1.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    centres = rng.normal(size=(n_classes, d))
    return signal * centres[y] + rng.normal(size=(n, d)), y


def _flip(y, share, n_classes, seed=0):
    """``y`` with a ``share`` of its labels replaced by another class."""
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    flipped = rng.choice(y.size, size=int(share * y.size), replace=False)
    noisy[flipped] = (y[flipped] + rng.integers(1, n_classes, size=flipped.size)) % n_classes
    return noisy


@pytest.mark.parametrize("shape", [(60, 5), (20, 40)])
def test_logme_is_the_maximum_log_evidence_of_the_linear_model(shape):
    # The marginal likelihood y ~ N(0, I / beta + F F' / alpha), maximised numerically, per
    # one-vs-rest target, averaged over classes and divided by n: the paper's definition.
    n, d = shape
    features, y = _task(n=n, d=d)
    evidences = []
    for k in range(3):
        target = (y == k).astype(float)

        def minus_evidence(log_precisions, target=target):
            alpha, beta = np.exp(log_precisions)
            cov = np.eye(n) / beta + features @ features.T / alpha
            return -multivariate_normal(np.zeros(n), cov).logpdf(target)

        best = minimize(
            minus_evidence,
            [0.0, 0.0],
            method="Nelder-Mead",
            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000},
        )
        evidences.append(-best.fun / n)
    assert logme_score(features, y) == pytest.approx(np.mean(evidences), abs=1e-6)


def test_logme_and_h_score_ignore_rotation_scaling_and_row_order():
    features, y = _task()
    rotation, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))
    order = np.random.default_rng(2).permutation(y.size)
    for score in (logme_score, h_score):
        reference = score(features, y)
        assert score(features @ rotation, y) == pytest.approx(reference, rel=1e-6)
        assert score(7.5 * features, y) == pytest.approx(reference, rel=1e-6)
        assert score(features[order], y[order]) == pytest.approx(reference, rel=1e-9)
    # Renaming the classes changes nothing either.
    assert logme_score(features, np.array(["a", "b", "c"])[y]) == logme_score(features, y)


@pytest.mark.parametrize("score", [logme_score, h_score])
def test_informative_features_score_above_noise(score):
    features, y = _task(signal=2.0)
    noise = np.random.default_rng(3).normal(size=features.shape)
    assert score(features, y) > score(noise, y)


@pytest.mark.parametrize("score", [logme_score, h_score])
def test_feature_scores_fall_with_label_noise(score):
    features, y = _task(n=300, signal=2.0)
    values = [score(features, _flip(y, share, 3)) for share in (0.0, 0.2, 0.4, 0.6)]
    assert np.all(np.diff(values) < 0), values


def test_source_scores_fall_with_label_noise():
    rng = np.random.default_rng(0)
    y = np.arange(300) % 3
    # A source model with 5 classes whose predictions track the target classes.
    logits = 3 * np.eye(5)[:3][y] + rng.normal(size=(300, 5))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    leep = [leep_score(proba, _flip(y, share, 3)) for share in (0.0, 0.2, 0.4, 0.6)]
    nce = [nce_score(proba.argmax(axis=1), _flip(y, share, 3)) for share in (0, 0.2, 0.4, 0.6)]
    assert np.all(np.diff(leep) < 0), leep
    assert np.all(np.diff(nce) < 0), nce


def test_leep_matches_the_papers_definition_computed_row_by_row():
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), size=30)
    y = rng.integers(0, 3, size=30)
    joint = np.zeros((3, 4))
    for i in range(30):
        joint[y[i]] += proba[i] / 30
    conditional = joint / joint.sum(axis=0)
    expected = np.mean(
        [np.log(sum(conditional[y[i], z] * proba[i, z] for z in range(4))) for i in range(30)]
    )
    assert leep_score(proba, y) == pytest.approx(expected, rel=1e-12)
    assert leep_score(proba, y) <= 0


def test_nce_bounds_and_value():
    y = np.array([0, 0, 1, 1, 2, 2])
    # Source labels that determine the target labels: no entropy is left.
    assert nce_score([5, 5, 7, 7, 9, 9], y) == 0.0
    # Source labels independent of the target labels: NCE is minus the entropy of y.
    assert nce_score([1, 2, 1, 2, 1, 2], y) == pytest.approx(-np.log(3))


def test_h_score_pinv_is_the_original_and_bounded():
    features, y = _task(n=200, signal=3.0)
    centred = features - features.mean(axis=0)
    means = np.stack([centred[y == k].mean(axis=0) for k in range(3)])[y]
    expected = np.trace(np.linalg.inv(np.cov(centred.T, bias=True)) @ (means.T @ means / 200))
    assert h_score(features, y, shrinkage=None) == pytest.approx(expected, rel=1e-9)
    assert 0 < h_score(features, y) <= h_score(features, y, shrinkage=None) <= 2
    assert h_score(features, y, shrinkage=1.0) < h_score(features, y, shrinkage=0.0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: logme_score(np.ones((4, 2)), [0, 1, 0]), "y has 3 labels"),
        (lambda: logme_score(np.ones((4, 2)), [0, 0, 0, 0]), "at least 2 classes"),
        (lambda: logme_score(np.ones((4, 2)), [0.5, 1.5, 0.2, 0.1]), "class labels"),
        (lambda: logme_score(np.ones((4, 2)), [0, 1, 0, 1], max_iter=0), "max_iter"),
        (lambda: logme_score(np.ones((4, 2)), [0, 1, 0, 1], tol=-1), "tol"),
        (lambda: h_score(np.ones((4, 2)), [0, 1, 0, 1], shrinkage=2), "shrinkage"),
        (lambda: h_score([[np.nan, 1], [1, 1]], [0, 1]), "NaN"),
        (lambda: leep_score(np.ones((4, 2)), [0, 1, 0, 1]), "source_proba must hold"),
        (lambda: nce_score([0, 1], [0, 1, 0]), "y has 3 labels"),
        (lambda: make_transferability_scorer("accuracy"), "score must be one of"),
    ],
)
def test_invalid_input_raises_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_logme_reaches_the_maximum_even_when_the_iterations_stop_early():
    features, y = _task(n=20, d=40)
    assert logme_score(features, y, max_iter=1) == pytest.approx(logme_score(features, y))


def test_scorer_picks_the_informative_representation_in_grid_search():
    # Two features carry the labels, four are noise of larger variance: PCA with 2 components
    # keeps noise, with 6 keeps everything.
    rng = np.random.default_rng(0)
    y = np.arange(150) % 3
    X = np.c_[np.eye(3)[y][:, :2] + 0.2 * rng.normal(size=(150, 2)), 3 * rng.normal(size=(150, 4))]
    rows = np.arange(150)
    for score in ("logme", "h_score"):
        search = GridSearchCV(
            PCA(),
            {"n_components": [2, 6]},
            cv=[(rows, rows)],
            scoring=make_transferability_scorer(score),
        )
        assert search.fit(X, y).best_params_ == {"n_components": 6}


def test_scorer_reads_the_steps_before_a_pipelines_classifier():
    X, y = _task()
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    features = pipeline[:-1].transform(X)
    assert make_transferability_scorer()(pipeline, X, y) == logme_score(features, y)
    # With the classifier set to "passthrough", nothing is trained and the same rows score.
    passthrough = make_pipeline(StandardScaler(), "passthrough").fit(X, y)
    assert make_transferability_scorer("logme")(passthrough, X, y) == logme_score(features, y)
    assert repr(make_transferability_scorer("h_score", shrinkage=None)) == (
        "make_transferability_scorer('h_score', shrinkage=None)"
    )


def test_source_scorers_read_the_source_classifier():
    X, y = _task()
    source = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    assert make_transferability_scorer("leep")(source, X, y) == leep_score(
        source.predict_proba(X), y
    )
    assert make_transferability_scorer("nce")(source, X, y) == nce_score(source.predict(X), y)
    with pytest.raises(TypeError, match="no transform"):
        make_transferability_scorer("logme")(source, X, y)
    with pytest.raises(ValueError, match="needs the labels"):
        make_transferability_scorer("logme")(StandardScaler().fit(X), X, None)
