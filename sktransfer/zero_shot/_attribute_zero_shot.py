"""AttributeZeroShot: recognise classes that had no training image, from their attributes."""

import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy.linalg import solve_sylvester
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._atomic import atomic_fit
from ..utils._numeric import power_of_two_scale
from ..utils._sklearn import HasMethods, Integers, Interval, StrOptions, _fit_context, check_labels

__all__ = ["AttributeZeroShot"]

# DAP and IAP take logarithms of attribute probabilities: a classifier that is certain of an
# attribute would otherwise veto a class with one wrong attribute.
_PROBABILITY_FLOOR = 1e-3


class AttributeZeroShot(ClassifierMixin, BaseEstimator):
    """Zero-shot classification: classes without training images, recognised by attributes.

    Every class, seen in training or not, is described by a row of ``class_attributes``
    (binary attributes such as "has stripes", continuous ones, or word vectors). The model
    learns from images of the *seen* classes how images relate to attributes; a class without
    any training image is then recognised by its row of the table. Five methods from the
    literature:

    ``"dap"``, Direct Attribute Prediction (Lampert, Nickisch and Harmeling, 2009, 2014)
        One probabilistic classifier per attribute (a clone of ``estimator``) predicts
        ``p(a_m | x)``; a class scores ``sum_m log p(a_m = a_m^z | x) - log p(a_m = a_m^z)``
        with the attribute priors of the seen classes.
    ``"iap"``, Indirect Attribute Prediction (same papers)
        One multi-class classifier (``estimator``) over the seen classes; an attribute's
        probability is ``p(a_m | x) = sum_k p(k | x) a_m^k``, then as DAP.
    ``"eszsl"``, Embarrassingly Simple Zero-Shot Learning (Romera-Paredes and Torr, 2015)
        A bilinear compatibility ``x^T V s_z`` in closed form,
        ``V = (X^T X + gamma I)^-1 X^T Y S^T (S S^T + alpha I)^-1`` with ``Y`` in {-1, 1}.
    ``"sae"``, Semantic Autoencoder (Kodirov, Xiang and Gong, 2017)
        A linear map ``W`` from features to attributes whose transpose reconstructs the
        features: the solution of the Sylvester equation
        ``S S^T W + sae_lambda W X X^T = (1 + sae_lambda) S X^T``; a class scores by the cosine
        between ``W x`` and its row.
    ``"conse"``, Convex Combination of Semantic Embeddings (Norouzi et al., 2014)
        A seen-class classifier (``estimator``); an image's semantic vector is the mix of the
        rows of its ``top_t`` most probable seen classes, weighted by their probabilities (a
        lion-tiger look-alike lands between "lion" and "tiger", near "liger"); a class scores
        by the cosine with its row.

    ESZSL and SAE embed images and classes into one space (the attribute space), the
    "attribute embedding" view; DAP, IAP and ConSE go through attribute or class posteriors.

    Read more in the :ref:`user guide <zero_shot>`.

    Parameters
    ----------
    class_attributes : DataFrame, dict or array-like of shape (n_classes, n_attributes)
        One row per class, seen or unseen: a DataFrame indexed by class name, a dict mapping
        each class name to its vector, or an array whose rows are named by ``class_names``.
        Every label of ``y`` must be a row. Binary attributes (0/1), continuous attributes and
        word vectors are all accepted; DAP and IAP binarise continuous attributes (see Notes).

    class_names : array-like of shape (n_classes,), default=None
        The class of each row when ``class_attributes`` is an array; must be None otherwise.

    method : {"eszsl", "dap", "iap", "sae", "conse"}, default="eszsl"
        The zero-shot method, see above.

    estimator : object, default=None
        A classifier with ``predict_proba``. DAP clones it once per attribute (binary targets);
        IAP and ConSE fit it once on the seen classes. None means
        ``LogisticRegression(max_iter=1000)``. Unused by ESZSL and SAE.

    candidates : {"unseen", "all", "seen"} or array-like, default="unseen"
        The classes ``predict`` chooses from: the table's classes absent from ``y``
        (zero-shot learning), every class of the table (generalised zero-shot learning), the
        classes of ``y`` only (an ordinary classifier that goes through the attributes, a
        check of how well the attributes are learned), or an explicit list of table classes.

    calibration : float, default=0.0
        Calibrated stacking (Chao et al., 2016): subtracted from the scores of the seen classes
        among the candidates, against the bias of every method toward the classes it was
        trained on. Only matters when seen classes are candidates. Its scale is the scale of
        the method's scores (log-probabilities for DAP and IAP, cosines for SAE and ConSE,
        compatibilities for ESZSL).

    center_attributes : bool, default=True
        Subtract from every attribute its mean over all classes of the table before fitting,
        so that a row says how its class differs from the average class. Cosines (SAE,
        ConSE) and ESZSL's compatibilities then compare what is distinctive about classes
        rather than what they share: an attribute nearly every class has (four legs, say)
        no longer makes every row look alike. DAP and IAP ignore it: they binarise each
        attribute at that same mean.

    alpha : float, default=1.0
        ESZSL: ridge regulariser on the attribute side (the paper's lambda).

    gamma : float, default=1.0
        ESZSL: ridge regulariser on the feature side (the paper's gamma).

    sae_lambda : float, default=1.0
        SAE: weight of the encoder's loss ``||W X - S||^2`` against the decoder's
        reconstruction loss ``||X - W^T S||^2`` (the paper's lambda).

    top_t : int, default=5
        ConSE: the number of most probable seen classes mixed into an image's semantic
        vector (the paper's T), ties going to the first in ``classes_``; at most the number of
        seen classes is used.

    n_jobs : int, default=None
        DAP: number of attribute classifiers fitted in parallel (joblib).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The candidate classes, sorted (as ``np.unique`` sorts them, whatever the order of
        the table's rows): the columns of ``decision_function`` and ``predict_proba``.

    seen_classes_ : ndarray of shape (n_seen,)
        The classes of ``y``, sorted, with the type of ``y``.

    attributes_ : ndarray of shape (n_classes, n_attributes)
        The rows of ``classes_`` in the table, as floats; centred by
        ``center_attributes`` (ESZSL, SAE and ConSE).

    seen_attributes_ : ndarray of shape (n_seen, n_attributes)
        The rows of ``seen_classes_`` in the table, as ``attributes_``.

    attribute_names_ : ndarray of shape (n_attributes,)
        The columns of a DataFrame table; ``"a0", "a1", ...`` otherwise.

    coef_ : ndarray of shape (n_features, n_attributes)
        ESZSL and SAE: the map from features to the attribute space, ``predict_attributes(X)``
        is ``X @ coef_``.

    estimators_ : list of (estimator or None)
        DAP: one fitted classifier per attribute; None for an attribute that the seen classes
        do not vary on (it cannot be learned and counts for no class).

    estimator_ : estimator
        IAP and ConSE: the fitted seen-class classifier.

    attribute_priors_ : ndarray of shape (n_attributes,)
        DAP and IAP: the fraction of seen classes that have each (binarised) attribute.

    thresholds_ : ndarray of shape (n_attributes,)
        DAP and IAP: an attribute is present where the table's value exceeds this threshold,
        the attribute's mean over all classes of the table.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    per_class_accuracy_score : The zero-shot metric (mean of per-class top-1 accuracies).
    harmonic_mean_score : The generalised zero-shot metric ``H = 2us / (u + s)``.
    ClassHoldoutSplit : Cross-validation folds for generalised zero-shot learning.

    Notes
    -----
    DAP and IAP need binary attributes. Continuous attributes are binarised at their mean over
    all classes of the table, as Lampert et al. (2014) did with the continuous attribute
    strengths of Animals with Attributes; a binary 0/1 table is unchanged. Word vectors can be
    binarised the same way, but lose much: prefer ESZSL, SAE or ConSE for them.

    An attribute that every seen class has, or that none has, cannot be learned from the seen
    classes: DAP fits no classifier for it and it counts for no class (IAP gets the same by
    construction). Two candidate classes that differ only on such attributes are confused.

    Two candidate classes with the same row of the table cannot be told apart by any method,
    so ``fit`` refuses them. It refuses as well rows that only differ where the method does
    not look: rows that binarise alike for DAP and IAP, rows that are positive multiples of
    each other for the cosines of SAE and ConSE (after centring, if ``center_attributes``), and
    for these two a row of zeros, which has no direction (centred, a row equal to the mean).

    References
    ----------
    .. [1] C. H. Lampert, H. Nickisch and S. Harmeling, "Learning to Detect Unseen Object
       Classes by Between-Class Attribute Transfer", CVPR 2009.
    .. [2] C. H. Lampert, H. Nickisch and S. Harmeling, "Attribute-Based Classification for
       Zero-Shot Visual Object Categorization", IEEE TPAMI 36(3), 2014.
    .. [3] B. Romera-Paredes and P. H. S. Torr, "An embarrassingly simple approach to
       zero-shot learning", ICML 2015.
    .. [4] E. Kodirov, T. Xiang and S. Gong, "Semantic Autoencoder for Zero-Shot Learning",
       CVPR 2017.
    .. [5] M. Norouzi, T. Mikolov, S. Bengio, Y. Singer, J. Shlens, A. Frome, G. S. Corrado
       and J. Dean, "Zero-Shot Learning by Convex Combination of Semantic Embeddings",
       ICLR 2014.
    .. [6] W.-L. Chao, S. Changpinyo, B. Gong and F. Sha, "An Empirical Study and Analysis of
       Generalized Zero-Shot Learning for Object Recognition in the Wild", ECCV 2016.
    .. [7] Y. Xian, C. H. Lampert, B. Schiele and Z. Akata, "Zero-Shot Learning - A
       Comprehensive Evaluation of the Good, the Bad and the Ugly", IEEE TPAMI 41(9), 2019.

    Examples
    --------
    Attributes: hooves, stripes, claws, large. Image features that happen to measure them;
    images of horses, tigers and cats only.

    >>> import numpy as np
    >>> from sktransfer.zero_shot import AttributeZeroShot
    >>> table = {
    ...     "horse": [1, 0, 0, 1], "tiger": [0, 1, 1, 1], "cat": [0, 0, 1, 0],
    ...     "zebra": [1, 1, 0, 1], "lion": [0, 0, 1, 1],
    ... }
    >>> y = np.array(["horse", "tiger", "cat"] * 20)
    >>> noise = np.random.default_rng(0).normal(0, 0.1, (60, 4))
    >>> X = np.array([table[animal] for animal in y]) + noise
    >>> zsl = AttributeZeroShot(table, method="dap").fit(X, y)
    >>> zsl.classes_
    array(['lion', 'zebra'], dtype='<U5')
    >>> zsl.predict([[1, 1, 0, 1], [0, 0, 1, 1]])
    array(['zebra', 'lion'], dtype='<U5')
    """

    _parameter_constraints: dict = {
        "class_attributes": ["array-like", dict],
        "class_names": ["array-like", None],
        "method": [StrOptions({"eszsl", "dap", "iap", "sae", "conse"})],
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "candidates": [StrOptions({"unseen", "all", "seen"}), "array-like"],
        "calibration": [Interval(Real, None, None, closed="neither")],
        "center_attributes": ["boolean"],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "gamma": [Interval(Real, 0, None, closed="neither")],
        "sae_lambda": [Interval(Real, 0, None, closed="neither")],
        "top_t": [Integers(1, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        class_attributes,
        *,
        class_names=None,
        method="eszsl",
        estimator=None,
        candidates="unseen",
        calibration=0.0,
        center_attributes=True,
        alpha=1.0,
        gamma=1.0,
        sae_lambda=1.0,
        top_t=5,
        n_jobs=None,
    ):
        self.class_attributes = class_attributes
        self.class_names = class_names
        self.method = method
        self.estimator = estimator
        self.candidates = candidates
        self.calibration = calibration
        self.center_attributes = center_attributes
        self.alpha = alpha
        self.gamma = gamma
        self.sae_lambda = sae_lambda
        self.top_t = top_t
        self.n_jobs = n_jobs

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Learn how images relate to attributes from the seen classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features of images of the seen classes (CNN codes, for instance).
        y : array-like of shape (n_samples,)
            Their classes; every label must be a row of ``class_attributes``.

        Returns
        -------
        self : AttributeZeroShot
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        return self._fit(X, y)

    def _fit(self, X, y):
        check_labels(y)
        table = _ClassTable.from_param(self.class_attributes, self.class_names)
        if self.center_attributes and self.method not in ("dap", "iap"):
            table.values = table.values - table.values.mean(axis=0)
        # Classes in sorted order, whatever the table's: scikit-learn's scorers read the
        # columns of predict_proba as np.unique(y) orders the labels.
        seen_labels, y_index = np.unique(y, return_inverse=True)
        seen = table.seen_rows(seen_labels)
        candidates, self.classes_ = table.candidate_classes(self.candidates, seen, seen_labels)
        table.check_distinct(candidates, self.method)
        fitted = _FITS[self.method](self, X, y_index, table, seen)

        self.seen_classes_ = seen_labels
        self.attributes_ = table.values[candidates]
        self.seen_attributes_ = table.values[seen]
        self.attribute_names_ = table.attribute_names
        self._candidate_is_seen = np.isin(candidates, seen)
        for name, value in fitted.items():
            setattr(self, name, value)
        return self

    def _fit_dap(self, X, y_index, table, seen):
        present, thresholds = _binarise(table.values)
        seen_present = present[seen]
        targets = seen_present[y_index]
        varies = seen_present.min(axis=0) != seen_present.max(axis=0)
        estimator = self._estimator()
        fitted = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_one)(clone(estimator), X, targets[:, m]) for m in np.flatnonzero(varies)
        )
        estimators = [None] * table.values.shape[1]
        for m, learner in zip(np.flatnonzero(varies), fitted, strict=True):
            estimators[m] = learner
        return {
            "estimators_": estimators,
            "attribute_priors_": seen_present.mean(axis=0),
            "thresholds_": thresholds,
        }

    def _fit_iap(self, X, y_index, table, seen):
        present, thresholds = _binarise(table.values)
        return {
            "estimator_": _fit_one(self._estimator(), X, y_index),
            "attribute_priors_": present[seen].mean(axis=0),
            "thresholds_": thresholds,
        }

    def _fit_conse(self, X, y_index, table, seen):
        return {"estimator_": _fit_one(self._estimator(), X, y_index)}

    def _fit_eszsl(self, X, y_index, table, seen):
        S = table.values[seen].T
        Y = -np.ones((X.shape[0], len(seen)))
        Y[np.arange(X.shape[0]), y_index] = 1.0
        # Solved on X / a and S / c (powers of two: exact), with gamma / a^2 and alpha / c^2,
        # the same system: X'X and SS' of features or attributes near 1e160 overflowed to inf,
        # and the scores to NaN.
        a, c = power_of_two_scale(X), power_of_two_scale(S)
        X, S = X / a, S / c
        feature_side = _regularised(X.T @ X, "gamma", self.gamma, a, "features")
        attribute_side = _regularised(S @ S.T, "alpha", self.alpha, c, "attributes")
        left = _regularised_solve(feature_side, X.T @ Y @ S.T, "gamma", self.gamma, a, "features")
        coef = _regularised_solve(attribute_side, left.T, "alpha", self.alpha, c, "attributes").T
        return {"coef_": coef / (a * c)}

    def _fit_sae(self, X, y_index, table, seen):
        S = table.values[seen][y_index].T
        W = solve_sylvester(S @ S.T, self.sae_lambda * (X.T @ X), (1.0 + self.sae_lambda) * (S @ X))
        return {"coef_": W.T}

    def _estimator(self):
        if self.estimator is None:
            return LogisticRegression(max_iter=1000)
        return clone(self.estimator)

    def predict_attributes(self, X):
        """The attribute vector of each image, as the method sees it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Image features.

        Returns
        -------
        attributes : ndarray of shape (n_samples, n_attributes)
            DAP and IAP: the probability that each (binarised) attribute is present. ESZSL
            and SAE: the projection ``X @ coef_`` into the attribute space. ConSE: the
            probability-weighted mix of the rows of the ``top_t`` most probable seen classes.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        if self.method == "dap":
            return self._dap_attributes(X)
        if self.method == "iap":
            present = self.seen_attributes_ > self.thresholds_
            return self.estimator_.predict_proba(X) @ present
        if self.method == "conse":
            return self._conse_vectors(X)
        return X @ self.coef_

    def _dap_attributes(self, X):
        columns = []
        for learner, prior in zip(self.estimators_, self.attribute_priors_, strict=True):
            if learner is None:
                columns.append(np.full(X.shape[0], prior))
            else:
                proba = learner.predict_proba(X)
                columns.append(proba[:, list(learner.classes_).index(1)])
        return np.column_stack(columns)

    def _conse_vectors(self, X):
        proba = self.estimator_.predict_proba(X)
        top = min(self.top_t, proba.shape[1])
        # Exactly the T most probable classes, ties going to the first in classes_: a cutoff at
        # the T-th probability kept every class tied with it (a tree's [0, .5, .5] mixed two
        # classes at top_t=1).
        kept = np.argsort(-proba, axis=1, kind="stable")[:, :top]
        weights = np.zeros_like(proba)
        np.put_along_axis(weights, kept, np.take_along_axis(proba, kept, axis=1), axis=1)
        weights /= weights.sum(axis=1, keepdims=True)
        return weights @ self.seen_attributes_

    def _scores(self, X):
        attributes = self.predict_attributes(X)
        if self.method in ("dap", "iap"):
            scores = self._attribute_log_likelihoods(attributes)
        elif self.method == "eszsl":
            scores = attributes @ self.attributes_.T
        else:
            scores = _cosine(attributes, self.attributes_)
        scores[:, self._candidate_is_seen] -= self.calibration
        return scores

    def _attribute_log_likelihoods(self, proba):
        present = (self.attributes_ > self.thresholds_).astype(float)
        learnable = (self.attribute_priors_ > 0) & (self.attribute_priors_ < 1)
        p = np.clip(proba[:, learnable], _PROBABILITY_FLOOR, 1 - _PROBABILITY_FLOOR)
        prior = self.attribute_priors_[learnable]
        a = present[:, learnable]
        log_posterior = np.log(p) @ a.T + np.log1p(-p) @ (1 - a).T
        log_prior = a @ np.log(prior) + (1 - a) @ np.log1p(-prior)
        return log_posterior - log_prior

    def decision_function(self, X):
        """Score of every candidate class; the predicted class has the highest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Image features.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            One column per class of ``classes_``, seen classes lowered by ``calibration``.
            With two candidates, the score of the second minus that of the first, as
            scikit-learn's binary classifiers return.
        """
        check_is_fitted(self)
        scores = self._scores(X)
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    @available_if(lambda self: self.method in ("dap", "iap"))
    def predict_proba(self, X):
        """Posterior probability of every candidate class (DAP and IAP only).

        The normalised product of the attribute probabilities of Lampert et al., with a
        uniform prior over the candidates (and the seen candidates' scores lowered by
        ``calibration``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Image features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            One column per class of ``classes_``.
        """
        check_is_fitted(self)
        return softmax(self._scores(X), axis=1)

    def predict(self, X):
        """The most likely candidate class of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Image features.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Classes from ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self._scores(X), axis=1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y``.

        Warns when ``y`` holds classes that are not candidates: ``predict`` never returns
        them, so their rows all count as wrong (as in ``cross_val_score`` with stratified
        folds and the default ``candidates="unseen"``, or rows of unseen classes with
        ``candidates="seen"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Image features.
        y : array-like of shape (n_samples,)
            True classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy.
        """
        check_is_fitted(self)
        self._warn_if_classes_cannot_be_predicted(y)
        return super().score(X, y, sample_weight=sample_weight)

    def _warn_if_classes_cannot_be_predicted(self, y):
        # Seen classes first: rows of classes held out of training (class-disjoint folds, the
        # usual zero-shot evaluation) are what the candidates are for. Then unseen ones:
        # candidates='seen' (or a list) never predicts them, and H was 0 on every
        # ClassHoldoutSplit fold without a word.
        candidates = set(self.classes_.tolist())
        left_out = set(self.seen_classes_.tolist()) - candidates
        labels = np.unique(np.asarray(y)).tolist()
        named = isinstance(self.candidates, str)
        why = "predict returns only the candidates, which leave them out"
        scored = [label for label in labels if label in left_out]
        if scored:
            rows = f"seen classes {scored[:5]!r}"
            if named:
                why = "candidates='unseen' can only predict unseen classes"
            advice = "score on classes held out of training (GroupKFold with groups=y)"
        else:
            scored = [label for label in labels if label not in candidates]
            if not scored:
                return
            rows = f"classes {scored[:5]!r} that the model was not trained on"
            if named and self.candidates == "seen":
                why = "candidates='seen' can only predict the classes of y"
            advice = "'unseen' for zero-shot learning"
        warnings.warn(
            f"Scoring rows of {rows}, but {why}: those rows all count as wrong. Use "
            f"candidates='all' for generalised zero-shot learning, or {advice}.",
            UserWarning,
            stacklevel=3,  # the caller of score
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


_FITS = {
    "dap": AttributeZeroShot._fit_dap,
    "iap": AttributeZeroShot._fit_iap,
    "eszsl": AttributeZeroShot._fit_eszsl,
    "sae": AttributeZeroShot._fit_sae,
    "conse": AttributeZeroShot._fit_conse,
}


def _regularised(gram, name, value, scale, what):
    """``gram + value / scale^2`` on the diagonal, refused by name when that overflows.

    Features (or attributes) near 1e-160 made ``value / scale^2`` infinite: ``inf * eye`` put
    NaN off the diagonal, and every coefficient came out NaN without a word.
    """
    with np.errstate(over="ignore"):
        lift = value / scale / scale
    if not np.isfinite(lift):
        raise ValueError(
            f"method='eszsl': {name}={value} is over the float64 range times the square of the "
            f"{what}' largest magnitude (about {scale:.3g}), so the regularisation swamps them and "
            f"every score underflows. Standardise the {what}, or lower {name}."
        )
    gram[np.diag_indices_from(gram)] += lift
    return gram


def _regularised_solve(matrix, rhs, name, value, scale, what):
    """``matrix^-1 rhs`` for ESZSL's ``A + value I``, refused by name when still singular.

    With collinear features (or attributes) and a ``value`` too small to lift the zero
    eigenvalues above rounding, NumPy raised a bare LinAlgError. ``A`` is of ``what`` divided
    by ``scale``, their largest magnitude, so ``value`` counts against ``scale ** 2``.
    """
    try:
        return np.linalg.solve(matrix, rhs)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"method='eszsl' cannot solve its regularised system: {name}={value} is too small "
            f"to make it invertible (collinear features or attributes; {name} counts against "
            f"the square of the {what}' largest magnitude, {scale:.3g}). Raise {name}."
        ) from None


def _fit_one(estimator, X, y):
    return estimator.fit(X, y)


def _binarise(values):
    thresholds = values.mean(axis=0)
    return values > thresholds, thresholds


def _cosine(vectors, rows):
    vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    return vectors @ rows.T


class _ClassTable:
    """The class-attribute table, with the checks that ``fit`` needs."""

    def __init__(self, names, values, attribute_names):
        self.names = names
        self.values = values
        self.attribute_names = attribute_names
        self._row = {name: i for i, name in enumerate(names.tolist())}

    @classmethod
    def from_param(cls, table, class_names):
        attribute_names = None
        if isinstance(table, dict):
            if class_names is not None:
                raise ValueError(
                    "class_names must be None when class_attributes is a dict: its keys name "
                    "the classes."
                )
            names, rows = list(table), list(table.values())
        elif hasattr(table, "index") and hasattr(table, "columns"):
            if class_names is not None:
                raise ValueError(
                    "class_names must be None when class_attributes is a DataFrame: its index "
                    "names the classes."
                )
            names, rows = table.index.tolist(), table.to_numpy()
            attribute_names = np.asarray([str(c) for c in table.columns], dtype=object)
        else:
            if class_names is None:
                raise ValueError(
                    "class_names is required when class_attributes is an array: one name per "
                    "row of the table."
                )
            names, rows = list(class_names), table
        values = _table_values(rows, len(names))
        if attribute_names is None:
            attribute_names = np.asarray([f"a{i}" for i in range(values.shape[1])], dtype=object)
        names = _label_array(names)
        if len(set(names.tolist())) != len(names):
            raise ValueError("class_attributes names a class twice; each class needs one row.")
        return cls(names, values, attribute_names)

    def rows_of(self, labels):
        return np.array([self._row[label] for label in labels.tolist()], dtype=np.intp)

    def seen_rows(self, unique):
        """Rows of the classes of ``y``, given as ``np.unique(y)``, in that order."""
        labels = unique.tolist()
        missing = [label for label in labels if label not in self._row]
        if missing:
            raise ValueError(
                f"Labels of y are not rows of class_attributes: {missing[:5]!r}. Every seen "
                "class needs its row in the table."
            )
        if len(labels) < 2:
            raise ValueError(
                f"y holds {len(labels)} class; zero-shot learning needs at least 2 seen classes "
                "to relate images to attributes."
            )
        return self.rows_of(unique)

    def candidate_classes(self, candidates, seen, seen_labels):
        """Rows and labels of the candidate classes, sorted by label."""
        rows = self.candidate_rows(candidates, seen)
        # Labels keep the type of y where they can (a table may name classes of mixed types).
        if np.isin(rows, seen).all():
            position = {row: i for i, row in enumerate(seen.tolist())}
            labels = seen_labels[[position[row] for row in rows.tolist()]]
        else:
            labels = self.names[rows]
        order = _label_order(labels)
        return rows[order], labels[order]

    def candidate_rows(self, candidates, seen):
        all_rows = np.arange(len(self.names))
        if isinstance(candidates, str) and candidates == "all":
            return all_rows
        if isinstance(candidates, str) and candidates == "seen":
            return seen
        if isinstance(candidates, str):
            rows = np.setdiff1d(all_rows, seen)
            if len(rows) == 0:
                raise ValueError(
                    "candidates='unseen' but every class of class_attributes appears in y: add "
                    "rows for unseen classes, or pass candidates='all'."
                )
            return rows
        labels = list(np.asarray(candidates, dtype=object).ravel())
        if not labels:
            raise ValueError(
                "candidates is empty: predictions need at least one candidate class. Pass "
                "classes of class_attributes, or 'unseen', 'all' or 'seen'."
            )
        missing = [label for label in labels if label not in self._row]
        if missing:
            raise ValueError(
                f"candidates must be 'unseen', 'all' or classes of class_attributes; not in the "
                f"table: {missing[:5]!r}."
            )
        return np.unique(self.rows_of(np.asarray(labels, dtype=object)))

    def check_distinct(self, rows, method, *, scorer=None):
        """Refuse candidate classes whose rows ``method`` would score alike for every image.

        ``scorer`` names what cannot tell them apart in the message (``method=...`` by default).
        """
        if method in ("sae", "conse"):
            self._check_directions(rows, method)
        scored, how = _rows_as_scored(self.values, method)
        _, group, counts = np.unique(scored[rows], axis=0, return_inverse=True, return_counts=True)
        if np.any(counts > 1):
            names, group = self.names[rows], group.ravel()
            twins = [names[group == k].tolist() for k in np.flatnonzero(counts > 1)]
            raise ValueError(
                f"class_attributes gives candidate classes identical rows{how}, so "
                f"{scorer or f'method={method!r}'} cannot tell them apart: {twins}. Add an "
                "attribute that separates them."
            )

    def _check_directions(self, rows, method):
        """Refuse candidate rows of zero length (up to rounding), which a cosine cannot score:
        a row equal to the table's mean, once centred, scored about 0 for every image, and
        won wherever every other cosine was negative."""
        norms = np.linalg.norm(self.values[rows], axis=1)
        empty = norms <= 1e-9 * np.abs(self.values).max()
        if empty.any():
            raise ValueError(
                f"class_attributes gives candidate classes {self.names[rows][empty].tolist()} "
                f"a row of zeros (once centred, if center_attributes: the mean of the table), "
                f"which method={method!r} cannot score by cosine. Add an attribute that sets "
                "them apart, or set center_attributes=False."
            )


def _rows_as_scored(values, method):
    """The table as ``method`` compares classes, and how that differs from its values."""
    if method in ("dap", "iap"):
        return _binarise(values)[0], " once binarised at each attribute's mean"
    if method in ("sae", "conse"):
        # Cosines ignore a row's length. Rounding absorbs the last bits of the division, so
        # that a row and its multiple compare equal.
        unit = values / np.maximum(np.linalg.norm(values, axis=1, keepdims=True), 1e-12)
        return np.round(unit, 10), " up to their length (the method scores by cosine)"
    return values, ""


def _table_values(rows, n_names):
    try:
        values = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"class_attributes must hold numbers: {error}") from None
    if values.ndim != 2 or values.shape[0] != n_names or values.shape[1] == 0:
        raise ValueError(
            "class_attributes must be a table of shape (n_classes, n_attributes) with one name "
            f"per row; got values of shape {values.shape} for {n_names} class names."
        )
    if not np.all(np.isfinite(values)):
        rows_with_nan = np.flatnonzero(~np.all(np.isfinite(values), axis=1))
        raise ValueError(
            f"class_attributes holds NaN or infinite values (rows {rows_with_nan.tolist()}); "
            "every class needs every attribute."
        )
    return values


def _label_order(labels):
    """Indices that sort labels as np.unique does; mixed types sort by type, then value."""
    try:
        return np.argsort(labels, kind="stable")
    except TypeError:
        # np.unique cannot order ints among strings, but the candidates still need an order.
        keys = labels.tolist()
        return np.array(
            sorted(range(len(keys)), key=lambda i: (type(keys[i]).__name__, keys[i])),
            dtype=np.intp,
        )


def _label_array(names):
    """Class names as an array of their own type (numpy would turn mixed ints into strings)."""
    if all(isinstance(name, str) for name in names):
        return np.asarray(names, dtype=str)
    if all(isinstance(name, (Real, np.bool_)) for name in names):
        # Floats too: kept as objects, 3.0 made an object array that scikit-learn's metrics
        # refuse ("a mix of binary and unknown targets").
        labels = np.asarray(names)
        if labels.dtype.kind == "f" and np.isnan(labels).any():
            raise ValueError("class_attributes names a class NaN, which no label can equal.")
        return labels
    labels = np.empty(len(names), dtype=object)
    labels[:] = names
    return labels
