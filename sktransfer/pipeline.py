"""A pipeline for domain adaptation: ``sample_domain`` reaches its steps, y == -1 never a class.

Source and target rows travel together in one ``X`` (see :func:`sktransfer.utils.pack_domains`),
unlabelled target rows with ``y == -1``. A plain :class:`~sklearn.pipeline.Pipeline` hands every
row, with its label, to every step: its final classifier learns ``-1`` as a class, and
``sample_domain`` reaches its steps only once metadata routing is enabled and each step has
requested it. :func:`make_da_pipeline` builds a pipeline that does both for the user.
"""

import inspect
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn import config_context
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    clone,
    is_classifier,
    is_regressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection._search import BaseSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils import assert_all_finite, get_tags
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d

from .utils._atomic import atomic_fit
from .utils._domains import (
    UNLABELED,
    LabelledRegressionScoreMixin,
    LabelledScoreMixin,
    _num_rows,
    handles_unlabelled_rows,
    labelled_subset,
)
from .utils._sklearn import (
    HasMethods,
    _check_method_params,
    _check_sample_weight,
    _final_estimator_has,
    _fit_context,
    _name_estimators,
    _routing_enabled,
    check_labels,
)

__all__ = [
    "DomainAdaptationPipeline",
    "LabelledOnlyClassifier",
    "LabelledOnlyRegressor",
    "make_da_pipeline",
]


def _estimator_has(attr):
    """Whether the fitted, or else the given, estimator has ``attr``."""

    def check(self):
        estimator = getattr(self, "estimator_", None) or self._estimator()
        return hasattr(estimator, attr)

    return check


class _LabelledOnly(MetaEstimatorMixin, BaseEstimator):
    """What the wrappers that fit an estimator on the labelled rows only share."""

    _parameter_constraints: dict = {"estimator": [HasMethods(["fit", "predict"]), None]}

    # Read by handles_unlabelled_rows: the wrapper never learns the unlabelled rows' marker.
    _reads_unlabelled_rows = True

    _regression = False

    def __init__(self, estimator=None):
        self.estimator = estimator

    def _fit_labelled(self, X, y, fit_params):
        """``X``, ``y`` and ``fit_params`` on the labelled rows, all rows checked."""
        # Only rows are sliced here: the kind and shape of X (images, file paths, tables) are
        # the wrapped estimator's to check, as they are in a Pipeline.
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        if self._regression:
            y = np.asarray(y)  # a regressor may take several outputs: a 2-D y
            if y.ndim == 2 and y.shape[1] == 1:
                y = column_or_1d(y, warn=True)
        else:
            y = column_or_1d(y, warn=True)
        assert_all_finite(y, input_name="y", allow_nan=self._regression)
        check_consistent_length(X, y)
        if sp.issparse(X) and X.format not in ("csr", "csc"):
            X = X.tocsr()  # COO and DIA matrices cannot be sliced by rows
        if _routing_enabled():
            fit_params = process_routing(self, "fit", **fit_params).estimator.fit
        X_labelled, y_labelled, fit_params = _labelled_rows(
            X, y, fit_params, regression=self._regression
        )
        self._check_targets(y, y_labelled)
        return X_labelled, y_labelled, fit_params

    def _check_targets(self, y, y_labelled):
        """Refuse targets the wrapped estimator cannot learn from; all rows, then labelled."""

    @property
    def n_features_in_(self):
        """Number of features seen during ``fit``, as the wrapped estimator counted them."""
        return self.estimator_.n_features_in_

    @property
    def feature_names_in_(self):
        """Names of the features seen during ``fit``, as the wrapped estimator kept them."""
        return self.estimator_.feature_names_in_

    def _validated(self, X):
        check_is_fitted(self)
        return X

    def predict(self, X):
        """The wrapped estimator's prediction for each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows to predict.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predicted classes, or targets for a regressor.
        """
        X = self._validated(X)
        return self.estimator_.predict(X)

    def get_metadata_routing(self):
        """Get the metadata routing of this object: ``fit`` parameters go to ``estimator``.

        Returns
        -------
        routing : MetadataRouter
            The routing of ``fit``'s parameters to the wrapped estimator's ``fit``, and this
            wrapper's own request for ``score``'s ``sample_weight``.
        """
        # score's sample_weight is this wrapper's own: it scores the labelled rows itself.
        return (
            MetadataRouter(owner=self)
            .add_self_request(self)
            .add(
                estimator=self._estimator(),
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self._estimator())
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        return tags


class LabelledOnlyClassifier(LabelledScoreMixin, ClassifierMixin, _LabelledOnly):
    """Fit a classifier on the labelled rows only: rows with ``y == -1`` are left out.

    Packed source and target rows carry ``y == -1`` on the unlabelled target rows, the
    semi-supervised convention of scikit-learn. A classifier fitted on them directly learns
    ``-1`` as a class. This wrapper fits a clone of ``estimator`` on the other rows, and so is
    the final step that :func:`make_da_pipeline` puts behind an adaptation step such as
    :class:`~sktransfer.domain_adaptation.CORAL`: the adaptation step sees every row, the
    classifier the labelled ones. It is
    :class:`~sklearn.semi_supervised.SelfTrainingClassifier` with ``max_iter=0``, made plain.

    Parameters
    ----------
    estimator : estimator object, default=None
        The classifier to fit on the labelled rows. None means
        :class:`~sklearn.linear_model.LogisticRegression`.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.

    classes_ : ndarray of shape (n_classes,)
        The class labels, never ``-1`` for numeric labels.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    make_da_pipeline : Builds a pipeline ending with this wrapper.
    LabelledOnlyRegressor : The same for a regressor, whose unlabelled rows are NaN.
    sklearn.semi_supervised.SelfTrainingClassifier : Also pseudo-labels the unlabelled rows.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.pipeline import LabelledOnlyClassifier
    >>> X = [[0.0], [1.0], [2.0], [3.0], [10.0]]
    >>> y = [0, 0, 1, 1, -1]
    >>> model = LabelledOnlyClassifier(LogisticRegression()).fit(X, y)
    >>> model.classes_
    array([0, 1])
    >>> model.score(X, y)  # the unlabelled row does not count
    1.0
    """

    def _estimator(self):
        return LogisticRegression() if self.estimator is None else self.estimator

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator`` on the rows whose label is not ``-1``.

        Parameters
        ----------
        X : array-like, sparse matrix, images or file paths
            Training rows, labelled and unlabelled, in any form ``estimator`` takes.

        y : array-like of shape (n_samples,)
            Labels; ``-1`` marks unlabelled rows, which are left out.

        **fit_params : dict
            Passed to ``estimator.fit`` on the same rows, such as ``sample_weight``. With
            metadata routing enabled, only the parameters ``estimator`` requests.

        Returns
        -------
        self : object
            Fitted wrapper.

        Raises
        ------
        ValueError
            If every row is unlabelled, or ``estimator`` is not a classifier.
        """
        if not is_classifier(self._estimator()):
            # A regressor was fitted in full and then failed on its missing classes_.
            raise ValueError(
                f"estimator must be a classifier; got {type(self._estimator()).__name__}. "
                "LabelledOnlyClassifier leaves out the rows with y == -1, a classification "
                "convention; for a regressor use LabelledOnlyRegressor."
            )
        X_labelled, y_labelled, fit_params = self._fit_labelled(X, y, fit_params)
        self.estimator_ = clone(self._estimator()).fit(X_labelled, y_labelled, **fit_params)
        self.classes_ = self.estimator_.classes_
        return self

    def _check_targets(self, y, y_labelled):
        check_labels(y)
        _check_two_classes(y, y_labelled)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Predict class probabilities for each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The probabilities, columns in the order of ``classes_``.
        """
        X = self._validated(X)
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Predict the logarithm of the class probabilities for each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows to classify.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probabilities, columns in the order of ``classes_``.
        """
        X = self._validated(X)
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """The wrapped classifier's decision function for each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The rows to classify.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The decision values, as the wrapped classifier gives them.
        """
        X = self._validated(X)
        return self.estimator_.decision_function(X)


class LabelledOnlyRegressor(LabelledRegressionScoreMixin, RegressorMixin, _LabelledOnly):
    """Fit a regressor on the labelled rows only: rows whose target is NaN are left out.

    For a regressor ``-1`` is a value like any other, so the unlabelled target rows of a
    regression are marked with a NaN target, as in skada;
    :func:`~sktransfer.utils.pack_domains` marks them so when the source targets are
    continuous. This wrapper fits a clone of ``estimator`` on the other rows, and so is the
    final step that :func:`make_da_pipeline` puts behind an adaptation step such as
    :class:`~sktransfer.domain_adaptation.CORAL`: the adaptation step sees every row, the
    regressor the labelled ones.

    Parameters
    ----------
    estimator : estimator object, default=None
        The regressor to fit on the labelled rows. None means
        :class:`~sklearn.linear_model.Ridge`.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    make_da_pipeline : Builds a pipeline ending with this wrapper.
    LabelledOnlyClassifier : The same for a classifier, whose unlabelled rows are ``-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sktransfer.pipeline import LabelledOnlyRegressor
    >>> X = [[0.0], [1.0], [2.0], [3.0], [10.0]]
    >>> y = [1.0, 3.0, 5.0, 7.0, np.nan]
    >>> model = LabelledOnlyRegressor(LinearRegression()).fit(X, y)
    >>> model.predict([[10.0]]).round(6)
    array([21.])
    >>> model.score(X, y)  # the unlabelled row does not count
    1.0
    """

    _regression = True

    def _estimator(self):
        return Ridge() if self.estimator is None else self.estimator

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, **fit_params):
        """Fit a clone of ``estimator`` on the rows whose target is not NaN.

        Parameters
        ----------
        X : array-like, sparse matrix, images or file paths
            Training rows, labelled and unlabelled, in any form ``estimator`` takes.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; NaN marks unlabelled rows (with several outputs, a row whose outputs
            are all NaN), which are left out.

        **fit_params : dict
            Passed to ``estimator.fit`` on the same rows, such as ``sample_weight``. With
            metadata routing enabled, only the parameters ``estimator`` requests.

        Returns
        -------
        self : object
            Fitted wrapper.

        Raises
        ------
        ValueError
            If every row is unlabelled, or ``estimator`` is not a regressor.
        """
        if not is_regressor(self._estimator()):
            raise ValueError(
                f"estimator must be a regressor; got {type(self._estimator()).__name__}. "
                "LabelledOnlyRegressor leaves out the rows whose target is NaN, a regression "
                "convention; for a classifier use LabelledOnlyClassifier."
            )
        X_labelled, y_labelled, fit_params = self._fit_labelled(X, y, fit_params)
        self.estimator_ = clone(self._estimator()).fit(X_labelled, y_labelled, **fit_params)
        return self


def _check_two_classes(y, y_labelled):
    """Refuse labelled rows of one class when rows with ``y == -1`` were left out: labels in
    {-1, +1} lost a class to the unlabelled-row convention, and a tree then learned one class
    and scored perfectly."""
    if len(y_labelled) == len(y) or len(np.unique(y_labelled)) > 1:
        return
    left_out = len(y) - len(y_labelled)
    raise ValueError(
        f"LabelledOnlyClassifier needs at least two classes; the labelled rows hold one, "
        f"{y_labelled[:1].tolist()[0]!r}, once the {left_out} rows with y == -1 were left out "
        "as unlabelled target rows. y == -1 is never a class: recode a class -1."
    )


class DomainAdaptationPipeline(Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` that takes ``sample_domain`` and scores labelled rows.

    Build it with :func:`make_da_pipeline`, which also requests ``sample_domain`` for the steps
    that accept it and lets the final classifier train on labelled rows only. Beyond a plain
    pipeline, it:

    * takes ``fit(X, y, sample_domain=...)`` with metadata routing enabled or not: enabled,
      ``sample_domain`` goes where the steps requested it; disabled, it goes to the ``fit``
      (and ``fit_transform``) of every step whose ``fit`` has a ``sample_domain`` parameter;
    * scores only the labelled rows: rows with ``y == -1`` (for a final regressor: with a NaN
      ``y``) do not count in :meth:`score`, so ``cross_validate`` and ``GridSearchCV`` compare
      settings on the labelled rows.

    ``predict`` and ``transform`` take new rows as target rows, which adaptation steps such as
    :class:`~sktransfer.domain_adaptation.CORAL` pass unchanged. They, ``score`` and ``fit``
    also take ``sample_domain``, routed as for ``fit``; under routing, a ``sample_domain``
    that no step requested for the method is dropped, as it is without routing, rather than
    refused.

    Parameters
    ----------
    steps : list of tuples
        ``(name, estimator)`` pairs, as for :class:`~sklearn.pipeline.Pipeline`.

    transform_input : list of str, default=None
        As for :class:`~sklearn.pipeline.Pipeline`; needs metadata routing enabled.

    memory : str or object with the joblib.Memory interface, default=None
        Used to cache the fitted transformers of the pipeline.

    verbose : bool, default=False
        If True, the time elapsed while fitting each step is printed.

    Attributes
    ----------
    named_steps : :class:`~sklearn.utils.Bunch`
        The steps by name.

    classes_ : ndarray of shape (n_classes,)
        The classes of the final classifier.

    n_features_in_ : int
        Number of features seen by the first step during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen by the first step during ``fit``.

    See Also
    --------
    make_da_pipeline : The way to build it.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.domain_adaptation import CORAL
    >>> from sktransfer.pipeline import DomainAdaptationPipeline, LabelledOnlyClassifier
    >>> model = DomainAdaptationPipeline(
    ...     [("coral", CORAL()), ("classifier", LabelledOnlyClassifier(LogisticRegression()))]
    ... )
    >>> X = [[0.0], [1.0], [2.0], [3.0], [20.0], [30.0]]
    >>> model = model.fit(X, [0, 0, 1, 1, -1, -1], sample_domain=[1, 1, 1, 1, -2, -2])
    >>> model.predict([[20.0], [30.0]])
    array([0, 1])
    """

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **params):
        """Fit the steps one after the other, the final one on what it can learn from.

        Parameters
        ----------
        X : iterable
            Source and target rows together, as the first step takes them.

        y : iterable, default=None
            Labels; ``-1`` marks unlabelled target rows.

        **params : dict of str -> object
            ``sample_domain`` (positive for source rows, negative for target rows), routed as
            described above; other parameters as for :meth:`sklearn.pipeline.Pipeline.fit`.

        Returns
        -------
        self : object
            Pipeline with fitted steps.
        """
        self._warn_if_regression_targets_are_minus_one(y, params.get("sample_domain"))
        return super().fit(X, y, **self._route_sample_domain(params, "fit"))

    def _warn_if_regression_targets_are_minus_one(self, y, sample_domain):
        """A regressor learns ``-1`` as a value: target rows all at ``-1`` carry the
        classification marker of unlabelled rows, used for a regression. Without
        ``sample_domain`` the adaptation steps take the rows with ``y == -1`` (and no NaN in
        ``y``) as target rows, which the regressor then learns as values."""
        if not self.steps or y is None:
            return  # Pipeline refuses an empty pipeline itself
        final = self._final_estimator
        if not hasattr(final, "__sklearn_tags__") or not is_regressor(final):
            return
        y = np.asarray(y)
        if y.ndim != 1 or y.dtype.kind not in "iuf":
            return  # the steps report malformed input themselves
        if sample_domain is None:
            adapting = any(_reads_domains(step) for _, _, step in self._iter(False))
            if not adapting or np.isnan(y.astype(np.float64)).any():
                return  # no step reads domains, or NaN marks the target rows: -1 is a value
            target = y == UNLABELED
        else:
            target = np.asarray(sample_domain) < 0
            if target.shape != y.shape:
                return
        if target.sum() >= 2 and np.all(y[target] == UNLABELED):
            warnings.warn(
                f"{target.sum()} target rows have y == -1, which marks unlabelled rows for a "
                "classifier; the final regressor reads it as a value. Mark the unlabelled "
                "rows of a regression with NaN (pack_domains(..., regression=True) does).",
                UserWarning,
                stacklevel=4,
            )

    @available_if(Pipeline._can_fit_transform)
    def fit_transform(self, X, y=None, **params):
        """Fit the steps one after the other, then transform with the final one.

        Parameters
        ----------
        X : iterable
            Source and target rows together, as the first step takes them.

        y : iterable, default=None
            Labels; ``-1`` marks unlabelled target rows.

        **params : dict of str -> object
            ``sample_domain``, routed as for :meth:`fit`; other parameters as for
            :meth:`sklearn.pipeline.Pipeline.fit_transform`.

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_transformed_features)
            The transformed rows.
        """
        return super().fit_transform(X, y, **self._route_sample_domain(params, "fit_transform"))

    @available_if(_final_estimator_has("fit_predict"))
    def fit_predict(self, X, y=None, **params):
        """Fit the steps one after the other, then ``fit_predict`` with the final one.

        Parameters
        ----------
        X : iterable
            Source and target rows together, as the first step takes them.

        y : iterable, default=None
            Labels; ``-1`` marks unlabelled target rows.

        **params : dict of str -> object
            ``sample_domain``, routed as for :meth:`fit`; other parameters as for
            :meth:`sklearn.pipeline.Pipeline.fit_predict`.

        Returns
        -------
        y_pred : ndarray
            The final estimator's predictions.
        """
        return super().fit_predict(X, y, **self._route_sample_domain(params, "fit_predict"))

    @available_if(_final_estimator_has("predict"))
    def predict(self, X, **params):
        """Transform the rows, then predict with the final estimator.

        Parameters
        ----------
        X : iterable
            Rows to predict, as the first step takes them.

        **params : dict of str -> object
            ``sample_domain``, routed as for :meth:`score`; other parameters as for
            :meth:`sklearn.pipeline.Pipeline.predict`.

        Returns
        -------
        y_pred : ndarray
            The final estimator's predictions.
        """
        return self._through_steps("predict", X, params)

    @available_if(_final_estimator_has("predict_proba"))
    def predict_proba(self, X, **params):
        """Transform the rows, then ``predict_proba`` with the final estimator.

        Parameters
        ----------
        X : iterable
            Rows to predict, as the first step takes them.

        **params : dict of str -> object
            ``sample_domain``, routed as for :meth:`score`; other parameters as for
            :meth:`sklearn.pipeline.Pipeline.predict_proba`.

        Returns
        -------
        y_proba : ndarray of shape (n_samples, n_classes)
            The final estimator's probabilities.
        """
        return self._through_steps("predict_proba", X, params)

    @available_if(_final_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X, **params):
        """Transform the rows, then ``predict_log_proba`` with the final estimator.

        Parameters
        ----------
        X : iterable
            Rows to predict, as the first step takes them.

        **params : dict of str -> object
            ``sample_domain``, routed as for :meth:`score`; other parameters as for
            :meth:`sklearn.pipeline.Pipeline.predict_log_proba`.

        Returns
        -------
        y_log_proba : ndarray of shape (n_samples, n_classes)
            The final estimator's log-probabilities.
        """
        return self._through_steps("predict_log_proba", X, params)

    @available_if(_final_estimator_has("decision_function"))
    def decision_function(self, X, **params):
        """Transform the rows, then ``decision_function`` with the final estimator.

        Parameters
        ----------
        X : iterable
            Rows to score, as the first step takes them.

        **params : dict of str -> object
            ``sample_domain``, routed as for :meth:`score`; other parameters as for
            :meth:`sklearn.pipeline.Pipeline.decision_function`.

        Returns
        -------
        y_score : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The final estimator's decision values.
        """
        return self._through_steps("decision_function", X, params)

    @available_if(Pipeline._can_transform)
    def transform(self, X, **params):
        """Transform the rows with every step.

        Parameters
        ----------
        X : iterable
            Rows to transform, as the first step takes them.

        **params : dict of str -> object
            ``sample_domain``, routed as for :meth:`score`; with metadata routing enabled,
            other requested parameters too.

        Returns
        -------
        Xt : ndarray of shape (n_samples, n_transformed_features)
            The transformed rows.
        """
        return self._through_steps("transform", X, params)

    def _through_steps(self, method, X, params):
        """``method`` of a plain pipeline, except that without routing ``sample_domain`` goes
        to the ``transform`` of the steps that take it and to the final ``method`` if it takes
        it, and under routing is dropped when no step requested it."""
        params = self._without_unrequested_sample_domain(params, method)
        if _routing_enabled() or "sample_domain" not in params:
            return getattr(super(), method)(X, **params)
        check_is_fitted(self)
        params = dict(params)
        sample_domain = params.pop("sample_domain")
        Xt = X
        for _, _, step in self._iter(with_final=False):
            Xt = step.transform(Xt, **_domain_kwargs(step, "transform", sample_domain))
        final = self.steps[-1][1]
        if final == "passthrough":
            return Xt
        return getattr(final, method)(Xt, **_domain_kwargs(final, method, sample_domain), **params)

    def _without_unrequested_sample_domain(self, params, method):
        """scikit-learn refuses a parameter that no step requested; ``sample_domain`` is
        dropped instead, as it is without routing for the steps that do not take it, so that a
        pipeline with no domain-aware step (a source-only baseline) takes the same call."""
        if not _routing_enabled() or "sample_domain" not in params:
            return params
        if self.get_metadata_routing().consumes(method, ["sample_domain"]):
            return params
        return {key: value for key, value in params.items() if key != "sample_domain"}

    @available_if(_final_estimator_has("score"))
    def score(self, X, y=None, sample_weight=None, **params):
        """Transform the labelled rows and score them with the final estimator.

        Rows with ``y == -1`` (for a final regressor: with a NaN ``y``) are left out, with
        their ``sample_weight`` and any other per-row parameter such as ``sample_domain``.

        Parameters
        ----------
        X : iterable
            Rows to score, as the first step takes them.

        y : iterable, default=None
            True labels; ``-1`` (NaN for a final regressor) marks unlabelled rows, which do
            not count.

        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the final estimator's ``score``.

        **params : dict of str -> object
            ``sample_domain``, passed to the ``transform`` of the steps that take it (with
            metadata routing enabled: that requested it), so that source rows are mapped as
            during ``fit``; with metadata routing enabled, other requested parameters too.

        Returns
        -------
        score : float
            The final estimator's score on the labelled rows.
        """
        if y is not None:
            X, y, params = _labelled_rows(
                X,
                y,
                {"sample_weight": sample_weight, **params},
                regression=is_regressor(self._final_estimator),
            )
            sample_weight = params.pop("sample_weight")
        params = self._without_unrequested_sample_domain(params, "score")
        if _routing_enabled() or "sample_domain" not in params:
            return super().score(X, y, sample_weight=sample_weight, **params)
        check_is_fitted(self)
        Xt = X
        for _, _, step in self._iter(with_final=False):
            Xt = step.transform(Xt, **_domain_kwargs(step, "transform", params["sample_domain"]))
        score_params = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self.steps[-1][1].score(Xt, y, **score_params)

    def _route_sample_domain(self, params, method):
        """Without metadata routing, ``sample_domain`` as ``step__sample_domain`` parameters."""
        params = self._without_unrequested_sample_domain(params, method)
        if _routing_enabled() or "sample_domain" not in params:
            return params
        params = dict(params)
        sample_domain = params.pop("sample_domain")
        for name, step in self.steps:
            # fit_transform and fit_predict hand their parameters to the fit of each step.
            if _accepts_sample_domain(step, "fit"):
                params[f"{name}__sample_domain"] = sample_domain
        return params


def make_da_pipeline(*steps, memory=None, verbose=False):
    """Build a pipeline for domain adaptation from its steps, as ``make_pipeline`` does.

    ``make_da_pipeline(StandardScaler(), CORAL(), LogisticRegression())`` fits with
    ``fit(X, y, sample_domain=sample_domain)`` on packed source and target rows
    (:func:`sktransfer.utils.pack_domains`), with metadata routing enabled or not:

    * every step whose ``fit`` or ``transform`` has a ``sample_domain`` parameter requests it
      (``set_fit_request`` / ``set_transform_request``), unless the step already says
      otherwise, so that it also flows through ``GridSearchCV`` and ``cross_validate`` once
      routing is enabled; without routing the pipeline passes it on itself;
    * a final classifier that does not handle unlabelled rows itself is wrapped in
      :class:`LabelledOnlyClassifier`, so that it trains on the labelled rows only. Classifiers
      that take ``sample_domain`` (such as
      :class:`~sktransfer.domain_adaptation.DANNClassifier`) and scikit-learn's
      semi-supervised classifiers use the unlabelled rows themselves and are left as they are;
      so is a final search (such as :class:`~sklearn.model_selection.GridSearchCV`) over a
      domain-adaptation pipeline, which is given ``sample_domain`` to pass on;
    * a pipeline among the steps is replaced by its own steps (as skada's ``make_da_pipeline``
      does), so that each of them is given ``sample_domain``; they are named as the other
      steps are, and the inner pipeline's ``memory`` and ``verbose`` are not kept.

    * a final regressor is wrapped in :class:`LabelledOnlyRegressor` in the same way: for it
      ``-1`` is a value like any other, so its unlabelled rows are those whose target is NaN
      (:func:`~sktransfer.utils.pack_domains` marks them so for continuous targets, and with
      ``regression=True`` for whole-number ones).

    Steps are named as :func:`~sklearn.pipeline.make_pipeline` names them; the wrapped
    estimator keeps its own name, so its parameters are ``<name>__estimator__<parameter>``.

    Parameters
    ----------
    *steps : list of estimators or of (str, estimator) tuples
        The transformers, then the final estimator. A step given as a ``(name, estimator)``
        tuple keeps its name; the others are named after their class.

    memory : str or object with the joblib.Memory interface, default=None
        Used to cache the fitted transformers, as in :func:`~sklearn.pipeline.make_pipeline`.

    verbose : bool, default=False
        If True, the time elapsed while fitting each step is printed.

    Returns
    -------
    pipeline : DomainAdaptationPipeline
        The pipeline, its steps' ``sample_domain`` requests set.

    See Also
    --------
    DomainAdaptationPipeline : The pipeline it returns.
    LabelledOnlyClassifier : The wrapper of the final classifier.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sktransfer.domain_adaptation import CORAL
    >>> from sktransfer.pipeline import make_da_pipeline
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.RandomState(0)
    >>> Xs = rng.normal(size=(200, 2)); ys = (Xs[:, 0] > 0).astype(int)
    >>> Xt = rng.normal(size=(200, 2)); yt = (Xt[:, 0] > 0).astype(int)
    >>> Xt = 3 * Xt + 5  # the target is the source rescaled and moved
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    >>> model = make_da_pipeline(StandardScaler(), CORAL(), LogisticRegression())
    >>> model.steps[-1]
    ('logisticregression', LabelledOnlyClassifier(estimator=LogisticRegression()))
    >>> model = model.fit(X, y, sample_domain=sample_domain)
    >>> print(f"target accuracy: {model.score(Xt, yt):.2f}")
    target accuracy: 0.99
    """
    named = _named_steps(steps)
    if named:
        name, final = named[-1]
        # "passthrough", None or a non-estimator: is_classifier raised an AttributeError on
        # it; left to Pipeline, which takes the first two and names the last at fit.
        estimator = hasattr(final, "__sklearn_tags__")
        wrapper = None
        if estimator and is_classifier(final):
            wrapper = LabelledOnlyClassifier
        elif estimator and is_regressor(final):
            wrapper = LabelledOnlyRegressor
        if (
            wrapper is not None
            and not handles_unlabelled_rows(final)
            and not _domain_aware_search(final)
        ):
            _warn_if_search_hides_adaptation(final)
            named[-1] = (name, wrapper(final))
    with config_context(enable_metadata_routing=True):
        for _, step in named:
            _request_sample_domain(step)
    return DomainAdaptationPipeline(named, memory=memory, verbose=verbose)


def _named_steps(steps):
    """``(name, estimator)`` pairs: a step given as such a pair keeps its name (as in skada),
    the others are named as ``make_pipeline`` names them."""
    flat = []
    for step in steps:
        given, estimator = step if _is_named_pair(step) else (None, step)
        if isinstance(estimator, Pipeline):
            given = None  # its steps take the place of one step: each is named on its own
        flat.extend((given, inner) for inner in _unnested([estimator]))
    automatic = _name_estimators([estimator for _, estimator in flat])
    named = [
        (given or name, estimator)
        for (given, estimator), (name, _) in zip(flat, automatic, strict=True)
    ]
    names = [name for name, _ in named]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"make_da_pipeline: step names must be unique; {repeated} repeat.")
    return named


def _is_named_pair(step):
    return isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str)


def _unnested(steps):
    """The steps, each pipeline among them replaced by its own steps.

    A nested pipeline took no ``sample_domain`` of its own and, as the final step, was wrapped
    in LabelledOnlyClassifier: its adaptation steps saw the source rows only and adapted
    nothing, without a word.
    """
    flat = []
    for step in steps:
        if isinstance(step, Pipeline):
            flat.extend(_unnested([inner for _, inner in step.steps]))
        else:
            flat.append(step)
    return flat


def _warn_if_search_hides_adaptation(search):
    """Warn of a search over a plain pipeline with adaptation steps: it cannot be given
    ``sample_domain``, and wrapped in LabelledOnlyClassifier its adaptation steps see the
    source rows only, which adapted nothing without a word."""
    inner = getattr(search, "estimator", None)
    if not (isinstance(search, BaseSearchCV) and isinstance(inner, Pipeline)):
        return
    adapting = [name for name, step in inner.steps if _accepts_sample_domain(step, "fit")]
    if adapting:
        warnings.warn(
            f"The final {type(search).__name__} searches over a plain Pipeline whose steps "
            f"{adapting} adapt to the target rows, but it is fitted on the labelled rows only: "
            "they would see no target row. Build the searched pipeline with make_da_pipeline.",
            UserWarning,
            stacklevel=3,
        )


def _domain_aware_search(step):
    """Whether ``step`` is a search (``GridSearchCV``...) over an estimator that takes
    ``sample_domain`` and handles the unlabelled rows itself, such as a domain-adaptation
    pipeline: the search passes ``sample_domain`` on to it."""
    if not isinstance(step, BaseSearchCV):
        return False
    inner = step.estimator
    return isinstance(inner, DomainAdaptationPipeline) or (
        _accepts_sample_domain(inner, "fit") and handles_unlabelled_rows(inner)
    )


def _reads_domains(step):
    """Whether ``step``, or an estimator inside it (a FeatureUnion's, a ColumnTransformer's),
    takes ``sample_domain`` in ``fit``: without it, such a step reads ``y == -1`` as target
    rows."""
    if _accepts_sample_domain(step, "fit"):
        return True
    if not isinstance(step, BaseEstimator):
        return False
    inner = step.get_params(deep=True).values()
    return any(
        isinstance(value, BaseEstimator) and _accepts_sample_domain(value, "fit") for value in inner
    )


def _accepts_sample_domain(step, method):
    if method == "fit" and (
        isinstance(step, DomainAdaptationPipeline) or _domain_aware_search(step)
    ):
        return True
    member = getattr(step, method, None)
    if member is None or not callable(member):
        return False
    return "sample_domain" in inspect.signature(member).parameters


def _request_sample_domain(step):
    """Request ``sample_domain`` where ``step`` takes it and has not said otherwise."""
    if isinstance(step, BaseSearchCV):
        # A search routes by the requests of the estimator it searches over: unset, routing
        # dropped sample_domain before it reached that estimator's fit.
        _request_sample_domain(step.estimator)
        return
    if not isinstance(step, BaseEstimator):
        return
    requests = step.get_metadata_routing()
    if isinstance(requests, MetadataRouter):
        return  # a pipeline inside a search routes by its own steps' requests
    for method in ("fit", "transform"):
        if not _accepts_sample_domain(step, method):
            continue
        if getattr(requests, method).requests.get("sample_domain") is None:
            getattr(step, f"set_{method}_request")(sample_domain=True)


def _domain_kwargs(step, method, sample_domain):
    return {"sample_domain": sample_domain} if _accepts_sample_domain(step, method) else {}


def _labelled_rows(X, y, params, *, regression=False):
    """``X``, ``y`` and every per-row parameter (``sample_weight``...) on the labelled rows:
    those whose ``y`` is not ``-1``, or, for a regression, not NaN."""
    if params.get("sample_weight") is not None:
        # A weight of another length was passed on unsliced: applied to the labelled rows in
        # order without a word, or an IndexError.
        params = {**params, "sample_weight": _check_sample_weight(params["sample_weight"], X)}
    X_labelled, y_labelled, rows = labelled_subset(
        X, y, np.arange(_num_rows(y)), regression=regression
    )
    if len(rows) == _num_rows(y):
        return X, y, params
    return X_labelled, y_labelled, _check_method_params(X, params=params, indices=rows)
