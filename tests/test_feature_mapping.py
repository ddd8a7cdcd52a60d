"""TCA, subspace alignment and the domain-revealing selector: what they compute and gain."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import linalg
from sklearn import config_context
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import SelfTrainingClassifier

from sktransfer.domain_adaptation import (
    TCA,
    DomainRevealingFeatureSelector,
    SubspaceAlignment,
    _feature_mapping,
)
from sktransfer.domain_adaptation._feature_mapping import _transfer_directions
from sktransfer.utils import pack_domains

SEEDS = [0, 1, 2]


def _sensor_offset(seed, n=300):
    """Five noisy readings of the quantity that sets the label and five noise features; on the
    target, two readings and two noise features read 2.5 units high. Returns source rows, target
    rows to adapt with, and target rows to test on."""
    rng = np.random.RandomState(seed)
    offset = np.zeros(10)
    offset[[0, 1, 5, 6]] = 2.5

    def draw(n, shift):
        z = rng.normal(size=n)
        X = np.c_[z[:, None] + 0.7 * rng.normal(size=(n, 5)), rng.normal(size=(n, 5))]
        return X + shift, (z > 0).astype(int)

    return draw(n, 0.0), draw(n, offset), draw(n, offset)


def _accuracies(transformer, seed):
    """Target accuracy of a logistic regression on source rows, with and without adaptation."""
    (Xs, ys), (Xt, _), (X_test, y_test) = _sensor_offset(seed)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    X_new = transformer.fit_transform(X, y, sample_domain=sample_domain)
    adapted = LogisticRegression().fit(X_new[sample_domain > 0], ys)
    plain = LogisticRegression().fit(Xs, ys)
    return adapted.score(transformer.transform(X_test), y_test), plain.score(X_test, y_test)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    "transformer",
    [TCA(n_components=5, random_state=0), SubspaceAlignment(n_components=5)],
    ids=["TCA", "SubspaceAlignment"],
)
def test_beats_no_adaptation_on_a_sensor_offset_by_015(transformer, seed):
    adapted, plain = _accuracies(transformer, seed)

    # No adaptation scores 0.55 to 0.73 on these seeds, the adapted features 0.85 to 0.90.
    assert adapted >= plain + 0.10, (adapted, plain)
    assert adapted >= 0.82


def test_tca_solves_the_papers_generalized_eigenproblem():
    rng = np.random.RandomState(0)
    n = 400
    A = rng.normal(size=(n, 20))
    K = A @ A.T
    e = np.where(np.arange(n) < 250, 1 / 250, -1 / 150)
    Ke = K @ e
    K_centred = K - K.mean(axis=0)
    reference_values, reference = linalg.eigh(
        K_centred.T @ K_centred, np.outer(Ke, Ke) + 0.5 * np.eye(n), subset_by_index=[n - 4, n - 1]
    )

    W, values = _transfer_directions(K, Ke, 0.5, 4, rng)

    assert_allclose(values, reference_values[::-1], rtol=1e-8)
    # Each direction up to its sign, normalised as scipy does: W^T (K L K + mu I) W = I.
    assert_allclose(np.abs(np.sum(W * reference[:, ::-1], axis=0)) / np.sum(W * W, axis=0), 1.0)
    assert_allclose(W.T @ (np.outer(Ke, Ke) + 0.5 * np.eye(n)) @ W, np.eye(4), atol=1e-8)


def test_tca_maps_every_row_through_the_kernel_against_the_fitted_rows():
    (Xs, ys), (Xt, _), (X_test, _) = _sensor_offset(0, n=100)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    tca = TCA(n_components=3, kernel="rbf", gamma=0.1).fit(X, y, sample_domain=sample_domain)

    kernel = np.exp(-0.1 * ((X_test[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))

    assert_allclose(tca.transform(X_test), kernel @ tca.components_)
    # With a linear kernel the domain means meet along every component, where the raw
    # features differ by 2.5 standard deviations.
    Z = TCA(n_components=3).fit_transform(X, y, sample_domain=sample_domain)
    assert np.all(np.abs(Z[:100].mean(axis=0) - Z[100:].mean(axis=0)) < 0.1 * Z.std(axis=0))
    assert np.max(np.abs(Xs.mean(axis=0) - Xt.mean(axis=0)) / X[:100].std(axis=0)) > 2.0


def test_tca_fits_at_most_max_samples_rows_half_from_each_domain():
    (Xs, ys), (Xt, _), _ = _sensor_offset(0, n=300)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:80], None))

    tca = TCA(n_components=2, max_samples=200, random_state=0)
    Z = tca.fit_transform(X, y, sample_domain=sample_domain)

    assert tca.X_fit_.shape == (200, 10)
    # The 80 target rows are all kept; the source fills the rest.
    assert {tuple(row) for row in Xt[:80]} <= {tuple(row) for row in tca.X_fit_}
    assert_allclose(Z, tca.transform(X))
    assert_array_equal(
        tca.X_fit_,
        TCA(n_components=2, max_samples=200, random_state=0)
        .fit(X, y, sample_domain=sample_domain)
        .X_fit_,
    )


def test_too_many_components_are_refused_before_the_kernel():
    X, y, sample_domain = pack_domains(source=(np.eye(3), [0, 1, 0]), target=(np.eye(3), None))

    with pytest.raises(ValueError, match="n_components=7 is larger than the 6 sample"):
        TCA(n_components=7).fit(X, sample_domain=sample_domain)
    with pytest.raises(ValueError, match="n_components=4 is larger than min"):
        SubspaceAlignment(n_components=4).fit(X, sample_domain=sample_domain)


def test_subspace_alignment_aligns_source_rows_and_projects_target_rows():
    (Xs, ys), (Xt, _), _ = _sensor_offset(1, n=200)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    sa = SubspaceAlignment(n_components=3)

    X_new = sa.fit_transform(X, y, sample_domain=sample_domain)

    target_pca = PCA(n_components=3, svd_solver="full").fit(Xt)
    source_pca = PCA(n_components=3, svd_solver="full").fit(Xs)
    assert_allclose(np.abs(X_new[200:]), np.abs(target_pca.transform(Xt)), atol=1e-8)
    M = source_pca.components_ @ target_pca.components_.T
    assert_allclose(np.abs(sa.alignment_), np.abs(M), atol=1e-8)
    # A pipeline at prediction time passes no sample_domain: the rows are target rows.
    assert_allclose(sa.transform(Xt), X_new[200:])
    assert_allclose(sa.transform(X, sample_domain=sample_domain), X_new)
    # Without target rows (no sample_domain, no y == -1) it is plain PCA.
    alone = SubspaceAlignment(n_components=3).fit(Xs, ys)
    assert_allclose(np.abs(alone.transform(Xs)), np.abs(source_pca.transform(Xs)), atol=1e-8)


def _domain_only_feature(seed, n=300):
    """Features 0 and 1 set the label; feature 2 moves by 2 on the target and carries no label."""
    rng = np.random.RandomState(seed)
    Xs, Xt = rng.normal(size=(n, 4)), rng.normal(size=(n, 4))
    Xt[:, 2] += 2.0
    ys = (Xs[:, 0] + Xs[:, 1] > 0).astype(int)
    return pack_domains(source=(Xs, ys), target=(Xt, None))


@pytest.mark.parametrize(
    "estimator",
    [None, LogisticRegression(), RandomForestClassifier(n_estimators=20, random_state=0)],
    ids=["domain AUC", "coef_", "feature_importances_"],
)
@pytest.mark.parametrize("seed", SEEDS)
def test_selector_drops_the_feature_that_only_carries_the_shift(estimator, seed):
    X, y, sample_domain = _domain_only_feature(seed)

    selector = DomainRevealingFeatureSelector(estimator, n_features_to_drop=1)
    X_new = selector.fit_transform(X, y, sample_domain=sample_domain)

    assert_array_equal(selector.dropped_, [2])
    assert_array_equal(X_new, X[:, [0, 1, 3]])
    assert selector.scores_[2] > 2 * np.delete(selector.scores_, 2).max()


def test_selector_threshold_drops_only_the_revealing_feature():
    X, y, sample_domain = _domain_only_feature(0)

    selector = DomainRevealingFeatureSelector(n_features_to_drop=None, threshold=0.3)
    selector.fit(X, y, sample_domain=sample_domain)

    assert selector.get_support().tolist() == [True, True, False, True]
    # |2 AUC - 1| of a shift by two standard deviations is about 0.84.
    assert 0.75 < selector.scores_[2] < 0.92


def test_selector_without_target_rows_drops_nothing():
    X, y, _ = _domain_only_feature(0)

    selector = DomainRevealingFeatureSelector().fit(X[:300], y[:300])

    assert selector.get_support().all()
    assert_array_equal(selector.scores_, 0.0)


def test_selector_refit_without_target_rows_drops_the_earlier_domain_classifier():
    # estimator_ exists only when the fit trained a domain classifier; a refit without target
    # rows kept the one of the earlier fit.
    X, y, sample_domain = _domain_only_feature(0)
    selector = DomainRevealingFeatureSelector(LogisticRegression())
    assert hasattr(selector.fit(X, y, sample_domain=sample_domain), "estimator_")

    selector.fit(X[:300], y[:300])

    assert not hasattr(selector, "estimator_")
    assert_array_equal(selector.scores_, 0.0)


def test_selector_refuses_what_it_cannot_do():
    X, y, sample_domain = _domain_only_feature(0)

    with pytest.raises(ValueError, match="would drop all of the n_features = 4"):
        DomainRevealingFeatureSelector(n_features_to_drop=4).fit(X, sample_domain=sample_domain)
    with pytest.raises(ValueError, match="both None"):
        DomainRevealingFeatureSelector(n_features_to_drop=None).fit(X, sample_domain=sample_domain)
    with pytest.raises(ValueError, match="none would be kept"):
        DomainRevealingFeatureSelector(n_features_to_drop=None, threshold=-1.0).fit(
            X, sample_domain=sample_domain
        )
    with pytest.raises(TypeError, match="must be a classifier"):
        DomainRevealingFeatureSelector(LinearRegression()).fit(X, sample_domain=sample_domain)


@pytest.mark.parametrize(
    "make_step",
    [
        lambda: TCA(n_components=5, random_state=0).set_fit_request(sample_domain=True),
        lambda: (
            SubspaceAlignment(n_components=5)
            .set_fit_request(sample_domain=True)
            .set_transform_request(sample_domain=True)
        ),
    ],
    ids=["TCA", "SubspaceAlignment"],
)
def test_in_a_pipeline_with_metadata_routing(make_step):
    (Xs, ys), (Xt, _), (X_test, y_test) = _sensor_offset(0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))

    with config_context(enable_metadata_routing=True):
        model = make_pipeline(make_step(), SelfTrainingClassifier(LogisticRegression(), max_iter=0))
        model.fit(X, y, sample_domain=sample_domain)
        adapted = model.score(X_test, y_test)

    assert adapted >= LogisticRegression().fit(Xs, ys).score(X_test, y_test) + 0.15


# --- a refused fit changes nothing ------------------------------------------------------------

TRANSFORMERS = [
    TCA(n_components=2, random_state=0),
    SubspaceAlignment(n_components=2),
    DomainRevealingFeatureSelector(),
]


def _packed(seed=0):
    (Xs, ys), (Xt, _), _ = _sensor_offset(seed, n=40)
    return pack_domains(source=(Xs, ys), target=(Xt, None))


@pytest.mark.parametrize("method", ["fit", "fit_transform"])
@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda est: type(est).__name__)
def test_a_refused_first_fit_leaves_the_transformer_unfitted(transformer, method):
    X, y, sample_domain = _packed()
    with pytest.raises(ValueError, match="sample_domain has"):
        getattr(transformer, method)(X, y, sample_domain=sample_domain[:-1])
    assert not [key for key in vars(transformer) if key.endswith("_")]
    with pytest.raises(NotFittedError):
        transformer.transform(X)


@pytest.mark.parametrize("method", ["fit", "fit_transform"])
@pytest.mark.parametrize("transformer", TRANSFORMERS, ids=lambda est: type(est).__name__)
def test_a_refused_refit_keeps_the_fitted_transformer(transformer, method):
    X, y, sample_domain = _packed()
    before = transformer.fit(X, y, sample_domain=sample_domain).transform(X)
    # Narrower rows pass the input checks, which would set n_features_in_ = 4.
    with pytest.raises(ValueError, match="sample_domain has"):
        getattr(transformer, method)(X[:, :4], y, sample_domain=sample_domain[:-1])
    assert transformer.n_features_in_ == X.shape[1]
    assert_array_equal(transformer.transform(X), before)


def test_tca_warns_when_the_kernel_leaves_components_without_variance():
    # A linear kernel on 3 features has rank 3: a 5th component would be a constant column.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    X[30:] += 1.0  # a shift, so that TCA does not warn of domains alike
    domains = np.r_[np.ones(30), -np.ones(30)]
    with pytest.warns(UserWarning, match=r"2 of the n_components=5 .* allows 3"):
        TCA(n_components=5, kernel="linear").fit(X, sample_domain=domains)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TCA(n_components=3, kernel="linear").fit(X, sample_domain=domains)
        TCA(n_components=5, kernel="rbf").fit(X, sample_domain=domains)


@pytest.mark.parametrize("n_rows", [150, 310])
def test_tca_of_rows_all_alike_warns_whatever_the_solver(n_rows):
    """Before: above 200 rows (ARPACK's side) a bare "ARPACK error -9: Starting vector is
    zero"; at or below, the warning below."""
    sample_domain = np.where(np.arange(n_rows) < n_rows // 2, 1, -1)
    with pytest.warns(UserWarning, match=r"2 of the n_components=2 .* allows 0"):
        tca = TCA(kernel="linear").fit(np.ones((n_rows, 3)), sample_domain=sample_domain)
    features = tca.transform(np.ones((4, 3)))
    assert np.all(np.isfinite(features))
    assert_allclose(features, np.broadcast_to(features[0], features.shape))


@pytest.mark.parametrize(
    "gamma, shape",
    [(1e12, "nearly the identity: new rows map to about 0"), (1e-12, "nearly constant")],
)
def test_tca_warns_when_gamma_makes_the_kernel_degenerate(gamma, shape):
    # The eigenvalue check compares components with each other, so it stayed silent while
    # gamma=1e12 mapped every new row to 0 and gamma=1e-12 every row to about the same point.
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(size=(40, 3)), rng.normal(size=(20, 3)) + 1.0]
    domains = np.r_[np.ones(40), -np.ones(20)]
    with pytest.warns(UserWarning, match=rf"rbf kernel with gamma={gamma} is {shape}"):
        TCA(kernel="rbf", gamma=gamma).fit(X, sample_domain=domains)


def test_subspace_alignment_refuses_a_domain_of_one_row():
    # One target row, centred, spans no axis: n_components used to drop silently to 1 and the
    # target "axis" was [1, 0, 0] whatever the data, the SVD of a zero matrix.
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(size=(40, 3)), rng.normal(size=(1, 3)) + 1.0]
    domains = np.r_[np.ones(40), -np.ones(1)]
    with pytest.raises(
        ValueError,
        match=r"at least 2 rows in each domain; got 40 sample\(s\) of the source and 1 of",
    ):
        SubspaceAlignment().fit(X, sample_domain=domains)


def test_subspace_alignment_keeps_only_the_axes_the_rows_span():
    # 3 target rows, centred, span 2 of the 5 feature directions: a third axis was arbitrary.
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(size=(40, 5)), rng.normal(size=(3, 5))]
    domains = np.r_[np.ones(40), -np.ones(3)]
    assert SubspaceAlignment().fit(X, sample_domain=domains).n_components_ == 2
    with pytest.raises(ValueError, match=r"n_components=3 is larger than .* = 2"):
        SubspaceAlignment(n_components=3).fit(X, sample_domain=domains)


@pytest.mark.parametrize(
    "transformer",
    [
        TCA(n_components=3, random_state=0),
        SubspaceAlignment(n_components=3),
        DomainRevealingFeatureSelector(n_features_to_drop=2),
    ],
    ids=["TCA", "SubspaceAlignment", "DomainRevealingFeatureSelector"],
)
def test_a_plain_pipeline_warns_that_its_classifier_learns_unlabelled_rows(transformer):
    # As CORAL does: the others let a plain Pipeline learn -1 as a class without a word.
    (Xs, ys), (Xt, _), _ = _sensor_offset(0, n=60)
    X, y, _ = pack_domains(source=(Xs, ys), target=(Xt, None))
    plain = make_pipeline(transformer, LogisticRegression())
    with pytest.warns(UserWarning, match=f"{type(transformer).__name__} was given 60 unlabelled"):
        plain.fit(X, y)
    assert -1 in plain.classes_
    # No warning where the final step reads -1 as unlabelled (pytest makes warnings errors).
    make_pipeline(transformer, SelfTrainingClassifier(LogisticRegression(), max_iter=0)).fit(X, y)


@pytest.mark.parametrize("final", [PCA(n_components=2), KMeans(n_clusters=2, n_init=1)])
def test_no_warning_when_the_final_step_reads_no_labels(final):
    # A transformer or a clusterer learns no class from y == -1; the warning said it did.
    (Xs, ys), (Xt, _), _ = _sensor_offset(0, n=60)
    X, y, _ = pack_domains(source=(Xs, ys), target=(Xt, None))
    for transformer in (TCA(n_components=3, random_state=0), SubspaceAlignment(n_components=3)):
        make_pipeline(transformer, final).fit(X, y)  # warnings are errors here


@pytest.mark.parametrize("scale, mu", [(1.0, 1e300), (1e-8, 1.0)])
def test_tca_warns_when_mu_drowns_the_mmd(scale, mu):
    """Before: mu=1e300, or the default mu=1 on features of 1e-8, made TCA kernel PCA (its
    features shrunk by 1 / sqrt(mu)) without a word; the shift stayed in place."""
    (Xs, ys), (Xt, _), _ = _sensor_offset(0, n=60)
    X, y, sample_domain = pack_domains(source=(Xs * scale, ys), target=(Xt * scale, None))
    with pytest.warns(UserWarning, match=r"times the MMD term .* TCA is kernel PCA"):
        TCA(mu=mu).fit(X, y, sample_domain=sample_domain)


@pytest.mark.parametrize("kernel", ["rbf", "cosine", "linear"])
def test_tca_says_nothing_of_mu_for_domains_already_together(kernel):
    # Target rows a thousandth of a feature's spread from the source: the MMD is about 0, so
    # kernel PCA is the right answer, yet the default mu was said to drown it.
    Xs = np.random.default_rng(0).normal(size=(40, 5))
    Xt = Xs + 1e-3 * np.random.default_rng(1).normal(size=(40, 5))
    X, y, sample_domain = pack_domains(source=(Xs, np.arange(40) % 2), target=(Xt, None))
    TCA(kernel=kernel).fit(X, y, sample_domain=sample_domain)  # warnings are errors here


def test_tca_refuses_features_whose_kernel_squares_overflow():
    # It said "mu=1.0 is too small for this kernel ... raise mu", true of no mu.
    (Xs, ys), (Xt, _), _ = _sensor_offset(0, n=60)
    X, y, sample_domain = pack_domains(source=(Xs * 1e77, ys), target=(Xt * 1e77, None))
    for mu in (1.0, 1e160):
        with pytest.raises(ValueError, match=r"linear kernel overflows .* or their squares"):
            TCA(mu=mu).fit(X, y, sample_domain=sample_domain)


def test_tca_refuses_or_warns_of_a_mu_that_only_blows_the_features_up():
    """Before: mu=1e-300 gave features of 1e151 without a word (a logistic regression on them
    stopped at once), and mu=1e-320 a bare "ARPACK error -9999"."""
    (Xs, ys), (Xt, _), _ = _sensor_offset(0, n=150)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    for mu in (1e-300, 1e-320):
        with pytest.raises(ValueError, match=rf"mu={mu} is too small for this kernel"):
            TCA(mu=mu).fit(X, y, sample_domain=sample_domain)
    with pytest.warns(UserWarning, match=r"mu=1e-100 is so small that it only scales"):
        features = TCA(mu=1e-100).fit(X, y, sample_domain=sample_domain).transform(X)
    assert np.all(np.isfinite(features))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for mu in (1e-6, 1.0, 100.0):
            TCA(mu=mu).fit(X, y, sample_domain=sample_domain)


@pytest.mark.parametrize(
    "params, names",
    [
        ({"kernel": "poly", "degree": 1e3}, "poly kernel with gamma=None, degree=1000.0, coef0=1"),
        ({"kernel": "linear"}, "linear kernel"),
    ],
)
def test_tca_refuses_a_kernel_that_overflows(params, names):
    """Before: scipy's eigh failed with a bare "array must not contain infs or NaNs"."""
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(size=(20, 3)), rng.normal(size=(20, 3)) + 1.0]
    if params["kernel"] == "linear":
        X = X * 1e160
    domains = np.r_[np.ones(20), -np.ones(20)]
    with pytest.raises(ValueError, match=rf"{names} overflows on these rows"):
        TCA(**params).fit(X, sample_domain=domains)


def test_subspace_alignment_warns_of_axes_without_variance():
    """Before: rows all alike (or a constant column) left axes that the SVD chose at random,
    and transform projected new rows on them without a word."""
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(30, 3)), rng.normal(size=(30, 3)) + 1.0
    X, _, sample_domain = pack_domains(
        source=(np.tile(Xs[:1], (30, 1)), np.zeros(30)), target=(np.tile(Xt[:1], (30, 1)), None)
    )
    with pytest.warns(
        UserWarning, match=r"3 of the n_components=3 principal axes of the (source|target)"
    ):
        SubspaceAlignment().fit(X, sample_domain=sample_domain)
    Xs[:, 2], Xt[:, 2] = 1.0, 2.0
    X, _, sample_domain = pack_domains(source=(Xs, np.zeros(30)), target=(Xt, None))
    with pytest.warns(UserWarning, match=r"1 of the n_components=3 .* span 2 direction"):
        SubspaceAlignment(n_components=3).fit(X, sample_domain=sample_domain)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SubspaceAlignment(n_components=2).fit(X, sample_domain=sample_domain)
        # Every axis asked for: a constant column (digits have some) leaves no surprise.
        SubspaceAlignment().fit(X, sample_domain=sample_domain)


def _random_split(X, seed):
    """The rows of one sample split at random into a source and a target domain."""
    return np.where(np.random.RandomState(seed).rand(X.shape[0]) < 0.5, 1, -1)


def _breast_cancer_split(seed=0):
    X = StandardScaler().fit_transform(load_breast_cancer(return_X_y=True)[0])
    return X, _random_split(X, seed)


def _gaussian(seed=1, shift=0.0, n=150):
    """One Gaussian sample split at random, the target rows moved by ``shift`` on feature 0.
    Unshifted, seed 1 puts the domains' MMD mid-range of random splits (above 14 and 23 of
    the 39 with the linear and rbf kernels), far from the test's edge."""
    X = np.random.RandomState(seed).normal(size=(n, 5))
    sample_domain = _random_split(X, seed + 100)
    X[sample_domain < 0, 0] += shift
    return X, sample_domain


@pytest.mark.parametrize(
    "data, kernel",
    [(_breast_cancer_split, "linear"), (_gaussian, "linear"), (_gaussian, "rbf")],
    ids=["breast_cancer-linear", "gaussian-linear", "gaussian-rbf"],
)
def test_tca_warns_when_the_domains_show_no_shift_beyond_noise(data, kernel):
    """Before: on breast-cancer rows split at random, TCA(n_components=5) removed the noise
    direction of the MMD, which lined up with the first principal component (target accuracy
    0.70 against 0.97 for PCA), without a word."""
    X, sample_domain = data()
    with pytest.warns(
        UserWarning, match=r"TCA could not tell the source rows from the target rows"
    ):
        TCA(n_components=5, kernel=kernel, random_state=0).fit(X, sample_domain=sample_domain)


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("seed", SEEDS)
def test_tca_says_nothing_of_a_shift_of_one_standard_deviation(kernel, seed):
    X, sample_domain = _gaussian(seed, shift=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TCA(n_components=3, kernel=kernel, random_state=seed).fit(X, sample_domain=sample_domain)


def test_the_shift_test_is_reproducible_and_leaves_the_features_and_global_rng_alone(
    monkeypatch,
):
    X, sample_domain = _breast_cancer_split()  # 569 rows: ARPACK, with a start vector drawn
    tca = TCA(n_components=3, random_state=0)
    for _ in range(2):  # the same outcome on every fit
        with pytest.warns(UserWarning, match="TCA could not tell the source rows"):
            features = clone(tca).fit(X, sample_domain=sample_domain).transform(X)
    # Its draws come after the eigensolve's: the features are those of TCA without the test.
    monkeypatch.setattr(_feature_mapping, "_warn_if_no_shift_beyond_noise", lambda *a: None)
    assert_array_equal(clone(tca).fit(X, sample_domain=sample_domain).transform(X), features)
    monkeypatch.undo()
    # Without a random_state, a fixed seed: the same outcome, and numpy's global generator
    # untouched (150 rows go to the dense solver, which draws nothing).
    X, sample_domain = _gaussian()
    state = np.random.get_state()  # noqa: NPY002
    for _ in range(2):
        with pytest.warns(UserWarning, match="TCA could not tell the source rows"):
            TCA(n_components=3).fit(X, sample_domain=sample_domain)
    assert_array_equal(np.random.get_state()[1], state[1])  # noqa: NPY002


@pytest.mark.parametrize(
    "data", [_breast_cancer_split, _gaussian], ids=["breast_cancer", "gaussian"]
)
@pytest.mark.parametrize("mu", [1e10, 1e300])
def test_tca_says_nothing_of_a_large_mu_on_domains_alike(data, mu):
    """Before: domains whose MMD is sampling noise were told that mu drowned it, "lower mu to
    about |K L K|", which would make TCA remove that noise; kernel PCA is the right answer."""
    X, sample_domain = data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TCA(n_components=3, mu=mu, random_state=0).fit(X, sample_domain=sample_domain)
