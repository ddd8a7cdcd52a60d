"""Digits -> digits-M: an offline analogue of the MNIST -> MNIST-M domain-adaptation benchmark."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, check_scalar

from ._validation import check_count, check_finite_scalar

__all__ = ["make_digits_m"]

# Colour photographs that scikit-image ships inside its wheel (no download), each free of
# copyright restrictions; see the docstring of make_digits_m for their origins.
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field")

# load_digits counts ink in 4x4 blocks of a 32x32 bitmap: values 0..16.
_DIGITS_MAX = 16.0


def make_digits_m(*, image_size=32, target_size=0.5, random_state=0):
    """Build scikit-learn's digits as a source domain and their MNIST-M style blend as target.

    Ganin and Lempitsky (2015) built MNIST-M by blending MNIST digits with random colour
    patches of natural photographs (BSDS500): every pixel of every channel of the new image is
    the absolute difference ``|patch - digit|``, so the digit shows as the photograph with its
    colours inverted, over the photograph itself. A classifier trained on MNIST loses most of
    its accuracy on MNIST-M while the digits stay easy to read for a person: a shift of the
    input distribution with the labelling unchanged.

    This function rebuilds that pair offline and at a smaller scale:

    * the 1,797 8x8 digits of :func:`sklearn.datasets.load_digits` are split at random,
      stratified by class, into disjoint source and target halves, so that no target image
      is a blend of a source image;
    * every digit is scaled to ``0..255``, upsampled to ``image_size`` pixels with bicubic
      interpolation, and repeated over three channels: white strokes on black;
    * source images stay as they are; every target image is blended with a patch of
      ``image_size`` pixels cropped at a random place of a photograph chosen at random among
      the colour photographs of :mod:`skimage.data`, as ``|patch - digit|`` per channel.

    Parameters
    ----------
    image_size : int, default=32
        The height and width of the images, in pixels (8 keeps the original resolution).
        At most 300, the height of the smallest photograph.

    target_size : float or int, default=0.5
        The share of the digits (a float in ``(0, 1)``) or their number (an int) that go to
        the target domain; the rest are the source domain.

    random_state : int, RandomState instance or None, default=0
        Seeds the split and the choice of the patches. Pass an int for reproducible output
        across multiple function calls.

    Returns
    -------
    X_source : ndarray of shape (n_source, image_size, image_size, 3), dtype uint8
        The source images: white digits on black.

    y_source : ndarray of shape (n_source,)
        The digit shown by each source image, ``0..9``.

    X_target : ndarray of shape (n_target, image_size, image_size, 3), dtype uint8
        The target images: other digits blended with patches of colour photographs.

    y_target : ndarray of shape (n_target,)
        The digit shown by each target image, ``0..9``.

    Raises
    ------
    ImportError
        If scikit-image, which ships the photographs, is not installed.

    See Also
    --------
    sktransfer.utils.pack_domains : Stack the two domains into ``X, y, sample_domain``.

    Notes
    -----
    The photographs are those of :mod:`skimage.data`, read from the scikit-image installation:

    * ``astronaut``: Eileen Collins, NASA Great Images database; public domain.
    * ``chelsea``: Chelsea the cat, by Stefan van der Walt; CC0.
    * ``coffee``: a coffee cup, by Rachel Michetti, courtesy of Pikolo Espresso Bar; CC0.
    * ``rocket``: the launch of DSCOVR on a Falcon 9, by SpaceX; public domain.
    * ``hubble_deep_field``: the Hubble eXtreme Deep Field, NASA; public domain.

    The digits of :func:`sklearn.datasets.load_digits` are the UCI "Optical Recognition of
    Handwritten Digits" data (Alpaydin and Kaynak, 1998; CC BY 4.0), bundled with
    scikit-learn. Nothing is downloaded and nothing is stored by sktransfer: the images are
    built at every call, in well under a second.

    Two differences from MNIST-M: the digits are not binarised before the blend (their
    interpolated grey levels are kept), and the patches come from five photographs rather
    than the 200 training images of BSDS500, so the target domain has fewer distinct
    backgrounds.

    References
    ----------
    .. [1] Y. Ganin and V. Lempitsky, "Unsupervised Domain Adaptation by Backpropagation",
           ICML 2015.

    .. [2] Y. Ganin, E. Ustinova, H. Ajakan, P. Germain, H. Larochelle, F. Laviolette,
           M. Marchand and V. Lempitsky, "Domain-Adversarial Training of Neural Networks",
           JMLR 17(59), 2016.

    Examples
    --------
    >>> from sktransfer.datasets import make_digits_m
    >>> Xs, ys, Xt, yt = make_digits_m(random_state=0)
    >>> Xs.shape, Xt.shape, Xs.dtype
    ((898, 32, 32, 3), (899, 32, 32, 3), dtype('uint8'))
    >>> sorted(set(ys.tolist())) == sorted(set(yt.tolist())) == list(range(10))
    True
    """
    check_count(image_size, "image_size", min_val=8)
    target_size = _check_target_size(target_size)
    photos = _load_photos()
    smallest = min(min(photo.shape[:2]) for photo in photos)
    if image_size > smallest:
        raise ValueError(
            f"image_size={image_size} is larger than the smallest photograph ({smallest} "
            f"pixels), from which target patches are cropped; pass image_size <= {smallest}."
        )
    random_state = check_random_state(random_state)
    digits = load_digits()
    source_rows, target_rows = train_test_split(
        np.arange(digits.target.shape[0]),
        test_size=target_size,
        stratify=digits.target,
        random_state=random_state,
    )
    images = _upsample(digits.images, image_size)
    X_source = _to_rgb(images[source_rows])
    X_target = _blend(_to_rgb(images[target_rows]), photos, random_state)
    return X_source, digits.target[source_rows], X_target, digits.target[target_rows]


def _check_target_size(target_size):
    """``target_size`` as a Python int or float that leaves each domain at least 10 digits (one
    per class, for the stratified split); train_test_split refused a NumPy float32, and a share
    too small or too large, in words about its own test_size."""
    if isinstance(target_size, Integral) and not isinstance(target_size, bool):
        check_scalar(target_size, "target_size", Integral, min_val=10, max_val=_N_DIGITS - 10)
        return int(target_size)
    if not isinstance(target_size, Real):
        raise TypeError(
            "target_size must be a float in (0, 1) or an int number of digits; got "
            f"{type(target_size).__name__}."
        )
    check_finite_scalar(
        target_size, "target_size", min_val=0.0, max_val=1.0, include_boundaries="neither"
    )
    n_target = math.ceil(float(target_size) * _N_DIGITS)  # as train_test_split rounds it
    if not 10 <= n_target <= _N_DIGITS - 10:
        raise ValueError(
            f"target_size={target_size!r} gives {n_target} of the {_N_DIGITS} digits to the "
            "target domain; each domain needs at least 10 (one per class): use a share between "
            f"{10 / _N_DIGITS:.4f} and {(_N_DIGITS - 10) / _N_DIGITS:.4f}."
        )
    return float(target_size)


_N_DIGITS = 1797  # scikit-learn's digits


def _load_photos():
    try:
        from skimage import data
    except ImportError as error:
        raise ImportError(
            "make_digits_m crops its target backgrounds from the photographs that "
            "scikit-image ships; install it with `pip install scikit-image`."
        ) from error
    return [getattr(data, name)() for name in PHOTOS]


def _upsample(images, image_size):
    """Scale 0..16 digits to 0..255 and resize them to ``image_size`` with bicubic weights."""
    pixels = torch.from_numpy(images.astype(np.float32) * (255.0 / _DIGITS_MAX))[:, None]
    resized = torch.nn.functional.interpolate(
        pixels, size=(image_size, image_size), mode="bicubic", align_corners=False
    )
    # Bicubic weights overshoot near strong edges.
    return resized[:, 0].clamp_(0.0, 255.0).round_().numpy().astype(np.uint8)


def _to_rgb(images):
    return np.repeat(images[..., None], 3, axis=-1)


def _blend(digits, photos, random_state):
    """MNIST-M's blend: ``|patch - digit|`` with a random patch of a random photograph."""
    n_images, size = digits.shape[0], digits.shape[1]
    blended = np.empty_like(digits)
    choices = random_state.randint(len(photos), size=n_images)
    for i, (digit, choice) in enumerate(zip(digits, choices, strict=True)):
        photo = photos[choice]
        top = random_state.randint(photo.shape[0] - size + 1)
        left = random_state.randint(photo.shape[1] - size + 1)
        patch = photo[top : top + size, left : left + size].astype(np.int16)
        blended[i] = np.abs(patch - digit).astype(np.uint8)
    return blended
