"""Diagnostics of a domain shift: how far apart two domains are in a representation."""

from numbers import Integral

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state, check_scalar
from sklearn.utils.validation import check_array

from ..utils._domains import aligned_columns
from ..utils._sklearn import HasMethods, validate_parameter_constraints

__all__ = ["proxy_a_distance"]


def proxy_a_distance(X_source, X_target, *, estimator=None, cv=5, random_state=None):
    """Estimate the proxy A-distance between two domains from their features.

    Ben-David et al. bound the target error of a classifier by its source error plus the
    A-distance between the domains, which the proxy A-distance estimates (Ben-David et al.,
    2007; Ganin et al., 2016): train a classifier to tell source rows from target rows, measure
    its held-out error ``err``, and return ``2 (1 - 2 err)``. Domains the classifier cannot tell
    apart give 0; domains it separates perfectly give 2. A representation that adapts (as
    :class:`~sktransfer.domain_adaptation.DANNClassifier` learns) lowers the distance.

    Parameters
    ----------
    X_source : array-like of shape (n_source, n_features)
        The source rows, in the representation to measure.

    X_target : array-like of shape (n_target, n_features)
        The target rows, in the same representation. Two DataFrames are matched by column
        name.

    estimator : classifier, default=None
        The domain classifier. If None, a :class:`~sklearn.preprocessing.StandardScaler`
        followed by a :class:`~sklearn.linear_model.LogisticRegression`: a linear classifier,
        as in the references.

    cv : int, default=5
        The number of stratified folds; every row is predicted by a classifier that did not
        see it.

    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling of the folds. Pass an int for reproducible output across multiple
        function calls.

    Returns
    -------
    distance : float
        The proxy A-distance, in ``[0, 2]``.

    See Also
    --------
    CORAL : Re-colour the source features with the target covariance.

    Notes
    -----
    ``err`` is the balanced error (one minus :func:`~sklearn.metrics.balanced_accuracy_score`)
    of the out-of-fold predictions, so that domains of different sizes do not lower it: a
    classifier that always answers "source" has ``err = 0.5`` whatever the sizes, as with the
    equal-sized samples of the references. A classifier worse than chance (``err > 0.5``) says
    the domains cannot be told apart, and the distance is clipped at 0.

    References
    ----------
    .. [1] S. Ben-David, J. Blitzer, K. Crammer and F. Pereira, "Analysis of Representations
           for Domain Adaptation", NIPS 2007.

    .. [2] S. Ben-David, J. Blitzer, K. Crammer, A. Kulesza, F. Pereira and J. W. Vaughan,
           "A theory of learning from different domains", Machine Learning 79, 2010.

    .. [3] Y. Ganin, E. Ustinova, H. Ajakan, P. Germain, H. Larochelle, F. Laviolette,
           M. Marchand and V. Lempitsky, "Domain-Adversarial Training of Neural Networks",
           JMLR 17(59), 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.domain_adaptation import proxy_a_distance
    >>> rng = np.random.RandomState(0)
    >>> same = proxy_a_distance(rng.normal(size=(200, 5)), rng.normal(size=(200, 5)),
    ...                         random_state=0)
    >>> apart = proxy_a_distance(rng.normal(size=(200, 5)), rng.normal(3, 1, size=(200, 5)),
    ...                          random_state=0)
    >>> print(f"{same:.1f} {apart:.1f}")
    0.0 2.0
    """
    # Matched by name, as pack_domains matches them: by position, the same data with its
    # columns in another order looked as far apart as two domains can be.
    X_target = aligned_columns(X_source, X_target)
    X_source = check_array(X_source, input_name="X_source")
    X_target = check_array(X_target, input_name="X_target")
    if X_source.shape[1] != X_target.shape[1]:
        raise ValueError(
            f"X_source has {X_source.shape[1]} features but X_target has {X_target.shape[1]}; "
            "both domains must be in the same representation."
        )
    check_scalar(cv, "cv", Integral, min_val=2)
    for name, X in (("X_source", X_source), ("X_target", X_target)):
        if X.shape[0] < cv:
            raise ValueError(f"{name} has {X.shape[0]} rows, fewer than the cv={cv} folds.")
    validate_parameter_constraints(
        {"estimator": [HasMethods(["fit", "predict"]), None], "random_state": ["random_state"]},
        {"estimator": estimator, "random_state": random_state},
        caller_name="proxy_a_distance",
    )
    if estimator is None:
        estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    elif not is_classifier(estimator):
        # A regressor's predictions would be scored as domain labels, and failed inside
        # balanced_accuracy_score after the whole cross-validation.
        raise TypeError(f"estimator must be a classifier of the domain; got {estimator!r}.")
    X = np.vstack([X_source, X_target])
    is_target = np.r_[np.zeros(X_source.shape[0], int), np.ones(X_target.shape[0], int)]
    folds = StratifiedKFold(cv, shuffle=True, random_state=check_random_state(random_state))
    predicted = cross_val_predict(clone(estimator), X, is_target, cv=folds)
    error = 1.0 - balanced_accuracy_score(is_target, predicted)
    return float(max(0.0, 2.0 * (1.0 - 2.0 * error)))
