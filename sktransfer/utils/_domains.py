"""Source and target rows in one ``X``: the ``sample_domain`` convention.

Positive ``sample_domain`` values mark source rows and negative values target rows, as in skada,
so that a :class:`~sklearn.pipeline.Pipeline` preprocesses both domains together. Unlabelled
target rows carry ``y == -1`` (scikit-learn's semi-supervised convention).
"""

import inspect
import os
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from PIL import Image
from sklearn.base import is_clusterer, is_outlier_detector
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import Pipeline
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_consistent_length

from ._sklearn import (
    BaseLabelPropagation,
    _check_sample_weight,
    _safe_indexing,
    check_same_label_kind,
)

__all__ = [
    "DomainRows",
    "LabelledRegressionScoreMixin",
    "LabelledScoreMixin",
    "check_sample_domain",
    "domain_rows",
    "handles_unlabelled_rows",
    "labelled_subset",
    "learns_unlabelled_as_a_class",
    "pack_domains",
    "pipeline_learns_unlabelled_rows",
    "split_domains",
]

SOURCE_DOMAIN = 1
TARGET_DOMAIN = -2
UNLABELED = -1


@dataclass(frozen=True)
class DomainRows:
    """Which rows are source, target, labelled and unlabelled: the library's one domain policy.

    Attributes
    ----------
    domain : ndarray of shape (n_samples,), dtype int64
        Positive for source rows (``1, 2, ...`` for several sources), negative for target rows.
    labelled : ndarray of shape (n_samples,), dtype bool
        Rows whose label is not ``-1``; all rows when no ``y`` was given.
    """

    domain: np.ndarray
    labelled: np.ndarray

    @property
    def is_source(self):
        """Boolean mask of the source rows."""
        return self.domain > 0

    @property
    def is_target(self):
        """Boolean mask of the target rows."""
        return self.domain < 0

    @property
    def has_target(self):
        """Whether any row is a target row."""
        return bool(self.is_target.any())


def domain_rows(y, sample_domain, n_samples, *, require_source_labels=True):
    """The one domain policy: which rows are source, target, labelled, unlabelled.

    ``sample_domain`` marks source rows (positive) and target rows (negative). Without it, rows
    with ``y == -1`` (or, for a regression, a NaN ``y``) are target rows and all others source
    rows; with neither, every row is a source row and the estimator trains as a plain
    supervised model. ``y == -1`` always means an unlabelled row, never a class.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or None
        Labels, ``-1`` for unlabelled rows.
    sample_domain : array-like of shape (n_samples,) or None
        Non-zero integers, see :func:`check_sample_domain`.
    n_samples : int
        The number of rows of ``X``.
    require_source_labels : bool, default=True
        Refuse source rows with ``y == -1``: a source row is labelled by definition.

    Returns
    -------
    DomainRows
        The domains and the labelled rows.

    Raises
    ------
    ValueError
        If ``sample_domain`` is invalid (see :func:`check_sample_domain`), or a source row is
        unlabelled while ``require_source_labels`` is set.

    Examples
    --------
    >>> from sktransfer.utils._domains import domain_rows
    >>> rows = domain_rows([0, 1, -1, -1], None, 4)
    >>> rows.is_target.tolist(), rows.labelled.tolist()
    ([False, False, True, True], [True, True, False, False])
    """
    if y is None:
        labelled = np.ones(n_samples, dtype=bool)
        domain = (
            np.full(n_samples, SOURCE_DOMAIN, dtype=np.int64)
            if sample_domain is None
            else check_sample_domain(sample_domain, n_samples)
        )
        return DomainRows(domain, labelled)
    if has_several_outputs(y):
        return _rows_of_several_outputs(np.asarray(y), sample_domain, n_samples)
    y = _as_labels(y, n_samples, "y")
    _warn_if_minus_one_is_a_string(y)
    if sample_domain is None and not require_source_labels:
        _warn_if_y_looks_like_sample_domain(y)
    labelled = ~is_unlabelled(y)
    domain = check_sample_domain(sample_domain, n_samples, y=y)
    unlabelled_source = ~labelled & (domain > 0)
    if require_source_labels and unlabelled_source.any():
        raise ValueError(
            f"{np.count_nonzero(unlabelled_source)} source rows (positive sample_domain) are "
            "unlabelled (y == -1): every source row needs a label. y == -1 marks unlabelled "
            "target rows, never a class."
        )
    return DomainRows(domain, labelled)


def has_several_outputs(y):
    """Whether ``y`` has several columns: the outputs of a multi-output regression."""
    shape = getattr(y, "shape", None)  # array-likes that refuse NumPy's functions have one
    if shape is None:
        shape = np.asarray(y).shape
    return len(shape) == 2 and shape[1] > 1


def _rows_of_several_outputs(y, sample_domain, n_samples):
    """The domain rows of a regression with several outputs: a row whose outputs are all NaN
    is unlabelled, and without ``sample_domain`` a target row."""
    if y.shape[0] != n_samples:
        raise ValueError(f"X has {n_samples} rows but y has {y.shape[0]}.")
    unlabelled = is_unlabelled_value(y)
    if sample_domain is None:
        domain = _domains_marked(unlabelled)
    else:
        domain = check_sample_domain(sample_domain, n_samples)
    return DomainRows(domain, ~unlabelled)


def _warn_if_minus_one_is_a_string(y):
    """String labels cannot mark unlabelled rows: a "-1" among them is learned as a class,
    which is rarely what was meant."""
    if y.dtype.kind in "USO" and (y.astype(str) == str(UNLABELED)).any():
        warnings.warn(
            f'y holds the string "{UNLABELED}", which is a class here: unlabelled rows are '
            f"marked by the number {UNLABELED}, which needs numeric labels. To leave those rows "
            "unlabelled, encode the labels first (sklearn.preprocessing.LabelEncoder) and set "
            f"them to {UNLABELED}.",
            UserWarning,
            stacklevel=3,
        )


def _warn_if_y_looks_like_sample_domain(y):
    """``sample_domain`` is keyword-only, and ``fit(X, sample_domain)`` put the domain codes in
    ``y``: with pack_domains' target code -2 no row was a target row, and an estimator that
    reads no labels adapted nothing without a word. Only codes as pack_domains numbers them
    warn (sources 1..k, then targets -(k + 1), -(k + 2)...): labels and regression targets
    rarely run so, and a warning on them would be noise."""
    if y.dtype.kind not in "if" or y.size == 0:
        return
    values = np.unique(y)
    if values.size > 10 or not np.isfinite(values).all():
        return
    k = np.count_nonzero(values > 0)
    codes = np.r_[-np.arange(values.size, k, -1), np.arange(1, k + 1)]
    if not 0 < k < values.size or not np.array_equal(values, codes):
        return
    warnings.warn(
        f"y holds negative values ({values[values < 0].tolist()}) but no {UNLABELED}, as "
        "sample_domain codes do, and every row was taken as a source row. sample_domain is "
        "keyword-only: call fit(X, y, sample_domain=sample_domain), or split(X, y, "
        "sample_domain=sample_domain).",
        UserWarning,
        stacklevel=4,
    )


def is_unlabelled(y):
    """Boolean mask of the rows with ``y == -1``; string labels are never unlabelled."""
    y = np.asarray(y)
    # Comparing string labels with -1 would raise a FutureWarning in NumPy and is never true.
    if y.dtype.kind not in "iuf":
        return np.zeros(y.shape[0], dtype=bool)
    return y == UNLABELED


def is_unlabelled_value(y):
    """Boolean mask of the rows whose regression target is NaN, the unlabelled rows of a
    regression (for a regressor, ``-1`` is a value like any other); all False for targets
    that cannot hold NaN."""
    y = np.asarray(y)
    if y.dtype.kind == "O":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            return np.zeros(y.shape[0], dtype=bool)
    if y.dtype.kind not in "fc" or y.ndim not in (1, 2):
        return np.zeros(y.shape[0], dtype=bool)
    if y.ndim == 2:  # several outputs: a row is unlabelled when none of them is known
        return np.isnan(y).all(axis=1)
    return np.isnan(y)


def pack_domains(source, target, *, regression=None):
    """Stack source and target rows into one ``X, y, sample_domain``.

    Source rows come first and get domain ``1``, target rows follow with domain ``-2`` (the
    numbering skada uses for one source and one target). Unlabelled target rows get ``y = -1``,
    or NaN when the source labels are a regression target (floats that are not all whole
    numbers), since a regressor reads ``-1`` as a value; skada marks them the same way.

    Parameters
    ----------
    source : tuple of (array-like of shape (n_source, n_features), array-like of shape \
(n_source,))
        The labelled source rows ``(X_source, y_source)``. A label ``-1`` among them warns:
        classifiers read it as an unlabelled row (regressors as a value).

    target : tuple of (array-like of shape (n_target, n_features), array-like of shape \
(n_target,) or None)
        The target rows ``(X_target, y_target)``; ``y_target=None`` marks them all unlabelled.
        Target labels must be of the source labels' kind, numbers or strings.

    regression : bool, default=None
        Whether ``y`` is a regression target, whose unlabelled rows are marked NaN rather than
        ``-1``. None tells from the source labels: floats that are not all whole numbers.
        Pass True for a regression whose values are whole numbers (counts, or the integer
        targets of scikit-learn's diabetes data), which would otherwise be marked ``-1``.

    Returns
    -------
    X : ndarray, sparse matrix, DataFrame, Series or list of shape (n_source + n_target, ...)
        Source rows then target rows. Two DataFrames give a DataFrame, two Series a Series
        (file paths, or a table's column), any sparse input a CSR matrix, lists of images (file
        paths, PIL images, or one array each, maybe of several sizes) a list, anything else a
        NumPy array.

    y : ndarray of shape (n_source + n_target,)
        Labels, ``-1`` (NaN for a regression target) for unlabelled target rows. Unsigned
        integer labels come back as the smallest signed integer type that holds them; uint64
        labels above the int64 range are refused.

    sample_domain : ndarray of shape (n_source + n_target,)
        ``1`` for source rows, ``-2`` for target rows.

    See Also
    --------
    split_domains : The inverse operation.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.utils import pack_domains
    >>> X, y, sample_domain = pack_domains(
    ...     source=(np.zeros((3, 2)), [0, 1, 1]), target=(np.ones((2, 2)), None)
    ... )
    >>> y
    array([ 0,  1,  1, -1, -1])
    >>> sample_domain
    array([ 1,  1,  1, -2, -2])
    """
    X_source, y_source = _unpack_pair(source, "source")
    X_target, y_target = _unpack_pair(target, "target")
    n_source, n_target = _num_rows(X_source), _num_rows(X_target)
    if regression is not None and not isinstance(regression, bool | np.bool_):
        raise TypeError(f"regression must be None, True or False; got {regression!r}.")
    y_source = _signed_labels(_as_labels(y_source, n_source, "y_source"), "source")
    if regression and y_source.dtype.kind not in "iufb":
        raise ValueError(
            f"regression=True needs numeric targets; y_source has dtype {y_source.dtype}."
        )
    continuous = _is_continuous(y_source) if regression is None else bool(regression)
    if continuous and y_source.dtype.kind in "iub":
        y_source = y_source.astype(np.float64)  # to hold the NaN of unlabelled rows
    unlabelled = np.flatnonzero(is_unlabelled(y_source))
    if unlabelled.size and not continuous:
        # Packed, such a row became an unlabelled source row, which every classifier left out
        # without a word. Not an error: -1 is an ordinary value of a regression target.
        warnings.warn(
            f"y_source holds -1 at rows {unlabelled[:5].tolist()}: classifiers read y == -1 as "
            "an unlabelled row, never a class, and will leave these source rows out (regressors "
            "read it as a value). If these are classes, encode them first, for example with "
            "sklearn.preprocessing.LabelEncoder.",
            UserWarning,
            stacklevel=2,
        )
    if y_target is None:
        if y_source.dtype.kind not in "iuf":
            raise ValueError(
                "Unlabelled target rows are marked y == -1, which needs numeric source labels; "
                f"got source labels of dtype {y_source.dtype}. Encode them first, for example "
                "with sklearn.preprocessing.LabelEncoder."
            )
        # A regressor reads -1 as a value: unlabelled regression rows are NaN, as in skada.
        marker = np.nan if continuous else UNLABELED
        y_target = np.full(n_target, marker, dtype=y_source.dtype)
    y_target = _signed_labels(_as_labels(y_target, n_target, "y_target"), "target")
    # NumPy joins number labels with string labels as strings: target labels 0, 1 next to
    # source labels "a", "b" became "0", "1", classes sharing nothing with the source's, which
    # every estimator then learned without a word.
    check_same_label_kind(y_source, y_target, "y_source", "y_target")

    X = _stack_rows(X_source, X_target)
    y = np.concatenate([y_source, y_target])
    sample_domain = np.concatenate(
        [np.full(n_source, SOURCE_DOMAIN), np.full(n_target, TARGET_DOMAIN)]
    )
    return X, y, sample_domain


def split_domains(X, y=None, sample_domain=None):
    """Split packed rows back into ``(X_source, y_source), (X_target, y_target)``.

    Parameters
    ----------
    X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
        Source and target rows together.

    y : array-like of shape (n_samples,), default=None
        Labels, ``-1`` for unlabelled target rows.

    sample_domain : array-like of shape (n_samples,), default=None
        Positive for source rows, negative for target rows. If None, the rows with
        ``y == -1`` (or a NaN ``y``) are the target rows and all others the source rows.

    Returns
    -------
    source : tuple
        ``(X_source, y_source)``; ``y_source`` is None when ``y`` is None.

    target : tuple
        ``(X_target, y_target)``; ``y_target`` is None when ``y`` is None or when every target
        row is unlabelled, so that ``pack_domains(*split_domains(...))`` round-trips.

    See Also
    --------
    pack_domains : The inverse operation.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.utils import split_domains
    >>> X = np.arange(8).reshape(4, 2)
    >>> (Xs, ys), (Xt, yt) = split_domains(X, [0, 1, -1, -1], sample_domain=[1, 1, -2, -2])
    >>> Xs.tolist(), ys.tolist(), Xt.tolist(), yt
    ([[0, 1], [2, 3]], [0, 1], [[4, 5], [6, 7]], None)
    """
    n_samples = _num_rows(X)
    if y is not None:
        y = _as_labels(y, n_samples, "y")
    is_source = check_sample_domain(sample_domain, n_samples, y=y) > 0
    source_rows, target_rows = np.flatnonzero(is_source), np.flatnonzero(~is_source)
    y_source = None if y is None else y[source_rows]
    y_target = None if y is None else y[target_rows]
    if y_target is not None and np.all(is_unlabelled(y_target) | is_unlabelled_value(y_target)):
        y_target = None
    return (_take_rows(X, source_rows), y_source), (_take_rows(X, target_rows), y_target)


def check_sample_domain(sample_domain, n_samples, y=None):
    """Validate ``sample_domain``, or derive it from ``y`` when it is None.

    Parameters
    ----------
    sample_domain : array-like of shape (n_samples,), int or None
        Non-zero integers: positive for source rows, negative for target rows; one integer
        puts every row in that domain (as skada takes it). If None, rows with ``y == -1`` (or
        a NaN ``y``, the mark of a regression) are target rows (domain ``-2``) and all others
        source rows (domain ``1``).

    n_samples : int
        The number of rows of ``X``.

    y : array-like of shape (n_samples,), default=None
        Labels; only read when ``sample_domain`` is None.

    Returns
    -------
    sample_domain : ndarray of shape (n_samples,), dtype int64
        The validated domains.

    Raises
    ------
    ValueError
        If ``sample_domain`` is not one-dimensional, has the wrong length, holds non-integer
        values or zeros, or if both ``sample_domain`` and ``y`` are None.

    Examples
    --------
    >>> from sktransfer.utils._domains import check_sample_domain
    >>> check_sample_domain(None, 4, y=[0, 1, -1, -1])
    array([ 1,  1, -2, -2])
    >>> check_sample_domain([1.0, -2.0], 2)
    array([ 1, -2])
    >>> check_sample_domain(-2, 3)
    array([-2, -2, -2])
    """
    if sample_domain is None:
        return _domain_from_labels(y, n_samples)
    sample_domain = np.asarray(sample_domain)
    if sample_domain.ndim == 0:  # one domain for every row, as skada takes it
        sample_domain = np.full(n_samples, sample_domain)
    if sample_domain.ndim != 1:
        raise ValueError(
            f"sample_domain must be one-dimensional; got an array of shape {sample_domain.shape}."
        )
    if sample_domain.shape[0] != n_samples:
        raise ValueError(
            f"sample_domain has {sample_domain.shape[0]} entries but X has {n_samples} rows."
        )
    sample_domain = _as_integers(sample_domain)
    if np.any(sample_domain == 0):
        raise ValueError(
            "sample_domain contains 0, which is neither a source (positive) nor a target "
            "(negative) domain."
        )
    return sample_domain


def _domain_from_labels(y, n_samples):
    if y is None:
        raise ValueError(
            "sample_domain is None and y is None: the domains cannot be derived. Pass "
            "sample_domain (positive for source rows, negative for target rows)."
        )
    y = _as_labels(y, n_samples, "y")
    # -1 marks the unlabelled rows of a classification, NaN those of a regression; class labels
    # are never NaN, so a y holding NaN is a regression's, where -1 is a value like any other.
    unlabelled = is_unlabelled_value(y)
    if not unlabelled.any():
        unlabelled = is_unlabelled(y)
    return _domains_marked(unlabelled)


def _domains_marked(unlabelled):
    """Target rows where ``unlabelled``, source rows elsewhere."""
    return np.where(unlabelled, TARGET_DOMAIN, SOURCE_DOMAIN).astype(np.int64)


def regression_domains(unlabelled, sample_domain):
    """``sample_domain``, or without it the domains that a regression's NaN targets mark
    (``unlabelled``, a mask or None): NaN rows are target rows and the others source rows. None
    when no target is NaN: the regressor then reads no domains, since ``-1`` is a value."""
    if sample_domain is not None or unlabelled is None or not np.any(unlabelled):
        return sample_domain
    return _domains_marked(unlabelled)


def _as_integers(sample_domain):
    kind = sample_domain.dtype.kind
    if kind in "iuf" and sample_domain.size:
        # Cast to int64, 2**63 wrapped to a negative domain: a source row became a target row.
        limits = np.iinfo(np.int64)
        outside = (sample_domain < limits.min) | (sample_domain > limits.max)
        if kind == "f":  # int64's largest value rounds up to 2**63 as a float
            outside |= sample_domain >= 2.0**63
        if outside.any():
            raise ValueError(
                f"sample_domain holds {sample_domain[outside][0]}, outside the range of a "
                "64-bit integer; number the domains with small integers (1, 2, ... for "
                "sources, -1, -2, ... for targets)."
            )
    if kind in "iu":
        return sample_domain.astype(np.int64)
    # Booleans would silently map False to the forbidden domain 0, so they are refused too.
    if kind == "f":
        finite = np.isfinite(sample_domain)
        if finite.all() and np.array_equal(sample_domain, np.round(sample_domain)):
            return sample_domain.astype(np.int64)
        bad = sample_domain[~finite | (sample_domain != np.round(sample_domain))][0]
        raise ValueError(f"sample_domain must hold integers; found {bad}.")
    raise ValueError(
        f"sample_domain must hold integers; got values of dtype {sample_domain.dtype}."
    )


def _unpack_pair(pair, name):
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise ValueError(f"{name} must be a pair (X_{name}, y_{name}); got {type(pair).__name__}.")
    X = pair[0]
    if X is None or isinstance(X, str | bytes) or not hasattr(X, "__len__"):
        raise TypeError(
            f"X_{name} must be an array-like, sparse matrix or DataFrame of rows; got "
            f"{type(X).__name__}."
        )
    return pair


def _as_labels(y, n_rows, name):
    """``name`` is the labels' name, ``y`` or ``y_<domain>``; their rows are ``X``'s or
    ``X_<domain>``'s."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {y.shape}.")
    if y.shape[0] != n_rows:
        rows = "X" + name.removeprefix("y")
        raise ValueError(f"{rows} has {n_rows} rows but {name} has {y.shape[0]} labels.")
    return y


def _is_continuous(y):
    """Whether ``y`` is a regression target: floats that are not all whole numbers."""
    if y.dtype.kind != "f":
        return False
    known = y[~np.isnan(y)]
    return known.size > 0 and type_of_target(known) == "continuous"


def _signed_labels(y, name):
    """Unsigned labels as the smallest signed integer type that holds them.

    Unsigned labels cannot hold -1, and NumPy turns uint64 joined with any signed type into
    float64, which rounds labels above 2**53 and can merge distinct classes.
    """
    if y.dtype.kind != "u":
        return y
    if y.dtype.itemsize < np.dtype(np.int64).itemsize:
        return y.astype(np.promote_types(y.dtype, np.int8))
    largest = np.iinfo(np.int64).max
    if y.size and y.max() > largest:
        raise ValueError(
            f"The labels of {name} hold {y.max()}, more than a signed 64-bit integer holds "
            f"({largest}); the packed labels are signed, as -1 marks unlabelled rows. Encode "
            "the labels first, for example with sklearn.preprocessing.LabelEncoder."
        )
    return y.astype(np.int64)


def _num_rows(X):
    if hasattr(X, "shape") and len(X.shape) > 0:
        return X.shape[0]
    return len(X)


def _stack_rows(X_source, X_target):
    if _is_image_list(X_source) or _is_image_list(X_target):
        return [*X_source, *X_target]
    if _is_series(X_source) and _is_series(X_target):
        import pandas as pd

        return pd.concat([X_source, X_target], ignore_index=True)
    if _is_dataframe(X_source) and _is_dataframe(X_target):
        import pandas as pd

        # concat aligns columns by name: other names would become extra columns of NaN.
        return pd.concat([X_source, aligned_columns(X_source, X_target)], ignore_index=True)
    if sp.issparse(X_source) or sp.issparse(X_target):
        X_source, X_target = sp.csr_matrix(X_source), sp.csr_matrix(X_target)
        _check_same_row_shape(X_source, X_target)
        return sp.vstack([X_source, X_target], format="csr")
    X_source, X_target = np.asarray(X_source), np.asarray(X_target)
    _check_same_row_shape(X_source, X_target)
    return np.concatenate([X_source, X_target])


def aligned_columns(X_source, X_target):
    """``X_target`` with its columns in the order of ``X_source``'s, when both are DataFrames;
    a ``ValueError`` when their column names differ."""
    if not (_is_dataframe(X_source) and _is_dataframe(X_target)):
        return X_target
    if set(X_source.columns) != set(X_target.columns):
        raise ValueError(
            f"Source rows have columns {list(X_source.columns)} but target rows "
            f"{list(X_target.columns)}; both domains need the same columns."
        )
    return X_target[list(X_source.columns)]


def _is_series(X):
    return hasattr(X, "iloc") and getattr(X, "ndim", None) == 1


def _is_dataframe(X):
    return hasattr(X, "iloc") and hasattr(X, "columns")


def _check_same_row_shape(X_source, X_target):
    if X_source.shape[1:] != X_target.shape[1:]:
        raise ValueError(
            f"Source rows have shape {X_source.shape[1:]} but target rows {X_target.shape[1:]}."
        )


def _is_image_list(X):
    """Whether X is a list of images that stays a list: file paths (or texts), PIL images
    (NumPy would read their pixels), or one array or tensor per image (of several sizes,
    which NumPy cannot stack)."""
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    first = X[0]
    return isinstance(first, (str, os.PathLike, Image.Image)) or getattr(first, "ndim", 0) >= 2


def _take_rows(X, rows):
    if _is_image_list(X):
        return [X[row] for row in rows]
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    if sp.issparse(X):
        return X[rows]
    return np.asarray(X)[rows]


def handles_unlabelled_rows(estimator):
    """Whether ``estimator`` reads ``y == -1`` as unlabelled rows rather than as a class.

    Domain-aware estimators (their ``fit`` takes ``sample_domain``), scikit-learn's
    semi-supervised classifiers and estimators marked ``_reads_unlabelled_rows`` do.
    """
    if getattr(estimator, "_reads_unlabelled_rows", False):
        return True
    if isinstance(estimator, SelfTrainingClassifier | BaseLabelPropagation):
        return True
    fit = getattr(estimator, "fit", None)
    return callable(fit) and "sample_domain" in inspect.signature(fit).parameters


def learns_unlabelled_as_a_class(estimator):
    """Whether ``estimator``, or a pipeline's final step, would learn ``y == -1`` as a class.

    A pipeline ending in ``"passthrough"`` or None learns no class at all, nor does one ending
    in a step that reads no ``y``: a transformer without ``predict`` (PCA), a clusterer or an
    outlier detector.
    """
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    if final in (None, "passthrough") or _reads_no_labels(final):
        return False
    return not handles_unlabelled_rows(final)


def _reads_no_labels(estimator):
    if not hasattr(estimator, "predict"):
        return True
    try:
        return is_clusterer(estimator) or is_outlier_detector(estimator)
    except AttributeError:  # no scikit-learn tags: it may learn y
        return False


def pipeline_learns_unlabelled_rows(max_depth=40):
    """Whether the caller runs inside a ``Pipeline`` whose final step learns ``y == -1``.

    Walks up the call stack to the nearest :class:`~sklearn.pipeline.Pipeline` being fitted and
    asks whether its final step reads ``y == -1`` as a class; False outside any pipeline. A
    transformer that sees unlabelled rows calls it to warn only when they would be learned.
    """
    frame = inspect.currentframe()
    try:
        for _ in range(max_depth):
            frame = frame.f_back
            if frame is None:
                return False
            owner = frame.f_locals.get("self")
            if isinstance(owner, Pipeline):
                return learns_unlabelled_as_a_class(owner)
        return False
    finally:
        del frame


def warn_if_pipeline_learns_unlabelled(estimator, rows):
    """Warn when ``estimator``, an adaptation transformer given the domain ``rows``, is fitted
    in a ``Pipeline`` whose final step will learn its unlabelled rows (``y == -1``) as a class."""
    n_unlabelled = np.count_nonzero(~rows.labelled)
    if n_unlabelled and pipeline_learns_unlabelled_rows():
        warnings.warn(
            f"{type(estimator).__name__} was given {n_unlabelled} unlabelled rows (y == -1) in "
            "a Pipeline whose final step learns -1 as a class. Build the pipeline with "
            "sktransfer.pipeline.make_da_pipeline, which fits the final classifier on the "
            "labelled rows only.",
            UserWarning,
            stacklevel=3,
        )


def warn_if_one_domain(estimator, rows, sample_domain, outcome):
    """Warn when ``sample_domain`` was given but marks the rows of one domain only: an
    adaptation step then has nothing to adapt, and says what it does instead (``outcome``).

    Without ``sample_domain`` (a plain supervised fit, scikit-learn's checks) it stays quiet.
    """
    if sample_domain is None:
        return
    if not rows.has_target:
        missing = "no target rows (negative values)"
    elif not rows.is_source.any():
        missing = "no source rows (positive values)"
    else:
        return
    warnings.warn(
        f"sample_domain marks {missing}: {type(estimator).__name__} has nothing to adapt, "
        f"and {outcome}. Pack source and target rows together, for example with "
        "sktransfer.utils.pack_domains.",
        UserWarning,
        stacklevel=3,
    )


def labelled_subset(X, y, *arrays, regression=False):
    """The rows of ``X``, ``y`` and each per-row array (or None) whose label is not ``-1``
    (with ``regression=True``: whose target is not NaN).

    Returns the inputs unchanged when every row is labelled; raises a ``ValueError`` when none
    is, since nothing can be scored or learned from them.
    """
    y = np.asarray(y)
    labelled = ~(is_unlabelled_value(y) if regression else is_unlabelled(y))
    if labelled.all():
        return (X, y, *arrays)
    if not labelled.any():
        marker = (
            "y is NaN): there is nothing to score or learn from. A NaN y marks the unlabelled "
            "rows of a regression."
            if regression
            else "y == -1): there is nothing to score or learn from. y == -1 marks unlabelled "
            "target rows, never a class."
        )
        raise ValueError(f"Every one of the {y.shape[0]} rows is unlabelled ({marker}")
    rows = np.flatnonzero(labelled)
    subsets = [None if a is None else _safe_indexing(a, rows) for a in arrays]
    return (_safe_indexing(X, rows), y[rows], *subsets)


class LabelledRegressionScoreMixin:
    """``score``: R^2 on the labelled rows only, leaving out rows whose ``y`` is NaN.

    Packed source and target rows of a regression carry NaN on unlabelled target rows;
    scoring them raised "Input contains NaN". Put it left of
    :class:`~sklearn.base.RegressorMixin`.
    """

    def score(self, X, y, sample_weight=None):
        """Return the coefficient of determination R^2 on the rows whose ``y`` is not NaN.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test rows, as the estimator's ``predict`` takes them.

        y : array-like of shape (n_samples,)
            True values; NaN marks unlabelled rows, which do not count.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights; those of the rows left out go with them.

        Returns
        -------
        score : float
            R^2 of ``self.predict(X)`` on the labelled rows.
        """
        if y is None:
            raise ValueError(f"{type(self).__name__}.score needs the true values y.")
        check_consistent_length(X, y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        X, y, sample_weight = labelled_subset(X, y, sample_weight, regression=True)
        return r2_score(y, self.predict(X), sample_weight=sample_weight)


class LabelledScoreMixin:
    """``score``: accuracy on the labelled rows only, for domain-aware classifiers.

    Packed source and target rows carry ``y == -1`` on unlabelled target rows; counting them
    as errors would make ``score``, ``cross_validate`` and ``GridSearchCV`` compare settings on
    a meaningless scale. Put it left of the classifier's other bases.
    """

    def score(self, X, y, sample_weight=None):
        """Return the accuracy on the labelled rows of ``X``; rows with ``y == -1`` are ignored.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test rows, as the estimator's ``predict`` takes them.

        y : array-like of shape (n_samples,)
            True labels; ``-1`` marks unlabelled rows, which do not count.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` on the labelled rows.
        """
        if y is None:  # an IndexError from labelled_subset before
            raise ValueError(f"{type(self).__name__}.score needs the true labels y.")
        if sample_weight is not None:
            # Another length raised an IndexError, or was sliced as if it were aligned.
            sample_weight = _check_sample_weight(sample_weight, X)
        X, y, sample_weight = labelled_subset(X, y, sample_weight)
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)
