"""KMM, KLIEP and the importance-weighted meta-estimators."""

import warnings

import numpy as np
import pytest
from scipy import optimize
from sklearn import clone, config_context
from sklearn.base import BaseEstimator
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import r2_score
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from sktransfer.datasets._selection_bias import make_selection_bias, selection_probability
from sktransfer.instance_transfer import (
    KLIEP,
    KMM,
    ImportanceWeightedClassifier,
    ImportanceWeightedRegressor,
    _importance,
)
from sktransfer.utils import pack_domains


def gaussian_shift(n=400, seed=0):
    """Source N(0.5, 1), target N(0, 0.5^2) in 1-D, and the true ratio at the source rows."""
    rng = np.random.RandomState(seed)
    Xs = rng.normal(0.5, 1.0, size=(n, 1))
    Xt = rng.normal(0.0, 0.5, size=(n, 1))
    ratio = 2.0 * np.exp(-2.0 * Xs[:, 0] ** 2 + (Xs[:, 0] - 0.5) ** 2 / 2)
    X, _, sample_domain = pack_domains(source=(Xs, np.zeros(n)), target=(Xt, None))
    return X, sample_domain, ratio


@pytest.mark.parametrize(
    "weighter",
    [KMM(random_state=0), KMM(n_components=100, random_state=0), KLIEP(random_state=0)],
    ids=["KMM exact", "KMM Nystroem", "KLIEP"],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_weights_recover_the_density_ratio_of_1d_gaussians(weighter, seed):
    X, sample_domain, ratio = gaussian_shift(seed=seed)
    weights = weighter.fit(X, sample_domain=sample_domain).weights_
    source = sample_domain > 0
    assert np.corrcoef(weights[source], ratio)[0, 1] > 0.9
    assert weights[source].mean() == pytest.approx(1.0, abs=0.05)
    assert np.all(weights[~source] == 1.0)


def test_kliep_density_ratio_weights_new_rows_as_fit_did():
    X, sample_domain, ratio = gaussian_shift()
    kliep = KLIEP(random_state=0).fit(X, sample_domain=sample_domain)
    source = sample_domain > 0
    np.testing.assert_allclose(kliep.density_ratio(X[source]), kliep.weights_[source])
    grid = np.linspace(-1, 1, 5).reshape(-1, 1)
    true = 2.0 * np.exp(-2.0 * grid[:, 0] ** 2 + (grid[:, 0] - 0.5) ** 2 / 2)
    assert np.corrcoef(kliep.density_ratio(grid), true)[0, 1] > 0.9


def test_kliep_likelihood_cross_validation_picks_a_width_on_the_grid():
    X, sample_domain, _ = gaussian_shift()
    kliep = KLIEP(random_state=0).fit(X, sample_domain=sample_domain)
    assert kliep.cv_scores_.shape == (5,)
    assert np.isfinite(kliep.cv_scores_).all()
    assert kliep.gamma_ == pytest.approx(
        kliep._grid(X, np.random.RandomState(0))[np.argmax(kliep.cv_scores_)]
    )
    # A width far off the data's scale does worse on held-out target rows.
    assert (
        kliep.cv_scores_.max() > kliep.cv_scores_[0]
        or kliep.cv_scores_.max() > kliep.cv_scores_[-1]
    )


def test_nystroem_weights_follow_the_exact_ones():
    X, sample_domain, _ = gaussian_shift(n=800)
    exact = KMM(n_components=None, random_state=0).fit(X, sample_domain=sample_domain)
    approx = KMM(n_components=200, random_state=0).fit(X, sample_domain=sample_domain)
    source = sample_domain > 0
    assert np.corrcoef(exact.weights_[source], approx.weights_[source])[0, 1] > 0.95


@pytest.mark.parametrize("weighting", ["kmm", "kliep"])
def test_weighting_beats_the_unweighted_linear_model_under_selection_bias(weighting):
    gains = []
    for seed in range(3):
        Xs, ys, Xt, yt = make_selection_bias(n_source=300, n_target=2300, random_state=seed)
        X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:300], None))
        clf = ImportanceWeightedClassifier(weighting=weighting, random_state=seed)
        clf.fit(X, y, sample_domain=sample_domain)
        plain = LogisticRegression().fit(Xs, ys)
        gains.append(clf.score(Xt[300:], yt[300:]) - plain.score(Xt[300:], yt[300:]))
    assert min(gains) > 0.02
    assert np.mean(gains) > 0.03


def test_kmm_weights_follow_the_selection_probability():
    Xs, ys, Xt, _ = make_selection_bias(n_source=400, n_target=400, random_state=0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    weights = KMM(random_state=0).fit(X, sample_domain=sample_domain).weights_[:400]
    true = 1.0 / selection_probability(Xs)
    assert np.corrcoef(weights, true)[0, 1] > 0.4


def test_without_target_rows_the_classifier_is_the_plain_estimator():
    Xs, ys, _, _ = make_selection_bias(n_source=200, n_target=10, random_state=0)
    clf = ImportanceWeightedClassifier().fit(Xs, ys)
    np.testing.assert_array_equal(clf.weighter_.weights_, 1.0)
    plain = LogisticRegression().fit(Xs, ys)
    np.testing.assert_allclose(clf.predict_proba(Xs), plain.predict_proba(Xs))


def test_unlabelled_rows_are_target_rows_without_sample_domain():
    Xs, ys, Xt, yt = make_selection_bias(n_source=300, n_target=300, random_state=0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    by_label = ImportanceWeightedClassifier(random_state=0).fit(X, y)
    by_domain = ImportanceWeightedClassifier(random_state=0).fit(X, y, sample_domain=sample_domain)
    assert by_label.classes_.tolist() == [0, 1]
    np.testing.assert_allclose(by_label.weighter_.weights_, by_domain.weighter_.weights_)
    # score leaves the unlabelled rows out.
    assert by_label.score(X, y) == pytest.approx(by_label.score(Xs, ys))


def test_several_sources_are_weighted_each_against_the_target():
    rng = np.random.RandomState(0)
    X1 = rng.normal(-0.5, 1.0, size=(300, 1))
    X2 = rng.normal(1.0, 1.0, size=(150, 1))
    Xt = rng.normal(0.0, 0.5, size=(300, 1))
    X = np.vstack([X1, X2, Xt])
    sample_domain = np.r_[np.full(300, 1), np.full(150, 2), np.full(300, -3)]
    for weighter in [KMM(random_state=0), KLIEP(random_state=0)]:
        weights = weighter.fit(X, sample_domain=sample_domain).weights_
        assert weights[:300].mean() == pytest.approx(1.0, abs=0.05)
        assert weights[300:450].mean() == pytest.approx(1.0, abs=0.05)
        # Each source's weights peak where the target lies, near 0.
        for rows in (slice(0, 300), slice(300, 450)):
            near = np.abs(X[rows, 0]) < 0.5
            assert weights[rows][near].mean() > weights[rows][~near].mean()
    kliep = KLIEP(random_state=0).fit(X, sample_domain=sample_domain)
    assert sorted(kliep.alphas_) == [1, 2]
    with pytest.raises(ValueError, match="source_domain"):
        kliep.density_ratio(Xt)
    pooled = KMM(per_source=False, random_state=0).fit(X, sample_domain=sample_domain)
    assert pooled.weights_[:450].mean() == pytest.approx(1.0, abs=0.05)


def test_regressor_weighting_beats_the_plain_line_on_shimodaira_curve():
    rng = np.random.RandomState(0)
    Xs = rng.normal(0.5, 0.5, size=(300, 1))
    Xt = rng.normal(0.0, 0.3, size=(300, 1))

    def curve(X):
        return -X[:, 0] + X[:, 0] ** 3

    X = np.vstack([Xs, Xt])
    sample_domain = np.r_[np.ones(300), -2 * np.ones(300)]
    y = np.r_[curve(Xs) + 0.1 * rng.normal(size=300), np.full(300, -1.0)]
    plain = LinearRegression().fit(Xs, y[:300])
    plain_error = np.mean((plain.predict(Xt) - curve(Xt)) ** 2)
    for weighting in ["kmm", "kliep"]:
        reg = ImportanceWeightedRegressor(weighting=weighting, random_state=0)
        reg.fit(X, y, sample_domain=sample_domain)
        assert np.mean((reg.predict(Xt) - curve(Xt)) ** 2) < 0.7 * plain_error


def test_without_sample_domain_the_regressors_nan_rows_are_its_target_rows():
    # As a classification's y == -1 rows; they were source rows, refused for their NaN.
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(0.5, 0.5, size=(80, 2)), rng.normal(0.3, 0.5, size=(40, 2))]
    sample_domain = np.r_[np.ones(80), -np.ones(40)]
    y = np.r_[X[:80, 0] - X[:80, 1], np.full(40, np.nan)]
    by_label = ImportanceWeightedRegressor(random_state=0).fit(X, y)
    by_domain = ImportanceWeightedRegressor(random_state=0).fit(X, y, sample_domain=sample_domain)
    np.testing.assert_array_equal(by_label.predict(X), by_domain.predict(X))


def test_a_weighter_of_ones_own_is_given_the_domains_of_a_plain_fit():
    # Its fit(X, sample_domain=...) is promised an array; a plain fit handed it None.
    class Uniform(BaseEstimator):
        def fit(self, X, sample_domain=None):
            self.weights_ = np.where(np.asarray(sample_domain) > 0, 1.0, 0.0)
            return self

    X = np.random.RandomState(0).normal(size=(30, 2))
    clf = ImportanceWeightedClassifier(weighting=Uniform()).fit(X, (X[:, 0] > 0).astype(int))
    np.testing.assert_array_equal(clf.weighter_.weights_, 1.0)


def test_regressor_ignores_the_values_of_target_rows_nan_included():
    # skada marks unknown regression targets with NaN; the fit refused them though the
    # docstring says target values are ignored.
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(0.5, 0.5, size=(80, 2)), rng.normal(0.3, 0.5, size=(40, 2))]
    sample_domain = np.r_[np.ones(80), -np.ones(40)]
    y = np.r_[X[:80, 0] - X[:80, 1], np.full(40, np.nan)]
    with_nan = ImportanceWeightedRegressor(random_state=0).fit(X, y, sample_domain=sample_domain)
    y[80:] = 123.0
    with_values = ImportanceWeightedRegressor(random_state=0)
    with_values.fit(X, y, sample_domain=sample_domain)
    np.testing.assert_array_equal(with_nan.predict(X), with_values.predict(X))
    y[3] = np.inf  # a source row's value is learned from, so it must be finite
    with pytest.raises(ValueError, match=r"y is NaN or infinite at rows 3 of X"):
        ImportanceWeightedRegressor(random_state=0).fit(X, y, sample_domain=sample_domain)


@pytest.mark.parametrize(
    "value, domains",
    [(np.nan, True), (np.inf, True), (np.inf, False)],
    ids=["nan-sample_domain", "inf-sample_domain", "inf-no sample_domain"],
)
def test_regressor_refuses_a_source_row_without_a_finite_value_naming_the_rows(value, domains):
    """Before: scikit-learn's "Input y contains NaN.", which named no row, and did not say
    that NaN is the mark of an unlabelled target row, accepted there."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 2))
    y = np.r_[X[:20, 0], np.full(10, np.nan)]
    y[[4, 7]] = value
    sample_domain = np.r_[np.ones(20), -np.ones(10)] if domains else None
    why = (
        "positive sample_domain"
        if domains
        else "without sample_domain, every row whose y is not NaN is one"
    )
    match = (
        rf"y is NaN or infinite at rows 4, 7 of X \(2 in all\), which are source rows "
        rf"\({why}\)\. ImportanceWeightedRegressor .* NaN marks an unlabelled target row"
    )
    with pytest.raises(ValueError, match=match):
        ImportanceWeightedRegressor(random_state=0).fit(X, y, sample_domain=sample_domain)


def test_regressor_score_leaves_out_the_rows_whose_y_is_nan():
    """Before: score on packed rows, NaN on the unlabelled target rows, raised "Input
    contains NaN"."""
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(0.5, 0.5, size=(40, 2)), rng.normal(0.3, 0.5, size=(20, 2))]
    y = X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=60)
    sample_domain = np.r_[np.ones(40), -np.ones(20)]
    # B=3 keeps the effective sample size of 40 source rows above the meta-estimators' warning
    # (8.8 rows at the default B; the weights are not what this test is about).
    reg = ImportanceWeightedRegressor(weighting=KMM(B=3.0), random_state=0)
    reg.fit(X, np.r_[y[:40], np.full(20, np.nan)], sample_domain=sample_domain)
    with_nan = np.r_[y[:45], np.full(15, np.nan)]
    weight = rng.uniform(0.5, 2.0, size=60)
    assert reg.score(X, with_nan) == reg.score(X[:45], y[:45])
    # The rows left out take their sample_weight with them.
    assert reg.score(X, with_nan, sample_weight=weight) == reg.score(
        X[:45], y[:45], sample_weight=weight[:45]
    )
    assert reg.score(X, list(with_nan)) == reg.score(X[:45], y[:45])
    assert reg.score(X, y) == r2_score(y, reg.predict(X))
    with pytest.raises(ValueError, match="Every one of the 60 rows is unlabelled \\(y is NaN\\)"):
        reg.score(X, np.full(60, np.nan))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        reg.score(X, with_nan[:50])


def test_classifier_still_refuses_nan_labels():
    # NaN marks unlabelled rows of a regression task only; a classifier's mark is y == -1.
    X, y, sample_domain = _packed_classification()
    y = y.astype(np.float64)
    y[y == -1] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        ImportanceWeightedClassifier(random_state=0).fit(X, y, sample_domain=sample_domain)


def test_pipeline_routes_sample_domain():
    Xs, ys, Xt, yt = make_selection_bias(n_source=300, n_target=300, random_state=0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    with config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler(),
            ImportanceWeightedClassifier(random_state=0).set_fit_request(sample_domain=True),
        )
        pipe.fit(X, y, sample_domain=sample_domain)
    assert pipe[-1].weighter_.weights_[:300].std() > 0.1


def test_a_weighter_object_keeps_its_parameters():
    Xs, ys, Xt, _ = make_selection_bias(n_source=200, n_target=200, random_state=0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    weighter = KMM(B=2.0, random_state=0)
    clf = ImportanceWeightedClassifier(weighting=weighter).fit(X, y, sample_domain=sample_domain)
    assert clf.weighter_ is not weighter
    assert clf.weighter_.weights_.max() <= 2.0 + 1e-9
    assert not hasattr(weighter, "weights_")


def test_weights_piled_on_a_few_rows_warn():
    rng = np.random.RandomState(0)
    Xs = rng.normal(0.0, 1.0, size=(400, 2))
    ys = (Xs[:, 0] > 0).astype(int)
    Xt = rng.normal(3.0, 0.2, size=(200, 2))
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    with pytest.warns(UserWarning, match="effective sample size"):
        ImportanceWeightedClassifier(weighting="kliep", random_state=0).fit(
            X, y, sample_domain=sample_domain
        )


def test_solver_out_of_iterations_warns():
    X, sample_domain, _ = gaussian_shift()
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        KMM(max_iter=2, random_state=0).fit(X, sample_domain=sample_domain)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        KLIEP(gamma=1.0, max_iter=2, random_state=0).fit(X, sample_domain=sample_domain)


class _NoWeights:
    def fit(self, X, y=None, sample_domain=None):
        return self

    def get_params(self, deep=True):
        return {}


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"estimator": KNeighborsClassifier()}, ValueError, "sample_weight"),
        ({"estimator": LinearRegression()}, ValueError, "classifier"),
        ({"weighting": _NoWeights()}, TypeError, "weights_"),
        ({"weighting": "kernel"}, ValueError, "weighting"),
    ],
)
def test_bad_settings_are_refused_before_weighting(params, error, match):
    Xs, ys, Xt, _ = make_selection_bias(n_source=100, n_target=100, random_state=0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    with pytest.raises(error, match=match):
        ImportanceWeightedClassifier(**params).fit(X, y, sample_domain=sample_domain)


def test_bad_inputs_get_clear_errors():
    Xs, ys, Xt, _ = make_selection_bias(n_source=100, n_target=100, random_state=0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    with pytest.raises(ValueError, match="keyword-only"):
        ImportanceWeightedClassifier().fit(X, y, sample_domain)
    with pytest.raises(ValueError, match="two classes"):
        ImportanceWeightedClassifier().fit(X, np.where(y == 1, 0, y), sample_domain=sample_domain)
    with pytest.raises(ValueError, match="entries"):
        KMM().fit(X, sample_domain=sample_domain[:-1])
    with pytest.raises(ValueError, match="gamma"):
        KLIEP(gamma=[1.0, -2.0]).fit(X, sample_domain=sample_domain)
    with pytest.raises(ValueError, match="cv=5"):
        KLIEP().fit(X[:103], sample_domain=sample_domain[:103])
    with pytest.raises(ValueError, match="classifier"):
        ImportanceWeightedRegressor(estimator=LogisticRegression()).fit(
            X, y, sample_domain=sample_domain
        )
    with pytest.raises(ValueError, match="no source rows"):
        ImportanceWeightedRegressor().fit(Xt, np.zeros(100), sample_domain=-np.ones(100))


# --- a refused fit changes nothing ------------------------------------------------------------


def _packed_classification(seed=0):
    rng = np.random.RandomState(seed)
    Xs, Xt = rng.normal(0.0, 1.0, (60, 3)), rng.normal(0.5, 1.0, (30, 3))
    return pack_domains(source=(Xs, (Xs[:, 0] > 0).astype(int)), target=(Xt, None))


def _outputs(estimator, X):
    if hasattr(estimator, "predict"):
        return estimator.predict(X)
    return estimator.weights_


WEIGHTED = [
    KMM(random_state=0),
    KLIEP(n_centers=10, random_state=0),
    ImportanceWeightedClassifier(random_state=0),
    ImportanceWeightedRegressor(random_state=0),
]


@pytest.mark.parametrize("estimator", WEIGHTED, ids=lambda est: type(est).__name__)
def test_a_refused_first_fit_leaves_the_estimator_unfitted(estimator):
    X, y, sample_domain = _packed_classification()
    with pytest.raises(ValueError, match="sample_domain has"):
        estimator.fit(X, y, sample_domain=sample_domain[:-1])
    assert not [key for key in vars(estimator) if key.endswith("_")]
    with pytest.raises(NotFittedError):
        check_is_fitted(estimator)


@pytest.mark.parametrize("estimator", WEIGHTED, ids=lambda est: type(est).__name__)
def test_a_refused_refit_keeps_the_fitted_estimator(estimator):
    X, y, sample_domain = _packed_classification()
    before = np.copy(_outputs(estimator.fit(X, y, sample_domain=sample_domain), X))
    # Narrower rows pass the input checks, which would set n_features_in_ = 2.
    with pytest.raises(ValueError, match="sample_domain has"):
        estimator.fit(X[:, :2], y, sample_domain=sample_domain[:-1])
    assert estimator.n_features_in_ == 3
    np.testing.assert_array_equal(_outputs(estimator, X), before)


@pytest.mark.parametrize("eps", [None, 0.5])
def test_kmm_refuses_a_bound_that_no_weights_can_meet(eps):
    X, sample_domain, _ = gaussian_shift(n=100)
    # With eps=None, 1 - eps = 1 / sqrt(100) = 0.1.
    kmm = KMM(B=0.05, eps=eps)
    with pytest.raises(ValueError, match=r"B=0.05 is below 1 - eps = 0.[15]"):
        kmm.fit(X, sample_domain=sample_domain)
    # A bound just above 1 - eps is feasible: the weights average about 1 - eps.
    lowest = 0.1 if eps is None else 0.5
    weights = KMM(B=lowest + 0.01, eps=eps).fit(X, sample_domain=sample_domain).weights_
    assert lowest - 0.01 <= weights[sample_domain > 0].mean() <= lowest + 0.01


@pytest.mark.parametrize("gamma", [[np.inf, 1.0], [np.nan], ["a"]])
def test_kliep_refuses_a_gamma_grid_that_is_not_positive_and_finite(gamma):
    X, sample_domain, _ = gaussian_shift(n=100)
    with pytest.raises(ValueError, match="gamma must be a positive float"):
        KLIEP(gamma=gamma).fit(X, sample_domain=sample_domain)


def test_kliep_refuses_a_kernel_too_narrow_to_reach_the_source_rows():
    X, sample_domain, _ = gaussian_shift(n=100)
    with pytest.raises(ValueError, match=r"gamma=1e\+12 is so large"):
        KLIEP(gamma=1e12, random_state=0).fit(X, sample_domain=sample_domain)
    # In a grid, such a gamma scores -inf and is never chosen.
    kliep = KLIEP(gamma=[1e12, 1.0], random_state=0).fit(X, sample_domain=sample_domain)
    assert kliep.cv_scores_[0] == -np.inf and kliep.gamma_ == 1.0
    assert np.all(np.isfinite(kliep.weights_))


@pytest.mark.parametrize("gamma", [1e12, 1e3])
def test_kmm_warns_when_its_kernel_does_not_reach_the_target(gamma):
    # At these widths the kernel between every source row and every target row is about 0:
    # the weights used to come out uniform (1 - eps = 0.13) without a word.
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(60, 3)), rng.normal(size=(10, 3)) + 3.0
    ys = (Xs[:, 0] > 0).astype(int)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    match = r"gamma=1e\+(12|03) is about 0 .* the median heuristic \(gamma=None\) gives gamma="
    with pytest.warns(UserWarning, match=match):
        kmm = KMM(gamma=gamma, random_state=0).fit(X, sample_domain=sample_domain)
    assert np.ptp(kmm.weights_[sample_domain > 0]) < 1e-3
    with pytest.warns(UserWarning, match=match):
        ImportanceWeightedClassifier(weighting=KMM(gamma=gamma)).fit(
            X, y, sample_domain=sample_domain
        )


def test_kmm_warns_when_the_target_lies_outside_the_source_support():
    # Few target rows far away: the median distance, and so the default gamma, is the source's.
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(60, 3)), rng.normal(size=(10, 3)) + 100.0
    X, _, sample_domain = pack_domains(source=(Xs, np.zeros(60)), target=(Xt, None))
    with pytest.warns(UserWarning, match="outside the source rows' support"):
        KMM(random_state=0).fit(X, sample_domain=sample_domain)


def _two_clusters_and_a_target_on_one():
    """ADAPT's KLIEP test data: source rows near 0 and near 1, target rows near 0."""
    rng = np.random.RandomState(0)
    Xs = np.r_[rng.randn(50) * 0.1, rng.randn(50) * 0.1 + 1.0].reshape(-1, 1)
    Xt = (rng.randn(100) * 0.1).reshape(-1, 1)
    X, _, sample_domain = pack_domains(source=(Xs, np.zeros(100)), target=(Xt, None))
    return X, sample_domain


@pytest.mark.parametrize("gamma", [1e16, [1e16, 1e17]], ids=["one gamma", "grid"])
def test_kliep_warns_when_its_kernel_reaches_no_centre(gamma):
    """Before: gamma=1e16 gave one source row weight 100 and the 99 others 0 without a word
    (the largest kernel value between a source row and a centre was 1e-41)."""
    X, sample_domain = _two_clusters_and_a_target_on_one()
    match = (
        r"KLIEP's kernel with gamma=1e\+16 is about 0 between every row of source domain\(s\) "
        r"1 and every centre .* Lower gamma: the median heuristic \(gamma=None\) gives gamma="
    )
    with pytest.warns(UserWarning, match=match):
        kliep = KLIEP(gamma=gamma, random_state=0).fit(X, sample_domain=sample_domain)
    assert kliep.weights_[sample_domain > 0].max() == pytest.approx(100.0)
    # The meta-estimator also warns of the effective sample size of 1 its weights leave.
    with (
        pytest.warns(UserWarning, match="effective sample size"),
        pytest.warns(UserWarning, match=match),
    ):
        ImportanceWeightedClassifier(weighting=KLIEP(gamma=gamma, random_state=0)).fit(
            X, (X[:, 0] > 0).astype(int), sample_domain=sample_domain
        )


def test_kliep_does_not_warn_when_the_grid_holds_a_kernel_that_reaches_the_centres():
    X, sample_domain = _two_clusters_and_a_target_on_one()
    for gamma in ([1e16, 10.0], None, 10.0):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            kliep = KLIEP(gamma=gamma, random_state=0).fit(X, sample_domain=sample_domain)
        assert kliep.weights_[:50].sum() > 90


def test_kliep_warns_when_the_target_lies_outside_the_source_support():
    # Few target rows far away: every candidate of the median heuristic's grid is blind.
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(60, 3)), rng.normal(size=(10, 3)) + 100.0
    X, _, sample_domain = pack_domains(source=(Xs, np.zeros(60)), target=(Xt, None))
    with pytest.warns(UserWarning, match="outside the source rows' support"):
        KLIEP(random_state=0).fit(X, sample_domain=sample_domain)


def test_classifier_without_source_rows_is_the_plain_classifier():
    X, y, sample_domain = _packed_classification()
    target = sample_domain < 0
    y_target = (X[target, 1] > 0).astype(int)
    clf = ImportanceWeightedClassifier(random_state=0)
    with pytest.warns(UserWarning, match="sample_domain marks no source rows"):
        clf.fit(X[target], y_target, sample_domain=sample_domain[target])
    plain = LogisticRegression().fit(X[target], y_target)
    np.testing.assert_allclose(clf.predict_proba(X), plain.predict_proba(X))


def test_a_weighting_whose_fit_takes_no_sample_domain_is_refused_by_name():
    X, y, sample_domain = _packed_classification()
    clf = ImportanceWeightedClassifier(weighting=LogisticRegression())
    with pytest.raises(TypeError, match="weighting=LogisticRegression must be 'kmm', 'kliep'"):
        clf.fit(X, y, sample_domain=sample_domain)


def test_classes_of_an_unfitted_classifier_raise_not_fitted():
    clf = ImportanceWeightedClassifier()
    with pytest.raises(NotFittedError):
        clf.classes_  # noqa: B018
    assert not hasattr(clf, "classes_")


def test_kmm_with_few_target_rows_lowers_the_nystroem_rank_without_a_warning():
    """Before: scikit-learn's "n_components > n_samples" warning from KMM's own defaults (250
    source and 50 target landmarks for n_components=500)."""
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(600, 2)), rng.normal(size=(50, 2)) + 0.3]
    sample_domain = np.r_[np.ones(600, int), -2 * np.ones(50, int)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weights = KMM(random_state=0).fit(X, sample_domain=sample_domain).weights_
    assert np.all(np.isfinite(weights)) and abs(weights[:600].mean() - 1) < 0.1


@pytest.mark.parametrize(
    "params, error",
    [
        ({"n_source": 0}, ValueError),
        ({"n_target": -1}, ValueError),
        ({"n_source": 2.5}, TypeError),
        ({"n_features": 1}, ValueError),
    ],
)
def test_make_selection_bias_names_a_bad_size(params, error):
    # A zero size failed in np.concatenate and a float deep in NumPy, naming nothing.
    with pytest.raises(error, match=next(iter(params))):
        make_selection_bias(**params, random_state=0)


def test_too_few_target_rows_for_kliep_built_from_its_string_advise_the_weighting():
    """Before: "Lower cv, or pass a single gamma.", parameters the classifier does not have."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(23, 2))
    y = np.r_[rng.integers(0, 2, 20), np.full(3, -1)]
    sample_domain = np.r_[np.ones(20, dtype=int), np.full(3, -1)]
    with pytest.raises(
        ValueError,
        match=r"got 3\. weighting='kliep' picks KLIEP's gamma by cross-validation over these "
        r"folds: pass weighting=KLIEP\(cv=\.\.\.\) with a lower cv, or "
        r"weighting=KLIEP\(gamma=\.\.\.\) with a single gamma\.",
    ):
        ImportanceWeightedClassifier(weighting="kliep").fit(X, y, sample_domain=sample_domain)
    # A KLIEP of the user's own has these parameters.
    with pytest.raises(ValueError, match=r"got 3\. Lower cv, or pass a single gamma\."):
        ImportanceWeightedClassifier(weighting=KLIEP()).fit(X, y, sample_domain=sample_domain)


@pytest.mark.parametrize("n_components", [None, 20])
@pytest.mark.parametrize("eps", [0.0, 1e-4, 1e-3])
def test_kmm_weights_keep_their_mean_within_eps(eps, n_components):
    """Before: the sum's multiplier, found over inexact solves, left |mean - 1| at 1.2e-3."""
    rng = np.random.RandomState(0)
    X_source, X_target = rng.randn(60, 2), rng.randn(80, 2) * 0.5 + [0.8, 0]
    X = np.vstack([X_source, X_target])
    sample_domain = np.r_[np.ones(60, dtype=int), -np.ones(80, dtype=int)]
    kmm = KMM(gamma=0.5, eps=eps, B=5.0, n_components=n_components, random_state=0)
    weights = kmm.fit(X, sample_domain=sample_domain).weights_[:60]
    assert abs(weights.mean() - 1) <= eps + 1e-12
    assert weights.min() >= 0 and weights.max() <= 5.0
    if n_components is None:
        # And no worse a solution of the programme than a solver that keeps the constraint.
        gram = rbf_kernel(X_source, gamma=0.5)
        kappa = 60 * rbf_kernel(X_source, X_target, gamma=0.5).mean(axis=1)

        def objective(beta):
            return (0.5 * beta @ gram @ beta - kappa @ beta) / 60**2

        with threadpool_limits(1):  # hundreds of small products, slow across threads
            reference = optimize.minimize(
                objective,
                np.ones(60),
                jac=lambda beta: (gram @ beta - kappa) / 60**2,
                bounds=[(0.0, 5.0)] * 60,
                constraints=[
                    {"type": "ineq", "fun": lambda beta: 60 * (1 + eps) - beta.sum()},
                    {"type": "ineq", "fun": lambda beta: beta.sum() - 60 * (1 - eps)},
                ],
                method="SLSQP",
                options={"ftol": 1e-12, "maxiter": 1000},
            )
        assert objective(weights) <= reference.fun + 1e-6 * abs(reference.fun)


@pytest.mark.parametrize("B", [1e8, 1e16, 1e300])
def test_kmm_keeps_its_mean_within_eps_with_no_real_cap(B):
    # A huge B (no cap: inf is refused) widened the bracket of the final correction, whose
    # tolerance then missed the sum: the mean was 0.41 at B=1e16 with eps=0.
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(40, 2), rng.randn(40, 2) * 0.5 + [0.8, 0]])
    sample_domain = np.r_[np.ones(40, dtype=int), -np.ones(40, dtype=int)]
    weights = KMM(B=B, eps=0.0).fit(X, sample_domain=sample_domain).weights_[:40]
    assert abs(weights.mean() - 1) <= 1e-12


@pytest.mark.parametrize("weighter", [KMM, KLIEP])
def test_a_kernel_about_1_between_every_two_rows_warns(weighter):
    """Before: gamma=1e-300 gave every source row weight 1 without a word."""
    X, sample_domain, _ = gaussian_shift(n=100)
    match = r"gamma=1e-300 is about 1 between every two rows .* gives gamma="
    with pytest.warns(UserWarning, match=match):
        model = weighter(gamma=1e-300, random_state=0).fit(X, sample_domain=sample_domain)
    assert np.ptp(model.weights_) < 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weighter(random_state=0).fit(X, sample_domain=sample_domain)


# --- sample_weight: a row of integer weight k counts as k copies, a row of weight 0 as none -----


def _weighted_domains(seed=0, n_source=40, n_target=30):
    rng = np.random.RandomState(seed)
    Xs, Xt = rng.normal(0.5, 1.0, (n_source, 2)), rng.normal(0.0, 0.7, (n_target, 2))
    X = np.vstack([Xs, Xt])
    sample_domain = np.r_[np.ones(n_source, dtype=int), -np.ones(n_target, dtype=int)]
    return X, sample_domain


# Settings whose fit draws nothing at random (the exact kernel; every target row a centre, one
# gamma), solved tightly: the weighted and the repeated problem have the same optimum, reached
# along different solver paths, so they agree to the solvers' tolerance only. KMM's kernel
# matrix is ill-conditioned: at its default tol=1e-6 the two differed by 3 at gamma=2.
REPEATABLE = [
    KMM(gamma=2.0, n_components=None, tol=1e-10, max_iter=100000),
    # The bound B and the sum constraint both bind: brentq's multiplier, then the projection.
    KMM(gamma=2.0, B=1.3, eps=0.02, n_components=None, tol=1e-10, max_iter=100000),
    KLIEP(gamma=1.0, n_centers=500, max_iter=100000),
]
REPEATABLE_IDS = ["KMM", "KMM binding", "KLIEP"]


@pytest.mark.parametrize("weighter", REPEATABLE, ids=REPEATABLE_IDS)
def test_integer_sample_weight_is_repeating_the_row(weighter):
    """KMM's programme depends only on the ratios of sample_weight, rescaled to mean 1: that of
    the rows repeated, but with the ridge multiplied by the mean count (the repeated rows' ridge
    is in rows, whose number the ratios do not give) and eps that of the distinct rows. Both
    eps here leave the sum constraint as it is in the repeated fit (unbinding at eps=None, and
    the same bound on the mean at eps=0.02)."""
    X, sample_domain = _weighted_domains()
    counts = np.random.RandomState(1).randint(1, 4, size=X.shape[0])
    weighted = clone(weighter).fit(X, sample_weight=counts, sample_domain=sample_domain)
    with pytest.MonkeyPatch.context() as patch:
        mean_count = counts[sample_domain > 0].mean()
        patch.setattr(_importance, "_KMM_RIDGE", _importance._KMM_RIDGE * mean_count)
        repeated = clone(weighter).fit(
            X.repeat(counts, axis=0), sample_domain=sample_domain.repeat(counts)
        )
    first_copies = np.r_[0, np.cumsum(counts)[:-1]]
    # The weights are O(1) to O(10): an absolute tolerance well below their differences from
    # the unweighted fit's (0.5 to 4.5 here).
    np.testing.assert_allclose(weighted.weights_, repeated.weights_[first_copies], atol=2e-3)
    source = sample_domain > 0
    weighted_mean = np.average(weighted.weights_[source], weights=counts[source])
    repeated_source = sample_domain.repeat(counts) > 0
    assert weighted_mean == pytest.approx(repeated.weights_[repeated_source].mean())


def test_the_median_heuristic_weighs_pairs_of_rows_as_their_copies():
    # 1-D rows, whose copies are exactly 0 apart (in several dimensions euclidean_distances
    # leaves some copies 1e-16 apart, which the repeated rows' median then counts).
    # The same counts in both domains: the heuristic reads each domain's weights at mean 1.
    X = np.random.RandomState(0).normal(size=(30, 1))
    counts = np.random.RandomState(1).randint(1, 4, size=15)
    counts = np.r_[counts, counts[::-1]]
    sample_domain = np.r_[np.ones(15, dtype=int), -np.ones(15, dtype=int)]
    weighted = KMM(random_state=0).fit(X, sample_weight=counts, sample_domain=sample_domain)
    repeated = KMM(random_state=0).fit(
        X.repeat(counts, axis=0), sample_domain=sample_domain.repeat(counts)
    )
    assert weighted.gamma_ == repeated.gamma_
    assert weighted.gamma_ != KMM(random_state=0).fit(X, sample_domain=sample_domain).gamma_


@pytest.mark.parametrize(
    "weighter",
    [
        KMM(random_state=0),
        # Random landmarks, centres and folds: drawn among the rows of positive weight alone.
        KMM(n_components=20, random_state=0),
        KMM(eps=0.02, B=1.3, random_state=0),
        KLIEP(n_centers=10, random_state=0),
        KLIEP(per_source=False, random_state=0),
    ],
    ids=["KMM", "KMM Nystroem", "KMM binding", "KLIEP", "KLIEP pooled"],
)
def test_zero_sample_weight_is_dropping_the_row(weighter):
    X, sample_domain = _weighted_domains()
    # Outliers that would pull the matching: a source row where the target lies and the
    # source is sparse, a target row far from every source row; a second source domain.
    X = np.vstack([X, [[-1.5, -1.5]], [[6.0, 6.0]]])
    sample_domain = np.r_[sample_domain, 1, -1]
    sample_domain[:15] = 2
    sample_weight = np.ones(X.shape[0])
    sample_weight[-2:] = 0
    sample_weight[3] = 0
    kept = sample_weight > 0
    weighted = clone(weighter).fit(X, sample_weight=sample_weight, sample_domain=sample_domain)
    dropped = clone(weighter).fit(X[kept], sample_domain=sample_domain[kept])
    np.testing.assert_allclose(weighted.weights_[kept], dropped.weights_, rtol=1e-12)
    assert weighted.gamma_ == dropped.gamma_
    if isinstance(weighter, KLIEP):
        # The zero-weight source rows get the fitted ratio at their x, from their own domain.
        for row in np.flatnonzero(~kept & (sample_domain > 0)):
            key = sample_domain[row] if weighter.per_source else None
            ratio = weighted.density_ratio(X[row : row + 1], source_domain=key)
            assert weighted.weights_[row] == pytest.approx(ratio[0])
    else:
        np.testing.assert_array_equal(weighted.weights_[~kept & (sample_domain > 0)], 0.0)
    assert weighted.weights_[-1] == 1.0  # a target row


@pytest.mark.parametrize(
    "weighter",
    [KMM(random_state=0), KMM(n_components=20, random_state=0), KLIEP(random_state=0)],
    ids=["KMM", "KMM Nystroem", "KLIEP"],
)
def test_sample_weight_of_ones_is_no_sample_weight(weighter):
    X, sample_domain = _weighted_domains(n_source=50, n_target=40)
    plain = clone(weighter).fit(X, sample_domain=sample_domain)
    ones = clone(weighter).fit(X, sample_weight=np.ones(X.shape[0]), sample_domain=sample_domain)
    np.testing.assert_array_equal(ones.weights_, plain.weights_)
    assert ones.gamma_ == plain.gamma_


class _NoSolve:
    def minimize(self, *args, **kwargs):
        raise AssertionError("solved before sample_weight was checked")


@pytest.mark.parametrize("weighter", [KMM(), KLIEP()], ids=["KMM", "KLIEP"])
@pytest.mark.parametrize(
    ("sample_weight", "match"),
    [
        (np.r_[-1.0, np.ones(69)], "sample_weight has negative values"),
        (np.ones(69), r"sample_weight.shape == \(69,\), expected \(70,\)"),
        (np.ones((70, 2)), "Sample weights must be 1D"),
    ],
    ids=["negative", "wrong length", "2-D"],
)
def test_bad_sample_weight_is_refused_before_any_solve(weighter, sample_weight, match, monkeypatch):
    from sktransfer.instance_transfer import _importance

    monkeypatch.setattr(_importance, "optimize", _NoSolve())
    X, sample_domain = _weighted_domains()
    with pytest.raises(ValueError, match=match):
        clone(weighter).fit(X, sample_weight=sample_weight, sample_domain=sample_domain)


def test_the_importance_weighted_estimators_pass_sample_weight_to_the_weighter():
    X, sample_domain = _weighted_domains()
    X = np.vstack([[[-1.5, -1.5]], X])
    sample_domain = np.r_[1, sample_domain]
    y = np.where(sample_domain > 0, (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int), -1)
    sample_weight = np.r_[0.0, np.ones(X.shape[0] - 1)]
    for weighting in ["kmm", "kliep"]:
        clf = ImportanceWeightedClassifier(weighting=weighting, random_state=0)
        weighted = clone(clf).fit(X, y, sample_weight, sample_domain=sample_domain)
        dropped = clone(clf).fit(X[1:], y[1:], sample_domain=sample_domain[1:])
        np.testing.assert_allclose(weighted.weighter_.weights_[1:], dropped.weighter_.weights_)
        np.testing.assert_allclose(
            weighted.estimator_.coef_, dropped.estimator_.coef_, rtol=1e-6, atol=1e-8
        )
        np.testing.assert_allclose(
            weighted.predict_proba(X), dropped.predict_proba(X), rtol=1e-6, atol=1e-8
        )
        reg = ImportanceWeightedRegressor(weighting=weighting, random_state=0)
        weighted = clone(reg).fit(X, X[:, 0] ** 2, sample_weight, sample_domain=sample_domain)
        dropped = clone(reg).fit(X[1:], X[1:, 0] ** 2, sample_domain=sample_domain[1:])
        np.testing.assert_allclose(weighted.estimator_.coef_, dropped.estimator_.coef_)


class _WeightsWithoutSampleWeight:
    def fit(self, X, y=None, sample_domain=None):
        self.weights_ = np.ones(X.shape[0])
        return self

    def get_params(self, deep=True):
        return {}


def test_a_weighter_whose_fit_takes_no_sample_weight_warns_when_given_one():
    X, sample_domain = _weighted_domains()
    y = np.where(sample_domain > 0, (X[:, 0] > 0.5).astype(int), -1)
    clf = ImportanceWeightedClassifier(weighting=_WeightsWithoutSampleWeight())
    clf.fit(X, y, sample_domain=sample_domain)  # no sample_weight: no warning
    with pytest.warns(UserWarning, match="takes no sample_weight"):
        clf.fit(X, y, np.ones(X.shape[0]), sample_domain=sample_domain)


# --- KMM's programme has one solution: the weights do not depend on where the solver stops -------


def _unscaled_wine_shift():
    """Wine's 13 features unscaled (proline in the hundreds, others below 1), a target half
    with a per-feature scale and offset: the median-heuristic kernel sees proline alone, and its
    Gram matrix is nearly singular."""
    X, _ = load_wine(return_X_y=True)
    rng = np.random.RandomState(0)
    is_target = np.zeros(X.shape[0], dtype=bool)
    is_target[rng.permutation(X.shape[0])[: X.shape[0] // 2]] = True
    X = X.copy()
    X[is_target] = X[is_target] * rng.uniform(0.85, 1.15, 13) + 0.3 * X.std(0) * rng.randn(13)
    return X, np.where(is_target, -1, 1)


@pytest.mark.parametrize("n_components", [None, 40], ids=["exact", "Nystroem"])
def test_kmm_weights_do_not_depend_on_rounding_of_an_unscaled_x(n_components):
    """Before: casting X to float32 (rounding of 1e-7, KMM computes in float64) moved the
    weights by up to 1.3 (3.3 for breast_cancer, 21 for make_selection_bias), relative noise of
    1e-9 by up to 0.75, and tol=1e-10 by up to 4: many weights matched the means about as well,
    and the solver stopped anywhere among them."""
    X, sample_domain = _unscaled_wine_shift()
    source = sample_domain > 0
    noise = 1 + 1e-9 * np.random.RandomState(1).randn(*X.shape)
    fits = [
        KMM(n_components=n_components, random_state=0, **params).fit(
            Xi, sample_domain=sample_domain
        )
        for Xi, params in [(X, {}), (X.astype(np.float32), {}), (X * noise, {}), (X, {"tol": 1e-9})]
    ]
    weights = [fit.weights_[source] for fit in fits]
    assert weights[0].max() > 5  # weights far from uniform, so that the check has teeth
    for other in weights[1:]:
        np.testing.assert_allclose(other, weights[0], rtol=0, atol=0.02)


@pytest.mark.parametrize("seed", [0, 1])
def test_kmm_ridge_moves_well_conditioned_weights_little(seed):
    """The ridge that makes KMM's solution unique costs little where it had one already:
    standardised breast_cancer, selection on the first feature, against the paper's programme
    (no ridge) solved to a tight tolerance. Every weight stays within 2% of the largest one,
    the logistic regression fitted with them scores the same on the target, and the weights
    with the ridge are nearer uniform, not farther."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rng = np.random.RandomState(seed)
    is_target = rng.uniform(size=X.shape[0]) < 1 / (1 + np.exp(-2.0 * (X[:, 0] - 0.3)))
    sample_domain = np.where(is_target, -1, 1)
    source = ~is_target
    weights = KMM(random_state=0).fit(X, sample_domain=sample_domain).weights_[source]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_importance, "_KMM_RIDGE", 0.0)
        paper = KMM(tol=1e-12, max_iter=100000, random_state=0)
        reference = paper.fit(X, sample_domain=sample_domain).weights_[source]
    assert np.abs(weights - reference).max() < 0.02 * reference.max()
    assert np.abs(weights - reference).max() > 1e-4  # the ridge is on
    np.testing.assert_array_less(np.sum((weights - 1) ** 2), np.sum((reference - 1) ** 2))

    def accuracy(w):
        model = LogisticRegression(max_iter=1000).fit(X[source], y[source], sample_weight=w)
        return model.score(X[is_target], y[is_target])

    assert accuracy(weights) == pytest.approx(accuracy(reference), abs=0.01)


# --- Only the ratios of sample_weight count: weights times a constant are the same weights -------

SCALES = [1e-300, 1e-3, 0.01, 1e3, 1e200]
SCALED_WEIGHTERS = [
    KMM(random_state=0),
    KMM(n_components=20, random_state=0),
    KLIEP(random_state=0),
]
SCALED_IDS = ["KMM exact", "KMM Nystroem", "KLIEP"]


@pytest.mark.parametrize("weighter", SCALED_WEIGHTERS, ids=SCALED_IDS)
@pytest.mark.parametrize("scale", SCALES)
def test_constant_sample_weight_is_no_sample_weight(weighter, scale):
    """Before: KMM's default eps, (sqrt(sum w) - 1) / sqrt(sum w), went negative for weights
    summing below 1 and swapped the bounds on the sum (brentq failed at 1e-3; "B=1000.0 is
    below 1 - eps = 1.29e+149" at 1e-300), and its ridge and kappa grew with sum w, moving the
    weights by 4 at 0.01 and 1e3; products of pair weights of 1e200 overflowed in the median
    heuristic (an IndexError in both weighters), and KLIEP's underflowed at 1e-300 (weights
    off by 3.5). Equal weights are exactly the fit without them now; the tolerance, 1e-9 on
    weights of order 1, is far below the solvers' (KMM's tol=1e-6 leaves about 1e-3)."""
    X, sample_domain = _weighted_domains(n_source=60, n_target=40)
    plain = clone(weighter).fit(X, sample_domain=sample_domain)
    sample_weight = np.full(X.shape[0], scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weighted = clone(weighter).fit(X, sample_weight=sample_weight, sample_domain=sample_domain)
    np.testing.assert_allclose(weighted.weights_, plain.weights_, rtol=0, atol=1e-9)
    assert weighted.gamma_ == plain.gamma_


@pytest.mark.parametrize(
    "weighter",
    [
        KMM(gamma=0.5, random_state=0),
        KMM(gamma=0.5, n_components=20, random_state=0),
        # The bound B and the sum constraint bind: brentq's multiplier, then the projection.
        KMM(gamma=0.5, B=1.3, eps=0.02, random_state=0),
        KLIEP(gamma=0.5, random_state=0),
    ],
    ids=["KMM exact", "KMM Nystroem", "KMM binding", "KLIEP"],
)
@pytest.mark.parametrize(
    "scales",
    [(1e-3, 1e-3, 1.0), (1.0, 1.0, 1e-3), (1e-300, 1e3, 1.0), (1e200, 1.0, 1e-300)],
    ids=["sources light", "target light", "sources far apart", "extremes"],
)
def test_each_domain_s_sample_weight_counts_by_its_ratios_alone(weighter, scales):
    """Uneven weights, each source domain and the target times its own constant: every
    domain's weights are normalised on their own, as the means they weight are. Before, a
    source whose weights summed below 1 beside a target of weight 1 failed in brentq, and the
    ridge's share of the objective followed each source's total weight. The gamma is given:
    the median heuristic weighs pairs of rows across domains by their weights' product."""
    X, sample_domain = _weighted_domains(n_source=60, n_target=40)
    sample_domain[:25] = 2
    pattern = np.random.RandomState(2).uniform(0.2, 3.0, X.shape[0])
    reference = clone(weighter).fit(X, sample_weight=pattern, sample_domain=sample_domain)
    scale = np.select([sample_domain == 1, sample_domain == 2], scales[:2], scales[2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaled = clone(weighter).fit(X, sample_weight=pattern * scale, sample_domain=sample_domain)
    # Only the rounding of the rescaled weights differs, 1e-16, but two solves from inputs a
    # rounding apart stop at different points within the solver's tolerance (KMM's tol=1e-6
    # leaves the weights within about 1e-3): they differed by up to 3e-5 here.
    np.testing.assert_allclose(scaled.weights_, reference.weights_, rtol=0, atol=1e-3)


def test_the_median_heuristic_reads_the_ratios_of_sample_weight_alone():
    """Before: pair weights of 1e200 overflowed (an IndexError), of 1e-300 underflowed to 0 (a
    median of 1), and equal weights of 0.1 moved the median through the rounding of their
    cumulative sum (0.28996 against 0.28970)."""
    X = np.random.RandomState(0).normal(size=(100, 2))
    plain = _importance._median_heuristic_gamma(X)
    pattern = np.random.RandomState(1).uniform(0.2, 3.0, X.shape[0])
    weighted = _importance._median_heuristic_gamma(X, sample_weight=pattern)
    assert weighted != plain
    for scale in [1e-300, 0.1, 1e200]:
        equal = np.full(X.shape[0], scale)
        assert _importance._median_heuristic_gamma(X, sample_weight=equal) == plain
        uneven = _importance._median_heuristic_gamma(X, sample_weight=pattern * scale)
        assert uneven == pytest.approx(weighted, rel=1e-12)


def _concentrated_shift(target_mean, target_std, seed=0):
    rng = np.random.RandomState(seed)
    Xs = rng.normal(0.0, 1.0, size=(200, 2))
    Xt = rng.normal(target_mean, target_std, size=(100, 2))
    return pack_domains(source=(Xs, (Xs[:, 0] > 0).astype(int)), target=(Xt, None))


@pytest.mark.parametrize("scale", [0.05, 0.01])
def test_uniform_fractional_sample_weight_does_not_lower_the_effective_sample_size(scale):
    """Before: Kish's effective size in the units of sample_weight, 43 source rows times the
    scale, against min(10, half the total weight): uniform weights of 0.05 read as "an effective
    sample size of 2.2 of 10 source rows" and warned, where the fit without them did not."""
    X, y, sample_domain = _concentrated_shift(1.0, 0.5)
    clf = ImportanceWeightedClassifier(LogisticRegression(), weighting=KLIEP(gamma=0.5))
    sample_weight = np.full(X.shape[0], scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clone(clf).fit(X, y, sample_domain=sample_domain)
        clone(clf).fit(X, y, sample_weight, sample_domain=sample_domain)
    # Weights piled on a few source rows still warn, counted in rows.
    X, y, sample_domain = _concentrated_shift(3.0, 0.2)
    with pytest.warns(UserWarning, match=r"effective sample size of \d+\.\d of 200 source rows"):
        clone(clf).fit(X, y, sample_weight, sample_domain=sample_domain)


@pytest.mark.parametrize("weighter", [KMM(random_state=0), KLIEP(random_state=0)], ids=repr)
def test_the_median_heuristic_reads_each_domains_weights_at_mean_one(weighter):
    # Weights that sum to 1 in each domain, a common normalisation, moved gamma_ and the
    # weights (KLIEP's by 2.4) against no sample_weight.
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0.5, 1.0, size=(60, 2)), rng.normal(0.0, 1.0, size=(40, 2))]
    sample_domain = np.r_[np.ones(60, dtype=int), np.full(40, -2)]
    per_domain = np.r_[np.full(60, 1 / 60), np.full(40, 1 / 40)]
    plain = clone(weighter).fit(X, sample_domain=sample_domain)
    weighted = clone(weighter).fit(X, sample_weight=per_domain, sample_domain=sample_domain)
    assert weighted.gamma_ == plain.gamma_
    np.testing.assert_allclose(weighted.weights_, plain.weights_, atol=1e-9)


def test_a_weight_too_small_beside_the_largest_is_a_row_left_out():
    # 1e-300 beside 1e30 rounded to 0 after the rescaling, and KMM divided 0 by 0.
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0.5, 1.0, size=(60, 2)), rng.normal(0.0, 1.0, size=(40, 2))]
    sample_domain = np.r_[np.ones(60, dtype=int), np.full(40, -2)]
    weight = np.ones(100)
    weight[[0, 1]] = [1e-300, 1e30]
    weights = KMM(random_state=0).fit(X, sample_weight=weight, sample_domain=sample_domain)
    assert np.all(np.isfinite(weights.weights_)) and weights.weights_[0] == 0


def test_a_regression_without_source_rows_says_which_rows_are_source_rows():
    X = np.random.RandomState(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="no source rows .*rows whose y is not NaN"):
        ImportanceWeightedRegressor().fit(X, np.full(10, np.nan))


@pytest.mark.parametrize("tiny", [1e-300, 1e-315])
def test_weights_too_small_beside_the_pooled_sources_largest_are_rows_left_out(tiny):
    # Pooled sources are rescaled together: one source's weights of 1e-300 beside another's
    # 1e30 rounded to 0 there and gave NaN weights; subnormal ratios gave erratic ones.
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0.5, 1.0, size=(60, 2)), rng.normal(0.0, 1.0, size=(40, 2))]
    sample_domain = np.r_[np.ones(30, dtype=int), np.full(30, 2), np.full(40, -1)]
    weight = np.ones(100)
    weight[:30], weight[30:60] = 1e30, tiny
    kmm = KMM(per_source=False, random_state=0)
    weights = kmm.fit(X, sample_weight=weight, sample_domain=sample_domain).weights_
    assert np.all(np.isfinite(weights)) and np.all(weights[30:60] == 0)


@pytest.mark.parametrize("weighter", [KMM(random_state=0), KLIEP(random_state=0)], ids=repr)
def test_uniform_weights_near_the_float_limit_give_the_unweighted_result(weighter):
    # Sums of weights of 1e307 overflowed to inf: KLIEP then called its gamma too large.
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0.5, 1.0, size=(60, 2)), rng.normal(0.0, 1.0, size=(40, 2))]
    sample_domain = np.r_[np.ones(30, dtype=int), np.full(30, 2), np.full(40, -1)]
    plain = clone(weighter).fit(X, sample_domain=sample_domain)
    huge = clone(weighter).fit(X, sample_weight=np.full(100, 1e307), sample_domain=sample_domain)
    assert huge.gamma_ == plain.gamma_
    np.testing.assert_allclose(huge.weights_, plain.weights_, atol=1e-9)
