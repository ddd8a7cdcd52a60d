"""Transferability scores: the papers' definitions, invariances and known orderings."""

import warnings

import numpy as np
import pytest
import torch
from scipy.optimize import minimize
from scipy.stats import multivariate_normal
from scipy.stats import t as student_t
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.covariance import ledoit_wolf_shrinkage
from sklearn.datasets import make_circles, make_classification
from sklearn.decomposition import PCA
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    LeaveOneOut,
    RepeatedStratifiedKFold,
    ShuffleSplit,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, PolynomialFeatures, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from sktransfer.datasets import load_animal_silhouettes
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.instance_transfer import TrAdaBoost
from sktransfer.model_selection import (
    DomainShuffleSplit,
    TargetAccuracyScorer,
    compare_to_baseline,
    h_score,
    leep_score,
    logme_score,
    make_transferability_scorer,
    nce_score,
)
from sktransfer.pipeline import LabelledOnlyClassifier, make_da_pipeline
from sktransfer.utils import pack_domains


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


def _fixed_point_logme(features, y):
    """The paper's algorithm, straightforwardly: per class, MacKay's updates of ``alpha`` and
    ``beta`` from 1 and 1 through a full SVD, run until ``alpha / beta`` stops moving."""
    n, d = features.shape
    u, s, vt = np.linalg.svd(features, full_matrices=False)
    sigma = np.zeros(d)
    sigma[: s.size] = s**2
    evidences = []
    for k in np.unique(y):
        target = (y == k).astype(float)
        alpha = beta = 1.0
        for _ in range(10_000):
            m = beta * vt.T @ ((s / (alpha + beta * s**2)) * (u.T @ target))
            gamma = np.sum(beta * sigma / (alpha + beta * sigma))
            residual = np.sum((target - features @ m) ** 2)
            new_alpha, new_beta = gamma / (m @ m), (n - gamma) / residual
            done = abs(new_alpha / new_beta - alpha / beta) < 1e-13 * alpha / beta
            alpha, beta = new_alpha, new_beta
            if done:
                break
        assert done
        evidences.append(
            d / 2 * np.log(alpha)
            + n / 2 * np.log(beta)
            - np.sum(np.log(alpha + beta * sigma)) / 2
            - beta / 2 * residual
            - alpha / 2 * m @ m
            - n / 2 * np.log(2 * np.pi)
        )
    return np.mean(evidences) / n


@pytest.mark.parametrize("shape", [(100, 192), (300, 40)])
def test_logme_matches_the_papers_fixed_point_on_the_benchmarks_shapes(shape):
    # 10 classes, non-negative codes as a ReLU network gives, fewer or more rows than codes.
    features, y = _task(n=shape[0], d=shape[1], n_classes=10, signal=0.3)
    features = np.maximum(features, 0)
    assert logme_score(features, y) == pytest.approx(_fixed_point_logme(features, y), abs=1e-10)


@pytest.mark.parametrize("n", [2, 5, 60])
def test_eigenvalues_and_projections_without_eigenvectors_match_eigh(n):
    from sktransfer.model_selection._transferability import _eigh_projected

    rng = np.random.default_rng(n)
    features = rng.normal(size=(n, n + 3))
    gram, rhs = features @ features.T, rng.normal(size=(n, 4))
    sigma, projections = _eigh_projected(gram, rhs)
    expected_sigma, vectors = np.linalg.eigh(gram)
    np.testing.assert_allclose(sigma, expected_sigma, rtol=1e-10, atol=1e-10 * sigma[-1])
    # Eigenvectors are defined up to sign: compare the projections' magnitudes.
    np.testing.assert_allclose(np.abs(projections), np.abs(vectors.T @ rhs), atol=1e-9)


def test_logme_newton_steps_approach_the_maximum_from_below():
    features, y = _task(n=120, d=6)
    values = [logme_score(features, y, max_iter=k) for k in (1, 2, 3, 100)]
    assert np.all(np.diff(values) >= 0), values
    assert values[0] < values[-1]
    assert values[2] == pytest.approx(values[-1], abs=1e-9)


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
    with pytest.raises(AttributeError, match="no transform"):
        make_transferability_scorer("logme")(source, X, y)
    # A missing method is an AttributeError, as in scikit-learn's scorers.
    with pytest.raises(AttributeError, match="leep needs.*no predict_proba"):
        make_transferability_scorer("leep")(LinearSVC().fit(X, y), X, y)
    with pytest.raises(ValueError, match="needs the labels"):
        make_transferability_scorer("logme")(StandardScaler().fit(X), X, None)


def _proba(features):
    return np.exp(features) / np.exp(features).sum(axis=1, keepdims=True)


# Each score, with the inputs it reads made from features.
_EACH_SCORE = pytest.mark.parametrize(
    "score, inputs",
    [
        (logme_score, lambda features: features),
        (h_score, lambda features: features),
        (leep_score, _proba),
        (nce_score, lambda features: features.argmax(axis=1)),
    ],
    ids=["logme", "h_score", "leep", "nce"],
)


@_EACH_SCORE
def test_scores_leave_out_the_unlabelled_rows(score, inputs):
    # y == -1 marks an unlabelled row everywhere in the library: extra such rows, as packed
    # data carry, change no score, where they were scored as one more class.
    features, y = _task()
    extra = np.random.default_rng(4).normal(size=(30, features.shape[1]))
    with_unlabelled = np.r_[features, extra], np.r_[y, np.full(30, -1)]
    assert score(inputs(with_unlabelled[0]), with_unlabelled[1]) == pytest.approx(
        score(inputs(features), y), rel=1e-12
    )
    # Float labels mark them with -1.0 alike.
    floats = with_unlabelled[1].astype(float)
    assert score(inputs(with_unlabelled[0]), floats) == pytest.approx(
        score(inputs(features), y), rel=1e-12
    )
    with pytest.raises(ValueError, match="y holds no labelled row: every label is -1"):
        score(inputs(features), np.full(y.size, -1))


@_EACH_SCORE
def test_labels_of_minus_and_plus_one_say_the_minus_ones_were_left_out(score, inputs):
    """Before: "y must hold at least 2 classes; got 1", with no word of the -1 rows."""
    features, y = _task()
    signs = np.where(y == y[0], 1, -1)
    n_left_out = int(np.sum(signs == -1))
    with pytest.raises(
        ValueError,
        match=rf"at least 2 classes; got 1 \({n_left_out} rows with y == -1 were left out as "
        "unlabelled",
    ):
        score(inputs(features), signs)


@pytest.mark.parametrize("name", ["logme", "h_score", "leep", "nce"])
def test_transferability_scorer_leaves_out_the_unlabelled_rows_of_packed_data(name):
    X, y = _task()
    Xt = np.random.default_rng(5).normal(size=(30, X.shape[1]))
    X_packed, y_packed, _ = pack_domains((X, y), (Xt, None))
    if name in ("leep", "nce"):
        estimator = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    else:
        estimator = StandardScaler().fit(X_packed)
    scorer = make_transferability_scorer(name)
    assert scorer(estimator, X_packed, y_packed) == pytest.approx(
        scorer(estimator, X, y), rel=1e-12
    )


def test_a_string_minus_one_stays_a_class_of_the_scores():
    # A string cannot mark an unlabelled row: "-1" is a class, with domain_rows' warning.
    features, y = _task()
    strings = np.array(["-1", "b", "c"])[y]
    with pytest.warns(UserWarning, match='y holds the string "-1", which is a class'):
        assert logme_score(features, strings) == logme_score(features, y)


# compare_to_baseline ------------------------------------------------------------------------


class TargetOnlyClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression on the target rows (negative ``sample_domain``) alone."""

    __metadata_request__fit = {"sample_domain": True}

    def fit(self, X, y, sample_domain=None):
        target = np.asarray(sample_domain) < 0
        self.classifier_ = LogisticRegression().fit(X[target], y[target])
        self.classes_ = self.classifier_.classes_
        return self

    def predict(self, X):
        return self.classifier_.predict(X)


def test_a_better_representation_is_a_positive_transfer():
    X, y = make_circles(300, noise=0.1, factor=0.5, random_state=0)
    richer = make_pipeline(PolynomialFeatures(2), LogisticRegression())
    for test in ("corrected_t", "bootstrap"):
        result = compare_to_baseline(
            richer, LogisticRegression(), X, y, cv=5, test=test, random_state=0
        )
        assert result.verdict == "positive"
        assert result.confidence_interval[0] > 0
        assert result.p_value < 0.05
        np.testing.assert_array_equal(
            result.differences, result.transfer_scores - result.baseline_scores
        )


def _contradicting_source(seed=0):
    # The source's labels are the target's, flipped: pooling them naively teaches the
    # opposite rule.
    rng = np.random.default_rng(seed)
    Xs, Xt = rng.normal(size=(300, 2)), rng.normal(size=(100, 2))
    ys, yt = (Xs[:, 0] < 0).astype(int), (Xt[:, 0] > 0).astype(int)
    return pack_domains(source=(Xs, ys), target=(Xt, yt))


@pytest.mark.parametrize("test", ["corrected_t", "bootstrap"])
def test_pooling_a_contradicting_source_is_a_negative_transfer(test):
    X, y, sample_domain = _contradicting_source()
    with config_context(enable_metadata_routing=True):
        result = compare_to_baseline(
            LogisticRegression(),  # trained on source and target rows alike
            TargetOnlyClassifier(),
            X,
            y,
            cv=DomainShuffleSplit(n_splits=10, test_size=0.3, random_state=0),
            scoring=TargetAccuracyScorer(),
            sample_domain=sample_domain,
            test=test,
            random_state=0,
        )
    assert result.verdict == "negative"
    assert result.confidence_interval[1] < 0
    assert result.scoring == "TargetAccuracyScorer"


def test_compare_to_baseline_warns_when_the_score_counts_source_rows():
    """Before: scoring=None scored every test row, source rows (most of them) included, and a
    pooled model that learned the contradicting source beat the target-only model, 0.73 to
    0.26: a "positive" verdict at p = 1e-9 for a transfer that cut target accuracy to 0.01."""
    X, y, sample_domain = _contradicting_source()
    kwargs = dict(
        cv=DomainShuffleSplit(n_splits=10, test_size=0.3, random_state=0),
        sample_domain=sample_domain,
        params={"sample_weight": (sample_domain < 0).astype(float)},
    )
    with config_context(enable_metadata_routing=True):
        pooled = LogisticRegression().set_fit_request(sample_weight=False)
        target_only = LogisticRegression().set_fit_request(sample_weight=True)
        for estimator in (pooled, target_only):
            estimator.set_score_request(sample_weight=False)
        with pytest.warns(UserWarning, match=r"test folds hold 90 source rows .* scoring=None"):
            mixed = compare_to_baseline(pooled, target_only, X, y, **kwargs)
        assert mixed.verdict == "positive"  # what the source rows say
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            target = compare_to_baseline(
                pooled, target_only, X, y, scoring=TargetAccuracyScorer(), **kwargs
            )
        assert target.verdict == "negative"
        # Test folds of target rows alone: nothing to warn of.
        target_rows = np.flatnonzero(sample_domain < 0)
        folds = [
            (np.setdiff1d(np.arange(len(y)), test), test) for test in np.array_split(target_rows, 5)
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            alone = compare_to_baseline(
                LogisticRegression(),
                TargetOnlyClassifier(),
                X,
                y,
                cv=folds,
                sample_domain=sample_domain,
            )
        assert alone.verdict == "negative"


def test_compare_to_baseline_without_routing_refuses_a_fit_without_sample_domain():
    """Before: LogisticRegression.fit failed inside cross_validate with scikit-learn's bare
    "got an unexpected keyword argument 'sample_domain'"."""
    X, y, sample_domain = _contradicting_source()
    with pytest.raises(ValueError, match=r"baseline estimator \(LogisticRegression\) has no "):
        compare_to_baseline(
            TrAdaBoost(n_estimators=2, random_state=0),
            LogisticRegression(),
            X,
            y,
            cv=StratifiedKFold(3, shuffle=True, random_state=0),
            sample_domain=sample_domain,
        )


def test_compare_to_baseline_without_routing_hands_sample_domain_to_the_splitter():
    """Before: without routing DomainShuffleSplit got no sample_domain, fell back on y == -1
    and, every target row being labelled, found no target rows."""
    X, y, sample_domain = _contradicting_source()
    kwargs = dict(cv=DomainShuffleSplit(n_splits=3, random_state=0), sample_domain=sample_domain)
    # The score of every test row counts the source rows too, which warns.
    with pytest.warns(UserWarning, match="test folds hold 60 source rows"):
        off = compare_to_baseline(TargetOnlyClassifier(), TargetOnlyClassifier(), X, y, **kwargs)
    with config_context(enable_metadata_routing=True), pytest.warns(UserWarning, match="source"):
        on = compare_to_baseline(TargetOnlyClassifier(), TargetOnlyClassifier(), X, y, **kwargs)
    np.testing.assert_array_equal(off.transfer_scores, on.transfer_scores)


@pytest.mark.parametrize("test", ["corrected_t", "bootstrap"])
def test_identical_or_equivalent_estimators_are_inconclusive(test):
    X, y = make_classification(200, n_features=5, random_state=0)
    same = compare_to_baseline(LogisticRegression(), LogisticRegression(), X, y, test=test)
    assert same.verdict == "inconclusive"
    assert same.p_value == 1.0
    assert same.mean_difference == 0.0
    # Two linear classifiers that fit the same boundary differently.
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=2, random_state=0)
    equivalent = compare_to_baseline(
        LogisticRegression(),
        LinearDiscriminantAnalysis(),
        X,
        y,
        cv=cv,
        test=test,
        random_state=0,
    )
    assert equivalent.verdict == "inconclusive"
    assert equivalent.confidence_interval[0] < 0 < equivalent.confidence_interval[1]


def test_corrected_t_follows_nadeau_and_bengio():
    X, y = make_classification(120, n_features=5, random_state=1)
    cv = ShuffleSplit(n_splits=8, test_size=0.25, random_state=0)
    result = compare_to_baseline(
        LogisticRegression(C=0.01), DecisionTreeClassifier(random_state=0), X, y, cv=cv
    )
    d = result.differences
    se = np.sqrt((1 / 8 + 30 / 90) * d.var(ddof=1))
    assert result.p_value == pytest.approx(2 * student_t.sf(abs(d.mean() / se), df=7))
    half = student_t.ppf(0.975, df=7) * se
    assert result.confidence_interval == pytest.approx((d.mean() - half, d.mean() + half))


def test_both_estimators_see_the_same_folds_from_an_unseeded_splitter():
    X, y = make_classification(100, n_features=5, random_state=0)
    cv = ShuffleSplit(n_splits=5, test_size=0.3)  # no seed: each split() call differs
    result = compare_to_baseline(LogisticRegression(), LogisticRegression(), X, y, cv=cv)
    assert np.all(result.differences == 0)


def test_without_routing_sample_domain_reaches_fit():
    X, y, sample_domain = _contradicting_source()
    with pytest.warns(UserWarning, match="scores them with the target rows"):
        result = compare_to_baseline(
            TargetOnlyClassifier(),
            TargetOnlyClassifier(),
            X,
            y,
            cv=KFold(3, shuffle=True, random_state=0),
            sample_domain=sample_domain,
        )
    assert result.verdict == "inconclusive"


def test_result_reads_and_plots():
    X, y = make_circles(150, noise=0.1, factor=0.5, random_state=0)
    richer = make_pipeline(PolynomialFeatures(2), LogisticRegression())
    result = compare_to_baseline(richer, LogisticRegression(), X, y, cv=3)
    text = repr(result)
    assert text.startswith("TransferComparison(verdict='positive'")
    assert "95% interval" in text and "p-value" in text
    assert "<table>" in result._repr_html_() and "positive" in result._repr_html_()
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = result.plot()
    assert len(ax.lines) == 4  # one line per fold, and the means
    plt.close(ax.figure)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"level": 0}, "level"),
        ({"level": 1.5}, "level"),
        ({"test": "wilcoxon"}, "test"),
        ({"scoring": {"a": "accuracy"}}, "scoring"),
        ({"cv": [(np.arange(50), np.arange(50, 100))]}, "at least 2 splits"),
    ],
)
def test_compare_to_baseline_validates_its_parameters(kwargs, match):
    X, y = make_classification(100, n_features=5, random_state=0)
    with pytest.raises(ValueError, match=match):
        compare_to_baseline(LogisticRegression(), LogisticRegression(), X, y, **kwargs)


def _flatten(images):
    return images.reshape(len(images), -1) / 255


@pytest.mark.slow
def test_cnn_codes_against_raw_pixels_on_the_silhouettes_are_a_positive_transfer(tmp_path):
    images, y = load_animal_silhouettes(return_X_y=True)
    images, y = images[:200], y[:200]
    codes = make_pipeline(
        CNNCodeExtractor(
            "efficientnet_lite0",
            "imagenet",
            layer="blocks.10",
            image_size=32,
            device="cpu",
            memory=str(tmp_path),
        ),
        LogisticRegression(max_iter=1000),
    )
    pixels = make_pipeline(FunctionTransformer(_flatten), LogisticRegression(max_iter=1000))
    result = compare_to_baseline(codes, pixels, images, y, cv=5)
    assert result.verdict == "positive", result


@pytest.mark.parametrize("shrinkage", [0.3, "auto"])
def test_h_score_with_fewer_rows_than_features_matches_the_direct_formula(shrinkage):
    features, y = _task(n=20, d=40)
    centred = features - features.mean(axis=0)
    a = ledoit_wolf_shrinkage(centred, assume_centered=True) if shrinkage == "auto" else 0.3
    means = np.stack([centred[y == k].mean(axis=0) for k in range(3)])[y]
    covariance = centred.T @ centred / 20
    shrunk = (1 - a) * covariance + a * np.trace(covariance) / 40 * np.eye(40)
    expected = np.trace(np.linalg.inv(shrunk) @ ((1 - a) * means.T @ means / 20))
    assert h_score(features, y, shrinkage=shrinkage) == pytest.approx(expected, rel=1e-9)


def test_ledoit_wolf_shrinkage_of_wide_features_matches_scikit_learn():
    from sktransfer.model_selection._transferability import _ledoit_wolf_shrinkage

    features, _ = _task(n=20, d=40)
    centred = features - features.mean(axis=0)
    expected = ledoit_wolf_shrinkage(centred, assume_centered=True)
    assert _ledoit_wolf_shrinkage(centred) == pytest.approx(expected, rel=1e-10)


def test_params_route_sample_weight_for_a_target_only_baseline():
    # Weight 0 on the source rows: the baseline learns from the target rows alone.
    X, y, sample_domain = _contradicting_source()
    with config_context(enable_metadata_routing=True):
        result = compare_to_baseline(
            LogisticRegression().set_fit_request(sample_weight=False),
            LogisticRegression().set_fit_request(sample_weight=True),
            X,
            y,
            cv=DomainShuffleSplit(n_splits=10, test_size=0.3, random_state=0),
            scoring=TargetAccuracyScorer(),
            sample_domain=sample_domain,
            params={"sample_weight": (sample_domain < 0).astype(float)},
        )
    assert result.verdict == "negative"


@pytest.mark.parametrize("score", [logme_score, h_score], ids=lambda f: f.__name__)
@pytest.mark.parametrize("factor", [1e200, 1e-200])
def test_scores_of_huge_or_tiny_features_are_those_of_the_features_rescaled(score, factor):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 4))
    y = (features[:, 0] + rng.normal(scale=0.5, size=60) > 0).astype(int)
    kwargs = {"shrinkage": None} if score is h_score else {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        scaled = score(features * factor, y, **kwargs)
    assert scaled == pytest.approx(score(features, y, **kwargs), rel=1e-9)


def test_logme_of_features_that_are_all_zero_is_the_evidence_of_noise_alone():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 4))
    y = (features[:, 0] > 0).astype(int)
    dead = logme_score(np.zeros((60, 4)), y)  # a layer whose units never fire
    assert np.isfinite(dead)
    assert dead < logme_score(features, y)
    # Rank 0: the profile evidence at beta = n / sum(y_k^2), the same for every lam.
    targets = np.eye(2)[y]
    q = (targets**2).sum(axis=0)
    expected = np.mean(30 * np.log(60 / q) - 30 - 30 * np.log(2 * np.pi)) / 60
    assert dead == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "features",
    [
        np.c_[np.arange(8.0), np.arange(8.0)],  # collinear columns
        np.c_[np.arange(8.0) % 3, np.ones(8)],  # a constant column
        np.random.default_rng(0).normal(size=(8, 20)),  # fewer rows than features
    ],
    ids=["collinear", "constant column", "wide"],
)
def test_unshrunk_h_score_of_a_singular_covariance_is_the_pseudo_inverse_score(features):
    y = np.arange(8) % 2
    unshrunk = h_score(features, y, shrinkage=0)
    assert unshrunk == pytest.approx(h_score(features, y, shrinkage=None), rel=1e-9)
    assert 0 <= unshrunk <= 1 + 1e-9  # min(n_features, n_classes - 1)


@pytest.mark.parametrize(
    "source_labels, message",
    [
        (np.linspace(0, 1, 6), "source_labels must hold class labels.*'continuous'"),
        (np.r_[np.nan, np.zeros(5)], "source_labels holds NaN or infinite values"),
    ],
    ids=["continuous", "NaN"],
)
def test_nce_refuses_source_labels_that_are_not_classes(source_labels, message):
    with pytest.raises(ValueError, match=message):
        nce_score(source_labels, [0, 0, 1, 1, 2, 2])


@pytest.mark.parametrize(
    "score, kwargs, message",
    [
        ("nce", {"foo": 1}, r"unknown parameters \['foo'\]; nce_score takes none"),
        ("logme", {"shrinkage": None}, r"\['shrinkage'\]; logme_score takes \['max_iter', 'tol'\]"),
        ("h_score", {"max_iter": 5}, r"\['max_iter'\]; h_score takes \['shrinkage'\]"),
    ],
)
def test_transferability_scorer_refuses_unknown_parameters_when_made(score, kwargs, message):
    with pytest.raises(TypeError, match=message):
        make_transferability_scorer(score, **kwargs)


@pytest.mark.parametrize(
    "score, kwargs, message",
    [
        ("h_score", {"shrinkage": 5}, r"'shrinkage' parameter of make_transferability_scorer"),
        ("logme", {"max_iter": 0}, r"'max_iter' parameter of make_transferability_scorer"),
        ("logme", {"tol": -1.0}, r"'tol' parameter of make_transferability_scorer\('logme'\)"),
    ],
)
def test_transferability_scorer_refuses_bad_parameter_values_when_made(score, kwargs, message):
    """Before: accepted, and refused only at the first call, after a fold's features."""
    with pytest.raises(ValueError, match=message):
        make_transferability_scorer(score, **kwargs)


@pytest.mark.parametrize("score", [logme_score, h_score])
def test_transferability_scores_name_nan_labels(score):
    """Before: a RuntimeWarning of an invalid cast, then scikit-learn's "Input contains NaN"."""
    features = np.random.default_rng(0).normal(size=(20, 3))
    y = np.r_[np.tile([0.0, 1.0], 9), np.nan, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"y holds NaN at rows \[18\].*unlabelled row with -1"):
            score(features, y)


def test_compare_to_baseline_refuses_default_scores_of_different_kinds():
    X, y = make_circles(60, noise=0.1, factor=0.5, random_state=0)
    with pytest.raises(ValueError, match="scored by its accuracy and baseline.*by its R\\^2"):
        compare_to_baseline(LogisticRegression(), Ridge(), X, y, cv=3)
    # With one scoring for both, the comparison is meaningful.
    result = compare_to_baseline(LogisticRegression(), Ridge(), X, y, cv=3, scoring="r2")
    assert np.all(np.isfinite(result.differences))


# scikit-learn warns about each such fold; the comparison must then refuse to conclude.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
def test_compare_to_baseline_refuses_fold_scores_that_are_not_finite():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 2)), rng.normal(size=12)
    # An R^2 on a single test row is undefined (NaN): every statistic would be NaN.
    with pytest.raises(ValueError, match=r"The transfer estimator's r2 is not finite on folds"):
        compare_to_baseline(Ridge(), Ridge(alpha=10), X, y, cv=LeaveOneOut(), scoring="r2")


class _ReadsTheLabelColumn(ClassifierMixin, BaseEstimator):
    """Predicts the label held in column 0; with ``miss_first`` it gets a fold's first row wrong."""

    def __init__(self, miss_first=False):
        self.miss_first = miss_first

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        y_pred = X[:, 0].astype(int)
        if self.miss_first:
            y_pred[0] = 1 - y_pred[0]
        return y_pred


@pytest.mark.parametrize("test", ["corrected_t", "bootstrap"])
def test_the_same_difference_on_every_fold_is_inconclusive_with_a_warning(test):
    """Before: every fold one test row apart gave p_value 0.0 and a "positive" verdict, as if
    the difference were certain (a sign test over five folds gives p = 0.06)."""
    y = np.tile([0, 1], 25)
    X = y[:, None].astype(float)
    with pytest.warns(UserWarning, match=r"Every fold's difference is \+0\.1: with no spread"):
        result = compare_to_baseline(
            _ReadsTheLabelColumn(),
            _ReadsTheLabelColumn(miss_first=True),
            X,
            y,
            cv=KFold(5),
            test=test,
        )
    np.testing.assert_allclose(result.differences, 0.1)
    assert result.verdict == "inconclusive"
    assert np.isnan(result.p_value)
    assert np.isnan(result.confidence_interval).all()


def test_compare_to_baseline_keeps_groups_apart():
    """Before: no groups parameter, so GroupKFold failed ("The 'groups' parameter should not be
    None") and a grouped comparison could not be made."""
    X, y = make_classification(60, n_features=5, random_state=0)
    groups = np.repeat(np.arange(6), 10)
    result = compare_to_baseline(
        LogisticRegression(), LogisticRegression(C=0.01), X, y, cv=GroupKFold(3), groups=groups
    )
    expected = cross_val_score(LogisticRegression(), X, y, cv=GroupKFold(3), groups=groups)
    np.testing.assert_array_equal(result.transfer_scores, expected)


@pytest.mark.parametrize(
    "score, first",
    [
        (logme_score, "features"),
        (h_score, "features"),
        (leep_score, "proba"),
        (nce_score, "labels"),
    ],
)
def test_scores_warn_of_classes_with_one_labelled_row(score, first):
    """Before: one row per class scored without a word (NCE 0.0, its maximum)."""
    rng = np.random.default_rng(0)
    inputs = {
        "features": rng.normal(size=(7, 3)),
        "proba": rng.dirichlet(np.ones(4), size=7),
        "labels": rng.integers(0, 3, size=7),
    }
    y = np.array([0, 0, 1, 1, 2, 3, -1])  # an unlabelled row is no class
    with pytest.warns(UserWarning, match=r"one labelled row in 2 of its 4 classes \(\[2, 3\]\)"):
        score(inputs[first], y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score(inputs[first], np.array([0, 0, 1, 1, 2, 2, -1]))


def test_compare_to_baseline_warns_when_a_plain_classifier_would_learn_minus_one():
    """Before: the baseline learned the unlabelled rows' -1 as a third class without a word."""
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(80, 3))
    X, y, sample_domain = pack_domains(
        source=(Xs, (Xs[:, 0] > 0).astype(int)), target=(rng.normal(size=(40, 3)) + 0.5, None)
    )
    transfer = make_da_pipeline(StandardScaler(), LogisticRegression())
    with pytest.warns(UserWarning, match=r"the baseline estimator \(LogisticRegression\) would"):
        compare_to_baseline(transfer, LogisticRegression(), X, y, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compare_to_baseline(transfer, LabelledOnlyClassifier(LogisticRegression()), X, y, cv=3)


def test_leep_takes_float16_probabilities_and_refuses_float16_logits():
    """Before: a float16 softmax, whose rows sum to 1 only within its rounding, was refused."""
    features, y = _task()
    logits = features.astype(np.float16)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert np.abs(proba.astype(np.float64).sum(axis=1) - 1).max() > 1e-4
    exact = proba.astype(np.float64) / proba.astype(np.float64).sum(axis=1, keepdims=True)
    assert leep_score(proba, y) == pytest.approx(leep_score(exact, y), rel=1e-3)
    with pytest.raises(ValueError, match="source_proba must hold probabilities"):
        leep_score(logits, y)


def test_leep_tells_rows_off_by_a_low_precision_softmax_from_logits():
    # A bfloat16 softmax stored in float32 misses 1 by up to 2.4e-3 a row; the message said to
    # apply the softmax its user had applied.
    features, y = _task()
    logits = torch.as_tensor(features, dtype=torch.bfloat16)
    proba = torch.softmax(logits, dim=1).float().numpy()
    assert np.abs(proba.sum(axis=1) - 1).max() > 1e-4
    with pytest.raises(ValueError, match="divide each row by its sum"):
        leep_score(proba, y)
    assert np.isfinite(leep_score(proba / proba.sum(axis=1, keepdims=True), y))
    with pytest.raises(ValueError, match="apply a softmax to logits first"):
        leep_score(features, y)


@pytest.mark.parametrize("n_features", [5, 300])
@pytest.mark.parametrize("shrinkage", ["auto", None, 0.5])
def test_h_score_of_rows_all_alike_is_zero(n_features, shrinkage):
    """Before: the rounding error of the constant columns' means was all the score read, and
    rows all alike scored 1 (0.83 with shrinkage 0.5); wider than their count, they failed in
    numpy's solve with a bare "Singular matrix"."""
    rng = np.random.default_rng(0)
    features = np.tile(rng.normal(size=(1, n_features)), (40, 1))
    y = np.arange(40) % 3
    assert h_score(features, y, shrinkage=shrinkage) == 0.0
