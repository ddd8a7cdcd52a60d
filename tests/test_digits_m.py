"""make_digits_m: a disjoint split of the digits, MNIST-M style blending, a real shift."""

import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from sktransfer.datasets import make_digits_m


def test_shapes_dtypes_and_classes():
    Xs, ys, Xt, yt = make_digits_m(image_size=16, random_state=0)

    assert Xs.shape == (898, 16, 16, 3) and Xt.shape == (899, 16, 16, 3)
    assert Xs.dtype == Xt.dtype == np.uint8
    assert ys.shape == (898,) and yt.shape == (899,)
    # The split is stratified: every class is in both domains in the same proportion.
    assert np.abs(np.bincount(ys) - np.bincount(yt)).max() <= 1


def test_source_images_are_grey_and_target_images_coloured():
    Xs, _, Xt, _ = make_digits_m(random_state=0)

    assert_array_equal(Xs[..., 0], Xs[..., 1])
    assert_array_equal(Xs[..., 0], Xs[..., 2])
    # Corners of the source are black but for a few long strokes; the target shows a photograph.
    assert np.median(Xs[:, 0, 0, 0]) == 0 and np.median(Xt[:, 0, 0].max(axis=-1)) > 20
    assert np.mean(Xt[..., 0] != Xt[..., 1]) > 0.5


def test_the_split_is_disjoint_and_covers_every_digit():
    # At 8 pixels the source images are the digits themselves, scaled to 0..255.
    Xs, ys, Xt, _ = make_digits_m(image_size=8, target_size=300, random_state=1)
    digits = load_digits()
    scaled = np.round(digits.images * (255 / 16)).astype(np.uint8)
    keys = {image.tobytes(): label for image, label in zip(scaled, digits.target, strict=True)}

    assert len(Xs) + len(Xt) == len(digits.target) and len(Xt) == 300
    assert all(keys[image.tobytes()] == label for image, label in zip(Xs[..., 0], ys, strict=True))
    # Without its background, each target digit is |patch - digit|: where the digit is blank
    # the photograph shows unchanged, so no target image equals a source image.
    source_keys = {image.tobytes() for image in Xs}
    assert not any(image.tobytes() in source_keys for image in Xt)


def test_determinism_and_seed_dependence():
    first = make_digits_m(image_size=12, random_state=0)
    again = make_digits_m(image_size=12, random_state=0)
    other = make_digits_m(image_size=12, random_state=1)

    for a, b in zip(first, again, strict=True):
        assert_array_equal(a, b)
    assert not np.array_equal(first[2], other[2])


def test_the_shift_is_real():
    """A linear model of source pixels loses at least 30 points on the target."""
    Xs, ys, Xt, yt = make_digits_m(image_size=8, random_state=0)

    def pixels(X):
        return X.reshape(len(X), -1) / 255.0

    with threadpool_limits(1, user_api="blas"):
        model = LogisticRegression(max_iter=500).fit(pixels(Xs[:600]), ys[:600])
        source_accuracy = model.score(pixels(Xs[600:]), ys[600:])
        target_accuracy = model.score(pixels(Xt), yt)

    assert source_accuracy > 0.9
    assert source_accuracy - target_accuracy > 0.3


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"image_size": 4}, ValueError, "image_size == 4, must be >= 8"),
        ({"image_size": 400}, ValueError, "larger than the smallest photograph"),
        ({"image_size": 16.0}, TypeError, "image_size must be an instance of int"),
        ({"target_size": 1.5}, ValueError, "target_size == 1.5, must be < 1.0"),
        ({"target_size": 0}, ValueError, "target_size == 0, must be >= 10"),
        ({"target_size": "half"}, TypeError, "target_size must be a float"),
        # NaN passed check_scalar's bounds and failed in train_test_split's test_size.
        ({"target_size": np.nan}, ValueError, "target_size must be a finite number; got nan"),
        # Refused by train_test_split, in words about its own test_size.
        ({"target_size": 0.001}, ValueError, "target_size=0.001 gives 2 of the 1797 digits"),
        ({"target_size": 0.999}, ValueError, "gives 1796 of the 1797 digits"),
    ],
)
def test_bad_parameters_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_digits_m(**kwargs)


def test_a_numpy_float_target_size_is_a_share():
    """Before: train_test_split refused np.float32(0.3) as its test_size."""
    _, ys, _, yt = make_digits_m(image_size=8, target_size=np.float32(0.3))
    assert (len(ys), len(yt)) == (1257, 540)


def test_missing_scikit_image_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)
    with pytest.raises(ImportError, match="pip install scikit-image"):
        make_digits_m()
