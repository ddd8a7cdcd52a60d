"""make_da_pipeline, LabelledOnlyClassifier, and scores that ignore unlabelled rows."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from sktransfer.datasets import make_conditional_shift
from sktransfer.domain_adaptation import CORAL, DANNClassifier
from sktransfer.pipeline import (
    DomainAdaptationPipeline,
    LabelledOnlyClassifier,
    LabelledOnlyRegressor,
    make_da_pipeline,
)
from sktransfer.utils import pack_domains


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1, user_api="blas"):
        yield


def _data(seed=0, n_features=2):
    Xs, ys, Xt, yt = make_conditional_shift(
        300, 600, n_features=n_features, random_state=seed, scale=0.7, offset=1.0
    )
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:300], None))
    return X, y, sample_domain, Xt[300:], yt[300:]


def test_make_da_pipeline_wraps_a_plain_classifier_and_requests_sample_domain():
    model = make_da_pipeline(StandardScaler(), CORAL(), LogisticRegression(C=0.5))

    assert isinstance(model, DomainAdaptationPipeline)
    assert [name for name, _ in model.steps] == ["standardscaler", "coral", "logisticregression"]
    final = model.steps[-1][1]
    assert isinstance(final, LabelledOnlyClassifier)
    assert final.estimator.C == 0.5
    requests = model.named_steps["coral"].get_metadata_routing()
    assert requests.fit.requests["sample_domain"] is True
    assert requests.transform.requests["sample_domain"] is True


@pytest.mark.parametrize(
    "final",
    [
        SelfTrainingClassifier(LogisticRegression()),
        LabelledOnlyClassifier(LogisticRegression()),
        DANNClassifier(max_epochs=1, device="cpu"),
    ],
    ids=["self-training", "already wrapped", "DANN"],
)
def test_a_final_step_that_reads_unlabelled_rows_is_left_as_it_is(final):
    model = make_da_pipeline(StandardScaler(), final)

    assert model.steps[-1][1] is final


@pytest.mark.parametrize("final", ["passthrough", None])
def test_a_pipeline_may_end_with_passthrough(final):
    """Before: an AttributeError ('str' object has no attribute '__sklearn_tags__')."""
    X, _, sample_domain, _, _ = _data()
    model = make_da_pipeline(CORAL(), final)
    direct = CORAL().fit(X, sample_domain=sample_domain)
    np.testing.assert_allclose(
        model.fit_transform(X, sample_domain=sample_domain),
        direct.transform(X, sample_domain=sample_domain),
    )


@pytest.mark.parametrize("routing", [False, True], ids=["routing off", "routing on"])
def test_one_line_pipeline_fits_with_or_without_metadata_routing(routing):
    """Same model either way; the old recipe, a plain pipeline, learns class -1 and fails."""
    X, y, sample_domain, X_test, y_test = _data()
    with config_context(enable_metadata_routing=routing):
        model = make_da_pipeline(StandardScaler(), CORAL(), LogisticRegression())
        model.fit(X, y, sample_domain=sample_domain)
        accuracy = model.score(X_test, y_test)
        predictions = model.predict(X_test)

    assert_array_equal(model.classes_, [0, 1])
    assert set(predictions) <= {0, 1}
    assert accuracy >= 0.95
    with config_context(enable_metadata_routing=not routing):
        other = make_da_pipeline(StandardScaler(), CORAL(), LogisticRegression())
        other.fit(X, y, sample_domain=sample_domain)
        assert_array_equal(other.predict(X_test), predictions)


def test_labelled_only_classifier_leaves_out_unlabelled_rows_and_their_weights():
    X, y, _, _, _ = _data()
    weights = np.linspace(0.5, 2.0, len(y))
    labelled = y != -1

    model = LabelledOnlyClassifier(LogisticRegression()).fit(X, y, sample_weight=weights)
    direct = LogisticRegression().fit(X[labelled], y[labelled], sample_weight=weights[labelled])

    assert_array_equal(model.classes_, [0, 1])
    np.testing.assert_allclose(model.estimator_.coef_, direct.coef_)
    with pytest.raises(ValueError, match="Every one of the 3 rows is unlabelled"):
        LabelledOnlyClassifier().fit(X[:3], [-1, -1, -1])


@pytest.mark.parametrize("routing", [False, True])
def test_a_weight_of_another_length_is_refused_by_name(routing):
    """Before: a weight with one value per labelled row was applied to those rows in order
    without a word, and a shorter one in score raised an IndexError."""
    X, y, sample_domain, _, _ = _data()
    short = np.ones(np.count_nonzero(y != -1))
    with config_context(enable_metadata_routing=routing):
        classifier = LogisticRegression()
        if routing:
            classifier.set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        model = LabelledOnlyClassifier(classifier)
        pipe = make_da_pipeline(CORAL(), clone(classifier))
        with pytest.raises(ValueError, match=r"sample_weight.shape == \(\d+,\), expected"):
            model.fit(X, y, sample_weight=short)
        model.fit(X, y)
        for scored in (model, pipe.fit(X, y, sample_domain=sample_domain)):
            with pytest.raises(ValueError, match=r"sample_weight.shape == \(4,\), expected"):
                scored.score(X, y, sample_weight=np.ones(4))
        with pytest.raises(ValueError, match=r"score needs the true labels y"):
            pipe.score(X)  # y=None reached the final step's score: an IndexError before


def test_pipeline_score_ignores_unlabelled_rows():
    X, y, sample_domain, X_test, y_test = _data()
    model = make_da_pipeline(StandardScaler(), CORAL(), LogisticRegression())
    model.fit(X, y, sample_domain=sample_domain)
    X_mixed = np.vstack([X_test, X_test])
    y_mixed = np.concatenate([y_test, np.full(len(y_test), -1)])

    assert model.score(X_mixed, y_mixed) == model.score(X_test, y_test)
    # Rows passed with their domain are mapped as in fit; the unlabelled ones still do not count.
    labelled = y != -1
    assert model.score(X, y, sample_domain=sample_domain) == model.score(
        X[labelled], y[labelled], sample_domain=sample_domain[labelled]
    )


@pytest.mark.parametrize(
    "routing, lowest",
    [(False, 0.6), (True, 0.9)],
    ids=["routing off", "routing on"],
)
def test_grid_search_runs_on_packed_rows_and_scores_labelled_rows(routing, lowest):
    """Half the rows are unlabelled: a score counting them as errors would stay below 0.5.

    With routing, the validation rows reach CORAL with their domain and the source rows are
    mapped as in fit (measured 0.99); without it, GridSearchCV passes no sample_domain to
    score and the source rows are scored as they are, in the source's units (measured 0.75).
    """
    X, y, sample_domain, _, _ = _data()
    with config_context(enable_metadata_routing=routing):
        search = GridSearchCV(
            make_da_pipeline(StandardScaler(), CORAL(), LogisticRegression()),
            {"coral__reg": [0.1, 1.0]},
            cv=KFold(3, shuffle=True, random_state=0),
        )
        search.fit(X, y, sample_domain=sample_domain)

    assert search.best_score_ > lowest


def test_dann_score_ignores_unlabelled_rows():
    """Before: the unlabelled half of the packed rows counted as errors, halving the score."""
    X, y, sample_domain, _, _ = _data()
    X = X.astype(np.float32)
    dann = DANNClassifier(
        hidden_layer_sizes=(16,),
        domain_hidden_layer_sizes=(8,),
        optimizer="adam",
        lr=0.01,
        max_epochs=5,
        random_state=0,
        device="cpu",
    ).fit(X, y, sample_domain=sample_domain)
    labelled = y != -1

    packed = dann.score(X, y)

    assert packed == dann.score(X[labelled], y[labelled])
    assert packed > 0.7
    weights = np.where(labelled, 1.0, 100.0)
    assert dann.score(X, y, sample_weight=weights) == packed


def test_plain_pipeline_learns_the_unlabelled_marker_as_a_class():
    """The failure make_da_pipeline exists for, kept visible."""
    X, y, _, X_test, y_test = _data()
    plain = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)

    assert -1 in plain.classes_
    assert plain.score(X_test, y_test) < 0.8


def test_a_refused_fit_leaves_labelled_only_classifier_as_it_was():
    X, y, *_ = _data()
    fresh = LabelledOnlyClassifier()
    with pytest.raises(ValueError, match="Every one of the"):
        fresh.fit(X, np.full_like(y, -1))
    with pytest.raises(NotFittedError):
        fresh.predict(X)
    fitted = LabelledOnlyClassifier().fit(X, y)
    before = fitted.predict_proba(X)
    with pytest.raises(ValueError, match="Every one of the"):
        fitted.fit(X[:, :1], np.full_like(y, -1))
    assert fitted.n_features_in_ == X.shape[1]
    assert_array_equal(fitted.predict_proba(X), before)


def test_a_refused_first_fit_leaves_the_da_pipeline_unfitted():
    X, y, sample_domain, *_ = _data()
    pipeline = make_da_pipeline(CORAL(), LogisticRegression())
    with pytest.raises(ValueError, match="Every one of the"):
        pipeline.fit(X, np.full_like(y, -1), sample_domain=sample_domain)
    with pytest.raises(NotFittedError):
        pipeline.predict(X)


def test_labelled_only_classifier_refuses_a_regressor_before_fitting_it():
    X, y, *_ = _data()
    with pytest.raises(ValueError, match="estimator must be a classifier; got Ridge"):
        LabelledOnlyClassifier(Ridge()).fit(X, y)


_METHODS_TAKING_SAMPLE_DOMAIN = [
    "predict",
    "predict_proba",
    "predict_log_proba",
    "decision_function",
    "score",
]


@pytest.mark.parametrize("routing", [False, True], ids=["routing off", "routing on"])
@pytest.mark.parametrize("method", _METHODS_TAKING_SAMPLE_DOMAIN)
def test_every_method_takes_sample_domain_with_routing_on_or_off(routing, method):
    # Under routing, scikit-learn refused a sample_domain that no step requested (a source-only
    # baseline, or TCA whose transform does not take it); without routing, predict handed it
    # to the final classifier, which refused it.
    X, y, sample_domain, _, _ = _data()
    pipelines = {
        "no domain-aware step": make_da_pipeline(StandardScaler(), LogisticRegression()),
        "CORAL": make_da_pipeline(StandardScaler(), CORAL(), LogisticRegression()),
    }
    with config_context(enable_metadata_routing=routing):
        for model in pipelines.values():
            model.fit(X, y, sample_domain=sample_domain)
            args = (X, y) if method == "score" else (X,)
            with_domains = getattr(model, method)(*args, sample_domain=sample_domain)
            # Rows given without sample_domain are target rows, which CORAL passes unchanged.
            target_rows = getattr(model, method)(*args, sample_domain=-np.abs(sample_domain))
            np.testing.assert_allclose(target_rows, getattr(model, method)(*args))
            if model is pipelines["CORAL"]:
                assert not np.allclose(with_domains, target_rows)  # source rows were mapped
    with config_context(enable_metadata_routing=not routing):
        other = make_da_pipeline(StandardScaler(), CORAL(), LogisticRegression())
        other.fit(X, y, sample_domain=sample_domain)
        args = (X, y) if method == "score" else (X,)
        np.testing.assert_allclose(
            getattr(other, method)(*args, sample_domain=sample_domain), with_domains
        )


@pytest.mark.parametrize("routing", [False, True], ids=["routing off", "routing on"])
def test_transform_and_fit_transform_take_sample_domain_with_routing_on_or_off(routing):
    X, y, sample_domain, _, _ = _data()
    with config_context(enable_metadata_routing=routing):
        model = make_da_pipeline(StandardScaler(), CORAL())
        fitted = model.fit_transform(X, y, sample_domain=sample_domain)
        np.testing.assert_allclose(model.transform(X, sample_domain=sample_domain), fitted)
        baseline = make_da_pipeline(StandardScaler())
        scaled = baseline.fit_transform(X, y, sample_domain=sample_domain)
        np.testing.assert_allclose(baseline.transform(X, sample_domain=sample_domain), scaled)
    assert not np.allclose(fitted, scaled)  # CORAL mapped the source rows


def test_labels_minus_one_and_one_are_refused_rather_than_learned_as_one_class():
    # y in {-1, +1} lost its -1 class to the unlabelled-row convention: a tree learned the one
    # class left and scored 1.0 on the labelled rows, without a word.
    X = np.random.RandomState(0).normal(size=(40, 2))
    y = np.where(X[:, 0] > 0, 1, -1)
    for model in (
        LabelledOnlyClassifier(DecisionTreeClassifier(random_state=0)),
        make_da_pipeline(CORAL(), DecisionTreeClassifier(random_state=0)),
    ):
        with pytest.raises(ValueError, match=r"one, 1, once the 20 rows with y == -1"):
            model.fit(X, y)
        with pytest.raises(NotFittedError):
            model.predict(X)


def test_the_labelled_only_wrapper_takes_any_input_its_classifier_takes():
    # It slices rows only: 3-D arrays (and so images or file paths for a network classifier)
    # were refused by its own 2-D check before the classifier saw them.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(12, 2, 3))
    y = np.r_[np.arange(8) % 2, -np.ones(4, int)]
    sample_domain = np.r_[np.ones(8, int), -2 * np.ones(4, int)]
    model = make_da_pipeline(_FlatteningClassifier()).fit(X, y, sample_domain=sample_domain)
    assert_array_equal(model[-1].estimator_.fitted_rows_, 8)
    assert model.predict(X).shape == (12,)
    assert model.score(X, y) == pytest.approx(0.5)


class _FlatteningClassifier(ClassifierMixin, BaseEstimator):
    """A classifier of arrays of any shape: it predicts the first class always."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.fitted_rows_ = len(X)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


@pytest.mark.parametrize("routing", [False, True])
def test_nested_pipelines_and_searches_adapt_as_the_flat_pipeline(routing):
    # A nested pipeline took no sample_domain and, as the final step, was wrapped in
    # LabelledOnlyClassifier: its CORAL saw the source rows only and adapted nothing.
    X, y, sample_domain, X_test, y_test = _data()
    search = GridSearchCV(
        make_da_pipeline(CORAL(), LogisticRegression()),
        {"logisticregression__estimator__C": [0.1, 1.0]},
        cv=KFold(2, shuffle=True, random_state=0),
    )
    with config_context(enable_metadata_routing=routing):
        flat = make_da_pipeline(StandardScaler(), CORAL(), LogisticRegression())
        nested = [
            make_da_pipeline(StandardScaler(), make_da_pipeline(CORAL(), LogisticRegression())),
            make_da_pipeline(
                StandardScaler(),
                make_pipeline(CORAL(), SelfTrainingClassifier(LogisticRegression(), max_iter=0)),
            ),
        ]
        expected = flat.fit(X, y, sample_domain=sample_domain).predict(X_test)
        for model in nested:
            assert_array_equal(
                model.fit(X, y, sample_domain=sample_domain).predict(X_test), expected
            )
        searched = make_da_pipeline(StandardScaler(), search).fit(X, y, sample_domain=sample_domain)
    source_only = make_pipeline(StandardScaler(), LogisticRegression())
    source_only.fit(X[sample_domain > 0], y[sample_domain > 0])
    assert searched.score(X_test, y_test) > source_only.score(X_test, y_test) + 0.1
    assert searched.score(X_test, y_test) >= flat.score(X_test, y_test) - 0.02


@pytest.mark.parametrize("sparse_format", ["coo", "dok", "lil"])
def test_the_labelled_only_wrapper_slices_sparse_matrices_of_any_format(sparse_format):
    # Its own 2-D check used to convert them to CSR; slicing rows alone failed on COO (and DIA).
    import scipy.sparse as sp

    X, y, _, X_test, y_test = _data()
    matrix = sp.csr_matrix(X).asformat(sparse_format)
    model = LabelledOnlyClassifier(LogisticRegression()).fit(matrix, y)
    expected = LabelledOnlyClassifier(LogisticRegression()).fit(X, y)
    assert_array_equal(model.predict(X_test), expected.predict(X_test))


class _DomainAware(_FlatteningClassifier):
    """A classifier that takes sample_domain and records what its fit was given."""

    def fit(self, X, y, sample_domain=None):
        self.given_sample_domain_ = sample_domain is not None
        return super().fit(X, np.asarray(y)[np.asarray(y) != -1])


@pytest.mark.parametrize("routing", [False, True])
def test_a_final_search_over_a_domain_aware_estimator_is_given_sample_domain(routing):
    # With routing on, the estimator searched over had no request set, and routing dropped
    # sample_domain before its fit without a word.
    X, y, sample_domain, _, _ = _data()
    search = GridSearchCV(_DomainAware(), {}, cv=KFold(2, shuffle=True, random_state=0))
    with config_context(enable_metadata_routing=routing):
        model = make_da_pipeline(StandardScaler(), search).fit(X, y, sample_domain=sample_domain)
    assert model[-1].best_estimator_.given_sample_domain_


def test_a_final_search_over_a_plain_pipeline_that_adapts_warns():
    # Wrapped to fit on the labelled rows, its CORAL saw no target row: 0.597 against 0.987.
    search = GridSearchCV(make_pipeline(CORAL(), LogisticRegression()), {}, cv=KFold(2))
    with pytest.warns(UserWarning, match=r"steps \['coral'\] adapt.*make_da_pipeline"):
        make_da_pipeline(StandardScaler(), search)


def _regression(seed=0):
    # The target's features are the source's in other units: CORAL undoes the change.
    rng = np.random.default_rng(seed)
    Xs, Xt = rng.normal(size=(300, 3)), 3 * rng.normal(size=(400, 3))
    w = np.array([1.0, -2.0, 0.5])
    X, y, sample_domain = pack_domains(source=(Xs, Xs @ w), target=(Xt[:200], None))
    return X, y, sample_domain, Xt[200:], (Xt[200:] / 3) @ w


def test_make_da_pipeline_fits_a_final_regressor_on_the_labelled_rows_only():
    X, y, sample_domain, Xt, yt = _regression()
    assert np.isnan(y[sample_domain < 0]).all()  # pack_domains marks them NaN, not -1
    model = make_da_pipeline(CORAL(reg=0.01), Ridge())
    assert isinstance(model.steps[-1][1], LabelledOnlyRegressor)
    model.fit(X, y, sample_domain=sample_domain)

    # CORAL saw the target rows, the regressor the source rows only.
    coral = CORAL(reg=0.01).fit(X, y, sample_domain=sample_domain)
    source = sample_domain > 0
    expected = Ridge().fit(coral.transform(X, sample_domain=sample_domain)[source], y[source])
    np.testing.assert_allclose(model[-1].estimator_.coef_, expected.coef_)
    assert model.score(Xt, yt) > 0.95
    assert Ridge().fit(X[source], y[source]).score(Xt, yt) < 0


def test_a_regression_pipeline_scores_minus_one_as_a_value_and_leaves_nan_rows_out():
    X, y, sample_domain, Xt, yt = _regression()
    model = make_da_pipeline(CORAL(reg=0.01), Ridge()).fit(X, y, sample_domain=sample_domain)
    with_values = yt.copy()
    with_values[:50] = -1.0
    assert model.score(Xt, with_values) == pytest.approx(r2_score(with_values, model.predict(Xt)))
    unlabelled = yt.copy()
    unlabelled[:50] = np.nan
    assert model.score(Xt, unlabelled) == pytest.approx(model.score(Xt[50:], yt[50:]))


def test_a_regression_pipeline_warns_of_target_rows_marked_minus_one():
    X, y, sample_domain, _, _ = _regression()
    y[sample_domain < 0] = -1.0
    with pytest.warns(UserWarning, match="200 target rows have y == -1"):
        make_da_pipeline(CORAL(), Ridge()).fit(X, y, sample_domain=sample_domain)


def test_labelled_only_regressor_leaves_nan_rows_out_and_refuses_what_it_cannot_fit():
    X = np.arange(10.0).reshape(-1, 1)
    y = 2 * X.ravel() + 1
    y[7:] = np.nan
    model = LabelledOnlyRegressor().fit(X, y)
    expected = Ridge().fit(X[:7], y[:7])
    np.testing.assert_allclose(model.estimator_.coef_, expected.coef_)
    assert model.score(X, y) == pytest.approx(expected.score(X[:7], y[:7]))
    with pytest.raises(ValueError, match="Every one of the 10 rows is unlabelled.*NaN"):
        LabelledOnlyRegressor().fit(X, np.full(10, np.nan))
    with pytest.raises(ValueError, match="estimator must be a regressor; got LogisticRegression"):
        LabelledOnlyRegressor(LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="y contains infinity"):
        LabelledOnlyRegressor().fit(X, np.full(10, np.inf))


def test_make_da_pipeline_keeps_the_names_of_steps_given_as_pairs():
    # skada's make_da_pipeline takes (name, estimator) pairs; they became steps named "tuple".
    X, y, sample_domain, Xt, yt = _data()
    model = make_da_pipeline(StandardScaler(), ("align", CORAL()), ("clf", LogisticRegression()))
    assert [name for name, _ in model.steps] == ["standardscaler", "align", "clf"]
    assert isinstance(model.named_steps["clf"], LabelledOnlyClassifier)
    model.fit(X, y, sample_domain=sample_domain)
    expected = make_da_pipeline(StandardScaler(), CORAL(), LogisticRegression())
    expected.fit(X, y, sample_domain=sample_domain)
    assert_array_equal(model.predict(Xt), expected.predict(Xt))
    with pytest.raises(ValueError, match=r"step names must be unique; \['a'\] repeat"):
        make_da_pipeline(("a", CORAL()), ("a", LogisticRegression()))


def test_an_empty_domain_adaptation_pipeline_says_so_at_fit():
    X, y, sample_domain, _, _ = _data()
    with pytest.raises(ValueError, match="The pipeline is empty"):
        make_da_pipeline().fit(X, y, sample_domain=sample_domain)


def test_a_pipeline_ending_in_passthrough_fits_with_sample_domain():
    X, y, sample_domain, _, _ = _regression()
    model = make_da_pipeline(StandardScaler(), "passthrough")
    assert model.fit(X, y, sample_domain=sample_domain) is model  # an AttributeError before


def test_a_regression_pipeline_takes_several_outputs_rows_all_nan_unlabelled():
    X, y, sample_domain, Xt, yt = _regression()
    Y = np.c_[y, 2 * y]
    model = make_da_pipeline(CORAL(reg=0.01), Ridge()).fit(X, Y, sample_domain=sample_domain)
    assert model.predict(Xt).shape == (len(Xt), 2)
    source = sample_domain > 0
    coral = CORAL(reg=0.01).fit(X, sample_domain=sample_domain)
    expected = Ridge().fit(coral.transform(X, sample_domain=sample_domain)[source], Y[source])
    np.testing.assert_allclose(model[-1].estimator_.coef_, expected.coef_)
    assert model.score(Xt, np.c_[yt, 2 * yt]) > 0.95
    # Without sample_domain, the rows whose outputs are all NaN are the target rows.
    by_label = make_da_pipeline(CORAL(reg=0.01), Ridge()).fit(X, Y)
    np.testing.assert_allclose(by_label[-1].estimator_.coef_, expected.coef_)


def test_without_sample_domain_nan_regression_targets_mark_the_target_rows():
    # pack_domains marks them NaN; without sample_domain CORAL saw no target row and adapted
    # nothing, without a word.
    X, y, sample_domain, Xt, yt = _regression()
    by_label = make_da_pipeline(CORAL(reg=0.01), Ridge()).fit(X, y)
    by_domain = make_da_pipeline(CORAL(reg=0.01), Ridge()).fit(X, y, sample_domain=sample_domain)
    np.testing.assert_allclose(by_label.predict(Xt), by_domain.predict(Xt))


def test_one_integer_as_sample_domain_puts_every_row_in_that_domain():
    # skada's calls: pipe.predict(X_target, sample_domain=-2) raised "must be one-dimensional".
    X, y, sample_domain, Xt, yt = _data()
    model = make_da_pipeline(CORAL(), LogisticRegression()).fit(X, y, sample_domain=sample_domain)
    assert_array_equal(model.predict(Xt, sample_domain=-2), model.predict(Xt))
    assert model.score(Xt, yt, sample_domain=-2) == model.score(Xt, yt)
    coral = model.named_steps["coral"]
    source = X[sample_domain > 0]
    assert_array_equal(
        coral.transform(source, sample_domain=1),
        coral.transform(source, sample_domain=np.ones(len(source), dtype=int)),
    )


def test_whole_number_regression_targets_packed_as_a_regression_are_marked_nan():
    # Diabetes-like targets: whole numbers read as classes, so packed with -1, which a
    # regressor fitted without sample_domain learned as values without a word.
    rng = np.random.default_rng(0)
    Xs, Xt = rng.normal(size=(60, 2)), rng.normal(size=(30, 2)) + 1
    ys = np.round(50 * Xs[:, 0] + 150)
    X, y, _ = pack_domains(source=(Xs, ys), target=(Xt, None))
    with pytest.warns(UserWarning, match="30 target rows have y == -1.*regression=True"):
        make_da_pipeline(CORAL(), Ridge()).fit(X, y)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None), regression=True)
    assert np.isnan(y[60:]).all()
    by_label = make_da_pipeline(CORAL(), Ridge()).fit(X, y)
    by_domain = make_da_pipeline(CORAL(), Ridge()).fit(X, y, sample_domain=sample_domain)
    np.testing.assert_allclose(by_label.predict(Xt), by_domain.predict(Xt))


def test_a_regression_pipeline_without_adaptation_step_reads_minus_one_quietly():
    # No step reads domains: -1 is one of the values, and nothing takes it for a mark.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.integers(-3, 4, size=60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_da_pipeline(StandardScaler(), Ridge()).fit(X, y)


def test_a_regression_pipeline_warns_of_minus_one_read_by_an_adapting_step_inside_a_union():
    # CORAL inside a FeatureUnion reads y == -1 as target rows as well.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 4, size=60)
    y[40:] = -1
    model = make_da_pipeline(make_union(CORAL(), StandardScaler()), Ridge())
    with pytest.warns(UserWarning, match="20 target rows have y == -1"):
        model.fit(X, y)
