"""CORAL: the re-colouring map, which rows it touches, and its gain in a Pipeline."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import SelfTrainingClassifier
from threadpoolctl import threadpool_limits

from sktransfer.datasets import make_conditional_shift
from sktransfer.domain_adaptation import CORAL, TCA, SubspaceAlignment
from sktransfer.pipeline import make_da_pipeline
from sktransfer.utils import pack_domains

N_FEATURES = 5


def _scaled_domains(seed, n=300):
    """One labelling rule; the target measures every feature on its own scale."""
    rng = np.random.RandomState(seed)
    weights = rng.normal(size=N_FEATURES)
    scales = rng.uniform(0.2, 5.0, size=N_FEATURES)
    Zs, Zt = rng.normal(size=(n, N_FEATURES)), rng.normal(size=(n, N_FEATURES))
    return Zs, (Zs @ weights > 0).astype(int), Zt * scales, (Zt @ weights > 0).astype(int)


def _coral_step():
    return CORAL().set_fit_request(sample_domain=True).set_transform_request(sample_domain=True)


def test_recoloured_source_has_the_target_covariance():
    rng = np.random.RandomState(0)
    Xs = rng.normal(size=(500, 3)) @ rng.normal(size=(3, 3))
    Xt = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 3))
    X, y, sample_domain = pack_domains(source=(Xs, np.zeros(500)), target=(Xt, None))

    coral = CORAL(reg=1e-8)
    Xnew = coral.fit_transform(X, y, sample_domain=sample_domain)

    assert_allclose(np.cov(Xnew[:500], rowvar=False), np.cov(Xt, rowvar=False), atol=1e-5)
    assert_allclose(Xnew[:500].mean(axis=0), Xt.mean(axis=0), atol=1e-10)
    assert_allclose(coral.target_covariance_, np.cov(Xt, rowvar=False))
    assert_allclose(coral.source_covariance_, np.cov(Xs, rowvar=False))


def test_only_source_rows_are_recoloured():
    Xs, ys, Xt, _ = _scaled_domains(0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    coral = CORAL()

    Xnew = coral.fit_transform(X, y, sample_domain=sample_domain)

    assert_array_equal(Xnew[len(Xs) :], Xt)
    offset = coral.target_mean_ - coral.source_mean_ @ coral.recoloring_
    assert_allclose(Xnew[: len(Xs)], Xs @ coral.recoloring_ + offset)
    assert not np.allclose(coral.recoloring_, np.eye(N_FEATURES))
    # New rows at prediction time are target rows: they pass unchanged.
    assert_array_equal(coral.transform(Xt), Xt)
    assert_allclose(coral.transform(X, sample_domain=sample_domain), Xnew)


def test_unlabelled_rows_mark_the_target_without_sample_domain():
    Xs, ys, Xt, _ = _scaled_domains(1)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))

    by_labels = CORAL().fit(X, y).recoloring_
    by_domains = CORAL().fit(X, sample_domain=sample_domain).recoloring_

    assert_allclose(by_labels, by_domains)


def test_without_target_rows_the_map_is_the_identity():
    Xs, ys, _, _ = _scaled_domains(2)

    coral = CORAL().fit(Xs, ys)

    assert_array_equal(coral.recoloring_, np.eye(N_FEATURES))
    assert_array_equal(coral.fit_transform(Xs, ys), Xs)


def test_sample_domain_of_the_wrong_length_is_refused():
    Xs, ys, Xt, _ = _scaled_domains(0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))

    with pytest.raises(ValueError, match="sample_domain has"):
        CORAL().fit(X, y, sample_domain=sample_domain[:-1])


def test_coral_in_a_pipeline_beats_no_adaptation():
    """On three seeds of a per-feature scale shift, CORAL gains at least 5 points on the target.

    Measured: gains of 0.113, 0.040 and 0.113 (mean 0.089) on seeds 0, 1, 2.
    """
    gains = []
    with config_context(enable_metadata_routing=True), threadpool_limits(1, user_api="blas"):
        for seed in range(3):
            Xs, ys, Xt, yt = _scaled_domains(seed)
            X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:150], None))
            model = make_pipeline(
                _coral_step(), SelfTrainingClassifier(LogisticRegression(), max_iter=0)
            )
            model.fit(X, y, sample_domain=sample_domain)
            baseline = LogisticRegression().fit(Xs, ys)
            # The pipeline predicts one label per row, and never the unlabelled marker -1.
            assert set(model.predict(Xt[150:])) <= {0, 1}
            gains.append(model.score(Xt[150:], yt[150:]) - baseline.score(Xt[150:], yt[150:]))

    assert np.mean(gains) >= 0.05, gains


def test_align_means_false_is_the_papers_covariance_only_map():
    Xs, ys, Xt, _ = _scaled_domains(3)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt + 4.0, None))

    coral = CORAL(align_means=False)
    Xnew = coral.fit_transform(X, y, sample_domain=sample_domain)

    assert_allclose(Xnew[: len(Xs)], Xs @ coral.recoloring_)
    # The source rows keep their own mean, about 4 away from the target's on every feature.
    assert np.all(np.abs(Xnew[: len(Xs)].mean(axis=0) - (Xt + 4.0).mean(axis=0)) > 2)


def _shifted_split(seed, **shift):
    Xs, ys, Xt, yt = make_conditional_shift(300, 600, random_state=seed, **shift)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:300], None))
    return X, y, sample_domain, (Xs, ys), (Xt[300:], yt[300:])


@pytest.mark.parametrize(
    "shift",
    [
        {"scale": 0.7, "offset": 1.0},
        {"n_features": 4, "scale": [2.0, 0.5, 3.0, 1.0], "offset": [3.0, -2.0, 1.0, 4.0]},
    ],
    ids=["conditional shift", "rescaled and moved"],
)
def test_coral_with_means_adapts_a_target_scaled_and_moved(shift):
    """The paper's covariance-only map stays near no adaptation; with means CORAL adapts.

    Measured on seeds 0-2: CORAL 0.97-0.99 against source-only 0.58-0.75 on both shifts.
    """
    with threadpool_limits(1, user_api="blas"):
        for seed in range(3):
            X, y, sample_domain, (Xs, ys), (X_test, y_test) = _shifted_split(seed, **shift)
            source_only = LogisticRegression().fit(Xs, ys).score(X_test, y_test)
            accuracy = {}
            for align_means in [False, True]:
                model = make_da_pipeline(
                    StandardScaler(), CORAL(align_means=align_means), LogisticRegression()
                )
                model.fit(X, y, sample_domain=sample_domain)
                accuracy[align_means] = model.score(X_test, y_test)
            assert accuracy[True] >= 0.95, (seed, accuracy)
            assert accuracy[True] >= source_only + 0.15, (seed, accuracy, source_only)
            assert accuracy[False] <= source_only + 0.1, (seed, accuracy, source_only)


def test_a_plain_pipeline_warns_that_its_classifier_learns_unlabelled_rows():
    X, y, _, _, _ = _shifted_split(0)
    plain = make_pipeline(CORAL(), LogisticRegression())

    with pytest.warns(UserWarning, match="learns -1 as a class.*make_da_pipeline"):
        plain.fit(X, y)
    # What the warning is about: the classifier predicts the unlabelled marker.
    assert -1 in plain.classes_


@pytest.mark.parametrize(
    "build",
    [
        lambda: make_da_pipeline(CORAL(), LogisticRegression()),
        lambda: make_pipeline(CORAL(), SelfTrainingClassifier(LogisticRegression(), max_iter=0)),
        lambda: CORAL(),
    ],
    ids=["make_da_pipeline", "self-training", "alone"],
)
def test_no_warning_where_unlabelled_rows_are_not_learned(build):
    X, y, _, _, _ = _shifted_split(0)
    model = build()
    # pytest turns warnings into errors: fitting raises if CORAL warns.
    if hasattr(model, "steps"):
        model.fit(X, y)
        assert -1 not in model.classes_
    else:
        model.fit_transform(X, y)


@pytest.mark.parametrize(
    "transformer",
    [CORAL(), TCA(n_components=2, random_state=0), SubspaceAlignment(n_components=2)],
    ids=["CORAL", "TCA", "SubspaceAlignment"],
)
def test_transformers_read_no_labels_so_source_rows_may_be_unlabelled(transformer):
    # CORAL, TCA and subspace alignment all have target_tags.required=False: a source row
    # with y == -1 is still a source row (sample_domain says so), and the map is the same.
    Xs, ys, Xt, _ = _scaled_domains(0, n=60)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    y_unlabelled = y.copy()
    y_unlabelled[:10] = -1

    assert not transformer.__sklearn_tags__().target_tags.required
    expected = clone(transformer).fit_transform(X, y, sample_domain=sample_domain)
    got = clone(transformer).fit_transform(X, y_unlabelled, sample_domain=sample_domain)
    assert_allclose(got, expected)
    fitted = clone(transformer).fit(X, y_unlabelled, sample_domain=sample_domain)
    assert_allclose(
        fitted.transform(Xt),
        clone(transformer).fit(X, y, sample_domain=sample_domain).transform(Xt),
    )


# --- a refused fit changes nothing ------------------------------------------------------------


@pytest.mark.parametrize("method", ["fit", "fit_transform"])
def test_a_refused_first_fit_leaves_coral_unfitted(method):
    Xs, ys, Xt, _ = _scaled_domains(0, n=50)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    coral = CORAL()
    with pytest.raises(ValueError, match="sample_domain has"):
        getattr(coral, method)(X, y, sample_domain=sample_domain[:-1])
    assert not [key for key in vars(coral) if key.endswith("_")]
    with pytest.raises(NotFittedError):
        coral.transform(X)


@pytest.mark.parametrize("method", ["fit", "fit_transform"])
def test_a_refused_refit_keeps_the_fitted_coral(method):
    Xs, ys, Xt, _ = _scaled_domains(0, n=50)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    coral = CORAL().fit(X, y, sample_domain=sample_domain)
    before = coral.transform(X, sample_domain=sample_domain)
    # Narrower rows pass the input checks, which would set n_features_in_ = 2.
    with pytest.raises(ValueError, match="sample_domain has"):
        getattr(coral, method)(X[:, :2], y, sample_domain=sample_domain[:-1])
    assert coral.n_features_in_ == N_FEATURES
    assert_array_equal(coral.transform(X, sample_domain=sample_domain), before)


@pytest.mark.parametrize("scale, reg", [(1e-8, 1.0), (1.0, 1e300)])
def test_coral_warns_when_reg_swamps_the_covariances(scale, reg):
    """Before: the default reg on features of 1e-8 (or reg=1e300) left the map the identity
    without a word, where the same features in other units were re-coloured."""
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(50, 3)), rng.normal(size=(50, 3)) * [1.0, 2.0, 3.0] + 1.0
    X, y, sample_domain = pack_domains(source=(Xs * scale, np.zeros(50)), target=(Xt * scale, None))
    with pytest.warns(UserWarning, match=r"reg=.* times the largest variance .* only the means"):
        coral = CORAL(reg=reg).fit(X, y, sample_domain=sample_domain)
    np.testing.assert_allclose(coral.recoloring_, np.eye(3), atol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CORAL(reg=1e-20 if scale < 1 else 1.0).fit(X, y, sample_domain=sample_domain)
