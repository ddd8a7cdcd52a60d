"""A class-attribute table for the ten animal silhouettes, written from common knowledge."""

import numpy as np
from sklearn.utils import Bunch

from ._animals import load_animal_silhouettes

# One row per class of ``load_animal_silhouettes`` (same order), one column per attribute.
_ATTRIBUTES = {
    # name: classes that have it
    "four_legs": {"bear", "cat", "cow", "dog", "elephant", "giraffe", "horse", "sheep", "zebra"},
    "wings": {"bird"},
    "feathers": {"bird"},
    "beak": {"bird"},
    "hooves": {"cow", "giraffe", "horse", "sheep", "zebra"},
    "paws": {"bear", "cat", "dog"},
    "horns": {"cow", "giraffe"},
    "trunk": {"elephant"},
    "long_neck": {"giraffe"},
    "long_legs": {"giraffe", "horse", "zebra"},
    "long_tail": {"cat", "cow", "dog", "giraffe", "horse", "zebra"},
    "mane": {"giraffe", "horse", "zebra"},
    "large": {"bear", "cow", "elephant", "giraffe", "horse", "zebra"},
    "small": {"bird", "cat"},
    "furry": {"bear", "cat", "dog", "sheep"},
    "stripes": {"zebra"},
    "spots": {"cow", "giraffe"},
    "domestic": {"cat", "cow", "dog", "horse", "sheep"},
    "meat_eater": {"bear", "cat", "dog"},
    "climbs": {"bear", "cat"},
    "grazer": {"cow", "elephant", "giraffe", "horse", "sheep", "zebra"},
}

_DESCR = """\
Animal attributes
-----------------

A binary class-attribute table for the 10 classes of the animal silhouettes (bear, bird, cat,
cow, dog, elephant, giraffe, horse, sheep, zebra; rows in that order) and {n} attributes: {names}.
Entry 1 means that the class has the attribute. The table was written for sktransfer from common
knowledge, not measured: a giraffe's ossicones count as horns, its patches and a Holstein cow's
patches as spots, "large" means larger than a person and "small" smaller than a dog. Cat and dog
differ only by "small" and "climbs".

Some attributes are invisible on a silhouette (stripes, spots, domestic, meat_eater, climbs);
they still tell classes apart in the table, but an image model can only learn them through the
shapes that come with them. An attribute that every seen class has, or that none has, cannot be
learned from the seen classes at all (for example "trunk" when the elephant is unseen).
"""


def load_animal_attributes(*, as_frame=False):
    """Load the class-attribute table of the ten animal silhouettes.

    Zero-shot learning recognises classes from their description: this table describes each
    class of :func:`load_animal_silhouettes` by binary attributes (four legs, hooves, trunk,
    stripes...). Read more in the :ref:`user guide <zero_shot>`.

    Parameters
    ----------
    as_frame : bool, default=False
        Also return the table as a pandas DataFrame (classes as index, attributes as columns)
        in the ``frame`` entry; needs pandas.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` int array of shape (10, n_attributes) with entries 0 or 1, ``class_names`` the
        10 class names (the ``target_names`` of the silhouettes, same order),
        ``attribute_names`` the attribute names, ``frame`` the DataFrame (None unless
        ``as_frame``), ``DESCR`` a description.

    Examples
    --------
    >>> from sktransfer.datasets import load_animal_attributes
    >>> table = load_animal_attributes(as_frame=True).frame
    >>> table.shape
    (10, 21)
    >>> table.loc["zebra", ["hooves", "stripes", "trunk"]].tolist()
    [1, 1, 0]
    """
    class_names = load_animal_silhouettes().target_names
    attribute_names = list(_ATTRIBUTES)
    data = np.array(
        [
            [int(name in _ATTRIBUTES[attribute]) for attribute in attribute_names]
            for name in class_names
        ]
    )
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
