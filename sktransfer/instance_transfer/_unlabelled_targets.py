"""Unlabelled rows of a regression task: a NaN ``y``, as in skada.

A regressor reads ``y == -1`` as a value, so the classifiers' mark of an unlabelled row cannot
serve; NaN, which no regression target takes, marks it instead.
"""

import numpy as np
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_consistent_length

from ..utils._sklearn import _check_sample_weight, _safe_indexing


def unlabelled_targets(y):
    """Boolean mask of the rows whose regression target is NaN (all False for other dtypes)."""
    y = np.asarray(y)
    if y.dtype.kind == "O":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            return np.zeros(y.shape[0], dtype=bool)
    if y.dtype.kind != "f" or y.ndim != 1:
        return np.zeros(y.shape[0], dtype=bool)
    return np.isnan(y)


def check_source_targets(not_finite, is_source, name, has_domains):
    """Refuse a NaN or infinite ``y`` on a source row, naming the rows.

    ``not_finite`` marks the rows whose ``y`` is NaN or infinite. NaN on a target row marks an
    unlabelled row and is handled by the caller; on a source row it reached the learner, which
    refused it without saying which rows, or why NaN is allowed elsewhere.
    """
    bad = np.flatnonzero(is_source & not_finite)
    if bad.size == 0:
        return
    shown = ", ".join(str(row) for row in bad[:5]) + (", ..." if bad.size > 5 else "")
    why = "positive sample_domain" if has_domains else "without sample_domain, every row is one"
    raise ValueError(
        f"y is NaN or infinite at rows {shown} of X ({bad.size} in all), which are source rows "
        f"({why}). {name} learns from the targets of the source rows, each of which needs a "
        "finite value. NaN marks an unlabelled target row: give such rows a negative "
        "sample_domain."
    )


class LabelledRegressionScoreMixin:
    """``score``: R^2 on the labelled rows only, leaving out rows whose ``y`` is NaN.

    Packed source and target rows carry NaN on unlabelled target rows; scoring them raised
    "Input contains NaN". Put it left of :class:`~sklearn.base.RegressorMixin`.
    """

    def score(self, X, y, sample_weight=None):
        """Return the coefficient of determination R^2 on the rows whose ``y`` is not NaN.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test rows.

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
        unlabelled = unlabelled_targets(y)
        if unlabelled.any():
            if unlabelled.all():
                raise ValueError(
                    f"Every one of the {unlabelled.shape[0]} rows has a NaN y, the mark of an "
                    "unlabelled row: there is nothing to score."
                )
            rows = np.flatnonzero(~unlabelled)
            X, y = _safe_indexing(X, rows), _safe_indexing(y, rows)
            if sample_weight is not None:
                sample_weight = sample_weight[rows]
        return r2_score(y, self.predict(X), sample_weight=sample_weight)
