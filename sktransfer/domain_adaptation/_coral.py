"""CORAL: re-colour the source features with the target covariance."""

from numbers import Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._domains import check_sample_domain
from ..utils._sklearn import Interval, _fit_context

__all__ = ["CORAL"]


class CORAL(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Correlation alignment: source features whitened, then coloured like the target's.

    CORAL (Sun, Feng and Saenko, 2016) aligns the second-order statistics of the two domains.
    It learns the linear map ``A = (C_s + reg I)^(-1/2) (C_t + reg I)^(1/2)`` from the
    covariance ``C_s`` of the source rows and ``C_t`` of the target rows, and multiplies the
    source rows by it; a classifier trained on the re-coloured source rows then applies to
    target rows as they are.

    Source and target rows travel in one ``X`` (see :func:`sktransfer.utils.pack_domains`):
    ``sample_domain`` is positive for source rows and negative for target rows, or, when it is
    None, rows with ``y == -1`` are target rows. Which rows are re-coloured:

    * ``fit_transform(X, y, sample_domain=...)``, as a :class:`~sklearn.pipeline.Pipeline`
      calls it during ``fit``: the source rows are re-coloured, the target rows pass unchanged;
    * ``transform(X)``, as a pipeline calls it during ``predict`` or ``score``: the rows are
      taken as target rows and pass unchanged;
    * ``transform(X, sample_domain=...)``: the source rows among ``X`` are re-coloured.

    Without any target row (no ``sample_domain`` and no ``y == -1``), there is nothing to
    align with and the map is the identity.

    In a pipeline, the step after CORAL receives the unlabelled target rows too, with
    ``y == -1``. Wrap the classifier in :class:`~sklearn.semi_supervised.SelfTrainingClassifier`
    with ``max_iter=0`` to fit it on the labelled rows only (a larger ``max_iter`` also
    pseudo-labels the target rows), as in the example below.

    Read more in the :ref:`API reference <api>`.

    Parameters
    ----------
    reg : float, default=1.0
        Added to the diagonal of both covariances before their square roots are taken. The
        paper adds the identity (``reg=1``), which assumes features of unit variance: put a
        :class:`~sklearn.preprocessing.StandardScaler` before CORAL.

    Attributes
    ----------
    recoloring_ : ndarray of shape (n_features, n_features)
        The map ``A``: source rows are multiplied by it on the right.

    source_covariance_ : ndarray of shape (n_features, n_features)
        The covariance of the source rows, before ``reg`` is added. Zero without source rows.

    target_covariance_ : ndarray of shape (n_features, n_features)
        The covariance of the target rows, before ``reg`` is added. Zero without target rows.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X` has feature names that
        are all strings.

    See Also
    --------
    sktransfer.domain_adaptation.DANNClassifier : A learned domain-invariant representation.
    proxy_a_distance : How well a linear classifier tells the two domains apart.

    Notes
    -----
    CORAL aligns covariances only, not means, as in the paper. The map is computed with the
    symmetric eigendecomposition of each covariance (:func:`scipy.linalg.eigh`), whose
    eigenvalues are at least ``reg``, so the inverse square root exists for any ``reg > 0``.

    References
    ----------
    .. [1] B. Sun, J. Feng and K. Saenko, "Return of Frustratingly Easy Domain Adaptation",
           AAAI 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn import set_config
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.semi_supervised import SelfTrainingClassifier
    >>> from sktransfer.domain_adaptation import CORAL
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.RandomState(0)
    >>> Xs = rng.normal(size=(200, 2)); ys = (Xs.sum(axis=1) > 0).astype(int)
    >>> Xt = rng.normal(size=(200, 2)); yt = (Xt.sum(axis=1) > 0).astype(int)
    >>> Xt = Xt * [1.0, 5.0]  # the target's second feature is measured in other units
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    >>> set_config(enable_metadata_routing=True)
    >>> model = make_pipeline(
    ...     CORAL().set_fit_request(sample_domain=True).set_transform_request(sample_domain=True),
    ...     SelfTrainingClassifier(LogisticRegression(), max_iter=0),
    ... )
    >>> model = model.fit(X, y, sample_domain=sample_domain)
    >>> print(f"target accuracy: {model.score(Xt, yt):.2f}")
    target accuracy: 0.96
    >>> print(f"without CORAL: {LogisticRegression().fit(Xs, ys).score(Xt, yt):.2f}")
    without CORAL: 0.84
    >>> set_config(enable_metadata_routing=False)
    """

    _parameter_constraints: dict = {"reg": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, reg=1.0):
        self.reg = reg

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, sample_domain=None):
        """Learn the re-colouring map from the source and target covariances.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows together.

        y : array-like of shape (n_samples,), default=None
            Labels, ``-1`` for unlabelled target rows. Only read to find the target rows when
            ``sample_domain`` is None.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows. Requested through metadata
            routing (``set_fit_request(sample_domain=True)``).

        Returns
        -------
        self : object
            Fitted transformer.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        is_source = _source_rows(X.shape[0], y, sample_domain)
        n_features = X.shape[1]
        self.source_covariance_ = _covariance(X[is_source], n_features)
        self.target_covariance_ = _covariance(X[~is_source], n_features)
        if is_source.all() or not is_source.any():
            self.recoloring_ = np.eye(n_features, dtype=X.dtype)
            return self
        whitening = _matrix_power(self.source_covariance_, self.reg, -0.5)
        colouring = _matrix_power(self.target_covariance_, self.reg, 0.5)
        self.recoloring_ = (whitening @ colouring).astype(X.dtype, copy=False)
        return self

    def transform(self, X, sample_domain=None):
        """Re-colour the source rows of ``X``; other rows pass unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to transform.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows. If None, every row is a
            target row and ``X`` is returned unchanged (as a validated array), which is what a
            pipeline needs at prediction time. Requested through metadata routing
            (``set_transform_request(sample_domain=True)``).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            The rows, source rows re-coloured.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False, copy=True)
        if sample_domain is None:
            return X
        is_source = check_sample_domain(sample_domain, X.shape[0]) > 0
        X[is_source] = X[is_source] @ self.recoloring_
        return X

    def fit_transform(self, X, y=None, *, sample_domain=None):
        """Fit, then re-colour the source rows of ``X``; target rows pass unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows together.

        y : array-like of shape (n_samples,), default=None
            Labels, ``-1`` for unlabelled target rows; marks the target rows when
            ``sample_domain`` is None.

        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            The rows, source rows re-coloured.
        """
        self.fit(X, y, sample_domain=sample_domain)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False, copy=True)
        is_source = _source_rows(X.shape[0], y, sample_domain)
        X[is_source] = X[is_source] @ self.recoloring_
        return X


def _source_rows(n_samples, y, sample_domain):
    """Source rows from ``sample_domain`` or ``y == -1``; all rows when neither is given."""
    if sample_domain is None and y is None:
        return np.ones(n_samples, dtype=bool)
    return check_sample_domain(sample_domain, n_samples, y=y) > 0


def _covariance(X, n_features):
    if X.shape[0] == 0:
        return np.zeros((n_features, n_features))
    centered = X - X.mean(axis=0)
    # One row has no spread: its covariance is zero rather than the NaN of ddof=1.
    return centered.T @ centered / max(X.shape[0] - 1, 1)


def _matrix_power(covariance, reg, power):
    """``(covariance + reg I) ** power`` for a symmetric positive semi-definite covariance."""
    eigenvalues, eigenvectors = linalg.eigh(covariance)
    # Rounding can leave tiny negative eigenvalues in a singular covariance.
    eigenvalues = np.clip(eigenvalues, 0.0, None) + reg
    return (eigenvectors * eigenvalues**power) @ eigenvectors.T
