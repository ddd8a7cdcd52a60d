"""Scorers and splitters that choose domain-adaptation settings without target labels."""

import re
import warnings

import numpy as np
import pytest
from sklearn import config_context
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from sktransfer.domain_adaptation import CORAL, DANNClassifier
from sktransfer.model_selection import (
    DeepEmbeddedValidationScorer,
    DomainShuffleSplit,
    ImportanceWeightedScorer,
    LeaveOneSourceOut,
    PredictionEntropyScorer,
    ReverseValidationScorer,
    SoftNeighborhoodDensityScorer,
    TargetAccuracyScorer,
    logme_score,
)
from sktransfer.pipeline import make_da_pipeline
from sktransfer.utils import pack_domains
from sktransfer.zero_shot import ClassHoldoutSplit

UNSUPERVISED = [
    ImportanceWeightedScorer(random_state=0),
    DeepEmbeddedValidationScorer(random_state=0),
    PredictionEntropyScorer(),
    SoftNeighborhoodDensityScorer(),
    ReverseValidationScorer(),
]


def _blobs(seed=0, n=200):
    """Two classes left and right of x0 = 0; the target is the source moved up by 1."""
    rng = np.random.default_rng(seed)
    ys = rng.integers(0, 2, size=n)
    Xs = np.c_[np.where(ys == 1, 2.0, -2.0), np.zeros(n)] + rng.normal(scale=0.7, size=(n, 2))
    yt = rng.integers(0, 2, size=n)
    Xt = np.c_[np.where(yt == 1, 2.0, -2.0), np.full(n, 1.0)] + rng.normal(scale=0.7, size=(n, 2))
    return Xs, ys, Xt, yt


def _classifier(X, y):
    # SelfTrainingClassifier(max_iter=0) trains on the labelled rows only (y == -1 ignored), so
    # the reverse fit of ReverseValidationScorer reads unlabelled rows correctly.
    return SelfTrainingClassifier(LogisticRegression(), max_iter=0).fit(X, y)


def _good_and_bad():
    """A model that carries over to the target (boundary x0 = 0) and one that does not
    (boundary x1 = 1, which cuts both target classes in half)."""
    Xs, ys, Xt, yt = _blobs()
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    good = _classifier(X, y)
    # Fitted on the target rows with a wrong rule: a fixed bad model, whatever trained it.
    # One unlabelled row keeps SelfTrainingClassifier from warning that none is.
    bad = _classifier(np.vstack([Xt, Xs[:1]]), np.r_[(Xt[:, 1] > 1.0).astype(int), -1])
    assert good.score(Xt, yt) > 0.95 > 0.6 > bad.score(Xt, yt)
    return good, bad, X, y, sample_domain, yt


@pytest.mark.parametrize("scorer", UNSUPERVISED, ids=lambda s: type(s).__name__)
def test_scorer_ranks_good_adaptation_above_bad_without_target_labels(scorer):
    good, bad, X, y, sample_domain, _ = _good_and_bad()
    assert np.all(y[sample_domain < 0] == -1)
    good_score = scorer(good, X, y, sample_domain=sample_domain)
    bad_score = scorer(bad, X, y, sample_domain=sample_domain)
    assert good_score > bad_score


@pytest.mark.parametrize("scorer", UNSUPERVISED, ids=lambda s: type(s).__name__)
def test_scorer_never_reads_target_labels(scorer):
    good, _, X, y, sample_domain, yt = _good_and_bad()
    revealed = y.copy()
    revealed[sample_domain < 0] = yt
    hidden = scorer(good, X, y, sample_domain=sample_domain)
    assert scorer(good, X, revealed, sample_domain=sample_domain) == pytest.approx(hidden)


def test_target_accuracy_scores_labelled_target_rows_only():
    good, bad, X, y, sample_domain, yt = _good_and_bad()
    revealed = y.copy()
    revealed[sample_domain < 0] = yt
    target = sample_domain < 0
    scorer = TargetAccuracyScorer()
    assert scorer(bad, X, revealed, sample_domain=sample_domain) == pytest.approx(
        bad.score(X[target], yt)
    )
    with pytest.raises(ValueError, match="labelled target rows"):
        scorer(good, X, y, sample_domain=sample_domain)


def test_scorers_need_target_rows_and_probabilities():
    good, _, X, y, sample_domain, _ = _good_and_bad()
    source = sample_domain > 0
    with pytest.raises(ValueError, match="target rows"):
        PredictionEntropyScorer()(good, X[source], y[source], sample_domain=sample_domain[source])

    class NoProba:
        def predict(self, X):
            return np.zeros(len(X), dtype=int)

    with pytest.raises(AttributeError, match="predict_proba"):
        SoftNeighborhoodDensityScorer()(NoProba(), X, y, sample_domain=sample_domain)


@pytest.mark.parametrize(
    "scorer",
    [
        PredictionEntropyScorer(),
        SoftNeighborhoodDensityScorer(),
        DeepEmbeddedValidationScorer(random_state=0),
    ],
    ids=lambda s: type(s).__name__,
)
def test_scorers_raise_attribute_error_without_predict_proba(scorer):
    # scikit-learn's predict_proba scorers (and skada's) raise AttributeError for a missing
    # method; these raised TypeError, which skada's checks and callers did not expect.
    Xs, ys, Xt, _ = _blobs(n=40)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    svc = SVC().fit(Xs, ys)
    match = rf"{type(scorer).__name__} reads predicted probabilities; SVC has no predict_proba"
    with pytest.raises(AttributeError, match=match):
        scorer(svc, X, y, sample_domain=sample_domain)
    # In a search the failed score is handled by error_score, as any scorer's error is.
    with config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            make_da_pipeline(SVC()),
            {"svc__estimator__C": [1.0]},
            scoring=scorer,
            cv=DomainShuffleSplit(n_splits=2, random_state=0),
        )
        with (
            pytest.warns(UserWarning, match="non-finite"),
            pytest.warns(UserWarning, match="(?s)Scoring failed.*AttributeError: .*predict_proba"),
        ):
            search.fit(X, y, sample_domain=sample_domain)
        assert np.isnan(search.cv_results_["mean_test_score"]).all()
        with pytest.raises(AttributeError, match="no predict_proba"):
            search.set_params(error_score="raise").fit(X, y, sample_domain=sample_domain)


def test_invalid_parameters_are_refused_when_built():
    with pytest.raises(ValueError, match="temperature"):
        SoftNeighborhoodDensityScorer(temperature=0)
    with pytest.raises(ValueError, match="domain_classifier"):
        ImportanceWeightedScorer(domain_classifier="logistic")
    with pytest.raises(ValueError, match="test_size"):
        DomainShuffleSplit(test_size=1.5)


@pytest.mark.parametrize(
    "build",
    [
        lambda: DomainShuffleSplit(n_splits=True),
        lambda: ClassHoldoutSplit(n_splits=True),
        lambda: ClassHoldoutSplit(n_unseen=True),
        lambda: logme_score(np.eye(4), [0, 1, 0, 1], max_iter=True),
    ],
    ids=["DomainShuffleSplit", "ClassHoldoutSplit.n_splits", "ClassHoldoutSplit.n_unseen", "logme"],
)
def test_splitters_and_scores_refuse_a_boolean_count(build):
    # bool is an int to Python: n_splits=True would silently mean one split.
    with pytest.raises(ValueError, match="Got True"):
        build()


def test_importance_weights_warn_when_domains_never_overlap():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(100, 2))
    ys = (Xs[:, 0] > 0).astype(int)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xs + [0.0, 50.0], None))
    clf = LogisticRegression().fit(Xs, ys)
    with pytest.warns(UserWarning, match="almost perfectly"):
        ImportanceWeightedScorer(random_state=0)(clf, X, y, sample_domain=sample_domain)


def test_domain_shuffle_split_keeps_every_domain_in_both_folds():
    sample_domain = np.repeat([1, 2, -3], [30, 20, 50])
    cv = DomainShuffleSplit(n_splits=3, test_size=0.2, random_state=0)
    X = np.zeros((100, 1))
    assert cv.get_n_splits() == 3
    for train, test in cv.split(X, sample_domain=sample_domain):
        assert not set(train) & set(test)
        assert len(train) + len(test) == 100
        for domain, n in [(1, 30), (2, 20), (-3, 50)]:
            assert np.count_nonzero(sample_domain[test] == domain) == int(np.ceil(0.2 * n))
    # Without sample_domain, y == -1 marks the target rows.
    y = np.where(sample_domain < 0, -1, 0)
    train, test = next(cv.split(X, y))
    assert set(y[test]) == set(y[train]) == {-1, 0}


def test_leave_one_source_out_holds_each_source_out_once():
    sample_domain = np.repeat([1, 2, 3, -4], [10, 10, 10, 20])
    cv = LeaveOneSourceOut(test_size=0.25, random_state=0)
    X = np.zeros((50, 1))
    assert cv.get_n_splits(X, sample_domain=sample_domain) == 3
    held_out = []
    for train, test in cv.split(X, sample_domain=sample_domain):
        sources = set(sample_domain[test][sample_domain[test] > 0].tolist())
        assert len(sources) == 1 and not sources & set(sample_domain[train].tolist())
        assert np.count_nonzero(sample_domain[test] < 0) == 5
        held_out += sources
    assert sorted(held_out) == [1, 2, 3]
    with pytest.raises(ValueError, match="at least 2 source domains"):
        next(cv.split(X[10:], sample_domain=np.where(sample_domain[10:] > 0, 1, -4)))


def test_leave_one_source_out_splits_each_target_domain_apart():
    # Pooled, a small target domain missed the training or validation fold in half the folds.
    sample_domain = np.repeat([1, 2, -3, -4], [20, 20, 20, 2])
    X = np.zeros((62, 1))
    for seed in range(10):
        cv = LeaveOneSourceOut(random_state=seed)
        for train, test in cv.split(X, sample_domain=sample_domain):
            for target in (-3, -4):
                assert target in sample_domain[train] and target in sample_domain[test]
    with pytest.raises(ValueError, match=r"each target domain; domains \[-4\]"):
        next(cv.split(X[:61], sample_domain=sample_domain[:61]))


@pytest.mark.parametrize(
    "cv",
    [DomainShuffleSplit(n_splits=2, random_state=0), LeaveOneSourceOut(random_state=0)],
    ids=lambda cv: type(cv).__name__,
)
def test_splitters_refuse_sample_domain_passed_positionally_as_groups(cv):
    # split(X, y, sample_domain) put the domains in groups, which was ignored: the splitter
    # fell back on y == -1 and lost the per-domain balance without a word.
    sample_domain = np.repeat([1, 2, -3], [10, 10, 20])
    X = np.zeros((40, 1))
    y = np.where(sample_domain < 0, -1, 0)
    match = r"groups is not used by .*sample_domain="
    with pytest.raises(ValueError, match=match):
        next(cv.split(X, y, sample_domain))
    with pytest.raises(ValueError, match=match):
        cv.get_n_splits(X, y, sample_domain)
    # groups=None (what scikit-learn passes when the user gives no groups) is accepted.
    assert len(list(cv.split(X, y, None, sample_domain=sample_domain))) == 2
    assert cv.get_n_splits(X, y, None, sample_domain=sample_domain) == 2


@pytest.mark.parametrize("routing", [False, True])
def test_splitters_get_no_groups_from_sklearn_cross_validation(routing):
    # Without routing scikit-learn passes groups=None unless the user gives groups; with
    # routing, only the requested sample_domain. Either way the splitters run.
    Xs, ys, Xt, _ = _blobs(n=30)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    cv = DomainShuffleSplit(n_splits=2, random_state=0)
    params = {"sample_domain": sample_domain} if routing else {}
    # LogisticRegression reads y == -1 as a third class: enough to exercise the splits.
    with config_context(enable_metadata_routing=routing):
        results = cross_validate(LogisticRegression(), X, y, cv=cv, params=params)
        assert len(results["test_score"]) == 2
        search = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=cv).fit(X, y, **params)
        assert search.n_splits_ == 2
    # A user's groups reach the splitter, which says it does not use them.
    with pytest.raises(ValueError, match="groups is not used"):
        cross_validate(LogisticRegression(), X, y, cv=cv, groups=sample_domain)


def test_leave_one_source_out_says_when_it_was_given_no_sample_domain():
    y = np.r_[np.zeros(20, int), -np.ones(10, int)]
    with pytest.raises(ValueError, match="given no sample_domain.*metadata routing"):
        next(LeaveOneSourceOut().split(np.zeros((30, 1)), y))


def test_importance_weights_kept_apart_per_source():
    """Two sources, one far from the target and one near it: each gets its own weights, so
    the far source's rows still count (pooled weights would all but drop them)."""
    rng = np.random.default_rng(0)
    near, far = rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + [0.0, 3.0]
    X = np.vstack([near, far, rng.normal(size=(100, 2)) + [0.0, 0.3]])
    y = np.r_[(X[:200, 0] > 0).astype(int), np.full(100, -1)]
    sample_domain = np.repeat([1, 2, -3], 100)

    # A model right on the near source and wrong on the far one scores about their average.
    class Rule:
        def predict(self, X):
            return np.where(X[:, 1] > 1.5, 1 - (X[:, 0] > 0), X[:, 0] > 0).astype(int)

    score = ImportanceWeightedScorer(random_state=0)(Rule(), X, y, sample_domain=sample_domain)
    assert 0.3 < score < 0.7


def _two_target_domains():
    """The blobs' target (moved up by 1) as domain -2 and 60 rows moved down by 1 as domain -3;
    the good model, and the bad one, whose boundary x1 = 1 is unsure on the first domain and
    sure (one class) on the second."""
    Xs, ys, Xt, _ = _blobs()
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, size=60)
    below = np.c_[np.where(labels == 1, 2.0, -2.0), np.full(60, -1.0)]
    below += rng.normal(scale=0.7, size=(60, 2))
    X = np.vstack([Xs, Xt, below])
    y = np.r_[ys, np.full(len(Xt) + 60, -1)]
    sample_domain = np.repeat([1, -2, -3], [len(Xs), len(Xt), 60])
    good, bad, *_ = _good_and_bad()
    return good, bad, X, y, sample_domain


@pytest.mark.parametrize("scorer", UNSUPERVISED, ids=lambda s: type(s).__name__)
def test_several_target_domains_are_scored_apart_and_averaged(scorer):
    model, _, X, y, sample_domain = _two_target_domains()
    alone = [
        scorer(model, X[keep], y[keep], sample_domain=sample_domain[keep])
        for keep in [sample_domain != -3, sample_domain != -2]
    ]
    assert scorer(model, X, y, sample_domain=sample_domain) == pytest.approx(np.mean(alone))


@pytest.mark.parametrize(
    "scorer",
    [PredictionEntropyScorer(), SoftNeighborhoodDensityScorer()],
    ids=lambda s: type(s).__name__,
)
def test_several_target_domains_are_not_pooled(scorer):
    _, model, X, y, sample_domain = _two_target_domains()
    pooled = scorer(model, X, y, sample_domain=np.where(sample_domain < 0, -2, 1))
    apart = scorer(model, X, y, sample_domain=sample_domain)
    assert abs(apart - pooled) > 0.01


def _coral_pipeline():
    return make_pipeline(
        CORAL().set_fit_request(sample_domain=True).set_transform_request(sample_domain=True),
        SelfTrainingClassifier(LogisticRegression(), max_iter=0),
    )


def _rescaled_target(seed=0):
    rng = np.random.RandomState(seed)
    Xs = rng.normal(size=(400, 2))
    ys = (Xs.sum(axis=1) > 0).astype(int)
    Xt = rng.normal(size=(400, 2))
    yt = (Xt.sum(axis=1) > 0).astype(int)
    return Xs, ys, Xt * [1.0, 5.0], yt


@pytest.mark.parametrize(
    "scorer",
    [DeepEmbeddedValidationScorer(random_state=0), ReverseValidationScorer()],
    ids=lambda s: type(s).__name__,
)
def test_grid_search_picks_coral_reg_from_source_labels_and_unlabelled_target(scorer):
    Xs, ys, Xt, yt = _rescaled_target()
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    grid = {"coral__reg": [0.1, 1e4]}
    with config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            _coral_pipeline(),
            grid,
            scoring=scorer,
            cv=DomainShuffleSplit(n_splits=3, random_state=0),
        ).fit(X, y, sample_domain=sample_domain)
        unadapted = _coral_pipeline().set_params(coral__reg=1e4)
        unadapted.fit(X, y, sample_domain=sample_domain)
    assert search.best_params_ == {"coral__reg": 0.1}
    assert search.best_estimator_.score(Xt, yt) > unadapted.score(Xt, yt) + 0.05


def test_cross_validate_routes_sample_domain_to_every_scorer():
    Xs, ys, Xt, _ = _rescaled_target()
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    scoring = {type(s).__name__: s for s in UNSUPERVISED}
    with config_context(enable_metadata_routing=True):
        results = cross_validate(
            _coral_pipeline(),
            X,
            y,
            scoring=scoring,
            cv=DomainShuffleSplit(n_splits=2, random_state=0),
            params={"sample_domain": sample_domain},
        )
    for name in scoring:
        assert np.all(np.isfinite(results[f"test_{name}"]))


@pytest.mark.slow
def test_dann_grid_search_with_deep_embedded_validation_on_its_features():
    """DEV reads DANN's features (its transform); the search runs on source labels and
    unlabelled target rows only and picks adaptation on a shift a source-only net misses."""
    Xs, ys, Xt, yt = _blobs(n=100)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    dann = DANNClassifier(
        hidden_layer_sizes=(8,),
        domain_hidden_layer_sizes=(8,),
        optimizer="adam",
        lr=0.02,
        lr_schedule="constant",
        max_epochs=10,
        random_state=0,
        device="cpu",
    )
    with config_context(enable_metadata_routing=True):
        dann.set_fit_request(sample_domain=True)
        search = GridSearchCV(
            dann,
            {"domain_weight": [0.0, 1.0]},
            scoring={
                "dev": DeepEmbeddedValidationScorer(random_state=0),
                "entropy": PredictionEntropyScorer(),
            },
            refit="entropy",
            cv=DomainShuffleSplit(n_splits=2, random_state=0),
        ).fit(X, y, sample_domain=sample_domain)
    assert np.all(np.isfinite(search.cv_results_["mean_test_dev"]))
    assert search.best_estimator_.score(Xt, yt) > 0.9


def test_repr_and_routing_request():
    scorer = SoftNeighborhoodDensityScorer(temperature=0.1)
    assert repr(scorer) == "SoftNeighborhoodDensityScorer(temperature=0.1)"
    request = scorer.get_metadata_routing()
    assert request.score.requests == {"sample_domain": True}
    assert scorer.set_score_request(sample_domain=False) is scorer
    assert scorer.get_metadata_routing().score.requests == {"sample_domain": False}


def test_diverged_model_scores_minus_infinity_with_a_warning():
    _, _, X, y, sample_domain, _ = _good_and_bad()

    class Diverged:
        classes_ = np.array([0, 1])

        def predict_proba(self, X):
            return np.full((len(X), 2), np.nan)

    with pytest.warns(UserWarning, match="not finite"):
        score = PredictionEntropyScorer()(Diverged(), X, y, sample_domain=sample_domain)
    assert score == -np.inf


def test_soft_neighborhood_density_needs_two_target_rows_in_every_target_domain():
    good, _, X, y, sample_domain, _ = _good_and_bad()
    lone = sample_domain.copy()
    lone[-1] = -3  # a second target domain holding one row
    with pytest.raises(ValueError, match="at least 2 target rows.*target domain -3 has 1"):
        SoftNeighborhoodDensityScorer()(good, X, y, sample_domain=lone)
    with pytest.raises(ValueError, match="at least 2 target rows"):
        SoftNeighborhoodDensityScorer()(good, X[:201], y[:201], sample_domain=sample_domain[:201])


def _fitted_da_pipeline():
    """CORAL re-colours source rows and passes target rows: a source row transformed as a
    target row lands in the source's own units, where the classifier was not trained."""
    Xs, ys, Xt, _ = _rescaled_target()
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    model = make_da_pipeline(CORAL(), LogisticRegression()).fit(X, y, sample_domain=sample_domain)
    return model, X, y, sample_domain


@pytest.mark.parametrize("scorer", UNSUPERVISED, ids=lambda s: type(s).__name__)
def test_scorer_gives_the_same_score_with_metadata_routing_off_or_on(scorer):
    """Before: with routing off the scorers called predict without sample_domain, so CORAL
    mapped the source rows as target rows (ImportanceWeightedScorer 0.125 against 0.995 with
    routing, on the audit's data), silently."""
    model, X, y, sample_domain = _fitted_da_pipeline()
    off = scorer(model, X, y, sample_domain=sample_domain)
    with config_context(enable_metadata_routing=True):
        on = scorer(model, X, y, sample_domain=sample_domain)
    assert off == pytest.approx(on)


def test_cross_val_score_with_routing_off_scores_as_with_routing_on():
    """Without routing nothing carries sample_domain to the scorer, which falls back on
    y == -1; the domains it reads must still reach CORAL (before: -0.56, -0.28, -0.14 against
    -0.08, -0.09, -0.07 with routing)."""
    Xs, ys, Xt, _ = _rescaled_target()
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    model = make_da_pipeline(CORAL(), LogisticRegression())
    scorer = DeepEmbeddedValidationScorer(random_state=0)
    off = cross_val_score(model, X, y, cv=DomainShuffleSplit(3, random_state=0), scoring=scorer)
    with config_context(enable_metadata_routing=True):
        on = cross_val_score(
            model,
            X,
            y,
            cv=DomainShuffleSplit(3, random_state=0),
            scoring=scorer,
            params={"sample_domain": sample_domain},
        )
    np.testing.assert_allclose(off, on)


def test_scorer_warns_when_routing_off_keeps_sample_domain_from_a_meta_estimator():
    """SelfTrainingClassifier takes predict's parameters only through routing: the source rows
    then reach CORAL as target rows, and the score differs from the routed one."""
    Xs, ys, Xt, _ = _rescaled_target()
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    inner = make_da_pipeline(CORAL(), LogisticRegression())
    model = SelfTrainingClassifier(inner, max_iter=0).fit(X, y)
    with pytest.warns(UserWarning, match="predict requests sample_domain.*routing, which is off"):
        ImportanceWeightedScorer(random_state=0)(model, X, y, sample_domain=sample_domain)
    # Only target rows are predicted here, and those are what rows without sample_domain are.
    PredictionEntropyScorer()(model, X, y, sample_domain=sample_domain)


def test_reverse_validation_of_a_plain_classifier_fits_back_on_the_target_rows():
    """Before: the reverse LogisticRegression learned the source rows' -1 as a class and
    predicted it for most of them, scoring a model that transfers well near 0.15."""
    Xs, ys, Xt, _ = _blobs()
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    plain = LogisticRegression().fit(Xs, ys)
    score = ReverseValidationScorer()(plain, X, y, sample_domain=sample_domain)
    pseudo = plain.predict(Xt)
    assert score == LogisticRegression().fit(Xt, pseudo).score(Xs, ys)
    assert score > 0.95
    # A pipeline ending in a plain classifier too; one that reads -1 keeps the source rows.
    assert ReverseValidationScorer()(
        make_pipeline(LogisticRegression()).fit(Xs, ys), X, y, sample_domain=sample_domain
    ) == pytest.approx(score)


@pytest.mark.parametrize("scorer", [*UNSUPERVISED, TargetAccuracyScorer()], ids=repr)
def test_domain_scorers_refuse_a_regressor(scorer):
    """Before: an accuracy of 0.0 without a word (ImportanceWeighted, TargetAccuracy, Reverse)."""
    Xs, ys, Xt, yt = _blobs()
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, yt))
    with pytest.raises(TypeError, match="scores a classifier; got the regressor"):
        scorer(LinearRegression().fit(Xs, ys), X, y, sample_domain=sample_domain)


@pytest.mark.parametrize("scorer", [*UNSUPERVISED, TargetAccuracyScorer()], ids=repr)
def test_domain_scorers_warn_of_a_classifier_that_learned_unlabelled_rows_as_a_class(scorer):
    """Before: a plain LogisticRegression in a search over packed rows learned y == -1 as a
    class and was scored without a word (importance-weighted accuracy 0.15 to 0.54, where the
    same classifier in make_da_pipeline scores 0.96)."""
    Xs, ys, Xt, yt = _blobs()
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    y_oracle = np.r_[ys, yt]
    plain = LogisticRegression().fit(X, y)
    assert -1 in plain.classes_
    with pytest.warns(UserWarning, match=r"learned y == -1, which marks unlabelled rows, as a"):
        scorer(
            plain,
            X,
            y_oracle if isinstance(scorer, TargetAccuracyScorer) else y,
            sample_domain=sample_domain,
        )
    # The same classifier built to train on the labelled rows: nothing to warn of.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adapted = make_da_pipeline(LogisticRegression()).fit(X, y, sample_domain=sample_domain)
        assert -1 not in adapted.classes_
        scorer(
            adapted,
            X,
            y_oracle if isinstance(scorer, TargetAccuracyScorer) else y,
            sample_domain=sample_domain,
        )


@pytest.mark.parametrize(
    "temperature, shape", [(1e-300, "one-hot"), (5e-324, "one-hot"), (1e300, "uniform")]
)
def test_snd_warns_of_a_temperature_that_makes_every_neighbourhood_degenerate(temperature, shape):
    """Before: temperature=1e-300 scored 0 and 1e300 scored log(n - 1) whatever the model,
    without a word, and 5e-324 scored NaN (the similarities overflowed to inf)."""
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(60, 2))
    ys = (Xs[:, 0] > 0).astype(int)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xs + 0.1, None))
    clf = LogisticRegression().fit(Xs, ys)
    with pytest.warns(UserWarning, match=rf"temperature={re.escape(str(temperature))} .* {shape}"):
        score = SoftNeighborhoodDensityScorer(temperature)(clf, X, y, sample_domain=sample_domain)
    assert np.isfinite(score)
    # The paper's temperature scores as before, without a warning.
    reference = SoftNeighborhoodDensityScorer()(clf, X, y, sample_domain=sample_domain)
    assert 0 < reference < np.log(59)


def test_snd_does_not_call_tied_one_hot_neighbourhoods_degenerate():
    """Predictions of a fully grown tree are one-hot: rows tie with their nearest neighbours,
    whose count the score reads (it differs by depth). A low temperature warned that the score
    did not depend on the model."""
    X_all, y_all = make_classification(400, 8, n_informative=4, n_classes=3, random_state=0)
    X, y, sample_domain = pack_domains(
        source=(X_all[:300], y_all[:300]), target=(X_all[300:], None)
    )
    scores = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for depth in (None, 2):
            tree = DecisionTreeClassifier(max_depth=depth, random_state=0)
            tree.fit(X_all[:300], y_all[:300])
            scorer = SoftNeighborhoodDensityScorer(temperature=0.01)
            scores.append(scorer(tree, X, y, sample_domain=sample_domain))
    assert scores[0] != scores[1]


def test_leave_one_source_out_counts_splits_of_one_integer_domain_clearly():
    # len() of one integer raised a TypeError before the domains were checked.
    assert LeaveOneSourceOut().get_n_splits(sample_domain=[1, 2, -1]) == 2
    with pytest.raises(ValueError, match="the data hold only source rows"):
        LeaveOneSourceOut().get_n_splits(sample_domain=2)
