"""Related source and target tasks with a controllable shift, for instance-transfer experiments."""

import math

import numpy as np
from sklearn.datasets import make_classification
from sklearn.utils import check_random_state

from ._validation import check_count, check_finite_output, check_finite_scalar

__all__ = [
    "make_conditional_shift",
    "make_redrawn_classification",
    "make_shifted_classification",
    "make_shifted_regression",
]


def _check_shape_params(n_source, n_target, n_features, shifted_fraction, twist):
    check_count(n_source, "n_source", min_val=0)
    check_count(n_target, "n_target", min_val=0)
    check_count(n_features, "n_features", min_val=2)
    check_finite_scalar(shifted_fraction, "shifted_fraction", min_val=0.0, max_val=1.0)
    check_finite_scalar(twist, "twist")
    if abs(twist) > _MAX_TWIST:
        raise ValueError(
            f"twist must be at most {_MAX_TWIST:g} in magnitude; got {twist!r}. Beyond, float64 "
            "rounds the phase of the outer rows by more than a millionth of a radian, and from "
            "about 1e16 on the labels keep nothing of the angle (1e300 gave every row one class)."
        )


# |twist| * sqrt(2), the largest wound phase, has a float64 spacing of 2.4e-7 radians at 1e9.
_MAX_TWIST = 1e9


def _check_rotation(rotation):
    """``rotation`` in degrees, reduced exactly to ``(-360, 360)``: ``np.deg2rad`` of a huge
    rotation swamped the angle of every point (1e20 degrees gave the rotated rows one class),
    though a whole number of turns changes nothing. Smaller rotations are kept as given."""
    check_finite_scalar(rotation, "rotation")
    return math.fmod(rotation, 360.0) if abs(rotation) >= 360.0 else rotation


def _phase(X, rotation, twist):
    """The angle of each point, rotated by ``rotation`` radians and wound by ``twist``."""
    angle = np.arctan2(X[:, 1], X[:, 0])
    radius = np.hypot(X[:, 0], X[:, 1])
    return angle - rotation + twist * radius


def _draw_inputs(n_samples, n_features, random_state):
    # Features past the first two carry no signal: they make the target-only task harder.
    return random_state.uniform(-1.0, 1.0, size=(n_samples, n_features))


def _draw_shifted(n_source, shifted_fraction, random_state):
    return random_state.uniform(size=n_source) < shifted_fraction


def make_shifted_classification(
    n_source=1000,
    n_target=200,
    *,
    n_features=2,
    n_classes=2,
    rotation=90.0,
    shifted_fraction=0.3,
    twist=2.0,
    random_state=None,
):
    """Generate a source and a target classification task related by a rotated boundary.

    Both tasks live on the same two informative features, uniform on ``[-1, 1]^2``. The class of
    a point is the sector of its phase, its angle plus ``twist`` times its radius:
    ``n_classes`` equal sectors of the full turn, bent into a spiral around the origin. Target
    rows follow this concept. Most source rows follow it too; a random share
    ``shifted_fraction`` of them follows the same concept rotated by ``rotation`` degrees.

    Parameters
    ----------
    n_source : int, default=1000
        The number of source rows.

    n_target : int, default=200
        The number of target rows. Draw more than you train on and keep the rest to test.

    n_features : int, default=2
        The number of features; the first two are informative, the others uniform noise.

    n_classes : int, default=2
        The number of classes (sectors of the spiral).

    rotation : float, default=90.0
        The rotation, in degrees, of the concept followed by the shifted source rows. 0 makes
        the two tasks identical.

    shifted_fraction : float, default=0.3
        The share of source rows that follow the rotated concept. Above one half the rotated
        concept dominates the source rows where the two concepts disagree.

    twist : float, default=2.0
        How much the class boundaries wind around the origin, in radians per unit of radius.
        0 gives straight sectors; larger values need more rows to learn. At most 1e9 in
        magnitude, beyond which float64 cannot resolve the phase.

    random_state : int, RandomState instance or None, default=None
        Pass an int for reproducible output across multiple function calls.

    Returns
    -------
    X_source : ndarray of shape (n_source, n_features)
        The source rows.

    y_source : ndarray of shape (n_source,)
        The source labels, in ``0, ..., n_classes - 1``.

    X_target : ndarray of shape (n_target, n_features)
        The target rows.

    y_target : ndarray of shape (n_target,)
        The target labels.

    See Also
    --------
    make_shifted_regression : The regression counterpart.
    sktransfer.utils.pack_domains : Stack the two tasks into ``X, y, sample_domain``.

    Notes
    -----
    The baselines fail in known ways:

    * a model trained on the target rows alone lacks rows to trace the spiral;
    * a model trained on the source rows, or on source and target rows pooled, sees
      conflicting labels wherever the rotated concept disagrees with the target one; boosting
      (AdaBoost) then raises the weight of the conflicting rows as if they were hard cases;
    * instance transfer (TrAdaBoost) can find the conflicting source rows, lower their weight
      and keep the rest.

    Below ``shifted_fraction=0.5`` the target concept keeps the majority among the source rows
    everywhere, so a single unboosted model of the pooled rows suffers less than boosting does.

    Examples
    --------
    >>> from sktransfer.datasets import make_shifted_classification
    >>> Xs, ys, Xt, yt = make_shifted_classification(n_source=100, n_target=20, random_state=0)
    >>> Xs.shape, ys.shape, Xt.shape, yt.shape
    ((100, 2), (100,), (20, 2), (20,))
    >>> sorted(set(ys.tolist()))
    [0, 1]
    """
    _check_shape_params(n_source, n_target, n_features, shifted_fraction, twist)
    check_count(n_classes, "n_classes", min_val=2)
    rotation = _check_rotation(rotation)
    random_state = check_random_state(random_state)
    X_source = _draw_inputs(n_source, n_features, random_state)
    X_target = _draw_inputs(n_target, n_features, random_state)
    shifted = _draw_shifted(n_source, shifted_fraction, random_state)

    def sector(X, rotation_degrees):
        turns = _phase(X, np.deg2rad(rotation_degrees), twist) / (2 * np.pi)
        return np.floor(n_classes * np.mod(turns, 1.0)).astype(np.int64) % n_classes

    y_source = np.where(shifted, sector(X_source, rotation), sector(X_source, 0.0))
    return X_source, y_source, X_target, sector(X_target, 0.0)


def make_shifted_regression(
    n_source=1000,
    n_target=200,
    *,
    n_features=2,
    rotation=90.0,
    shifted_fraction=0.3,
    twist=2.0,
    noise=0.1,
    random_state=None,
):
    """Generate a source and a target regression task related by a rotated function.

    The target function is ``cos(phase)`` of the spiral phase (the angle of a point plus
    ``twist`` times its radius), times the radius so that it vanishes at the origin. Target
    rows follow it; a random share ``shifted_fraction`` of the source rows follows it rotated by
    ``rotation`` degrees. Gaussian noise of standard deviation ``noise`` is added to every label.

    Parameters
    ----------
    n_source : int, default=1000
        The number of source rows.

    n_target : int, default=200
        The number of target rows.

    n_features : int, default=2
        The number of features; the first two are informative, the others uniform noise.

    rotation : float, default=90.0
        The rotation, in degrees, of the function followed by the shifted source rows.

    shifted_fraction : float, default=0.3
        The share of source rows that follow the rotated function.

    twist : float, default=2.0
        How much the function winds around the origin, in radians per unit of radius. At
        most 1e9 in magnitude, beyond which float64 cannot resolve the phase.

    noise : float, default=0.1
        The standard deviation of the Gaussian noise added to the labels.

    random_state : int, RandomState instance or None, default=None
        Pass an int for reproducible output across multiple function calls.

    Returns
    -------
    X_source : ndarray of shape (n_source, n_features)
        The source rows.

    y_source : ndarray of shape (n_source,)
        The source labels.

    X_target : ndarray of shape (n_target, n_features)
        The target rows.

    y_target : ndarray of shape (n_target,)
        The target labels.

    See Also
    --------
    make_shifted_classification : The classification counterpart.

    Examples
    --------
    >>> from sktransfer.datasets import make_shifted_regression
    >>> Xs, ys, Xt, yt = make_shifted_regression(n_source=100, n_target=20, random_state=0)
    >>> Xs.shape, ys.shape, Xt.shape, yt.shape
    ((100, 2), (100,), (20, 2), (20,))
    """
    _check_shape_params(n_source, n_target, n_features, shifted_fraction, twist)
    rotation = _check_rotation(rotation)
    check_finite_scalar(noise, "noise", min_val=0.0)
    random_state = check_random_state(random_state)
    X_source = _draw_inputs(n_source, n_features, random_state)
    X_target = _draw_inputs(n_target, n_features, random_state)
    shifted = _draw_shifted(n_source, shifted_fraction, random_state)

    def value(X, rotation_degrees):
        radius = np.hypot(X[:, 0], X[:, 1])
        return radius * np.cos(_phase(X, np.deg2rad(rotation_degrees), twist))

    y_source = np.where(shifted, value(X_source, rotation), value(X_source, 0.0))
    with np.errstate(over="ignore", invalid="ignore"):
        y_source = y_source + noise * random_state.normal(size=n_source)
        y_target = value(X_target, 0.0) + noise * random_state.normal(size=n_target)
    check_finite_output([y_source, y_target], noise=noise)
    return X_source, y_source, X_target, y_target


def make_redrawn_classification(
    n_source=1000, n_target=200, *, n_features=2, class_sep=1.0, random_state=None
):
    """Generate source and target classification tasks whose class clusters are drawn apart.

    Each domain is drawn on its own by :func:`sklearn.datasets.make_classification`: one
    Gaussian cluster per class, centred on a random vertex of a hypercube, every feature
    informative. The target draw places its clusters anew, so the source concept says little
    about the target one, and the target labels are swapped (class 0 becomes class 1). Each
    domain is then min-max scaled to ``[0, 1]`` per feature on its own, so that the two
    domains cover the same range. This is the shape of ADAPT's ``make_classification_da``
    (de Mathelin et al., 2021), written anew with separate source and target sizes and shuffled
    rows.

    Parameters
    ----------
    n_source : int, default=1000
        The number of source rows.

    n_target : int, default=200
        The number of target rows. Draw more than you train on and keep the rest to test.

    n_features : int, default=2
        The number of features, all informative.

    class_sep : float, default=1.0
        How far apart the class clusters are, as in
        :func:`~sklearn.datasets.make_classification`; positive.

    random_state : int, RandomState instance or None, default=None
        Pass an int for reproducible output across multiple function calls.

    Returns
    -------
    X_source : ndarray of shape (n_source, n_features)
        The source rows.

    y_source : ndarray of shape (n_source,)
        The source labels, 0 or 1.

    X_target : ndarray of shape (n_target, n_features)
        The target rows, in random order.

    y_target : ndarray of shape (n_target,)
        The target labels, 0 or 1.

    See Also
    --------
    make_shifted_classification : Source rows that mostly agree with the target concept.

    Notes
    -----
    Here the source rows mislead rather than help: a model of the source rows alone is close
    to chance on the target, and a transfer method must learn mostly from the target rows
    without being dragged down by the many source rows. It tests that a method never ends
    below training on the target rows alone.

    References
    ----------
    .. [1] A. de Mathelin, F. Deheeger, G. Richard, M. Mougeot and N. Vayatis, "ADAPT: Awesome
           Domain Adaptation Python Toolbox", arXiv:2107.03049, 2021.

    Examples
    --------
    >>> from sktransfer.datasets import make_redrawn_classification
    >>> Xs, ys, Xt, yt = make_redrawn_classification(
    ...     n_source=100, n_target=20, n_features=4, random_state=0
    ... )
    >>> Xs.shape, Xt.shape, float(Xs.min()), float(Xs.max())
    ((100, 4), (20, 4), 0.0, 1.0)
    """
    check_count(n_source, "n_source", min_val=2)
    check_count(n_target, "n_target", min_val=2)
    check_count(n_features, "n_features", min_val=2)
    # make_classification wants class_sep > 0: 0 passed here and failed there, as its own.
    check_finite_scalar(class_sep, "class_sep", min_val=0.0, include_boundaries="neither")
    random_state = check_random_state(random_state)

    def draw(n_samples):
        X, y = make_classification(
            n_samples=n_samples,
            n_features=n_features,
            n_informative=n_features,
            n_redundant=0,
            n_repeated=0,
            n_classes=2,
            n_clusters_per_class=1,
            class_sep=class_sep,
            random_state=random_state,
        )
        low, high = X.min(axis=0), X.max(axis=0)
        return (X - low) / np.where(high > low, high - low, 1.0), y

    with np.errstate(over="ignore", invalid="ignore"):
        X_source, y_source = draw(n_source)
        X_target, y_target = draw(n_target)
    check_finite_output([X_source, X_target], class_sep=class_sep)
    return X_source, y_source, X_target, 1 - y_target


def make_conditional_shift(
    n_source=400,
    n_target=400,
    *,
    n_features=2,
    scale=0.7,
    offset=1.0,
    class_sep=2.0,
    random_state=None,
):
    """Generate a source and a target classification task whose inputs differ by an affine map.

    Both tasks draw their rows from one distribution: each of two classes is a mixture of two
    elongated Gaussian clusters in the first two features, the classes apart by ``class_sep``
    along the first feature; further features are standard Gaussian noise. The target rows
    are then multiplied by ``scale`` and moved by ``offset``, feature by feature: the
    distribution of the inputs given the class changes (a conditional shift, as in Moreno-Torres
    et al., 2012), the labelling rule in the source's units does not. A classifier trained on
    the source rows meets target rows in other units and at another place.

    Parameters
    ----------
    n_source : int, default=400
        The number of source rows.

    n_target : int, default=400
        The number of target rows. Draw more than you adapt on and keep the rest to test.

    n_features : int, default=2
        The number of features; the first two are informative, the others Gaussian noise.

    scale : float or array-like of shape (n_features,), default=0.7
        The factor of each target feature. 1 leaves the scale unchanged.

    offset : float or array-like of shape (n_features,), default=1.0
        Added to each target feature after scaling. 0 leaves the place unchanged.

    class_sep : float, default=2.0
        The distance between the class centres along the first feature. Larger is easier.

    random_state : int, RandomState instance or None, default=None
        Pass an int for reproducible output across multiple function calls.

    Returns
    -------
    X_source : ndarray of shape (n_source, n_features)
        The source rows.

    y_source : ndarray of shape (n_source,)
        The source labels, 0 or 1.

    X_target : ndarray of shape (n_target, n_features)
        The target rows, scaled and moved.

    y_target : ndarray of shape (n_target,)
        The target labels.

    See Also
    --------
    sktransfer.domain_adaptation.CORAL : Maps the source rows to the target's mean and
        covariance.
    sktransfer.utils.pack_domains : Stack the two tasks into ``X, y, sample_domain``.

    Notes
    -----
    Without the map, the two tasks are the same: a model trained on target rows reaches the
    accuracy of one trained on source rows. Aligning the covariances alone leaves the target
    rows moved by ``offset``; aligning the means as well undoes a scalar ``scale`` exactly.

    References
    ----------
    .. [1] J. G. Moreno-Torres, T. Raeder, R. Alaiz-Rodriguez, N. V. Chawla and F. Herrera,
           "A unifying view on dataset shift in classification", Pattern Recognition 45(1),
           2012.

    Examples
    --------
    >>> from sktransfer.datasets import make_conditional_shift
    >>> Xs, ys, Xt, yt = make_conditional_shift(n_source=100, n_target=50, random_state=0)
    >>> Xs.shape, ys.shape, Xt.shape, yt.shape
    ((100, 2), (100,), (50, 2), (50,))
    >>> bool(abs(Xt.mean() - Xs.mean()) > 0.5)
    True
    """
    check_count(n_source, "n_source", min_val=0)
    check_count(n_target, "n_target", min_val=0)
    check_count(n_features, "n_features", min_val=2)
    check_finite_scalar(class_sep, "class_sep", min_val=0.0)
    scale = _per_feature(scale, "scale", n_features)
    offset = _per_feature(offset, "offset", n_features)
    random_state = check_random_state(random_state)
    with np.errstate(over="ignore", invalid="ignore"):
        X_source, y_source = _draw_clusters(n_source, n_features, class_sep, random_state)
        X_target, y_target = _draw_clusters(n_target, n_features, class_sep, random_state)
        X_target = X_target * scale + offset
    check_finite_output([X_source, X_target], class_sep=class_sep, scale=scale, offset=offset)
    return X_source, y_source, X_target, y_target


# Two clusters per class in the first two features: centre (along the second feature) and
# the direction the cluster is stretched along, so that the covariance is not diagonal.
_CLUSTERS = ((-1.0, (1.0, 1.0)), (1.0, (1.0, -1.0)))


def _draw_clusters(n_samples, n_features, class_sep, random_state):
    y = random_state.randint(2, size=n_samples)
    cluster = random_state.randint(2, size=n_samples)
    X = random_state.normal(size=(n_samples, n_features))
    for index, (height, direction) in enumerate(_CLUSTERS):
        rows = cluster == index
        along = np.asarray(direction) / np.sqrt(2.0)
        stretch = 0.5 * random_state.normal(size=(np.count_nonzero(rows), 1))
        X[rows, :2] = 0.3 * X[rows, :2] + stretch * along + [0.0, height]
    X[:, 0] += np.where(y == 1, class_sep / 2, -class_sep / 2)
    return X, y.astype(np.int64)


def _per_feature(value, name, n_features):
    # Converting straight to float read the string "1.5" as 1.5, dropped the imaginary part
    # of complex values with a ComplexWarning, and failed on "abc" or a ragged list in NumPy's
    # words, naming nothing.
    try:
        array = np.asarray(value)
    except ValueError:  # a ragged list
        array = np.asarray(value, dtype=object)
    if array.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must be a real number or an array of {n_features} real numbers (one per "
            f"feature); got {type(value).__name__} of dtype {array.dtype}."
        )
    value = array.astype(float)
    if value.ndim == 0:
        value = np.full(n_features, float(value))
    if value.shape != (n_features,) or not np.all(np.isfinite(value)):
        raise ValueError(
            f"{name} must be a finite number or an array of {n_features} finite numbers (one "
            f"per feature); got shape {value.shape}."
        )
    return value
