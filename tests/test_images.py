import numpy as np
import pytest
import torch
from PIL import Image, ImageFile

from sktransfer.backbones import Preprocessing
from sktransfer.utils import check_images
from sktransfer.utils._images import Preprocessor

RNG = np.random.default_rng(0)
NHWC = RNG.integers(0, 256, size=(5, 12, 10, 3), dtype=np.uint8)


def _read_all(images, batch_size=2, size=8):
    prepare = Preprocessor(Preprocessing(size=size), images.channels, normalize=True)
    return torch.cat([prepare(batch) for batch in images.batches(batch_size)])


def test_layouts_dtypes_and_containers_agree():
    expected = _read_all(check_images(NHWC))
    variants = [
        NHWC.transpose(0, 3, 1, 2),
        NHWC.astype(np.float32) / 255,
        torch.from_numpy(NHWC),
        torch.from_numpy(NHWC).permute(0, 3, 1, 2),
        NHWC.astype(np.int64),
        list(NHWC),
        [Image.fromarray(image) for image in NHWC],
    ]
    for variant in variants:
        torch.testing.assert_close(_read_all(check_images(variant)), expected)


def test_file_paths_are_decoded_batch_by_batch(tmp_path, monkeypatch):
    paths = []
    for i, image in enumerate(NHWC):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image).save(paths[-1])
    images = check_images([str(p) for p in paths])
    opened = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda path: opened.append(path) or real_open(path))
    batches = images.batches(2)
    next(batches)
    assert len(opened) == 2  # only the first batch was read
    torch.testing.assert_close(_read_all(images), _read_all(check_images(NHWC)))


def test_grayscale_is_expanded_to_rgb():
    gray = NHWC[..., 0]
    rgb = np.repeat(gray[..., None], 3, axis=-1)
    torch.testing.assert_close(_read_all(check_images(gray)), _read_all(check_images(rgb)))
    paths_like = [Image.fromarray(image, mode="L") for image in gray]
    torch.testing.assert_close(_read_all(check_images(paths_like)), _read_all(check_images(rgb)))


def test_images_of_different_sizes_are_resized_one_by_one():
    images = [Image.fromarray(NHWC[0]), Image.fromarray(NHWC[1, :7, :9])]
    assert _read_all(check_images(images)).shape == (2, 3, 8, 8)


def test_preprocessing_resizes_the_shorter_side_then_crops():
    prepare = Preprocessor(Preprocessing(size=8, resize_size=10), 3)
    out = prepare(torch.from_numpy(NHWC).permute(0, 3, 1, 2))
    assert out.shape == (5, 3, 8, 8)
    prepare = Preprocessor(Preprocessing(size=224), 3, image_size=16)
    assert prepare(torch.zeros(1, 3, 20, 40, dtype=torch.uint8)).shape == (1, 3, 16, 16)


def test_normalisation_uses_the_backbone_mean_and_std():
    prepare = Preprocessor(Preprocessing(size=4, mean=(0.5,), std=(0.5,)), 3)
    out = prepare(torch.full((1, 3, 4, 4), 255, dtype=torch.uint8))
    torch.testing.assert_close(out, torch.ones(1, 3, 4, 4))


def test_row_keys_follow_content():
    images = check_images(NHWC)
    keys = images.row_keys()
    assert len(set(keys)) == len(NHWC)
    assert check_images(NHWC.copy()).row_keys() == keys
    changed = NHWC.copy()
    changed[2, 0, 0, 0] ^= 1
    assert check_images(changed).row_keys()[2] != keys[2]


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.zeros((2, 3)), ValueError, "2 dimensions"),
        (np.zeros((1, 2, 3, 4, 5)), ValueError, "5 dimensions"),
        (np.zeros((0, 8, 8, 3), dtype=np.uint8), ValueError, "empty"),
        ([], ValueError, "empty"),
        (np.zeros((2, 8, 8, 4)), ValueError, "channels"),
        (np.full((2, 8, 8, 3), np.nan), ValueError, "NaN"),
        (np.full((2, 8, 8, 3), 200.0), ValueError, r"\[0, 1\]"),
        (np.full((2, 8, 8, 3), -1), ValueError, r"\[0, 255\]"),
        (np.zeros((2, 8, 8, 3), dtype=complex), TypeError, "numbers"),
        ("cat.png", TypeError, "single path"),
        (42, TypeError, "must be"),
        (["a.png", 3], TypeError, "mixed"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_error(X, error, match):
    with pytest.raises(error, match=match):
        check_images(X)


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.png"
    with pytest.raises(ValueError, match="nowhere.png"):
        check_images([missing])
    with pytest.raises(FileNotFoundError, match="nowhere.png"):
        check_images([missing])


def test_file_that_is_not_an_image_is_named(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="notes.txt.*not an image"):
        check_images([text])


def _save(images, directory, suffix=".png", **save_kwargs):
    paths = []
    for i, image in enumerate(images):
        paths.append(directory / f"{i}{suffix}")
        image = image if isinstance(image, Image.Image) else Image.fromarray(image)
        image.save(paths[-1], **save_kwargs)
    return paths


def _truncate(path, n_bytes):
    data = path.read_bytes()
    path.write_bytes(data[:-n_bytes])


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".gif", ".webp", ".bmp"])
def test_truncated_file_is_named_before_any_decoding(tmp_path, suffix):
    paths = _save(NHWC[:3], tmp_path, suffix)
    _truncate(paths[1], 20)
    with pytest.raises(ValueError, match=rf"1{suffix}.*truncated"):
        check_images(paths)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_zero_padding_and_bytes_after_the_end_marker_are_accepted(tmp_path, suffix):
    padded, extra = _save(NHWC[:2], tmp_path, suffix)
    expected = _read_all(check_images([padded, extra]))
    padded.write_bytes(padded.read_bytes() + bytes(100))
    extra.write_bytes(extra.read_bytes() + b"trailing metadata")
    torch.testing.assert_close(_read_all(check_images([padded, extra])), expected)


def test_whole_and_truncated_files_are_told_apart_without_decoding(tmp_path, monkeypatch):
    paths = _save(NHWC[:2], tmp_path, ".png") + _save(NHWC[2:4], tmp_path, ".jpg")
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda image: pytest.fail("decoded"))
    assert len(check_images(paths)) == 4
    _truncate(paths[1], 1)
    with pytest.raises(ValueError, match="1.png.*truncated"):
        check_images(paths)


def test_file_that_breaks_after_the_check_is_named_when_decoded(tmp_path):
    paths = _save(NHWC[:3], tmp_path)
    images = check_images(paths)
    paths[2].write_bytes(paths[2].read_bytes()[:60])
    with pytest.raises(ValueError, match="2.png"):
        for _ in images.batches(2):
            pass


def test_sizes_are_known_without_decoding(tmp_path, monkeypatch):
    images = [NHWC[0], NHWC[1, :7, :9], NHWC[2, :5]]
    paths = _save(images, tmp_path)
    expected = [(12, 10), (7, 9), (5, 10)]
    from_paths = check_images(paths)
    monkeypatch.setattr(Image, "open", lambda *args: pytest.fail("reopened a file"))
    assert from_paths.sizes() == expected
    assert from_paths.subset([2, 0]).sizes() == [(5, 10), (12, 10)]
    assert check_images([Image.fromarray(image) for image in images]).sizes() == expected
    assert check_images(NHWC).sizes() == [(12, 10)] * len(NHWC)
