"""A class-attribute table for the ten animal silhouettes, written from common knowledge."""

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

# Graded from 0 (absent) to 1 (marked), for the typical adult animal: how much each class shows
# an attribute that a silhouette can show. Classes in the order of ``load_animal_silhouettes``.
_CLASSES = ("bear", "bird", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra")
_ATTRIBUTES = {
    #               bear bird  cat  cow  dog  elep gira hors shee zebr
    "four_legs":     (1,   0,   1,   1,   1,   1,   1,   1,   1,   1),
    "wings":         (0,   1,   0,   0,   0,   0,   0,   0,   0,   0),
    "beak":          (0,   1,   0,   0,   0,   0,   0,   0,   0,   0),
    "long_neck":     (0,  .2,   0,  .1,  .1,   0,   1,  .5,  .1,  .5),
    "long_legs":     (.2, .1,  .3,  .5,  .5,  .4,   1,  .8,  .3,  .8),
    "size":          (.6,  0,  .1,  .7,  .2,   1,  .8,  .7,  .3,  .6),
    "trunk":         (0,   0,   0,   0,   0,   1,   0,   0,   0,   0),
    "big_ears":      (0,   0,   0,  .3,  .3,   1,   0,   0,   0,   0),
    "pointed_ears":  (0,   0,   1,  .3,  .7,   0,  .3,  .7,   0,  .7),
    "bulky_body":    (1,   0,   0,  .6,   0,   1,   0,  .3,  .8,  .3),
    "woolly":        (.5,  0,  .2,   0,  .2,   0,   0,   0,   1,   0),
    "thick_legs":    (.8,  0,   0,  .4,   0,   1,   0,   0,  .2,   0),
    "long_tail":     (0,  .5,   1,  .6,  .7,  .3,  .4,  .8,  .2,  .6),
    "hooves":        (0,   0,   0,   1,   0,   0,   1,   1,   1,   1),
    "paws":          (1,   0,   1,   0,   1,   0,   0,   0,   0,   0),
    "horns":         (0,   0,   0,   1,   0,   0,  .5,   0,  .3,   0),
    "mane":          (0,   0,   0,   0,   0,   0,  .3,   1,   0,   1),
    "stripes":       (0,   0,   0,   0,   0,   0,   0,   0,   0,   1),
    "spots":         (0,   0,   0,  .5,   0,   0,   1,   0,   0,   0),
    "long_muzzle":   (.5,  0,  .1,  .6,  .6,   0,  .6,   1,  .4,   1),
    "straight_back": (.3,  0,  .3,   1,  .5,  .5,   0,  .7,  .6,  .7),
    "shoulder_hump": (1,   0,   0,   0,   0,  .3,  .5,   0,   0,   0),
}  # fmt: skip

_DESCR = """\
Animal attributes
-----------------

A class-attribute table for the 10 classes of the animal silhouettes (bear, bird, cat, cow, dog,
elephant, giraffe, horse, sheep, zebra; rows in that order) and {n} attributes: {names}.

The table was written for sktransfer from common knowledge, not measured. Each entry grades how
much the typical adult animal shows the attribute, from 0 (absent) to 1 (marked): a horse's neck
is half as long as a giraffe's for this table (``long_neck`` 0.5 against 1), a giraffe's
ossicones are half horns, a Holstein cow is half spotted, ``size`` runs from the bird (0) to the
elephant (1). The attributes are those a silhouette can show: outline, proportions and parts
(legs, neck, trunk, ears, tail, hump), plus the stripes and spots that survive in some images.
A first table of 21 binary attributes that included invisible ones (domestic, meat eater,
climbs) transferred worse: an image model can only learn what the images show.

An attribute that every seen class has, or that none has, cannot be learned from the seen
classes at all (for example ``trunk`` when the elephant is unseen). Methods that need binary
attributes (DAP, IAP) binarise each column at its mean.
"""


@validate_params({"as_frame": ["boolean"]}, prefer_skip_nested_validation=True)
def load_animal_attributes(*, as_frame=False):
    """Load the class-attribute table of the ten animal silhouettes.

    Zero-shot learning recognises classes from their description: this table describes each
    class of :func:`load_animal_silhouettes` by graded attributes that a silhouette can show
    (long neck, hooves, trunk, bulky body...). Read more in the :ref:`user guide <zero_shot>`.

    Parameters
    ----------
    as_frame : bool, default=False
        Also return the table as a pandas DataFrame (classes as index, attributes as columns)
        in the ``frame`` entry; needs pandas.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` float array of shape (10, n_attributes) with entries from 0 (absent) to 1
        (marked), ``class_names`` the 10 class names (the ``target_names`` of the
        silhouettes, same order), ``attribute_names`` the attribute names, ``frame`` the
        DataFrame (None unless ``as_frame``), ``DESCR`` a description.

    Examples
    --------
    >>> from sktransfer.datasets import load_animal_attributes
    >>> table = load_animal_attributes(as_frame=True).frame
    >>> table.shape
    (10, 22)
    >>> table.loc[["giraffe", "horse", "cow"], "long_neck"].tolist()
    [1.0, 0.5, 0.1]
    """
    class_names = list(_CLASSES)
    attribute_names = list(_ATTRIBUTES)
    data = np.array([_ATTRIBUTES[name] for name in attribute_names], dtype=float).T
    frame = None
    if as_frame:
        import pandas as pd

        frame = pd.DataFrame(data, index=class_names, columns=attribute_names)
    descr = _DESCR.format(n=len(attribute_names), names=", ".join(attribute_names))
    return Bunch(
        data=data,
        class_names=class_names,
        attribute_names=attribute_names,
        frame=frame,
        DESCR=descr,
    )
