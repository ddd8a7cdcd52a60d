"""Animal silhouettes shipped with the package (a subset of the MIT-licensed ``animal-mnist``)."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import validate_params

_DESCR = """\
Animal silhouettes
------------------

3,000 grayscale 28x28 silhouettes of 10 animal classes (300 per class): bear, bird, cat, cow,
dog, elephant, giraffe, horse, sheep, zebra (targets 0..9 in that order). White shapes on a black
background, stored as uint8 in [0, 255].

A seeded subset of the 10,000 images of the PyPI package ``animal-mnist`` 0.4 by Sina
Mohammadi, MIT licence (the notice ships beside the data as
``sktransfer/datasets/data/LICENSE_animal_silhouettes.txt``).

The shapes are far from ImageNet photographs, which makes them a small "different domain"
target task for backbones pretrained on ImageNet.
"""


@validate_params({"return_X_y": ["boolean"]}, prefer_skip_nested_validation=True)
def load_animal_silhouettes(*, return_X_y=False):
    """Load the animal silhouettes (10 classes, 3,000 images of 28x28 pixels).

    Read the :ref:`user guide <feature_extraction>` for how they serve as a target task.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` uint8 array of shape (3000, 28, 28), ``target`` int array of shape (3000,),
        ``target_names`` the 10 class names, ``DESCR`` a description with the licence.
    (images, target) : tuple
        When ``return_X_y`` is True.

    Examples
    --------
    >>> from sktransfer.datasets import load_animal_silhouettes
    >>> images, y = load_animal_silhouettes(return_X_y=True)
    >>> images.shape, images.dtype, y[:5]
    ((3000, 28, 28), dtype('uint8'), array([7, 5, 1, 7, 0]))
    """
    with resources.files(__package__).joinpath("data/animal_silhouettes.npz").open("rb") as f:
        with np.load(f, allow_pickle=False) as data:
            images, target = data["images"], data["labels"]
            names = data["class_names"].tolist()
    if return_X_y:
        return images, target
    return Bunch(images=images, target=target, target_names=names, DESCR=_DESCR)
