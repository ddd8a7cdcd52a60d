"""CORAL: move and re-colour the source features to the target mean and covariance."""

import warnings
from numbers import Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..utils._atomic import atomic_fit
from ..utils._domains import (
    check_sample_domain,
    domain_rows,
    has_several_outputs,
    warn_if_one_domain,
    warn_if_pipeline_learns_unlabelled,
)
from ..utils._sklearn import Interval, _fit_context

__all__ = ["CORAL"]


class CORAL(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Correlation alignment: source features centred, whitened, then coloured like the target's.

    CORAL (Sun, Feng and Saenko, 2016) aligns the second-order statistics of the two domains.
    It learns the linear map ``A = (C_s + reg I)^(-1/2) (C_t + reg I)^(1/2)`` from the
    covariance ``C_s`` of the source rows and ``C_t`` of the target rows. A source row ``x``
    becomes ``(x - m_s) A + m_t``, with ``m_s`` and ``m_t`` the source and target means, so
    that the source rows take both the mean and the covariance of the target rows; a
    classifier trained on them then applies to target rows as they are. With
    ``align_means=False`` a source row becomes ``x A``, the covariance-only map of the paper,
    which leaves a shift between the domain means in place.

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

    Several source domains (``sample_domain`` 1, 2, ...) are pooled into one source.

    In a pipeline, the step after CORAL receives the unlabelled target rows too, with
    ``y == -1``; a plain classifier would learn ``-1`` as a class. Build the pipeline with
    :func:`sktransfer.pipeline.make_da_pipeline`, which fits the final classifier on the
    labelled rows only and passes ``sample_domain`` to CORAL, as in the example below.
    ``fit_transform`` warns when it is given unlabelled rows in a pipeline whose final step
    would learn them.

    Read more in the :ref:`API reference <api>`.

    Parameters
    ----------
    reg : float, default=1.0
        Added to the diagonal of both covariances before their square roots are taken. The
        paper adds the identity (``reg=1``), which assumes features of unit variance: put a
        :class:`~sklearn.preprocessing.StandardScaler` before CORAL. A ``reg`` over 10,000
        times the largest variance leaves the map about the identity, and ``fit`` warns.

    align_means : bool, default=True
        Move the source rows to the target mean as well as re-colouring them. False gives the
        covariance-only map of the paper, for features whose domains already share a mean.

    Attributes
    ----------
    recoloring_ : ndarray of shape (n_features, n_features)
        The map ``A``: source rows are multiplied by it on the right.

    source_mean_ : ndarray of shape (n_features,)
        The mean of the source rows. Zero without source rows.

    target_mean_ : ndarray of shape (n_features,)
        The mean of the target rows. Zero without target rows.

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
    The paper aligns covariances only: a classifier trained on the re-coloured source rows
    then still meets target rows centred elsewhere, and on domains that differ by a shift of
    the mean it does no better than no adaptation. Aligning the means too (the default) is
    what a user centring each domain by hand would do, and is exact for a target that is an
    affine image of the source with a map that commutes with the source covariance (and
    ``reg`` small). The map is computed with the symmetric eigendecomposition of each
    covariance (:func:`scipy.linalg.eigh`), whose eigenvalues are at least ``reg``, so the
    inverse square root exists for any ``reg > 0``.

    References
    ----------
    .. [1] B. Sun, J. Feng and K. Saenko, "Return of Frustratingly Easy Domain Adaptation",
           AAAI 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.domain_adaptation import CORAL
    >>> from sktransfer.pipeline import make_da_pipeline
    >>> from sktransfer.utils import pack_domains
    >>> rng = np.random.RandomState(0)
    >>> Xs = rng.normal(size=(200, 2)); ys = (Xs.sum(axis=1) > 0).astype(int)
    >>> Xt = rng.normal(size=(200, 2)); yt = (Xt.sum(axis=1) > 0).astype(int)
    >>> Xt = Xt * [1.0, 5.0] + [3.0, 0.0]  # the target is measured in other units
    >>> X, y, sample_domain = pack_domains(source=(Xs, ys), target=(Xt, None))
    >>> model = make_da_pipeline(CORAL(), LogisticRegression())
    >>> model = model.fit(X, y, sample_domain=sample_domain)
    >>> print(f"target accuracy: {model.score(Xt, yt):.3f}")
    target accuracy: 0.935
    >>> paper = make_da_pipeline(CORAL(align_means=False), LogisticRegression())
    >>> paper = paper.fit(X, y, sample_domain=sample_domain)
    >>> print(f"covariances only: {paper.score(Xt, yt):.3f}")
    covariances only: 0.505
    >>> print(f"without CORAL: {LogisticRegression().fit(Xs, ys).score(Xt, yt):.3f}")
    without CORAL: 0.735
    """

    _parameter_constraints: dict = {
        "reg": [Interval(Real, 0, None, closed="neither")],
        "align_means": ["boolean"],
    }

    def __init__(self, reg=1.0, align_means=True):
        self.reg = reg
        self.align_means = align_means

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, sample_domain=None):
        """Learn the map from the source and target means and covariances.

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
        rows = _rows(X, y, sample_domain)
        warn_if_one_domain(self, rows, sample_domain, _IDENTITY)
        return self._fit(X, rows.is_source)

    def _fit(self, X, is_source):
        n_features = X.shape[1]
        self.source_mean_ = _mean(X[is_source], n_features)
        self.target_mean_ = _mean(X[~is_source], n_features)
        self.source_covariance_ = _covariance(X[is_source], n_features)
        self.target_covariance_ = _covariance(X[~is_source], n_features)
        if is_source.all() or not is_source.any():
            self.recoloring_ = np.eye(n_features, dtype=X.dtype)
            # Nothing to align with: source rows pass unchanged, means included.
            self.target_mean_ = self.source_mean_
            return self
        _warn_if_reg_swamps_the_covariances(
            self.reg, self.source_covariance_, self.target_covariance_
        )
        whitening = _matrix_power(self.source_covariance_, self.reg, -0.5)
        colouring = _matrix_power(self.target_covariance_, self.reg, 0.5)
        self.recoloring_ = (whitening @ colouring).astype(X.dtype, copy=False)
        return self

    def transform(self, X, sample_domain=None):
        """Map the source rows of ``X`` onto the target; other rows pass unchanged.

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
            The rows, source rows mapped onto the target.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False, copy=True)
        if sample_domain is None:
            return X
        is_source = check_sample_domain(sample_domain, X.shape[0]) > 0
        X[is_source] = self._map_source(X[is_source])
        return X

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, *, sample_domain=None):
        """Fit, then map the source rows of ``X`` onto the target; target rows pass unchanged.

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
            The rows, source rows mapped onto the target.

        Warns
        -----
        UserWarning
            If ``y`` marks unlabelled rows (``y == -1``) and CORAL is a step of a
            :class:`~sklearn.pipeline.Pipeline` whose final step would learn ``-1`` as a class
            (a plain classifier). :func:`~sktransfer.pipeline.make_da_pipeline` builds one
            whose final classifier trains on the labelled rows only.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32], copy=True)
        rows = _rows(X, y, sample_domain)
        warn_if_one_domain(self, rows, sample_domain, _IDENTITY)
        self._fit(X, rows.is_source)
        warn_if_pipeline_learns_unlabelled(self, rows)
        X[rows.is_source] = self._map_source(X[rows.is_source])
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # float32 rows are mapped in float32, as PCA maps them.
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _map_source(self, X_source):
        mapped = X_source @ self.recoloring_
        if self.align_means:
            # (x - m_s) A + m_t, with the offset computed once; it is exactly zero for the
            # identity map fitted without target rows.
            mapped += (self.target_mean_ - self.source_mean_ @ self.recoloring_).astype(
                X_source.dtype, copy=False
            )
        return mapped


_IDENTITY = "its map is the identity: every row passes unchanged"


def _rows(X, y, sample_domain):
    """The library's domain policy. CORAL reads no labels (as TCA and subspace alignment), so
    a source row may carry y == -1: it is still a source row, told apart by sample_domain."""
    return domain_rows(_labels(y), sample_domain, X.shape[0], require_source_labels=False)


def _labels(y):
    # A column of labels is taken as the labels, as scikit-learn's classifiers take it; the
    # several columns of a regression with several outputs stay as they are.
    if y is None or has_several_outputs(y):
        return y
    return column_or_1d(y)


def _mean(X, n_features):
    if X.shape[0] == 0:
        return np.zeros(n_features)
    return X.mean(axis=0)


def _covariance(X, n_features):
    if X.shape[0] == 0:
        return np.zeros((n_features, n_features))
    centered = X - X.mean(axis=0)
    # One row has no spread: its covariance is zero rather than the NaN of ddof=1.
    return centered.T @ centered / max(X.shape[0] - 1, 1)


# Above this multiple of the largest variance, reg leaves the map within a ten-thousandth of
# the identity.
_REG_SWAMP_RATIO = 1e4


def _warn_if_reg_swamps_the_covariances(reg, source_covariance, target_covariance):
    """Warn when ``reg`` dwarfs both covariances: the map is then about the identity.

    ``reg`` is in the features' squared units: the default 1 on features of 1e-8 (or
    reg=1e300 on any features) left every source row where it was but for the means, without
    a word, where the same features in other units were re-coloured.
    """
    largest = max(
        np.abs(np.diag(source_covariance)).max(), np.abs(np.diag(target_covariance)).max()
    )
    if largest > 0 and reg > _REG_SWAMP_RATIO * largest:
        warnings.warn(
            f"CORAL's reg={reg} is {reg / largest:.3g} times the largest variance of the "
            f"features ({largest:.3g}), so the re-colouring is about the identity: only the "
            "means are aligned. reg is in the features' squared units: lower it (to about "
            f"{largest * 1e-3:.3g}), or standardise the features.",
            UserWarning,
            stacklevel=4,
        )


def _matrix_power(covariance, reg, power):
    """``(covariance + reg I) ** power`` for a symmetric positive semi-definite covariance."""
    eigenvalues, eigenvectors = linalg.eigh(covariance)
    # Rounding can leave tiny negative eigenvalues in a singular covariance.
    eigenvalues = np.clip(eigenvalues, 0.0, None) + reg
    return (eigenvectors * eigenvalues**power) @ eigenvectors.T
