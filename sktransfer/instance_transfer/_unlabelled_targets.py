"""Unlabelled rows of a regression task: a NaN ``y``, as in skada.

A regressor reads ``y == -1`` as a value, so the classifiers' mark of an unlabelled row cannot
serve; NaN, which no regression target takes, marks it instead.
"""

import numpy as np


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
    why = (
        "positive sample_domain"
        if has_domains
        else "without sample_domain, every row whose y is not NaN is one"
    )
    raise ValueError(
        f"y is NaN or infinite at rows {shown} of X ({bad.size} in all), which are source rows "
        f"({why}). {name} learns from the targets of the source rows, each of which needs a "
        "finite value. NaN marks an unlabelled target row: give such rows a negative "
        "sample_domain."
    )
