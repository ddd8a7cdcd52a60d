"""Scorers for unsupervised domain adaptation: choosing settings without target labels.

Each scorer is called as ``scorer(estimator, X, y, sample_domain=...)``, as
:class:`~sklearn.model_selection.GridSearchCV` and :func:`~sklearn.model_selection.cross_validate`
call a scorer on a validation fold. The fold holds labelled source rows and target rows whose
labels (``y == -1``) are never read, except by :class:`TargetAccuracyScorer`, the supervised
oracle for benchmarks. ``sample_domain`` reaches the scorers through metadata routing: every
scorer requests it by default.
"""

import inspect
import warnings
from numbers import Real

import numpy as np
from scipy.special import entr
from sklearn import get_config
from sklearn.base import clone, is_regressor
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.metadata_routing import MetadataRequest, get_routing_for_object

from ..pipeline import _accepts_sample_domain
from ..utils._domains import (
    UNLABELED,
    DomainRows,
    _num_rows,
    _stack_rows,
    _take_rows,
    domain_rows,
    learns_unlabelled_as_a_class,
)
from ..utils._sklearn import HasMethods, Interval, validate_parameter_constraints

__all__ = [
    "DeepEmbeddedValidationScorer",
    "ImportanceWeightedScorer",
    "PredictionEntropyScorer",
    "ReverseValidationScorer",
    "SoftNeighborhoodDensityScorer",
    "TargetAccuracyScorer",
]

# Below this effective number of source rows, importance weights rest on too few rows.
_MIN_EFFECTIVE_ROWS = 10


class _DomainScorer:
    """Shared plumbing: parameter checks, the ``sample_domain`` request, the fold's rows."""

    _parameter_constraints: dict = {}

    def __init__(self):
        validate_parameter_constraints(
            self._parameter_constraints, self._get_params(), caller_name=type(self).__name__
        )
        self._request_domain = True

    def _get_params(self):
        names = [
            name for name in inspect.signature(type(self).__init__).parameters if name != "self"
        ]
        return {name: getattr(self, name) for name in names}

    def __repr__(self):
        params = ", ".join(f"{key}={value!r}" for key, value in self._get_params().items())
        return f"{type(self).__name__}({params})"

    def set_score_request(self, *, sample_domain=True):
        """Say whether the scorer receives ``sample_domain`` through metadata routing.

        Every scorer requests it by default; only call this to turn the request off (the
        domains are then read from ``y == -1``) or to route it under another name.

        Parameters
        ----------
        sample_domain : bool or str, default=True
            True to request ``sample_domain``, False to refuse it, or the name of the
            metadata to receive as ``sample_domain``.

        Returns
        -------
        self : object
            The scorer.
        """
        self._request_domain = sample_domain
        return self

    def get_metadata_routing(self):
        """The metadata the scorer requests: ``sample_domain`` for ``score``.

        Returns
        -------
        routing : MetadataRequest
            The request, read by scikit-learn's metadata routing.
        """
        request = MetadataRequest(owner=self)
        request.score.add_request(param="sample_domain", alias=self._request_domain)
        return request

    def _accept_sample_weight(self):
        # Read by scikit-learn's multi-metric scorer when routing is off.
        return False

    def __call__(self, estimator, X, y=None, *, sample_domain=None):
        """Score ``estimator`` on a validation fold of source and target rows.

        Parameters
        ----------
        estimator : estimator object
            A fitted classifier.
        X : array-like of shape (n_samples, ...)
            The fold's source and target rows.
        y : array-like of shape (n_samples,), default=None
            Labels, ``-1`` for unlabelled target rows.
        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows. If None, rows with
            ``y == -1`` are target rows. Several target domains (``-2, -3, ...``) are
            scored apart, each with all the source rows, and their scores averaged.

        Returns
        -------
        score : float
            Greater is better.
        """
        if hasattr(estimator, "__sklearn_tags__") and is_regressor(estimator):
            # Its continuous predictions matched no label: an accuracy of 0.0 without a word.
            raise TypeError(
                f"{type(self).__name__} scores a classifier; got the regressor "
                f"{type(estimator).__name__}."
            )
        _warn_if_unlabelled_is_a_class(estimator, type(self).__name__)
        n_samples = _num_rows(X)
        rows = domain_rows(y, sample_domain, n_samples, require_source_labels=False)
        y = None if y is None else np.asarray(y)
        targets = np.unique(rows.domain[rows.is_target])
        if len(targets) <= 1:
            return float(self._score(estimator, X, y, rows))
        # Target domains differ from each other as much as from the source: pooled, a density
        # ratio or a neighbourhood would mix them, so each is scored with the source rows alone.
        scores = []
        for target in targets:
            keep = np.flatnonzero(rows.is_source | (rows.domain == target))
            part = DomainRows(rows.domain[keep], rows.labelled[keep])
            y_part = None if y is None else y[keep]
            scores.append(self._score(estimator, _take_rows(X, keep), y_part, part))
        return float(np.mean(scores))

    def _score(self, estimator, X, y, rows):
        raise NotImplementedError


def _warn_if_unlabelled_is_a_class(estimator, name):
    """Warn when the fitted classifier learned ``y == -1`` as a class.

    A plain classifier fitted on packed rows (a ``LogisticRegression`` in a search over
    ``pack_domains`` output) learns the unlabelled target rows as a class of their own: it
    predicts ``-1`` for the target rows and for many source rows, and every scorer then scores
    that class as if it were one of the task's (an importance-weighted accuracy of 0.15 where
    the model built with ``make_da_pipeline`` scored 0.96), without a word.
    """
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        return
    classes = np.asarray(classes)
    if classes.ndim != 1 or classes.dtype.kind not in "iuf" or not np.any(classes == UNLABELED):
        return
    warnings.warn(
        f"{name}: {type(estimator).__name__} learned y == -1, which marks unlabelled rows, as "
        f"a class (its classes_ are {classes.tolist()[:10]}), so the score measures a model of "
        "the unlabelled rows' class. Build it with sktransfer.pipeline.make_da_pipeline, or "
        "wrap the classifier in LabelledOnlyClassifier, to fit it on the labelled rows only.",
        UserWarning,
        stacklevel=3,
    )


def _call(estimator, method, X, domain):
    """``estimator.method(X)``, passing the rows' ``sample_domain`` when the estimator asks.

    A pipeline whose transformer maps each domain its own way (CORAL re-colours source rows)
    must see source rows as source rows to predict them as it was trained.
    """
    if get_config()["enable_metadata_routing"]:
        consumed = get_routing_for_object(estimator).consumes(method, ["sample_domain"])
        if "sample_domain" in consumed:
            return getattr(estimator, method)(X, sample_domain=domain)
        return getattr(estimator, method)(X)
    return _call_without_routing(estimator, method, X, domain)


def _call_without_routing(estimator, method, X, domain):
    """``_call`` with metadata routing off: ``sample_domain`` goes where a method takes it.

    Nothing routes it then, and a pipeline's ``predict`` hands its parameters to the final
    step only, so the steps are walked here, each given ``sample_domain`` where its method
    has that parameter, as ``DomainAdaptationPipeline.score`` does without routing.
    """
    if isinstance(estimator, Pipeline):
        for _, _, step in estimator._iter(with_final=False):
            X = _call_without_routing(step, "transform", X, domain)
        final = estimator._final_estimator
        if final is None or (isinstance(final, str) and final == "passthrough"):
            return X  # only a transform reaches here: a passthrough step has no predict
        return _call_without_routing(final, method, X, domain)
    if _accepts_sample_domain(estimator, method):
        return getattr(estimator, method)(X, sample_domain=domain)
    _warn_if_domain_is_dropped(estimator, method, domain)
    return getattr(estimator, method)(X)


def _warn_if_domain_is_dropped(estimator, method, domain):
    """Warn when ``estimator`` requests ``sample_domain`` for ``method`` but takes it only
    through metadata routing (a meta-estimator's ``**params``): called without it, source rows
    are handled as target rows and the score is not the one routing gives. Target rows lose
    nothing: an estimator takes rows without ``sample_domain`` as target rows."""
    if np.all(np.asarray(domain) < 0):
        return
    consumed = get_routing_for_object(estimator).consumes(method, ["sample_domain"])
    if "sample_domain" not in consumed:
        return
    warnings.warn(
        f"{type(estimator).__name__}.{method} requests sample_domain, but takes it only "
        "through metadata routing, which is off: the scorer calls it without sample_domain, "
        "so source rows are handled as target rows and the score can differ from the one "
        "routing gives. Enable routing, for instance with "
        "sklearn.config_context(enable_metadata_routing=True).",
        UserWarning,
        stacklevel=2,
    )


def _target_rows(X, rows, name):
    target = np.flatnonzero(rows.is_target)
    if target.size == 0:
        raise ValueError(
            f"{name} scores the target rows of the validation fold, and it holds none. Pass "
            "sample_domain (negative for target rows) through metadata routing, or mark target "
            "rows with y == -1, and split with a domain-aware splitter such as "
            "sktransfer.model_selection.DomainShuffleSplit."
        )
    return target


def _labelled_source_rows(rows, y, name):
    if y is None:
        raise ValueError(f"{name} needs y: the labels of the source rows of the fold.")
    source = np.flatnonzero(rows.is_source & rows.labelled)
    if source.size == 0:
        raise ValueError(
            f"{name} scores the labelled source rows of the validation fold, and it holds "
            "none. Split with a domain-aware splitter such as "
            "sktransfer.model_selection.DomainShuffleSplit."
        )
    return source


def _check_proba(estimator, name):
    if not hasattr(estimator, "predict_proba"):
        # AttributeError, as scikit-learn's scorers with response_method="predict_proba" raise
        # (and as skada's scorers do): a missing method, not an estimator of the wrong kind.
        raise AttributeError(
            f"{name} reads predicted probabilities; {type(estimator).__name__} has no "
            "predict_proba."
        )


def _finite_or_warn(values, name, what):
    """Whether ``values`` are all finite; a diverged model (NaN outputs) warns and scores -inf,
    so that a grid search moves on rather than stops."""
    if np.all(np.isfinite(values)):
        return True
    warnings.warn(
        f"{name}: the model's {what} are not finite (did its training diverge?); it scores -inf.",
        UserWarning,
        stacklevel=4,
    )
    return False


def _flat(Z):
    """Rows as 2-D float features (images are flattened), for a domain classifier."""
    Z = np.asarray(Z)
    if Z.dtype.kind not in "iufb":
        raise TypeError(
            "The domain classifier needs numeric rows; got values of dtype "
            f"{Z.dtype} (file paths?). Score an estimator with a transform, whose features "
            "are then used, or pass the images as an array."
        )
    return Z.reshape(Z.shape[0], -1).astype(np.float64, copy=False)


def _density_ratios(Z, rows, source, domain_classifier, random_state):
    """Importance weights ``p_target(z) / p_source(z)`` of the rows ``source``, per source.

    A domain classifier tells each source domain apart from the pooled target rows; its
    out-of-fold probabilities give the ratio ``n_s / n_t * P(target | z) / P(source | z)``.
    Several sources are kept apart: each gets its own classifier and its weights average 1.

    Returns the weights and the source domain of each row, in the order of ``source``, and
    the out-of-fold ROC AUC of each domain classifier (1 when it tells the domains apart).
    """
    target = np.flatnonzero(rows.is_target)
    domains = rows.domain[source]
    weights = np.empty(source.size)
    separation = {}
    rng = check_random_state(random_state)
    for domain in np.unique(domains):
        these = np.flatnonzero(domains == domain)
        Z_domain = np.vstack([Z[source[these]], Z[target]])
        is_target = np.r_[np.zeros(these.size, dtype=int), np.ones(target.size, dtype=int)]
        n_folds = int(min(5, these.size, target.size))
        if n_folds < 2:
            raise ValueError(
                "Estimating importance weights needs at least 2 source rows of each source "
                f"domain and 2 target rows in the validation fold; domain {domain} has "
                f"{these.size} and the target {target.size}."
            )
        classifier = (
            make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000))
            if domain_classifier is None
            else clone(domain_classifier)
        )
        cv = StratifiedKFold(n_folds, shuffle=True, random_state=rng.randint(2**31 - 1))
        proba = cross_val_predict(classifier, Z_domain, is_target, cv=cv, method="predict_proba")
        separation[int(domain)] = roc_auc_score(is_target, proba[:, 1])
        p_target = np.clip(proba[: these.size, 1], 1e-6, 1 - 1e-6)
        ratio = p_target / (1 - p_target)
        weights[these] = ratio / ratio.mean()
    return weights, domains, separation


def _warn_if_unreliable(weights, separation, name):
    """Warn when the weights rest on few rows, or the domains do not overlap at all (the
    classifier's probabilities then saturate and the weights say nothing)."""
    effective = weights.sum() ** 2 / (weights**2).sum()
    separated = {domain: auc for domain, auc in separation.items() if auc >= 0.99}
    if separated or effective < max(_MIN_EFFECTIVE_ROWS, 0.05 * weights.size):
        reason = (
            f"a domain classifier tells source domain(s) {sorted(separated)} from the target "
            f"rows almost perfectly (out-of-fold ROC AUC >= {min(separated.values()):.3f})"
            if separated
            else f"the weights rest on {effective:.1f} effective source rows of {weights.size}"
        )
        warnings.warn(
            f"{name}: {reason}, so the importance weights are unreliable and the score is "
            "noisy. Prefer a scorer that reads the target rows directly "
            "(PredictionEntropyScorer, SoftNeighborhoodDensityScorer, ReverseValidationScorer) "
            "or the adapted features (DeepEmbeddedValidationScorer on an estimator with a "
            "transform).",
            UserWarning,
            stacklevel=3,
        )


class _DensityRatioScorer(_DomainScorer):
    """The scorers that weight source rows by a domain classifier's density ratio."""

    _parameter_constraints: dict = {
        "domain_classifier": [None, HasMethods(["fit", "predict_proba"])],
        "random_state": ["random_state"],
    }

    def __init__(self, domain_classifier=None, random_state=None):
        self.domain_classifier = domain_classifier
        self.random_state = random_state
        super().__init__()


def _class_probability(estimator, X, y, domain):
    """Predicted probability of each row's true class (0 for a class the model never saw)."""
    proba = _call(estimator, "predict_proba", X, domain)
    classes = np.asarray(estimator.classes_)
    index = np.searchsorted(classes, y)
    index = np.clip(index, 0, classes.size - 1)
    known = classes[index] == y
    return np.where(known, proba[np.arange(len(y)), index], 0.0)


class ImportanceWeightedScorer(_DensityRatioScorer):
    """Importance-weighted validation: source accuracy, each row weighted like the target.

    Under covariate shift the accuracy on target rows equals the accuracy on source rows
    weighted by the density ratio ``w(x) = p_target(x) / p_source(x)`` (Sugiyama, Krauledat
    and Müller, 2007). The ratio is estimated by a domain classifier that tells the fold's
    source rows from its target rows (out-of-fold probabilities, five folds), on the input
    rows (images are flattened). With several source domains (``sample_domain`` 1, 2, ...),
    each source gets its own classifier and its weights average 1 within it.

    Target labels are never read. A large shift that the domain classifier sees almost
    perfectly leaves few rows with weight; the scorer then warns.

    Parameters
    ----------
    domain_classifier : classifier or None, default=None
        Tells source rows (class 0) from target rows (class 1), with ``predict_proba``.
        ``None`` uses a standardised logistic regression with ``C=0.1``.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds of the domain classifier.

    See Also
    --------
    DeepEmbeddedValidationScorer : The same weights on the adapted features, with a control
        variate.

    References
    ----------
    .. [1] M. Sugiyama, M. Krauledat and K.-R. Müller, "Covariate Shift Adaptation by
       Importance Weighted Cross Validation", JMLR 8, 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.model_selection import ImportanceWeightedScorer
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(200, 2)); ys = (Xs[:, 0] > 0).astype(int)
    >>> Xt = rng.normal(size=(200, 2)) + [0.5, 0.0]
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    >>> clf = LogisticRegression().fit(Xs, ys)
    >>> scorer = ImportanceWeightedScorer(random_state=0)
    >>> round(scorer(clf, X, y, sample_domain=sample_domain), 2)
    1.0
    """

    def _score(self, estimator, X, y, rows):
        name = type(self).__name__
        source = _labelled_source_rows(rows, y, name)
        _target_rows(X, rows, name)
        weights, _, separation = _density_ratios(
            _flat(X), rows, source, self.domain_classifier, self.random_state
        )
        _warn_if_unreliable(weights, separation, name)
        predicted = _call(estimator, "predict", _take_rows(X, source), rows.domain[source])
        correct = predicted == y[source]
        return np.average(correct, weights=weights)


class DeepEmbeddedValidationScorer(_DensityRatioScorer):
    """Deep embedded validation: importance-weighted source loss on the adapted features.

    You, Wang, Long and Jordan (2019) weight the source rows' loss by the density ratio
    estimated *in the features the model learned*, where adaptation has made the domains
    overlap, and reduce the variance of the weighted loss with a control variate: with
    ``L = w * loss``, ``eta = -Cov(L, w) / Var(w)`` and the risk
    ``mean(L) + eta * mean(w) - eta``. The score is minus that risk (greater is better).

    The features are ``estimator.transform(X)`` when the estimator has a ``transform`` (such
    as :class:`~sktransfer.domain_adaptation.DANNClassifier`), the output of every step but the
    last for a :class:`~sklearn.pipeline.Pipeline`, and the input rows otherwise. The loss is
    the cross-entropy of ``predict_proba``. Target labels are never read.

    Parameters
    ----------
    domain_classifier : classifier or None, default=None
        Tells source rows (class 0) from target rows (class 1) in the features, with
        ``predict_proba``. ``None`` uses a standardised logistic regression with ``C=0.1``.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds of the domain classifier.

    See Also
    --------
    ImportanceWeightedScorer : The weights on the input rows, without control variate.

    References
    ----------
    .. [1] K. You, X. Wang, M. Long and M. I. Jordan, "Towards Accurate Model Selection in
       Deep Unsupervised Domain Adaptation", ICML 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.model_selection import DeepEmbeddedValidationScorer
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(200, 2)); ys = (Xs[:, 0] > 0).astype(int)
    >>> Xt = rng.normal(size=(200, 2)) + [0.5, 0.0]
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    >>> good = LogisticRegression().fit(Xs, ys)
    >>> bad = LogisticRegression().fit(Xs, 1 - ys)
    >>> scorer = DeepEmbeddedValidationScorer(random_state=0)
    >>> bool(scorer(good, X, y, sample_domain=sample_domain) > scorer(bad, X, y,
    ...      sample_domain=sample_domain))
    True
    """

    def _score(self, estimator, X, y, rows):
        name = type(self).__name__
        _check_proba(estimator, name)
        source = _labelled_source_rows(rows, y, name)
        _target_rows(X, rows, name)
        features = _flat(_features(estimator, X, rows.domain))
        if not _finite_or_warn(features, name, "features"):
            return -np.inf
        weights, domains, separation = _density_ratios(
            features, rows, source, self.domain_classifier, self.random_state
        )
        _warn_if_unreliable(weights, separation, name)
        p_true = _class_probability(
            estimator, _take_rows(X, source), y[source], rows.domain[source]
        )
        loss = -np.log(np.clip(p_true, 1e-15, None))
        risks, sizes = [], []
        for domain in np.unique(domains):
            these = domains == domain
            risks.append(_control_variate_risk(loss[these], weights[these]))
            sizes.append(np.count_nonzero(these))
        return -np.average(risks, weights=sizes)


def _control_variate_risk(loss, weights):
    weighted = weights * loss
    variance = np.var(weights, ddof=1) if weights.size > 1 else 0.0
    if variance <= 0:
        return weighted.mean()
    eta = -np.cov(weighted, weights)[0, 1] / variance
    return weighted.mean() + eta * weights.mean() - eta


def _features(estimator, X, domain):
    """The representation the estimator's classifier reads."""
    if hasattr(estimator, "transform"):
        return _call(estimator, "transform", X, domain)
    if isinstance(estimator, Pipeline) and len(estimator) > 1:
        return _call(estimator[:-1], "transform", X, domain)
    return X


class PredictionEntropyScorer(_DomainScorer):
    """Minus the mean entropy of the predicted class probabilities on the target rows.

    Morerio, Cavazza and Murino (2018) select the adaptation setting whose predictions on the
    target rows are most confident: low entropy means the target rows sit far from the
    decision boundaries. The score is minus the mean entropy (in nats), so greater is better.
    Only the target rows are read, never their labels. A model that collapses onto one class
    is confident too: combine with a scorer that reads the source labels.

    See Also
    --------
    SoftNeighborhoodDensityScorer : Rewards target rows that cluster, rather than confidence.

    References
    ----------
    .. [1] P. Morerio, J. Cavazza and V. Murino, "Minimal-Entropy Correlation Alignment for
       Unsupervised Deep Domain Adaptation", ICLR 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.model_selection import PredictionEntropyScorer
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(100, 2)); ys = (Xs[:, 0] > 0).astype(int)
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xs + 0.1, None))
    >>> clf = LogisticRegression().fit(Xs, ys)
    >>> float(PredictionEntropyScorer()(clf, X, y, sample_domain=sample_domain)) < 0
    True
    """

    def _score(self, estimator, X, y, rows):
        name = type(self).__name__
        _check_proba(estimator, name)
        target = _target_rows(X, rows, name)
        proba = _call(estimator, "predict_proba", _take_rows(X, target), rows.domain[target])
        if not _finite_or_warn(proba, name, "probabilities"):
            return -np.inf
        return -entr(proba).sum(axis=1).mean()


class SoftNeighborhoodDensityScorer(_DomainScorer):
    """Soft neighbourhood density: how tightly the target rows cluster in prediction space.

    Saito, Kim, Teterwak, Sclaroff, Darrell and Saenko (2021) L2-normalise the predicted class
    probabilities of the target rows, turn their similarities into a soft neighbourhood per
    row (a softmax with ``temperature`` over the other rows) and score the mean entropy of
    these neighbourhoods: high when target rows form dense clusters, each with its neighbours,
    as they do after a good adaptation. Greater is better; target labels are never read. The
    fold's target rows form an ``n x n`` similarity matrix: keep folds to a few thousand rows.

    Parameters
    ----------
    temperature : float, default=0.05
        The temperature of the softmax over similarities; 0.05 is the paper's value.

    See Also
    --------
    PredictionEntropyScorer : Rewards confident predictions on the target rows.

    References
    ----------
    .. [1] K. Saito, D. Kim, P. Teterwak, S. Sclaroff, T. Darrell and K. Saenko, "Tune it the
       Right Way: Unsupervised Validation of Domain Adaptation via Soft Neighborhood Density",
       ICCV 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.model_selection import SoftNeighborhoodDensityScorer
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(100, 2)); ys = (Xs[:, 0] > 0).astype(int)
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xs + 0.1, None))
    >>> clf = LogisticRegression().fit(Xs, ys)
    >>> float(SoftNeighborhoodDensityScorer()(clf, X, y, sample_domain=sample_domain)) > 0
    True
    """

    _parameter_constraints: dict = {"temperature": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, temperature=0.05):
        self.temperature = temperature
        super().__init__()

    def _score(self, estimator, X, y, rows):
        name = type(self).__name__
        _check_proba(estimator, name)
        target = _target_rows(X, rows, name)
        if target.size < 2:
            # A lone row has no neighbour: its softmax over no other row is NaN.
            raise ValueError(
                f"{name} needs at least 2 target rows in the validation fold, each the "
                f"neighbour of the others; target domain {rows.domain[target[0]]} has 1."
            )
        proba = _call(estimator, "predict_proba", _take_rows(X, target), rows.domain[target])
        if not _finite_or_warn(proba, name, "probabilities"):
            return -np.inf
        proba = proba / np.linalg.norm(proba, axis=1, keepdims=True)
        # In place, on one n x n array: the softmax of each row over its gaps to its most
        # similar neighbour, divided by the temperature only then (similarity / 5e-324
        # overflowed to inf, and the softmax of inf - inf scored NaN).
        neighbourhood = proba @ proba.T
        np.fill_diagonal(neighbourhood, -np.inf)  # a row is not its own neighbour
        neighbourhood -= neighbourhood.max(axis=1, keepdims=True)
        with np.errstate(over="ignore"):  # a gap over a tiny temperature is -inf: weight 0
            neighbourhood /= self.temperature
        np.exp(neighbourhood, out=neighbourhood)
        neighbourhood /= neighbourhood.sum(axis=1, keepdims=True)
        entropies = entr(neighbourhood).sum(axis=1)
        _warn_if_neighbourhoods_are_degenerate(entropies, self.temperature, name)
        return entropies.mean()


def _warn_if_neighbourhoods_are_degenerate(entropies, temperature, name):
    """Warn when every row's soft neighbourhood is one-hot or uniform.

    Either way the score no longer reads the predictions' clusters: temperature=1e-300 gave
    each row its nearest neighbour alone (a score of 0 for any model with distinct predictions)
    and temperature=1e300 every other row alike (``log(n - 1)`` for any model). Rows whose
    nearest neighbours tie share their mass, which still depends on the model.
    """
    if np.all(entropies <= 1e-12):
        shape = "one-hot: each row's only neighbour is the most similar one"
        advice = "Raise the temperature"
    elif np.allclose(entropies, np.log(len(entropies) - 1), rtol=1e-9, atol=0):
        shape = "uniform: every other row is as much a neighbour"
        advice = "Lower the temperature, or check that the predictions differ between rows"
    else:
        return
    warnings.warn(
        f"{name}: temperature={temperature} makes every target row's soft neighbourhood "
        f"{shape}, so the score does not depend on how the predictions cluster. {advice} "
        "(0.05 is the paper's value, for similarities between 0 and 1).",
        UserWarning,
        stacklevel=4,
    )


class ReverseValidationScorer(_DomainScorer):
    """Reverse (circular) validation: train back from the pseudo-labelled target to the source.

    Zhong, Fan, Yang, Verscheure and Ren (2010) label the fold's target rows with the model's
    predictions, train a copy of the model the other way round (the pseudo-labelled target rows
    as source, the source rows as unlabelled target) and score the reverse model's accuracy on
    the source rows' true labels. A setting that adapts well transfers its knowledge there and
    back. The reverse fit is ``clone(estimator).fit(X_reverse, y_reverse)`` with the source rows
    marked ``y == -1``, for an estimator that reads unlabelled rows that way
    (:class:`~sktransfer.domain_adaptation.DANNClassifier`, a
    :func:`~sktransfer.pipeline.make_da_pipeline`, scikit-learn's semi-supervised
    classifiers); any other classifier, which would learn ``-1`` as a class, is fitted back on
    the pseudo-labelled target rows alone. Target labels are never read. The score costs one
    fit per fold, on the fold's rows.

    See Also
    --------
    ImportanceWeightedScorer : A score without refitting.

    References
    ----------
    .. [1] E. Zhong, W. Fan, Q. Yang, O. Verscheure and J. Ren, "Cross Validation Framework to
       Choose amongst Models and Datasets for Transfer Learning", ECML PKDD 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.semi_supervised import SelfTrainingClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.model_selection import ReverseValidationScorer
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(100, 2)); ys = (Xs[:, 0] > 0).astype(int)
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xs + 0.1, None))
    >>> clf = SelfTrainingClassifier(LogisticRegression(), max_iter=1).fit(X, y)
    >>> round(ReverseValidationScorer()(clf, X, y, sample_domain=sample_domain), 2)
    0.99
    """

    def _score(self, estimator, X, y, rows):
        name = type(self).__name__
        source = _labelled_source_rows(rows, y, name)
        target = _target_rows(X, rows, name)
        X_target = _take_rows(X, target)
        y_source = y[source]
        if y_source.dtype.kind not in "iuf":
            raise ValueError(
                f"{name} marks the source rows of the reverse fit with y == -1, which needs "
                f"numeric labels; got labels of dtype {y_source.dtype}. Encode them first, for "
                "example with sklearn.preprocessing.LabelEncoder."
            )
        pseudo = np.asarray(_call(estimator, "predict", X_target, rows.domain[target]))
        if np.unique(pseudo).size < 2:
            warnings.warn(
                f"{name}: the model predicts one class, {pseudo[0]!r}, for every target row, "
                "so no reverse model can be trained; the score is the share of source rows of "
                "that class.",
                UserWarning,
                stacklevel=3,
            )
            return np.mean(y_source == pseudo[0])
        X_source = _take_rows(X, source)
        if learns_unlabelled_as_a_class(estimator):
            # A plain classifier learned the source rows' -1 as a class and predicted it for
            # most of them (0.15 where the model transfers well); it has no use for unlabelled
            # rows, so it is fitted back on the pseudo-labelled target rows alone.
            reverse = clone(estimator).fit(X_target, pseudo)
        else:
            X_reverse = _stack_rows(X_target, X_source)
            y_reverse = np.concatenate(
                [pseudo, np.full(source.size, UNLABELED, dtype=pseudo.dtype)]
            )
            reverse = clone(estimator).fit(X_reverse, y_reverse)
        # In the reverse fit the source rows were the target rows.
        as_target = np.full(source.size, -1)
        return np.mean(_call(reverse, "predict", X_source, as_target) == y_source)


class TargetAccuracyScorer(_DomainScorer):
    """Accuracy on the labelled target rows only: the oracle that target labels would give.

    Unsupervised adaptation has no target labels; benchmarks do. This scorer reads the target
    rows of the fold whose label is not ``-1`` and scores the estimator's accuracy on them,
    ignoring source rows and unlabelled rows, so that a benchmark can compare the settings the
    unsupervised scorers pick with the one the target labels would pick.

    See Also
    --------
    ImportanceWeightedScorer : An estimate of the same accuracy without target labels.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.model_selection import TargetAccuracyScorer
    >>> from sktransfer.utils import pack_domains
    >>> Xs = np.array([[0.0], [1.0]]); Xt = np.array([[0.2], [0.9], [0.1]])
    >>> X, y, sample_domain = pack_domains(source=(Xs, [0, 1]), target=(Xt, [0, 0, -1]))
    >>> clf = LogisticRegression().fit(Xs, [0, 1])
    >>> TargetAccuracyScorer()(clf, X, y, sample_domain=sample_domain)
    0.5
    """

    def _score(self, estimator, X, y, rows):
        if y is None:
            raise ValueError("TargetAccuracyScorer needs y: the labels of the target rows.")
        labelled = np.flatnonzero(rows.is_target & rows.labelled)
        if labelled.size == 0:
            raise ValueError(
                "TargetAccuracyScorer scores labelled target rows, and the fold holds none: "
                "every target row has y == -1."
            )
        predicted = _call(estimator, "predict", _take_rows(X, labelled), rows.domain[labelled])
        return np.mean(predicted == y[labelled])
