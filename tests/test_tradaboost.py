"""TrAdaBoost, TrAdaBoostR2, TwoStageTrAdaBoostR2 and the shifted-task generators."""

import math
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from sktransfer.datasets import (
    make_conditional_shift,
    make_redrawn_classification,
    make_shifted_classification,
    make_shifted_regression,
)
from sktransfer.datasets._selection_bias import make_selection_bias
from sktransfer.instance_transfer import TrAdaBoost, TrAdaBoostR2, TwoStageTrAdaBoostR2
from sktransfer.instance_transfer._tradaboost_r2 import _shrink_source, _weighted_median
from sktransfer.utils._domains import pack_domains

SEEDS = range(5)


class PickBestColumn(ClassifierMixin, BaseEstimator):
    """A weak learner that predicts one column of X: the column with the lowest weighted error.

    It records the weights it was given, so that tests can follow the boosting by hand.
    """

    def fit(self, X, y, sample_weight):
        self.classes_ = np.unique(y)
        self.received_weight_ = sample_weight / sample_weight.sum()
        errors = [np.dot(sample_weight, X[:, j] != y) for j in range(X.shape[1])]
        self.column_ = int(np.argmin(errors))
        return self

    def predict(self, X):
        return X[:, self.column_].astype(int)


class PredictFirstColumn(RegressorMixin, BaseEstimator):
    """A regressor that ignores its weights (but records them) and predicts ``X[:, 0]``."""

    def fit(self, X, y, sample_weight):
        self.received_weight_ = sample_weight / sample_weight.sum()
        return self

    def predict(self, X):
        return X[:, 0]


class MustNotFit(ClassifierMixin, BaseEstimator):
    """Fails the test if any learner gets fitted: input errors must come first."""

    def fit(self, X, y, sample_weight=None):
        raise AssertionError("a learner was fitted before the input was validated")

    def predict(self, X):
        raise AssertionError("never fitted")


class MustNotFitRegressor(RegressorMixin, BaseEstimator):
    """The regression twin of MustNotFit."""

    def fit(self, X, y, sample_weight=None):
        raise AssertionError("a learner was fitted before the input was validated")

    def predict(self, X):
        raise AssertionError("never fitted")


def _hand_worked_case():
    """Four source rows (0-3), four target rows (4-7) and three candidate hypotheses.

    Hypothesis A errs on rows {0, 4}, B on {0, 1, 5}, C on {1, 2, 6}; each column of X holds
    the predictions of one hypothesis.
    """
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    mistakes = [[0, 4], [0, 1, 5], [1, 2, 6]]
    X = np.column_stack([np.where(np.isin(np.arange(8), rows), 1 - y, y) for rows in mistakes])
    sample_domain = np.array([1, 1, 1, 1, -2, -2, -2, -2])
    return X, y, sample_domain


def test_weight_update_reproduces_dai_et_al_by_hand():
    X, y, sample_domain = _hand_worked_case()
    clf = TrAdaBoost(PickBestColumn(), n_estimators=3, voters="last_half")
    clf.fit(X, y, sample_domain=sample_domain)

    # beta = 1 / (1 + sqrt(2 ln n / N)) with n = 4 source rows and N = 3 iterations.
    beta = 1 / (1 + math.sqrt(2 * math.log(4) / 3))
    # Iteration 1, uniform weights: A has the lowest error (2/8) and errs on target row 4,
    # eps_1 = 1/4, beta_1 = 1/3: row 4 is multiplied by 3, source row 0 by beta.
    w1 = np.full(8, 1.0)
    w2 = np.array([beta, 1, 1, 1, 3, 1, 1, 1])
    # Iteration 2: B's weighted error is beta + 2 against beta + 3 (A) and 3 (C). It errs on
    # target row 5: eps_2 = 1 / 6, beta_2 = 1/5; source rows 0 and 1 are multiplied by beta.
    w3 = np.array([beta**2, beta, 1, 1, 3, 5, 1, 1])
    # Iteration 3: C's error is beta + 2, the lowest; it errs on target row 6 of weight 1 out
    # of 10: eps_3 = 1/10, beta_3 = 1/9.
    assert [learner.column_ for learner in clf.estimators_] == [0, 1, 2]
    for learner, expected in zip(clf.estimators_, [w1, w2, w3], strict=True):
        assert_allclose(learner.received_weight_, expected / expected.sum(), rtol=1e-12)
    assert_allclose(clf.estimator_errors_, [1 / 4, 1 / 6, 1 / 10], rtol=1e-12)
    assert_allclose(clf.estimator_weights_, np.log([3, 5, 9]), rtol=1e-12)

    # The learners t = ceil(N/2) = 2 to N = 3 vote, with weights ln(1/beta_t): C outvotes B.
    # Row 0: B says 1, C says 0; the decision is (ln 5 - ln 9) / (ln 5 + ln 9).
    assert_allclose(clf.decision_function(X[:1]), [np.log(5 / 9) / np.log(45)], rtol=1e-12)
    wrong = clf.predict(X) != y
    assert_array_equal(np.flatnonzero(wrong), [1, 2, 6])


def test_every_learner_votes_by_default():
    X, y, sample_domain = _hand_worked_case()
    clf = TrAdaBoost(PickBestColumn(), n_estimators=3).fit(X, y, sample_domain=sample_domain)

    # The same learners as Dai et al.'s by hand (votes ln 3, ln 5, ln 9), but A votes too.
    # Row 0: A and B say 1, C says 0; the decision is (ln 3 + ln 5 - ln 9) / ln(3 * 5 * 9).
    assert_allclose(clf.decision_function(X[:1]), [np.log(15 / 9) / np.log(135)], rtol=1e-12)
    # Rows 0 and 1, where two of the three learners err, are now outvoted.
    assert_array_equal(np.flatnonzero(clf.predict(X) != y), [0, 1])
    # The first staged decision is A's vote alone: the decision of a one-learner ensemble.
    first = next(clf.staged_decision_function(X))
    assert_allclose(first, np.where(X[:, 0] == 1, 1.0, -1.0))


def test_dynamic_correction_scales_source_weights_by_hand():
    X, y, sample_domain = _hand_worked_case()
    clf = TrAdaBoost(PickBestColumn(), n_estimators=3, dynamic_correction=True)
    clf.fit(X, y, sample_domain=sample_domain)

    beta = 1 / (1 + math.sqrt(2 * math.log(4) / 3))
    # Al-Stouhi and Reddy: every source weight is also multiplied by 2 (1 - eps_1) = 3/2.
    w2 = np.array([1.5 * beta, 1.5, 1.5, 1.5, 3, 1, 1, 1])
    assert_allclose(clf.estimators_[1].received_weight_, w2 / w2.sum(), rtol=1e-12)


def test_sample_weight_sets_the_initial_weights():
    X, y, sample_domain = _hand_worked_case()
    sample_weight = np.array([1, 2, 3, 4, 1, 1, 2, 2], dtype=float)

    clf = TrAdaBoost(PickBestColumn(), n_estimators=2, balance_domains=False)
    clf.fit(X, y, sample_weight=sample_weight, sample_domain=sample_domain)

    first = clf.estimators_[0]
    assert_allclose(first.received_weight_, sample_weight / sample_weight.sum())
    # The error is weighted too: A errs on target row 4, of weight 1 out of 6.
    assert clf.estimator_errors_[0] == pytest.approx(1 / 6)


def test_balance_domains_raises_the_target_rows_to_the_source_total():
    X, y, sample_domain = _hand_worked_case()
    sample_weight = np.array([1, 2, 3, 4, 1, 1, 2, 2], dtype=float)

    clf = TrAdaBoost(PickBestColumn(), n_estimators=2, balance_domains=True)
    clf.fit(X, y, sample_weight=sample_weight, sample_domain=sample_domain)

    # The source rows weigh 10, the target rows 6: the target rows are scaled by 10 / 6 and
    # keep their proportions, so A's target error stays 1/6.
    expected = np.r_[sample_weight[:4], sample_weight[4:] * 10 / 6]
    assert_allclose(clf.estimators_[0].received_weight_, expected / expected.sum(), rtol=1e-12)
    assert clf.source_weights_[0].sum() == pytest.approx(clf.target_weights_[0].sum())
    assert clf.estimator_errors_[0] == pytest.approx(1 / 6)

    # Target rows that already outweigh the source rows are left as they are.
    heavy_target = np.r_[np.ones(4), np.full(4, 3.0)]
    clf.fit(X, y, sample_weight=heavy_target, sample_domain=sample_domain)
    assert_allclose(clf.estimators_[0].received_weight_, heavy_target / heavy_target.sum())


def test_multiclass_follows_samme():
    X, y, sample_domain = _hand_worked_case()
    y = np.where(np.arange(8) == 3, 2, y)
    X[3] = y[3]
    clf = TrAdaBoost(PickBestColumn(), n_estimators=1).fit(X, y, sample_domain=sample_domain)

    eps = clf.estimator_errors_[0]
    assert clf.n_classes_ == 3
    assert clf.estimator_weights_[0] == pytest.approx(math.log((1 - eps) / eps) + math.log(2))


def _accuracies(n_target, random_state, n_classes=2):
    Xs, ys, Xt, yt = make_shifted_classification(
        n_source=1000, n_target=n_target + 2000, n_classes=n_classes, random_state=random_state
    )
    X_train, y_train, X_test, y_test = Xt[:n_target], yt[:n_target], Xt[n_target:], yt[n_target:]
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(X_train, y_train))
    tree = DecisionTreeClassifier(max_depth=5)

    def ada():
        return AdaBoostClassifier(tree, n_estimators=20, random_state=random_state)

    tradaboost = TrAdaBoost(tree, n_estimators=20, random_state=random_state)
    return {
        "tradaboost": tradaboost.fit(X, y, sample_domain=sample_domain).score(X_test, y_test),
        "target_only": ada().fit(X_train, y_train).score(X_test, y_test),
        "source_only": ada().fit(Xs, ys).score(X_test, y_test),
        "pooled": ada().fit(X, y).score(X_test, y_test),
    }


@pytest.mark.parametrize(
    "n_target, n_classes, margin",
    # Measured means over the five seeds (TrAdaBoost / best baseline): 0.939 / 0.883 with 10
    # target rows, 0.907 / 0.874 with 25, 0.898 / 0.772 with 15 rows and three classes.
    [(10, 2, 0.03), (25, 2, 0.03), (15, 3, 0.05)],
)
def test_tradaboost_beats_target_source_and_pooled_training(n_target, n_classes, margin):
    runs = [_accuracies(n_target, seed, n_classes) for seed in SEEDS]
    mean = {name: np.mean([run[name] for run in runs]) for name in runs[0]}

    for baseline in ["target_only", "source_only", "pooled"]:
        assert mean["tradaboost"] >= mean[baseline] + margin, mean


def test_without_sample_domain_every_row_is_a_target_row():
    X, y, _ = _hand_worked_case()

    clf = TrAdaBoost(PickBestColumn(), n_estimators=3).fit(X, y)

    # AdaBoost over all rows: the error of A is 2/8 and both of its wrong rows grow by 3.
    assert clf.estimator_errors_[0] == pytest.approx(2 / 8)
    w2 = np.array([3, 1, 1, 1, 3, 1, 1, 1])
    assert_allclose(clf.estimators_[1].received_weight_, w2 / w2.sum())


def _shifted_task(n_source=300, n_target=30, random_state=0):
    Xs, ys, Xt, yt = make_shifted_classification(
        n_source=n_source, n_target=n_target, random_state=random_state
    )
    return pack_domains(source=(Xs, ys), target=(Xt, yt))


def test_predictions_are_consistent():
    X, y, sample_domain = _shifted_task()
    clf = TrAdaBoost(n_estimators=7, random_state=0).fit(X, y, sample_domain=sample_domain)

    proba = clf.predict_proba(X)
    decision = clf.decision_function(X)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(clf.predict(X), clf.classes_[(decision > 0).astype(int)])
    assert_array_equal(clf.predict(X), clf.classes_[np.argmax(proba, axis=1)])
    assert_allclose(clf.predict_log_proba(X), np.log(proba))

    staged = list(clf.staged_predict(X))
    assert len(staged) == len(clf.estimators_) == 7
    assert_array_equal(staged[-1], clf.predict(X))
    assert_allclose(list(clf.staged_predict_proba(X))[-1], proba)
    assert_allclose(list(clf.staged_decision_function(X))[-1], decision)


def test_feature_importances_follow_the_voting_learners():
    X, y, sample_domain = _shifted_task()
    X = np.column_stack([X, np.zeros(len(X))])
    clf = TrAdaBoost(n_estimators=6, random_state=0).fit(X, y, sample_domain=sample_domain)

    importances = clf.feature_importances_
    assert importances.shape == (3,)
    assert importances.sum() == pytest.approx(1.0)
    assert importances[2] == 0.0

    linear = TrAdaBoost(LogisticRegression(), n_estimators=2)
    linear.fit(X, y, sample_domain=sample_domain)
    assert not hasattr(linear, "feature_importances_")


def test_sparse_input_and_pickle():
    X, y, sample_domain = _shifted_task()
    clf = TrAdaBoost(n_estimators=5, random_state=0)

    dense = clf.fit(X, y, sample_domain=sample_domain).predict_proba(X)
    sparse = clf.fit(sp.csr_matrix(X), y, sample_domain=sample_domain).predict_proba(X)

    assert_allclose(sparse, dense)
    assert_allclose(pickle.loads(pickle.dumps(clf)).predict_proba(X), dense)


def test_early_stopping_holds_out_target_rows():
    X, y, sample_domain = _shifted_task(n_target=40)
    clf = TrAdaBoost(n_estimators=200, n_iter_no_change=3, random_state=0)

    clf.fit(X, y, sample_domain=sample_domain)

    n_learners = len(clf.estimators_)
    assert n_learners < 200
    assert clf.validation_scores_.shape == (n_learners,)
    best_before = clf.validation_scores_[: n_learners - 3].max()
    assert clf.validation_scores_[-3:].max() <= best_before


def test_early_stopping_needs_target_rows_to_boost_on():
    X, y, sample_domain = _shifted_task(n_target=1)
    clf = TrAdaBoost(MustNotFit(), n_iter_no_change=3)

    with pytest.raises(ValueError, match="validation_fraction"):
        clf.fit(X, y, sample_domain=sample_domain)


def test_label_seen_only_in_target_rows_is_learned_from_them():
    X, y, sample_domain = _shifted_task()
    y = y.copy()
    target_rows = np.flatnonzero(sample_domain < 0)[:5]
    y[target_rows] = 7

    clf = TrAdaBoost(n_estimators=4, random_state=0).fit(X, y, sample_domain=sample_domain)

    assert_array_equal(clf.classes_, [0, 1, 7])
    assert clf.predict_proba(X).shape == (len(X), 3)


@pytest.mark.parametrize("estimator_class", [TrAdaBoost, TrAdaBoostR2, TwoStageTrAdaBoostR2])
@pytest.mark.parametrize(
    "change, match",
    [
        ({"sample_domain": np.ones(40)}, "marks no target row"),
        ({"sample_domain": -np.ones(40)}, "marks no source row"),
        ({"sample_domain": np.ones(39)}, "sample_domain has 39 entries but X has 40 rows"),
        ({"sample_domain": np.r_[np.ones(20), np.zeros(20)]}, "sample_domain contains 0"),
        ({"sample_domain": np.r_[np.ones(20), -np.full(20, 0.5)]}, "must hold integers"),
        ({"X": np.r_[[[np.nan, 0.0]], np.zeros((39, 2))]}, "Input X contains NaN"),
        ({"sample_weight": np.r_[np.nan, np.ones(39)]}, "Input sample_weight contains NaN"),
        ({"sample_weight": np.r_[-1.0, np.ones(39)]}, "Negative values in data passed to"),
        ({"sample_weight": np.ones(39)}, r"sample_weight.shape == \(39,\), expected \(40,\)"),
        ({"sample_weight": np.r_[np.ones(20), np.zeros(20)]}, "zero on every target row"),
    ],
)
def test_bad_input_is_refused_before_fitting(estimator_class, change, match):
    rng = np.random.RandomState(0)
    inputs = {
        "X": rng.normal(size=(40, 2)),
        "y": np.arange(40) % 2,
        "sample_weight": None,
        "sample_domain": np.r_[np.ones(20), -2 * np.ones(20)],
    }
    inputs.update(change)
    estimator = estimator_class(MustNotFit())

    with pytest.raises(ValueError, match=match):
        estimator.fit(
            inputs["X"],
            inputs["y"],
            sample_weight=inputs["sample_weight"],
            sample_domain=inputs["sample_domain"],
        )


def test_unlabelled_target_rows_are_refused():
    Xs, ys, Xt, _ = make_shifted_classification(n_source=30, n_target=10, random_state=0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))

    with pytest.raises(ValueError, match="needs labelled target rows"):
        TrAdaBoost(MustNotFit()).fit(X, y, sample_domain=sample_domain)


def test_nan_label_is_refused_naming_y():
    X, y, sample_domain = _shifted_task()
    y = y.astype(float)
    y[0] = np.nan

    with pytest.raises(ValueError, match="y"):
        TrAdaBoost(MustNotFit()).fit(X, y, sample_domain=sample_domain)
    # NaN marks an unlabelled regression row, which a source row never is.
    with pytest.raises(ValueError, match=r"y is NaN or infinite at rows 0 of X .* source rows"):
        TrAdaBoostR2(MustNotFit()).fit(X, y, sample_domain=sample_domain)


@pytest.mark.parametrize("estimator_class", [TrAdaBoost, TrAdaBoostR2, TwoStageTrAdaBoostR2])
def test_base_estimator_without_sample_weight_is_refused(estimator_class):
    X, y, sample_domain = _shifted_task()

    with pytest.raises(ValueError, match="KNeighborsClassifier does not accept sample_weight"):
        estimator_class(KNeighborsClassifier()).fit(X, y, sample_domain=sample_domain)


def test_sample_domain_is_routed_through_pipeline_and_model_selection():
    X, y, sample_domain = _shifted_task(n_source=200, n_target=40)
    expected = (
        make_pipeline(StandardScaler(), TrAdaBoost(n_estimators=5, random_state=0))
        .fit(X, y, tradaboost__sample_domain=sample_domain)
        .predict(X)
    )

    with config_context(enable_metadata_routing=True):
        clf = TrAdaBoost(n_estimators=5, random_state=0).set_fit_request(sample_domain=True)
        pipe = make_pipeline(StandardScaler(), clf)
        assert_array_equal(pipe.fit(X, y, sample_domain=sample_domain).predict(X), expected)

        # Shuffled, stratified folds keep target rows in every training set.
        cv = StratifiedKFold(3, shuffle=True, random_state=0)
        params = {"sample_domain": sample_domain}
        scores = cross_val_score(pipe, X, y, cv=cv, params=params)
        assert scores.shape == (3,)

        search = GridSearchCV(pipe, {"tradaboost__n_estimators": [2, 4]}, cv=cv)
        search.fit(X, y, sample_domain=sample_domain)
        assert search.best_params_["tradaboost__n_estimators"] in (2, 4)


def test_sample_domain_request_is_generated():
    with config_context(enable_metadata_routing=True):
        request = TrAdaBoostR2().set_fit_request(sample_domain=True).get_metadata_routing()
    assert request.fit.requests["sample_domain"] is True


def test_tradaboost_r2_weight_update_by_hand():
    # Source rows 0-3, target rows 4-7; the learner always predicts X[:, 0] and y is 0.
    prediction = np.array([0.0, 0.5, 1.0, 0.0, 0.0, 0.5, 0.25, 0.0])
    X = np.column_stack([prediction, np.zeros(8)])
    y = np.zeros(8)
    sample_domain = np.array([1, 1, 1, 1, -2, -2, -2, -2])

    reg = TrAdaBoostR2(PredictFirstColumn(), n_estimators=2)
    reg.fit(X, y, sample_domain=sample_domain)

    # Adjusted errors e_i = |error| / largest error = the predictions themselves (largest 1).
    # eps_1 = mean over target rows = (0.5 + 0.25) / 4 = 3/16, beta_1 = 3/13.
    beta = 1 / (1 + math.sqrt(2 * math.log(4) / 2))
    w2 = np.array([1, beta**0.5, beta, 1, 1, (13 / 3) ** 0.5, (13 / 3) ** 0.25, 1])
    assert reg.estimator_errors_[0] == pytest.approx(3 / 16)
    assert reg.estimator_weights_[0] == pytest.approx(math.log(13 / 3))
    assert_allclose(reg.estimators_[1].received_weight_, w2 / w2.sum(), rtol=1e-12)
    assert_allclose(reg.predict(X), prediction)


def _regression_errors(n_target, random_state, model):
    Xs, ys, Xt, yt = make_shifted_regression(
        n_source=1000, n_target=n_target + 2000, random_state=random_state
    )
    X_train, y_train, X_test, y_test = Xt[:n_target], yt[:n_target], Xt[n_target:], yt[n_target:]
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(X_train, y_train))
    ada = AdaBoostRegressor(DecisionTreeRegressor(max_depth=4), n_estimators=30)
    ada.set_params(random_state=random_state)

    def mse(estimator, *fit_args, **fit_params):
        predictions = estimator.fit(*fit_args, **fit_params).predict(X_test)
        return mean_squared_error(y_test, predictions)

    return {
        "transfer": mse(
            model.set_params(random_state=random_state), X, y, sample_domain=sample_domain
        ),
        "target_only": mse(ada, X_train, y_train),
        "pooled": mse(ada, X, y),
    }


def _mean_errors(model, n_target=15):
    runs = [_regression_errors(n_target, seed, model) for seed in SEEDS]
    return {name: np.mean([run[name] for run in runs]) for name in runs[0]}


def test_tradaboost_r2_beats_target_only_and_pooled_training():
    mean = _mean_errors(TrAdaBoostR2(DecisionTreeRegressor(max_depth=4), n_estimators=30))

    # Measured mean squared errors over the five seeds: 0.077 TrAdaBoostR2, 0.124 AdaBoost.R2
    # on the target rows, 0.137 on the pooled rows (the labels' variance is about 0.33).
    assert mean["transfer"] <= 0.8 * mean["target_only"], mean
    assert mean["transfer"] <= 0.8 * mean["pooled"], mean


def test_two_stage_tradaboost_r2_beats_target_only_training():
    mean = _mean_errors(TwoStageTrAdaBoostR2(DecisionTreeRegressor(max_depth=4), cv=3))

    # Measured: 0.085 two-stage against 0.124 target-only; the choice of the step by
    # cross-validation on 15 target rows is noisy, hence the looser margin.
    assert mean["transfer"] <= 0.85 * mean["target_only"], mean


def test_two_stage_scores_every_step_on_shuffled_target_folds():
    Xs, ys, Xt, yt = make_shifted_regression(n_source=200, n_target=30, random_state=0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, yt))

    reg = TwoStageTrAdaBoostR2(n_steps=4, n_estimators=3, cv=3, random_state=0)
    reg.fit(X, y, sample_domain=sample_domain)

    assert reg.cv_errors_.shape == (4,)
    assert reg.best_step_ == np.argmin(reg.cv_errors_)
    assert len(reg.estimators_) == 3
    folds = reg._target_folds(X, y, sample_domain > 0, 4, np.random.RandomState(0))
    tests = np.sort(np.concatenate([test for _, test in folds]))
    assert_array_equal(tests, np.flatnonzero(sample_domain < 0))
    assert not np.array_equal(folds[0][1], np.arange(200, 210))


class CountingRidge(Ridge):
    """A Ridge that counts its fits across clones, in ``fits``."""

    fits = 0

    def fit(self, X, y, sample_weight=None):
        CountingRidge.fits += 1
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("n_steps, n_estimators, cv", [(4, 3, 3), (2, 5, 2)])
def test_two_stage_trains_the_number_of_learners_its_docstring_states(n_steps, n_estimators, cv):
    """Before: the docstring and the user guide each stated a different, wrong count."""
    Xs, ys, Xt, yt = make_shifted_regression(n_source=100, n_target=12, random_state=0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, yt))
    CountingRidge.fits = 0
    reg = TwoStageTrAdaBoostR2(
        CountingRidge(), n_steps=n_steps, n_estimators=n_estimators, cv=cv, random_state=0
    )
    reg.fit(X, y, sample_domain=sample_domain)
    # n_steps - 1 in stage one, a boosting run per fold of each step, and the final refit.
    assert CountingRidge.fits == n_steps * cv * n_estimators + (n_steps - 1) + n_estimators
    assert "``n_steps * cv * n_estimators + (n_steps - 1) + n_estimators``" in " ".join(
        TwoStageTrAdaBoostR2.__doc__.split()
    )


def test_two_stage_needs_enough_target_rows_for_the_folds():
    Xs, ys, Xt, yt = make_shifted_regression(n_source=50, n_target=3, random_state=0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, yt))

    with pytest.raises(ValueError, match="cv=5 folds over the target rows need at least 5"):
        TwoStageTrAdaBoostR2(MustNotFitRegressor()).fit(X, y, sample_domain=sample_domain)


def test_two_stage_without_source_rows_runs_a_single_step():
    Xs, ys, Xt, yt = make_shifted_regression(n_source=0, n_target=40, random_state=0)

    reg = TwoStageTrAdaBoostR2(n_estimators=4, random_state=0).fit(Xt, yt)

    assert np.isnan(reg.cv_errors_).all() and reg.cv_errors_.shape == (1,)
    assert len(list(reg.staged_predict(Xt))) == len(reg.estimators_)


def test_shrink_source_reaches_the_scheduled_target_share():
    weights = np.full(6, 1 / 6)
    adjusted = np.array([0.0, 0.5, 1.0, 0.2, 0.3, 0.1])
    is_source = np.array([True, True, True, False, False, False])

    shrunk = _shrink_source(weights, adjusted, is_source, target_share=0.7)

    assert shrunk.sum() == pytest.approx(1.0)
    assert shrunk[~is_source].sum() == pytest.approx(0.7)
    # One beta for every source row: w_i' / w_i = beta ** e_i, the target rows unchanged.
    ratio = shrunk / shrunk[3]
    beta = ratio[2]
    assert_allclose(ratio[:3], beta ** adjusted[:3])
    assert_allclose(ratio[3:], 1.0)
    assert_array_equal(_shrink_source(weights, adjusted, is_source, 1.0)[:3], 0.0)


def test_weighted_median():
    predictions = [np.array([1.0, 5.0]), np.array([2.0, 4.0]), np.array([3.0, 3.0])]

    assert_array_equal(_weighted_median(predictions, [1.0, 1.0, 1.0]), [2.0, 4.0])
    assert_array_equal(_weighted_median(predictions, [1.0, 1.0, 5.0]), [3.0, 3.0])


def test_shifted_generators_are_reproducible_and_controllable():
    first = make_shifted_classification(n_source=50, n_target=10, n_features=4, random_state=3)
    second = make_shifted_classification(n_source=50, n_target=10, n_features=4, random_state=3)
    for a, b in zip(first, second, strict=True):
        assert_array_equal(a, b)
    assert first[0].shape == (50, 4)

    # Without shift the source rows follow the target concept exactly.
    Xs, ys, _, _ = make_shifted_classification(n_source=500, shifted_fraction=0.0, random_state=0)
    Xr, yr, _, _ = make_shifted_classification(
        n_source=500, rotation=0.0, shifted_fraction=1.0, random_state=0
    )
    assert_array_equal(Xs, Xr)
    assert_array_equal(ys, yr)
    _, y_rotated, _, _ = make_shifted_classification(
        n_source=500, shifted_fraction=1.0, random_state=0
    )
    assert 0.3 < np.mean(y_rotated != ys) < 0.7

    _, ys, _, yt = make_shifted_regression(n_source=20, n_target=5, noise=0.0, random_state=0)
    assert ys.shape == (20,) and yt.shape == (5,)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_features": 1}, "n_features"),
        ({"shifted_fraction": 1.5}, "shifted_fraction"),
        ({"n_classes": 1}, "n_classes"),
    ],
)
def test_shifted_classification_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        make_shifted_classification(**params)


@pytest.mark.parametrize(
    "generator, name",
    [
        (generator, name)
        for generator in (
            make_shifted_classification,
            make_shifted_regression,
            make_redrawn_classification,
            make_conditional_shift,
            make_selection_bias,
        )
        for name in ("n_source", "n_target")
    ]
    + [(make_shifted_classification, "n_classes")],
)
def test_generators_refuse_a_boolean_count(generator, name):
    """Before: n_source=True drew one row, or NumPy failed with "an integer is required"."""
    params = {"n_source": 10, "n_target": 5, "random_state": 0, name: True}
    with pytest.raises(TypeError, match=f"{name} must be an int, not a boolean"):
        generator(**params)


@pytest.mark.parametrize("generator", [make_shifted_classification, make_shifted_regression])
def test_a_rotation_of_many_turns_is_its_remainder(generator):
    """Before: 1e20 degrees swamped every point's angle and the rotated rows got one class."""
    params = {"n_source": 200, "n_target": 5, "shifted_fraction": 1.0, "random_state": 0}
    _, y_turns, _, _ = generator(rotation=1e20, **params)
    _, y_remainder, _, _ = generator(rotation=1e20 % 360, **params)
    assert_array_equal(y_turns, y_remainder)


@pytest.mark.parametrize("generator", [make_shifted_classification, make_shifted_regression])
@pytest.mark.parametrize("twist", [1e300, -1e17])
def test_a_twist_beyond_float_precision_is_refused(generator, twist):
    """Before: twist=1e300 gave every row class 0, and the regression cos of rounding noise."""
    with pytest.raises(ValueError, match="twist must be at most 1e[+]09 in magnitude"):
        generator(n_source=10, n_target=5, twist=twist, random_state=0)
    generator(n_source=10, n_target=5, twist=-1e9, random_state=0)


@pytest.mark.parametrize("name", ["scale", "offset"])
@pytest.mark.parametrize(
    "value", ["abc", "1.5", [1.0, "a"], [1.0, [2.0, 3.0]], np.array([1 + 1j, 2.0]), True, None]
)
def test_conditional_shift_refuses_a_scale_or_offset_that_is_not_real(name, value):
    """Before: "1.5" was read as 1.5, complex values lost their imaginary part, and "abc" or a
    ragged list failed in NumPy's words without naming the parameter."""
    with pytest.raises(TypeError, match=f"{name} must be a real number or an array of 2 real"):
        make_conditional_shift(n_source=10, n_target=5, random_state=0, **{name: value})


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize(
    "generator, name",
    [
        (make_shifted_classification, "rotation"),
        (make_shifted_classification, "twist"),
        (make_shifted_classification, "shifted_fraction"),
        (make_shifted_regression, "rotation"),
        (make_shifted_regression, "twist"),
        (make_shifted_regression, "noise"),
        (make_redrawn_classification, "class_sep"),
        (make_conditional_shift, "class_sep"),
        (make_selection_bias, "bias"),
        (make_selection_bias, "noise"),
    ],
)
def test_generators_refuse_parameters_that_are_not_finite(generator, name, value):
    # NaN passed check_scalar's bounds and unbounded parameters took infinities: the labels
    # came back all one class or NaN, and a NaN bias made make_selection_bias loop forever.
    with pytest.raises(ValueError, match=f"{name} must be a finite number; got {value}"):
        generator(n_source=10, n_target=5, random_state=0, **{name: value})


@pytest.mark.parametrize(
    "generator, name",
    [
        (make_shifted_regression, "noise"),
        (make_redrawn_classification, "class_sep"),
        (make_conditional_shift, "scale"),
    ],
)
def test_generators_refuse_parameters_whose_data_overflow(generator, name):
    """Before: NaN or infinite rows from finite parameters near the float range."""
    with pytest.raises(ValueError, match=rf"drawn with .*{name}=.* overflow float64"):
        generator(n_source=50, n_target=50, random_state=0, **{name: 1e308})


def _concept_swap(n_source=2000, n_target=200, n_test=2000, random_state=0):
    """Source concept ``x0 > 0``, target concept ``x1 > 0``: the source misleads at first."""
    rng = np.random.RandomState(random_state)
    Xs = rng.normal(size=(n_source, 2))
    Xt = rng.normal(size=(n_target + n_test, 2))
    ys, yt = (Xs[:, 0] > 0).astype(int), (Xt[:, 1] > 0).astype(int)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt[:n_target], yt[:n_target]))
    return X, y, sample_domain, Xt[n_target:], yt[n_target:]


def test_stall_warns_and_boosting_goes_on():
    X, y, sample_domain, X_test, y_test = _concept_swap()
    # Dai et al.'s start: the source rows outweigh the target rows 25 to 1 and mislead.
    clf = TrAdaBoost(n_estimators=20, balance_domains=False, random_state=0)

    with pytest.warns(ConvergenceWarning, match=r"stalled at round \d+"):
        clf.fit(X, y, sample_domain=sample_domain)

    # The old update froze every weight once the target error reached 1/2: 0.50 here. Now the
    # target rows take over and the source rows that disagree fade out (measured 0.94).
    assert clf.score(X_test, y_test) >= 0.9
    assert clf.estimator_errors_[0] >= 0.4
    assert clf.estimator_errors_[-1] < 0.1
    # The stall raised the target rows' share of the weight from 200 / 2200.
    assert clf.target_weights_[-1].sum() > 0.5 > clf.target_weights_[0].sum()


def test_balanced_start_does_not_stall_on_the_concept_swap():
    X, y, sample_domain, X_test, y_test = _concept_swap()
    clf = TrAdaBoost(n_estimators=20, random_state=0)

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf.fit(X, y, sample_domain=sample_domain)

    # The first learner already fits the target rows as much as the source rows: its target
    # error is far from chance (measured 0.12, against 0.44 from Dai et al.'s start).
    assert clf.target_weights_[0].sum() == pytest.approx(0.5)
    assert clf.estimator_errors_[0] < 0.25
    assert clf.score(X_test, y_test) >= 0.9


def test_no_stall_no_warning():
    X, y, sample_domain = _shifted_task()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TrAdaBoost(n_estimators=5, random_state=0).fit(X, y, sample_domain=sample_domain)


def test_per_round_weights_are_the_weights_each_learner_saw():
    X, y, sample_domain = _hand_worked_case()
    clf = TrAdaBoost(PickBestColumn(), n_estimators=3).fit(X, y, sample_domain=sample_domain)

    assert clf.source_weights_.shape == (3, 4) and clf.target_weights_.shape == (3, 4)
    for t, learner in enumerate(clf.estimators_):
        seen = np.r_[clf.source_weights_[t], clf.target_weights_[t]]
        assert_allclose(seen, learner.received_weight_, rtol=1e-12)


def test_learning_rate_shrinks_both_updates_by_hand():
    X, y, sample_domain = _hand_worked_case()
    clf = TrAdaBoost(PickBestColumn(), n_estimators=2, learning_rate=0.5)
    clf.fit(X, y, sample_domain=sample_domain)

    beta = 1 / (1 + math.sqrt(2 * math.log(4) / 2))
    # Learner A errs on source row 0 and target row 4 (eps = 1/4, 1 / beta_1 = 3): both
    # factors are raised to the learning rate.
    w2 = np.array([beta**0.5, 1, 1, 1, 3**0.5, 1, 1, 1])
    assert_allclose(clf.estimators_[1].received_weight_, w2 / w2.sum(), rtol=1e-12)
    assert clf.estimator_weights_[0] == pytest.approx(0.5 * math.log(3))


def test_unlabelled_rows_are_never_a_class():
    X, y, sample_domain = _shifted_task(n_target=40)
    y = y.copy()
    y[np.flatnonzero(sample_domain < 0)[:10]] = -1

    clf = TrAdaBoost(n_estimators=4, random_state=0)
    with pytest.warns(UserWarning, match="ignores the 10 unlabelled target rows"):
        clf.fit(X, y, sample_domain=sample_domain)

    assert_array_equal(clf.classes_, [0, 1])
    assert -1 not in clf.predict(X)
    assert clf.target_weights_.shape[1] == 30


def test_without_sample_domain_unlabelled_rows_are_target_rows():
    # The old code learnt class -1 here. Without sample_domain, y == -1 marks the target rows,
    # all unlabelled: there is no labelled target row to boost on.
    X, y, _ = _shifted_task()
    y = np.where(np.arange(len(y)) >= 300, -1, y)

    with pytest.raises(ValueError, match="needs labelled target rows"):
        TrAdaBoost(MustNotFit()).fit(X, y)


def test_score_ignores_unlabelled_rows():
    X, y, sample_domain = _shifted_task(n_target=40)
    clf = TrAdaBoost(n_estimators=4, random_state=0).fit(X, y, sample_domain=sample_domain)
    y_partly = np.where(sample_domain < 0, -1, y)

    assert clf.score(X, y_partly) == pytest.approx(clf.score(X[:300], y[:300]))
    with pytest.raises(ValueError, match="nothing to score"):
        clf.score(X, np.full(len(y), -1))


@pytest.mark.parametrize("estimator_class", [TrAdaBoost, TrAdaBoostR2, TwoStageTrAdaBoostR2])
def test_positional_sample_domain_is_refused(estimator_class):
    X, y, sample_domain = _shifted_task()

    with pytest.raises(ValueError, match="sample_domain is keyword-only"):
        estimator_class(MustNotFit()).fit(X, y, sample_domain)


@pytest.mark.parametrize(
    "estimator, match",
    [
        (TrAdaBoost(DecisionTreeRegressor()), "DecisionTreeRegressor is a regressor"),
        (TrAdaBoostR2(DecisionTreeClassifier()), "DecisionTreeClassifier is a classifier"),
        (TwoStageTrAdaBoostR2(DecisionTreeClassifier()), "DecisionTreeClassifier is a classifier"),
    ],
)
def test_learner_of_the_wrong_kind_is_refused(estimator, match):
    X, y, sample_domain = _shifted_task()

    with pytest.raises(ValueError, match=match):
        estimator.fit(X, y, sample_domain=sample_domain)


def test_tradaboost_r2_stall_warns():
    # Source rows follow the opposite function: the first learner is worse than chance.
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(1100, 1))
    sample_domain = np.r_[np.ones(1000), -2 * np.ones(100)].astype(int)
    y = np.where(sample_domain > 0, -X[:, 0], X[:, 0])

    reg = TrAdaBoostR2(n_estimators=10, random_state=0)
    with pytest.warns(ConvergenceWarning, match="stalled at round 0"):
        reg.fit(X, y, sample_domain=sample_domain)
    # The stall hands the target rows at least half of the weight at once.
    assert reg.target_weights_[1].sum() >= 0.5 - 1e-9 > reg.target_weights_[0].sum()


def test_shrink_source_is_exact_when_beta_is_tiny():
    # Errors of 1e-3 need beta near 1e-2600 for a 99% target share: the old bisection floored
    # at beta = 2**-60 and missed the schedule.
    weights = np.full(6, 1 / 6)
    adjusted = np.array([1e-3, 2e-3, 3e-3, 0.2, 0.3, 0.1])
    is_source = np.array([True, True, True, False, False, False])

    shrunk = _shrink_source(weights, adjusted, is_source, target_share=0.99)

    assert shrunk[~is_source].sum() == pytest.approx(0.99, rel=1e-9)
    ratio = shrunk[:3] / shrunk[3]
    assert np.all(np.diff(np.log(ratio)) < 0)


def test_two_stage_candidates_all_differ():
    Xs, ys, Xt, yt = make_shifted_regression(n_source=200, n_target=30, random_state=0)
    X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, yt))
    reg = TwoStageTrAdaBoostR2(n_steps=6, n_estimators=3, cv=3, random_state=0)
    is_source = sample_domain > 0
    weights = np.full(len(y), 1 / len(y))

    reg._validate_estimator(DecisionTreeRegressor(max_depth=4))
    steps = reg._stage_one(X, y, weights, is_source, 6, np.random.RandomState(0))

    shares = [w[~is_source].sum() / w.sum() for w in steps]
    assert_allclose(shares[1:], np.linspace(shares[0], 1, 6)[1:], rtol=1e-9)


def test_redrawn_classification_is_reproducible_and_scaled():
    first = make_redrawn_classification(50, 20, n_features=5, random_state=1)
    second = make_redrawn_classification(50, 20, n_features=5, random_state=1)
    for a, b in zip(first, second, strict=True):
        assert_array_equal(a, b)
    Xs, ys, Xt, yt = first
    assert Xs.min() == 0.0 and Xs.max() == 1.0 and Xt.min() == 0.0 and Xt.max() == 1.0
    assert set(ys) == set(yt) == {0, 1}
    with pytest.raises(ValueError, match="n_features"):
        make_redrawn_classification(n_features=1)


def test_redrawn_classification_refuses_a_class_sep_of_zero_as_its_own():
    """Before: 0 passed its check and make_classification refused it as its own parameter."""
    with pytest.raises(ValueError, match="class_sep == 0.0, must be > 0.0"):
        make_redrawn_classification(n_source=10, n_target=5, class_sep=0.0, random_state=0)


def test_selection_bias_refuses_a_negative_noise():
    """Before: a negative scale of the label noise was drawn as its absolute value."""
    with pytest.raises(ValueError, match="noise == -0.1, must be >= 0.0"):
        make_selection_bias(n_source=10, n_target=5, noise=-0.1, random_state=0)


@pytest.mark.parametrize("bias", [1000.0, -1000.0])
def test_selection_bias_takes_a_steep_bias_without_overflow_warnings(bias):
    """Before: a RuntimeWarning of overflow in exp, for a probability rightly 0."""
    Xs, _, _, _ = make_selection_bias(n_source=50, n_target=5, bias=bias, random_state=0)
    assert np.all(Xs[:, 0] > 1) if bias > 0 else np.all(Xs[:, 0] < 1)


# --- a refused fit changes nothing ------------------------------------------------------------


def _small_boosting_case(estimator):
    if isinstance(estimator, TrAdaBoost):
        Xs, ys, Xt, yt = make_shifted_classification(n_source=60, n_target=20, random_state=0)
    else:
        Xs, ys, Xt, yt = make_shifted_regression(n_source=60, n_target=20, random_state=0)
    return pack_domains(source=(Xs, ys), target=(Xt, yt))


BOOSTERS = [
    TrAdaBoost(n_estimators=3, random_state=0),
    TrAdaBoostR2(n_estimators=3, random_state=0),
    TwoStageTrAdaBoostR2(n_steps=2, n_estimators=2, cv=2, random_state=0),
]


@pytest.mark.parametrize("booster", BOOSTERS, ids=lambda est: type(est).__name__)
def test_a_refused_first_fit_leaves_the_booster_unfitted(booster):
    X, y, sample_domain = _small_boosting_case(booster)
    with pytest.raises(ValueError, match="sample_domain has"):
        booster.fit(X, y, sample_domain=sample_domain[:-1])
    assert not [key for key in vars(booster) if key.endswith("_")]
    with pytest.raises(NotFittedError):
        booster.predict(X)


@pytest.mark.parametrize("booster", BOOSTERS, ids=lambda est: type(est).__name__)
def test_a_refused_refit_keeps_the_fitted_booster(booster):
    X, y, sample_domain = _small_boosting_case(booster)
    before = booster.fit(X, y, sample_domain=sample_domain).predict(X)
    # Narrower rows pass the input checks, which would set n_features_in_ = 1.
    with pytest.raises(ValueError, match="sample_domain has"):
        booster.fit(X[:, :1], y, sample_domain=sample_domain[:-1])
    assert booster.n_features_in_ == X.shape[1]
    assert_array_equal(booster.predict(X), before)


def test_a_refit_refused_for_a_single_class_keeps_the_classes():
    X, y, sample_domain = _small_boosting_case(TrAdaBoost())
    clf = TrAdaBoost(n_estimators=3, random_state=0).fit(X, y, sample_domain=sample_domain)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match="at least two classes"):
        clf.fit(X, np.zeros_like(y), sample_domain=sample_domain)
    assert_array_equal(clf.classes_, [0, 1])
    assert_array_equal(clf.predict_proba(X), before)


@pytest.mark.parametrize("booster", BOOSTERS[1:], ids=lambda est: type(est).__name__)
def test_regression_targets_must_be_numbers(booster):
    X, y, sample_domain = _small_boosting_case(booster)
    with pytest.raises(ValueError, match="y must hold numbers, the regression targets"):
        booster.fit(X, np.full(y.shape, "a"), sample_domain=sample_domain)
    with pytest.raises(ValueError, match="y is NaN or infinite at rows 0 of X"):
        booster.fit(X, np.r_[["nan"], y[1:].astype(str)], sample_domain=sample_domain)
    # Numeric strings are numbers, as for scikit-learn's regressors.
    numeric = clone(booster).fit(X, y.astype(str), sample_domain=sample_domain).predict(X)
    assert_allclose(numeric, clone(booster).fit(X, y, sample_domain=sample_domain).predict(X))


@pytest.mark.parametrize(
    "cv, message",
    [
        ([], "cv gave no"),
        ([(np.arange(5), np.arange(5, 30))], "positions among the 20 target rows"),
        ([(np.arange(10), np.array([], dtype=int))], "non-empty"),
        ([(np.arange(10) + 0.5, np.arange(10, 20))], "arrays of positions"),
    ],
)
def test_two_stage_refuses_folds_it_cannot_use(cv, message):
    X, y, sample_domain = _small_boosting_case(TrAdaBoostR2())
    reg = TwoStageTrAdaBoostR2(n_steps=2, n_estimators=2, cv=cv, random_state=0)
    with pytest.raises(ValueError, match=message):
        reg.fit(X, y, sample_domain=sample_domain)


def test_two_stage_refuses_folds_whose_training_target_rows_have_no_weight():
    X, y, sample_domain = _small_boosting_case(TrAdaBoostR2())
    weights = np.where(np.arange(len(y)) >= 70, 0.0, 1.0)  # ten of the 20 target rows
    cv = [(np.arange(10, 20), np.arange(10)), (np.arange(10), np.arange(10, 20))]
    reg = TwoStageTrAdaBoostR2(n_steps=2, n_estimators=2, cv=cv, random_state=0)
    with pytest.raises(ValueError, match=r"zero on every training target row of the cv folds \[0"):
        reg.fit(X, y, sample_weight=weights, sample_domain=sample_domain)


@pytest.mark.parametrize("booster", BOOSTERS, ids=lambda est: type(est).__name__)
def test_only_the_proportions_of_sample_weight_count_however_large(booster):
    X, y, sample_domain = _small_boosting_case(booster)
    plain = clone(booster).fit(X, y, sample_domain=sample_domain).predict(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        huge = clone(booster).fit(
            X, y, sample_weight=np.full(len(y), 1e308), sample_domain=sample_domain
        )
    assert_array_equal(huge.predict(X), plain)


@pytest.mark.parametrize(
    "booster",
    [
        TrAdaBoost(n_estimators=20, learning_rate=100, dynamic_correction=True, random_state=0),
        TrAdaBoostR2(n_estimators=10, learning_rate=100, random_state=0),
        TwoStageTrAdaBoostR2(n_steps=3, n_estimators=10, cv=3, learning_rate=100, random_state=0),
    ],
    ids=lambda est: type(est).__name__,
)
def test_huge_learning_rate_stops_the_boosting_with_a_warning(booster):
    # At learning_rate=100 a round's factor reaches exp(2300): the weights used to overflow into
    # NaN and the next learner's fit failed with "Input sample_weight contains NaN".
    X, y, sample_domain = _small_boosting_case(booster)
    with pytest.warns(UserWarning, match=r"left the floating-point range .*learning_rate=100"):
        booster.fit(X, y, sample_domain=sample_domain)

    n_learners = len(booster.estimators_)
    assert 1 <= n_learners < booster.n_estimators
    assert booster.estimator_weights_.shape == (n_learners,)
    assert np.all(np.isfinite(booster.predict(X)))
    assert np.all(np.isfinite(booster.source_weights_)) and np.all(booster.target_weights_ >= 0)


@pytest.mark.parametrize(
    "booster",
    [
        TrAdaBoost(LogisticRegression(), n_estimators=4, random_state=0),
        TrAdaBoostR2(Ridge(), n_estimators=4, random_state=0),
    ],
    ids=lambda est: type(est).__name__,
)
def test_source_rows_of_weight_zero_are_rows_left_out(booster):
    # They counted in the n of beta = 1 / (1 + sqrt(2 ln n / N)), so a row of weight 0 changed
    # every round's source update (found by porting ADAPT's tests).
    X, y, sample_domain = _small_boosting_case(booster)
    extra_X, extra_y, extra_domain = _small_boosting_case(booster)
    source = sample_domain > 0
    X_more = np.vstack([X, 3 * extra_X[source][:40]])
    y_more = np.r_[y, extra_y[source][:40]]
    domain_more = np.r_[sample_domain, extra_domain[source][:40]]
    weights = np.r_[np.ones(len(y)), np.zeros(40)]
    fewer = clone(booster).fit(X, y, sample_domain=sample_domain)
    more = clone(booster).fit(X_more, y_more, sample_weight=weights, sample_domain=domain_more)
    assert_allclose(more.predict(X), fewer.predict(X), rtol=1e-6, atol=1e-8)
    assert_allclose(more.estimator_weights_, fewer.estimator_weights_, rtol=1e-6)


@pytest.mark.parametrize("cls", [TrAdaBoost, TrAdaBoostR2, TwoStageTrAdaBoostR2])
def test_one_domain_refusals_name_the_estimator(cls):
    """Before: the regressors' messages said TrAdaBoost."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = (X[:, 0] > 0).astype(int)
    for domain, missing in ((-1, "no source row"), (1, "no target row")):
        with pytest.raises(ValueError, match=f"{missing} .*; {cls.__name__} needs"):
            cls().fit(X, y, sample_domain=np.full(30, domain))


def test_a_refit_without_early_stopping_forgets_the_validation_scores():
    """Before: validation_scores_ of the first fit stayed after a refit that had none."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    sample_domain = np.r_[np.ones(40, int), -np.ones(20, int)]
    model = TrAdaBoost(n_estimators=4, n_iter_no_change=2, random_state=0)
    assert hasattr(model.fit(X, y, sample_domain=sample_domain), "validation_scores_")
    model.set_params(n_iter_no_change=None).fit(X, y, sample_domain=sample_domain)
    assert not hasattr(model, "validation_scores_")


SMALL_REGRESSORS = pytest.mark.parametrize(
    "model",
    [
        TrAdaBoostR2(n_estimators=5, random_state=0),
        TwoStageTrAdaBoostR2(n_steps=2, n_estimators=3, cv=2, random_state=0),
    ],
    ids=["TrAdaBoostR2", "TwoStageTrAdaBoostR2"],
)


@SMALL_REGRESSORS
def test_regressors_warn_when_y_varies_too_little_for_their_trees(model):
    """Before: y of 1e-8 made every tree a single leaf (scikit-learn takes a node of variance
    below the float64 epsilon as pure), and every row got the same prediction without a word."""
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(40, 3)), rng.normal(size=(10, 3)) + 0.5
    X, y, sample_domain = pack_domains(source=(Xs, Xs[:, 0]), target=(Xt, Xt[:, 0]))
    with pytest.warns(UserWarning, match=r"variance of y .* split little or not at all"):
        tiny = clone(model).fit(X, y * 1e-8, sample_domain=sample_domain)
    assert np.ptp(tiny.predict(Xt)) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # A variance of 1e-14: the trees still split as on y itself.
        fitted = clone(model).fit(X, y * 1e-7, sample_domain=sample_domain)
    assert np.ptp(fitted.predict(Xt)) > 0


@SMALL_REGRESSORS
def test_regressors_refuse_a_y_whose_squares_overflow(model):
    """Before: y of 1e300 gave numpy overflow warnings, or a stalled boosting, and constant
    predictions."""
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(40, 3)), rng.normal(size=(10, 3)) + 0.5
    X, y, sample_domain = pack_domains(source=(Xs, Xs[:, 0]), target=(Xt, Xt[:, 0]))
    with pytest.raises(ValueError, match=r"y spans .*, whose square overflows float64"):
        clone(model).fit(X, y * 1e300, sample_domain=sample_domain)
    assert not hasattr(model, "estimators_")
    clone(model).fit(X, y * 1e100, sample_domain=sample_domain)


# --- unlabelled regression rows: a NaN y ------------------------------------------------------

REGRESSION_BOOSTERS = BOOSTERS[1:]


@pytest.mark.parametrize("booster", REGRESSION_BOOSTERS, ids=lambda est: type(est).__name__)
def test_regressors_leave_out_target_rows_whose_y_is_nan(booster):
    """Before: "Input y contains NaN", though NaN marks an unlabelled regression row (as in
    skada) and TrAdaBoost leaves its unlabelled target rows (y == -1) out with a warning."""
    X, y, sample_domain = _small_boosting_case(booster)
    y = y.astype(np.float64)
    unlabelled = np.flatnonzero(sample_domain < 0)[[1, 4, 6, 9]]
    y_nan = y.copy()
    y_nan[unlabelled] = np.nan
    keep = np.setdiff1d(np.arange(len(y)), unlabelled)
    with pytest.warns(UserWarning, match="ignores the 4 unlabelled target rows \\(y is NaN\\)"):
        with_nan = clone(booster).fit(X, y_nan, sample_domain=sample_domain)
    without = clone(booster).fit(X[keep], y[keep], sample_domain=sample_domain[keep])
    assert_array_equal(with_nan.predict(X), without.predict(X))
    assert with_nan.target_weights_.shape[1] == 16
    # score leaves the NaN rows out too, with their sample_weight.
    weight = np.linspace(0.5, 2.0, len(y))
    assert with_nan.score(X, y_nan) == with_nan.score(X[keep], y[keep])
    assert with_nan.score(X, y_nan, sample_weight=weight) == with_nan.score(
        X[keep], y[keep], sample_weight=weight[keep]
    )
    with pytest.raises(ValueError, match="Every one of the 80 rows is unlabelled \\(y is NaN\\)"):
        with_nan.score(X, np.full(len(y), np.nan))


@pytest.mark.parametrize("booster", REGRESSION_BOOSTERS, ids=lambda est: type(est).__name__)
def test_regressors_refuse_target_rows_all_nan_and_nan_on_source_rows(booster):
    X, y, sample_domain = _small_boosting_case(booster)
    y = np.where(sample_domain < 0, np.nan, y)
    with pytest.raises(ValueError, match=r"Every target row is unlabelled \(y is NaN\)\. "):
        clone(booster).set_params(estimator=MustNotFit()).fit(X, y, sample_domain=sample_domain)
    y = np.where(sample_domain < 0, 1.0, y)
    y[[2, 5]] = np.nan
    with pytest.raises(ValueError, match=r"y is NaN or infinite at rows 2, 5 of X \(2 in all\)"):
        clone(booster).set_params(estimator=MustNotFit()).fit(X, y, sample_domain=sample_domain)


@pytest.mark.parametrize("booster", REGRESSION_BOOSTERS, ids=lambda est: type(est).__name__)
def test_regressors_without_domains_take_the_rows_whose_y_is_nan_as_target_rows(booster):
    # As TrAdaBoost takes its y == -1 rows: unlabelled target rows, and with no labelled one
    # there is no target error to boost on. Before, they were dropped and AdaBoost.R2 ran on
    # the rest, where the other estimators took the same rows as target rows.
    X, y, _ = _small_boosting_case(booster)
    y_nan = np.where(np.arange(len(y)) % 10 == 3, np.nan, y.astype(np.float64))
    with pytest.raises(ValueError, match=r"Every target row is unlabelled \(y is NaN\)"):
        clone(booster).fit(X, y_nan)
    classifier = TrAdaBoost(n_estimators=2)
    with pytest.raises(ValueError, match=r"Every target row is unlabelled \(y == -1\)"):
        classifier.fit(X, np.where(np.arange(len(y)) % 10 == 3, -1, y > np.median(y)))


@pytest.mark.parametrize("booster", REGRESSION_BOOSTERS, ids=lambda est: type(est).__name__)
def test_regressors_warn_when_every_target_row_is_minus_one(booster):
    """Before: pack_domains(target=(Xt, None)) gave the target rows y == -1, which the
    regressors boosted on as values without a word."""
    X, y, sample_domain = _small_boosting_case(booster)
    y = np.where(sample_domain < 0, -1.0, y)
    match = (
        r"Every target row's y is -1, which \w+ reads as a value .* Unlabelled regression rows "
        r"are marked with NaN \(sktransfer\.utils\.pack_domains fills NaN"
    )
    with pytest.warns(UserWarning, match=match):
        clone(booster).fit(X, y, sample_domain=sample_domain)
    # One -1 among other values is a value like any other.
    y[np.flatnonzero(sample_domain < 0)[1:]] = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clone(booster).fit(X, y, sample_domain=sample_domain)


@pytest.mark.filterwarnings("ignore:A column-vector y was passed:UserWarning")
@pytest.mark.parametrize("booster", REGRESSION_BOOSTERS, ids=lambda est: type(est).__name__)
def test_regressors_take_a_column_y_with_nan_marks(booster):
    # A (n, 1) column, as scikit-learn's regressors take it: its NaN reached validation.
    X, y, sample_domain = _small_boosting_case(booster)
    y = y.astype(np.float64)
    y[np.flatnonzero(sample_domain < 0)[:3]] = np.nan
    with pytest.warns(UserWarning, match="ignores the 3 unlabelled target rows"):
        flat = clone(booster).fit(X, y, sample_domain=sample_domain)
    with pytest.warns(UserWarning, match="ignores the 3 unlabelled target rows"):
        column = clone(booster).fit(X, y[:, None], sample_domain=sample_domain)
    assert_array_equal(flat.predict(X), column.predict(X))
