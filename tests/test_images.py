import collections
import multiprocessing
import os
import struct
import subprocess
import sys
import warnings
import zlib

import joblib
import numpy as np
import pytest
import torch
from PIL import Image, ImageFile, PngImagePlugin

from sktransfer.backbones import Preprocessing
from sktransfer.feature_extraction import CNNCodeExtractor
from sktransfer.utils import _images, check_images
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


def test_single_images_of_several_sizes_read_as_their_pil_images():
    # skimage.data's pictures, say: one array each, of several sizes and layouts.
    rgb, small = NHWC[0], NHWC[1, :7, :9]
    deep = RNG.integers(0, 65536, size=(6, 5), dtype=np.uint16)
    arrays = [rgb, torch.from_numpy(small).permute(2, 0, 1), rgb[..., 0], deep]
    pil = [Image.fromarray(rgb), Image.fromarray(small), Image.fromarray(rgb[..., 0])]
    pil.append(Image.fromarray(deep))  # PIL's "I;16"
    images = check_images(arrays)
    assert images.sizes() == [(12, 10), (7, 9), (12, 10), (6, 5)]
    torch.testing.assert_close(_read_all(images), _read_all(check_images(pil)))
    keys = images.row_keys()
    assert (
        len(set(keys)) == 4
        and keys
        == check_images([a.clone() if torch.is_tensor(a) else a.copy() for a in arrays]).row_keys()
    )
    assert images.subset([3, 1]).sizes() == [(6, 5), (7, 9)]


def test_a_single_image_that_is_not_one_is_named_by_position():
    with pytest.raises(ValueError, match=r"Image 1 of X has shape \(7, 9, 4\): neither its first"):
        check_images([NHWC[0], np.zeros((7, 9, 4), np.uint8)])
    with pytest.raises(ValueError, match=r"Image 1 of X has shape \(1, 7, 9, 3\)"):
        check_images([NHWC[0], NHWC[1:2, :7, :9]])
    with pytest.raises(ValueError, match=r"Float images must lie in \[0, 1\]; Image 1 of X"):
        check_images([NHWC[0] / 255, NHWC[1, :7] * 1.0])


@pytest.mark.parametrize("dtype", [str, object])
def test_paths_held_in_a_numpy_array_are_paths(tmp_path, dtype):
    # np.array(paths), or a DataFrame column's values: refused as a 1-D array of pixels before.
    paths = _save(NHWC[:3], tmp_path, ".png")
    images = check_images(np.array([str(path) for path in paths], dtype=dtype))
    assert images.kind == "paths"
    torch.testing.assert_close(_read_all(images), _read_all(check_images(NHWC[:3])))


def test_file_paths_are_decoded_batch_by_batch(tmp_path, monkeypatch):
    paths = []
    for i, image in enumerate(NHWC):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(image).save(paths[-1])
    images = check_images([str(p) for p in paths])
    decoded = []
    real_decode = _images._decode_file_warned_already
    monkeypatch.setattr(
        _images,
        "_decode_file_warned_already",
        lambda path, *args: decoded.append(path) or real_decode(path, *args),
    )
    batches = images.batches(2)
    next(batches)
    assert len(decoded) == 2  # only the first batch was read
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
        (np.zeros((2, 0, 8, 3), dtype=np.uint8), ValueError, r"X holds images of size \(0, 8\)"),
        (np.zeros((2, 3, 8, 0), dtype=np.uint8), ValueError, r"size \(8, 0\).*one pixel"),
        ([Image.new("RGB", (5, 0))], ValueError, r"Image 0 of X holds .*\(0, 5\)"),
        # One colour image without its batch axis: read as 16 grayscale images before.
        (np.zeros((16, 16, 3), np.uint8), ValueError, r"one colour image .* Pass X\[None\]"),
        (torch.zeros(16, 16, 4), ValueError, r"\(16, 16, 4\), which looks like one colour"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_error(X, error, match):
    with pytest.raises(error, match=match):
        check_images(X)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"channels": "3"}, "channels"),
        ({"channels": 0}, "channels"),
        ({"channels": 2.5}, "channels"),
        ({"num_workers": -1}, "num_workers"),
        ({"num_workers": None}, "num_workers"),
        ({"num_workers": True}, "num_workers"),
    ],
)
def test_check_images_validates_its_parameters(kwargs, name):
    """Before: channels="3" was refused as input without 3 channels, channels=0 accepted, and
    num_workers=None failed inside the loader with a bare TypeError."""
    with pytest.raises(ValueError, match=f"The '{name}' parameter of check_images"):
        check_images(np.zeros((2, 8, 8, 3), np.uint8), **kwargs)


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


@pytest.mark.parametrize("num_workers", [0, 2])
def test_file_that_breaks_after_the_check_is_named_when_decoded(tmp_path, num_workers):
    paths = _save(NHWC[:3], tmp_path)
    images = check_images(paths)
    paths[2].write_bytes(paths[2].read_bytes()[:60])
    with pytest.raises(ValueError, match="2.png"):
        for _ in images.loader(2, num_workers=num_workers):
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


def _files_of_two_sizes(directory, n_images=20):
    images = RNG.integers(0, 256, size=(n_images, 12, 10, 3), dtype=np.uint8)
    return _save(
        [image if i < 10 else image[:8, :6] for i, image in enumerate(images)],
        directory,
    )


def _same_batches(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert type(a) is type(b)
        if isinstance(a, list):
            assert len(a) == len(b)
            for image_a, image_b in zip(a, b, strict=True):
                assert torch.equal(image_a, image_b)
        else:
            assert torch.equal(a, b)


def test_loader_batches_stack_equal_sizes_and_list_mixed_ones(tmp_path):
    images = check_images(_files_of_two_sizes(tmp_path))
    loader = images.loader(4)
    assert isinstance(loader, torch.utils.data.DataLoader)
    batches = list(loader)
    assert [type(batch) for batch in batches] == [torch.Tensor] * 2 + [list] + [torch.Tensor] * 2
    assert batches[0].shape == (4, 3, 12, 10) and batches[0].dtype == torch.uint8
    assert [image.shape for image in batches[2]] == [(3, 12, 10)] * 2 + [(3, 8, 6)] * 2
    assert batches[-1].shape == (4, 3, 8, 6)
    _same_batches(batches, list(images.batches(4)))


def test_worker_processes_give_the_same_batches(tmp_path):
    images = check_images(_files_of_two_sizes(tmp_path))
    _same_batches(list(images.loader(3, num_workers=2)), list(images.loader(3)))


def _decoded_by_workers(paths):
    return torch.cat(list(check_images(paths).loader(2, num_workers=2)))


@pytest.mark.slow  # loky's workers import torch: about 30 s
def test_worker_processes_start_inside_joblib_workers(tmp_path):
    # joblib's loky workers (GridSearchCV(n_jobs=2)) make loky's start method their default,
    # which the DataLoader's workers cannot use: every fit with num_workers failed there with
    # "AttributeError: 'Process' object has no attribute 'env'".
    paths = _save(NHWC, tmp_path)
    expected = torch.cat(list(check_images(paths).loader(2)))
    results = joblib.Parallel(n_jobs=2)(joblib.delayed(_decoded_by_workers)(paths) for _ in "ab")
    assert all(torch.equal(result, expected) for result in results)


def test_arrays_are_sliced_through_the_same_kind_of_loader():
    loader = check_images(NHWC).loader(2)
    assert isinstance(loader, torch.utils.data.DataLoader)
    batches = list(loader)
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert all(batch.dtype == torch.uint8 for batch in batches)
    assert torch.equal(torch.cat(batches), torch.from_numpy(NHWC).permute(0, 3, 1, 2))
    read_only = NHWC.astype(">u2")[::-1]
    read_only.flags.writeable = False
    (batch,) = check_images(read_only).loader(5)
    torch.testing.assert_close(
        batch, torch.from_numpy(read_only.transpose(0, 3, 1, 2) / 65535).float()
    )


@pytest.mark.parametrize("kind", ["array", "paths", "pil"])
@pytest.mark.parametrize("num_workers", [0, 2])
def test_loading_leaves_the_global_random_state_alone(tmp_path, kind, num_workers):
    X = {
        "array": NHWC,
        "paths": _save(NHWC, tmp_path),
        "pil": [Image.fromarray(image) for image in NHWC],
    }[kind]
    images = check_images(X)
    state = torch.random.get_rng_state()
    for _ in images.loader(2, num_workers=num_workers):
        pass
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize(
    "mode, transparency",
    [
        ("1", None),
        ("L", None),
        ("L", 3),
        ("LA", None),
        ("P", None),
        ("P", 3),
        ("RGB", None),
    ]
    + [("RGBA", None), ("I;16", None)],
)
@pytest.mark.parametrize("channels", [1, 3])
def test_pngs_of_up_to_8_bits_are_decoded_by_pil(
    tmp_path, monkeypatch, mode, transparency, channels
):
    # Not by torchvision, whose decode_png crashes the process on damaged image data.
    if mode == "I;16":
        image = Image.fromarray(_png_gradient(12, 10))
    else:
        image = Image.fromarray(NHWC[0]).convert(mode)
    path = tmp_path / "image.png"
    image.save(path, **({} if transparency is None else {"transparency": transparency}))
    header = _images._read_header(path)
    assert not header.torchvision
    with Image.open(path) as reopened:
        expected = _images._pil_to_tensor(reopened, channels)
    monkeypatch.setattr(_images, "_torchvision_decode", None)  # calling it would raise
    for known_header in (header, None):  # None: in a worker, while this process checks
        decoded = _images._decode_file(path, channels, known_header)
        assert decoded.dtype == expected.dtype
        assert torch.equal(decoded, expected)


def _damaged_image_data(path):
    data = bytearray(path.read_bytes())
    data[data.index(b"IDAT") + 10] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("num_workers", [0, 1])
def test_a_png_with_damaged_image_data_is_named_not_a_crash(tmp_path, depth, num_workers):
    # torchvision 0.29 ended the process (a segmentation fault) on any libpng error. No check
    # before decoding reads the image data, so the decoding names the file.
    path = tmp_path / "damaged.png"
    if depth == 8:
        Image.fromarray(RNG.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)).save(path)
    else:
        _write_png(path, RNG.integers(0, 65536, size=(32, 32, 3)).astype(np.uint16), 16, 2)
    _damaged_image_data(path)
    images = check_images([path], num_workers=num_workers)
    with pytest.raises(ValueError, match="Could not decode image file .*damaged.png"):
        list(images.loader(1, num_workers=num_workers))


def _randomly_damaged(data, count, rng, *, png=False):
    """Copies of a file's bytes with one to three bytes overwritten; every seventh cut short;
    for PNGs, every other one with its chunk checksums recomputed to let the damage past."""
    copies = []
    for index in range(count):
        copy = bytearray(data)
        for position in rng.integers(0, len(copy), size=rng.integers(1, 4)):
            copy[position] = rng.integers(0, 256)
        if png and index % 2:
            copy = _with_checksums_recomputed(copy)
        if index % 7 == 0:
            copy = copy[: rng.integers(10, len(copy))]
        copies.append(bytes(copy))
    return copies


def _with_checksums_recomputed(data):
    position, out = 8, bytearray(data[:8])
    while position + 12 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        if position + 12 + length > len(data):
            break
        kind_and_body = bytes(data[position + 4 : position + 8 + length])
        out += data[position : position + 4] + kind_and_body
        out += struct.pack(">I", zlib.crc32(kind_and_body))
        position += 12 + length
    return out + data[position:]


# Each file goes through the check and the loader; a ValueError must name it.
_DECODE_EACH = """
import sys
from sktransfer.utils import check_images
for path in sys.argv[1:]:
    try:
        list(check_images([path]).loader(1))
    except ValueError as error:
        assert path in str(error), error
print("every file decoded or refused by name")
"""


@pytest.mark.slow
def test_randomly_damaged_files_are_decoded_or_refused_by_name_never_a_crash(tmp_path):
    rng = np.random.default_rng(0)
    pixels = RNG.integers(0, 256, size=(24, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "plain.jpg", quality=85)
    Image.fromarray(pixels).save(tmp_path / "plain.png")
    _write_png(tmp_path / "deep.png", pixels.astype(np.uint16) * 257, 16, 2)
    paths = []
    for name in ("plain.jpg", "plain.png", "deep.png"):
        data = (tmp_path / name).read_bytes()
        for index, copy in enumerate(_randomly_damaged(data, 40, rng, png=name.endswith("png"))):
            paths.append(tmp_path / f"{index}_{name}")
            paths[-1].write_bytes(copy)
    # In another process: torchvision 0.29 ended the process on some damaged PNGs.
    result = subprocess.run(
        [sys.executable, "-c", _DECODE_EACH, *map(str, paths)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "every file decoded or refused by name" in result.stdout


def test_a_worker_names_the_file_it_cannot_decode_and_its_loader_stops_at_once(tmp_path):
    (good,) = _save(NHWC[:1], tmp_path, ".png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(good.read_bytes())
    _damaged_image_data(bad)
    before = set(multiprocessing.active_children())
    images = check_images([good, good, bad], num_workers=2)
    with pytest.raises(ValueError) as failure:
        list(images.loader(1, num_workers=2))
    # Its own words, not torch's "Caught ValueError in DataLoader worker process 0" and the
    # worker's traceback.
    assert str(failure.value).startswith(f"Could not decode image file {str(bad)!r}")
    # The failure's traceback holds the loader's iterator: its workers did not stop with it,
    # and collecting it later in another loader's worker made torch print an AssertionError.
    assert set(multiprocessing.active_children()) <= before


def test_a_png_with_a_damaged_chunk_before_its_image_data_is_refused_by_the_check(tmp_path):
    # PIL decodes the PNG and its open refuses it: the check does too, before any decoding.
    (plain,) = _save(NHWC[:1], tmp_path, ".png")
    path = tmp_path / "damaged_gamma.png"
    data = plain.read_bytes()
    path.write_bytes(
        data[:33] + _png_chunk(b"gAMA", struct.pack(">I", 45455))[:-1] + b"!" + data[33:]
    )
    assert _images._read_header_by_hand(path) is None
    with pytest.raises(ValueError, match="damaged_gamma.png"):
        check_images([path])


def test_jpeg_decoded_by_torchvision_matches_pil(tmp_path):
    paths = _save([NHWC[0], NHWC[1, ..., 0]], tmp_path, ".jpg", quality=90)
    for path in paths:
        with Image.open(path) as image:
            assert torch.equal(_images._decode_file(path, 3), _images._pil_to_tensor(image, 3))


def test_importing_pulls_in_nothing_beyond_torch_torchvision_pil_and_sklearn():
    code = (
        "import sys, numpy, sklearn.utils.validation, torch, PIL.Image;"
        # What scikit-learn's own modules import (rich, through sklearn.callback) is theirs.
        "import sklearn.pipeline, sklearn.semi_supervised, sklearn.metrics;"
        "import torchvision.transforms.v2.functional;"
        "before = set(sys.modules);"
        "import sktransfer.utils._images;"
        "print(sorted(m for m in set(sys.modules) - before if not m.startswith('sktransfer')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _png_gradient(height=6, width=9):
    gradient = np.linspace(0, 65535, height * width).round().astype(np.uint16)
    return gradient.reshape(height, width)


def test_16_bit_png_is_scaled_to_one_not_clipped(tmp_path):
    gradient = _png_gradient()
    path = tmp_path / "deep.png"
    Image.fromarray(gradient).save(path)
    with Image.open(path) as image:
        assert image.mode == "I;16"
    (batch,) = check_images([path]).batches(4)
    assert batch.dtype == torch.float32 and batch.shape == (1, 1, 6, 9)
    assert batch.max() == 1.0
    torch.testing.assert_close(batch[0, 0], torch.from_numpy(gradient / 65535).float())
    shallow = tmp_path / "shallow.png"
    Image.fromarray(NHWC[0, :6, :9, 0]).save(shallow)
    (mixed,) = check_images([path, shallow]).batches(2)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed[1, 0], torch.from_numpy(NHWC[0, :6, :9, 0] / 255).float())


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I"])
def test_deep_pil_images_are_scaled_to_one(mode):
    gradient = _png_gradient()
    image = Image.fromarray(gradient).convert("I") if mode == "I" else Image.fromarray(gradient)
    if mode == "I;16B":
        image = Image.frombytes("I;16B", image.size, gradient.astype(">u2").tobytes())
    assert image.mode == mode
    (batch,) = check_images([image]).batches(1)
    assert batch.dtype == torch.float32 and batch.max() == 1.0
    torch.testing.assert_close(batch[0, 0], torch.from_numpy(gradient / 65535).float())


def test_float_pil_images_must_lie_in_unit_range():
    inside = Image.fromarray(np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4))
    (batch,) = check_images([inside]).batches(1)
    torch.testing.assert_close(batch[0, 0], torch.linspace(0, 1, 12).reshape(3, 4))
    outside = Image.fromarray(np.full((3, 4), 200.0, dtype=np.float32))
    with pytest.raises(ValueError, match=r"Image 1 of X.*\[0, 1\]"):
        check_images([inside, outside])


def test_float_image_file_out_of_range_is_named(tmp_path):
    fine, too_bright = tmp_path / "fine.tif", tmp_path / "too_bright.tif"
    Image.fromarray(np.full((3, 4), 0.5, dtype=np.float32)).save(fine)
    Image.fromarray(np.full((3, 4), 200.0, dtype=np.float32)).save(too_bright)
    (batch,) = check_images([fine]).batches(1)
    assert batch.dtype == torch.float32 and torch.all(batch == 0.5)
    with pytest.raises(ValueError, match=r"too_bright.tif.*\[0, 1\]"):
        check_images([fine, too_bright])


def test_uint16_arrays_are_scaled_by_65535():
    deep = np.stack([_png_gradient()] * 2)
    for X in (deep, torch.from_numpy(deep)):
        (batch,) = check_images(X).batches(2)
        assert batch.dtype == torch.float32 and batch.max() == 1.0
        torch.testing.assert_close(batch[:, 0], torch.from_numpy(deep / 65535).float())
    with pytest.raises(ValueError, match=r"\[0, 255\]"):
        check_images(deep.astype(np.int32))
    # The preprocessing scales a uint16 batch that did not come through the loader alike.
    prepare = Preprocessor(Preprocessing(size=8), 3)
    expected = _read_all(check_images(deep))
    torch.testing.assert_close(prepare(torch.from_numpy(deep[:, None])), expected)


def _write_png(path, samples, depth, colour, *, interlaced=False, chunks=(), deflate=zlib.compress):
    # PIL writes 16 bits only for grayscale PNGs, 2 or 4 bits only for palette ones, and no
    # interlaced PNG: those are written by hand. ``chunks`` go between IHDR and IDAT;
    # ``deflate`` compresses the rows into the image data.
    height, width = samples.shape[:2]
    passes = [samples[y::dy, x::dx] for x, y, dx, dy in _ADAM7] if interlaced else [samples]
    rows = b"".join(_png_rows(image, depth) for image in passes if image.size)
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, int(interlaced))
    chunks = [(b"IHDR", header), *chunks, (b"IDAT", deflate(rows)), (b"IEND", b"")]
    path.write_bytes(_images._PNG_SIGNATURE + b"".join(_png_chunk(*chunk) for chunk in chunks))


# The seven passes of an interlaced PNG: the first column and row, then the steps between them.
_ADAM7 = [
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
]


def _png_rows(samples, depth):
    """Each row of ``samples`` as PNG stores it: a filter byte (none), then its samples packed."""
    rows = samples.reshape(len(samples), -1)
    if depth == 16:
        return b"".join(b"\0" + row.astype(">u2").tobytes() for row in rows)
    per_byte = 8 // depth
    padded = np.pad(rows, ((0, 0), (0, -rows.shape[1] % per_byte)))
    shifts = depth * np.arange(per_byte)[::-1]
    packed = (padded.reshape(len(rows), -1, per_byte) << shifts).sum(axis=-1).astype(np.uint8)
    return b"".join(b"\0" + row.tobytes() for row in packed)


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _flipped(data, index):
    data = bytearray(data)
    data[index] ^= 0xFF
    return bytes(data)


# Image data damaged before the chunk's checksum was computed: libpng refuses each of these,
# and its errors crashed torchvision 0.29, which decodes 16-bit colour PNGs.
_DEFLATES_THAT_LIBPNG_REFUSES = {
    "damaged stream": lambda rows: _flipped(zlib.compress(rows), 10),
    "wrong stream checksum": lambda rows: _flipped(zlib.compress(rows), -1),
    "fewer rows": lambda rows: zlib.compress(rows[:-7]),
    "unknown row filter": lambda rows: zlib.compress(b"\x09" + rows[1:]),
    "stream without its end": lambda rows: zlib.compress(rows)[:-4],
}


@pytest.mark.parametrize("damage", list(_DEFLATES_THAT_LIBPNG_REFUSES))
@pytest.mark.parametrize("interlaced", [False, True])
def test_a_16_bit_colour_png_damaged_behind_valid_checksums_is_named_not_a_crash(
    tmp_path, damage, interlaced
):
    path = tmp_path / "deep.png"
    pixels = RNG.integers(0, 65536, size=(9, 13, 3)).astype(np.uint16)
    deflate = _DEFLATES_THAT_LIBPNG_REFUSES[damage]
    _write_png(path, pixels, 16, 2, interlaced=interlaced, deflate=deflate)
    images = check_images([path])
    with pytest.raises(ValueError, match="Could not decode image file .*deep.png"):
        list(images.loader(1))


@pytest.mark.parametrize("interlaced", [False, True])
@pytest.mark.parametrize("extra", [b"", b"\0" * 40])
def test_a_whole_16_bit_colour_png_passes_the_image_data_check(tmp_path, interlaced, extra):
    # More image data than the size calls for is decoded as libpng does: the rows it needs.
    pixels = RNG.integers(0, 65536, size=(9, 13, 3)).astype(np.uint16)
    path = tmp_path / "deep.png"
    _write_png(
        path, pixels, 16, 2, interlaced=interlaced, deflate=lambda rows: zlib.compress(rows + extra)
    )
    (batch,) = check_images([path]).batches(1)
    expected = torch.from_numpy(pixels.transpose(2, 0, 1) / 65535).float()
    torch.testing.assert_close(batch[0], expected)


@pytest.mark.parametrize("n_channels", [3, 4])
def test_16_bit_colour_png_keeps_its_depth(tmp_path, n_channels):
    pixels = RNG.integers(0, 65536, size=(5, 7, n_channels)).astype(np.uint16)
    pixels[0, 0, :3] = 65535
    path = tmp_path / "deep.png"
    _write_png(path, pixels, 16, {3: 2, 4: 6}[n_channels])
    rgb = torch.from_numpy(pixels[..., :3].transpose(2, 0, 1) / 65535).float()
    (batch,) = check_images([path]).batches(1)
    assert batch.dtype == torch.float32 and batch.max() == 1.0
    torch.testing.assert_close(batch[0], rgb)
    (gray,) = check_images([path], channels=1).batches(1)
    luma = torch.tensor([19595, 38470, 7471]) / 65536
    torch.testing.assert_close(gray[0, 0], torch.einsum("c,chw->hw", luma, rgb))


def test_with_workers_files_are_checked_before_the_first_batch_in_order(tmp_path):
    paths = _save(NHWC, tmp_path, ".png") + _save(NHWC, tmp_path, ".jpg")
    serial = check_images(paths)
    deferred = check_images(paths, num_workers=2)
    batches = [batch for batch in deferred.loader(3, num_workers=2)]
    torch.testing.assert_close(torch.cat(batches), torch.cat(list(serial.loader(3))))
    assert deferred._file_headers() == serial._file_headers()

    _truncate(paths[7], 20)
    paths[3].unlink()
    deferred = check_images(paths, num_workers=2)  # nothing is read yet
    with pytest.raises(FileNotFoundError, match=r"3\.png.*in X does not exist"):
        next(iter(deferred.loader(3, num_workers=2)))
    (tmp_path / "spare").mkdir()
    _save(NHWC[3:4], tmp_path / "spare", ".png")[0].rename(paths[3])
    loader = check_images(paths, num_workers=2).loader(3, num_workers=2)
    with pytest.raises(ValueError, match=r"2\.jpg.*truncated"):
        next(iter(loader))


def test_an_extractor_with_workers_names_a_bad_file_before_any_batch(tmp_path):
    paths = _save(NHWC, tmp_path, ".jpg")
    params = {"num_workers": 2, "batch_size": 1, "device": "cpu"}
    extractor = CNNCodeExtractor("toy_cnn", **params).fit(paths)
    ran = []
    block1 = extractor.backbone_.model.block1
    block1.register_forward_hook(lambda module, args, output: ran.append(len(output)))
    extractor.transform(paths)
    assert ran == [1] * len(paths)  # the hook sees every batch

    ran.clear()
    _truncate(paths[-1], 20)
    with pytest.raises(ValueError, match=r"4\.jpg.*truncated"):
        extractor.transform(paths)
    assert not ran


@pytest.mark.parametrize("channels", [1, 3])
def test_decoding_without_a_header_matches_the_header_path(tmp_path, channels):
    # Workers decode files whose headers this process is still checking: they tell JPEGs and
    # PNGs apart by their first bytes, and must give the pixels the header path gives.
    images = {f"{mode}.png": Image.fromarray(NHWC[0]).convert(mode) for mode in PNG_MODES}
    images["deep.png"] = Image.fromarray(_png_gradient(12, 10))
    images.update({f"{mode}.jpg": Image.fromarray(NHWC[1]).convert(mode) for mode in JPEG_MODES})
    images["palette_alpha.png"] = Image.fromarray(NHWC[2]).convert("P")
    images["image.bmp"] = Image.fromarray(NHWC[2])
    for name, image in images.items():
        path = tmp_path / name
        extra = {"transparency": 3} if name == "palette_alpha.png" else {}
        image.save(path, **extra)
        header = _images._read_header(path)
        expected = _images._decode_file(path, channels, header)
        decoded = _images._decode_file(path, channels)
        assert decoded.dtype == expected.dtype, name
        assert torch.equal(decoded, expected), name


PNG_MODES = ["1", "L", "LA", "P", "RGB", "RGBA"]
JPEG_MODES = ["L", "RGB", "CMYK"]


def test_a_worker_never_reads_the_header_of_a_jpeg_or_png(tmp_path, monkeypatch):
    paths = _save(NHWC[:2], tmp_path, ".jpg") + _save(NHWC[2:4], tmp_path, ".png")
    monkeypatch.setattr(_images, "_read_header", None)  # calling it would raise
    for path in paths:
        assert _images._decode_file(path, 3).shape == (3, *NHWC.shape[1:3])


def _count_header_reads(monkeypatch):
    reads = []
    real_read = _images._read_header
    monkeypatch.setattr(
        _images, "_read_header", lambda path, *args: reads.append(path) or real_read(path, *args)
    )
    _images._header_of_unchanged.cache_clear()
    return reads


def test_unchanged_files_are_checked_once_changed_ones_again(tmp_path, monkeypatch):
    # A grid search checks the same files at every fit and transform: an unchanged file's
    # header is read once, a file written since is read again, a removed one is refused.
    paths = _save(NHWC[:3], tmp_path, ".jpg")
    reads = _count_header_reads(monkeypatch)
    check_images(paths)
    check_images(paths)
    assert len(reads) == 3
    _truncate(paths[1], 20)
    with pytest.raises(ValueError, match=r"1\.jpg.*truncated"):
        check_images(paths)
    paths[2].unlink()
    with pytest.raises(FileNotFoundError, match=r"2\.jpg.*does not exist"):
        check_images([paths[0], paths[2]])


def test_a_file_rewritten_to_the_same_size_is_checked_again(tmp_path, monkeypatch):
    (path,) = _save(NHWC[:1], tmp_path, ".png")
    reads = _count_header_reads(monkeypatch)
    check_images([path])
    status = path.stat()
    path.write_bytes(b"\0" * status.st_size)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000))
    with pytest.raises(ValueError, match=r"0\.png.*not an image"):
        check_images([path])
    assert len(reads) == 2


def _pil_path_header(path):
    """The header that PIL's open gives, with the reading by hand turned off."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_images, "_read_header_by_hand", lambda path: None)
        return _images._read_header(path)


def _headers_by_hand(directory):
    """A file of every kind of JPEG and PNG that the header is read by hand for, by name."""
    rgb = Image.fromarray(NHWC[0])
    exif = Image.Exif()
    exif[0x010F] = "camera " * 1000  # over 4 KB: the segments go on past the first read
    text = PngImagePlugin.PngInfo()
    text.add_text("Software", "by hand")
    text.add_text("Comment", "compressed", zip=True)
    text.add_itxt("Title", "international")
    saved = {
        "L.jpg": (rgb.convert("L"), {}),
        "RGB.jpg": (rgb, {"quality": 50, "subsampling": 0}),
        "progressive.jpg": (rgb, {"progressive": True, "optimize": True}),
        "exif.jpg": (rgb, {"exif": exif}),
        "icc_and_comment.jpg": (rgb, {"icc_profile": b"icc" * 3000, "comment": b"hello"}),
        "padded.jpg": (rgb, {}),
        "1.png": (rgb.convert("1"), {}),
        "L.png": (rgb.convert("L"), {"transparency": 3}),
        "LA.png": (rgb.convert("LA"), {}),
        "P.png": (rgb.convert("P"), {"transparency": 3, "optimize": True}),
        "RGB.png": (rgb, {"transparency": (1, 2, 3), "dpi": (96, 96)}),
        "RGBA.png": (rgb.convert("RGBA"), {}),
        "I;16.png": (Image.fromarray(_png_gradient(12, 10)), {}),
        "text.png": (rgb, {"pnginfo": text}),
        "icc.png": (rgb, {"icc_profile": b"icc" * 3000}),
    }
    paths = {}
    for name, (image, options) in saved.items():
        paths[name] = directory / name
        image.save(paths[name], **options)
    paths["padded.jpg"].write_bytes(paths["padded.jpg"].read_bytes() + bytes(100))
    palette = [(b"PLTE", bytes(range(48))), (b"tRNS", b"\0\x80")]
    for depth, colour, chunks in [
        *[(depth, 0, [(b"gAMA", struct.pack(">I", 45455))]) for depth in (1, 2, 4, 16)],
        *[(depth, 3, palette) for depth in (1, 2, 4)],
        *[(16, colour, [(b"bKGD", bytes(2 if colour == 4 else 6))]) for colour in (2, 4, 6)],
    ]:
        n_channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
        samples = RNG.integers(0, min(2**depth, 16), size=(7, 11, n_channels))
        paths[f"{depth}_bit_{colour}.png"] = directory / f"{depth}_bit_{colour}.png"
        _write_png(paths[f"{depth}_bit_{colour}.png"], samples, depth, colour, chunks=chunks)
    paths["interlaced.png"] = directory / "interlaced.png"
    _write_png(paths["interlaced.png"], NHWC[0], 8, 2, interlaced=True)
    return paths


def test_headers_read_by_hand_are_the_ones_pil_gives(tmp_path, monkeypatch):
    paths = _headers_by_hand(tmp_path)
    with Image.open(paths["interlaced.png"]) as image:
        assert np.array_equal(np.asarray(image), NHWC[0])  # written as PNG stores it
    expected = {name: _pil_path_header(path) for name, path in paths.items()}
    monkeypatch.setattr(Image, "open", lambda *args: pytest.fail("PIL opened a JPEG or PNG"))
    headers = {name: _images._read_header(path) for name, path in paths.items()}
    assert headers == expected
    assert {(header.format, header.mode) for header in headers.values()} == {
        ("JPEG", mode) for mode in ["L", "RGB"]
    } | {("PNG", mode) for mode in [*PNG_MODES, "I;16"]}


def test_jpeg_and_png_files_are_checked_without_pil(tmp_path, monkeypatch):
    paths = _save(NHWC[:2], tmp_path, ".jpg") + _save(NHWC[2:4], tmp_path, ".png")
    monkeypatch.setattr(Image, "open", lambda *args: pytest.fail("PIL opened a JPEG or PNG"))
    assert check_images(paths).sizes() == [(12, 10)] * 4


def test_a_multi_picture_jpeg_is_read_as_a_jpeg(tmp_path):
    # PIL calls it MPO; nothing depends on that name, and torchvision decodes its first picture.
    path = tmp_path / "image.mpo"
    Image.fromarray(NHWC[0]).save(path, save_all=True, append_images=[Image.fromarray(NHWC[1])])
    header = _images._read_header_by_hand(path)
    assert header == _pil_path_header(path)._replace(format="JPEG")
    with Image.open(path) as image:
        assert torch.equal(_images._decode_file(path, 3, header), _images._pil_to_tensor(image, 3))


def _jpeg_segment(marker, data):
    return bytes([0xFF, marker]) + struct.pack(">H", len(data) + 2) + data


def _jpeg_segment_at(data, marker):
    """Where the segment that ``marker`` starts begins and ends in ``data``."""
    start = data.index(marker)
    return start, start + 2 + int.from_bytes(data[start + 2 : start + 4], "big")


def _longer_segment(data, marker):
    """``data`` with one byte more at the end of the segment that ``marker`` starts."""
    start, end = _jpeg_segment_at(data, marker)
    longer = struct.pack(">H", end - start - 1)
    return data[: start + 2] + longer + data[start + 4 : end] + b"\0" + data[end:]


def _frame_twice(data):
    start, end = _jpeg_segment_at(data, b"\xff\xc0")
    return data[:end] + data[start:end] + data[end:]


def _two_components(data):
    start, end = _jpeg_segment_at(data, b"\xff\xc0")
    frame = data[start + 4 : end - 3]  # without the third component
    return data[:start] + _jpeg_segment(0xC0, frame[:5] + b"\2" + frame[6:]) + data[end:]


def _without_frame(data):
    start, end = _jpeg_segment_at(data, b"\xff\xc0")
    return data[:start] + data[end:]


def _with_png_header(offset, fields):
    """A change of IHDR's fields from ``offset`` on, its checksum made right again."""

    def change(data):
        header = data[16:29]
        header = header[:offset] + fields + header[offset + len(fields) :]
        return data[:8] + _png_chunk(b"IHDR", header) + data[33:]

    return change


# JPEGs and PNGs the header is not read by hand for, made from a plain one of 12 x 10 pixels.
_LEFT_TO_PIL = {
    "fill_bytes.jpg": lambda data: data[:2] + b"\xff" + data[2:],
    "junk_between_segments.jpg": lambda data: data[:20] + b"\0\xfe\0\4ab" + data[20:],
    "restart_marker.jpg": lambda data: data[:2] + b"\xff\xd0" + data[2:],
    "lossless.jpg": lambda data: data.replace(b"\xff\xc0", b"\xff\xc3", 1),
    "arithmetic.jpg": lambda data: data.replace(b"\xff\xc0", b"\xff\xc9", 1),
    "12_bit.jpg": lambda data: data.replace(b"\xff\xc0\0\x11\x08", b"\xff\xc0\0\x11\x0c", 1),
    "two_components.jpg": _two_components,
    "zero_height.jpg": lambda data: data.replace(
        b"\xff\xc0\0\x11\x08\0\x0c", b"\xff\xc0\0\x11\x08\0\0", 1
    ),
    "long_frame.jpg": lambda data: _longer_segment(data, b"\xff\xc0"),
    "two_frames.jpg": _frame_twice,
    "no_frame.jpg": _without_frame,
    "long_scan_header.jpg": lambda data: data.replace(b"\xff\xda\0\x0c", b"\xff\xda\xff\xff", 1),
    "bytes_after_the_end.jpg": lambda data: data + b"more",
    "truncated.jpg": lambda data: data[:-20],
    "chunk_before_header.png": lambda data: data[:8] + _png_chunk(b"tEXt", b"a\0b") + data[8:],
    "header_checksum.png": lambda data: data[:29] + b"!!!!" + data[33:],
    "3_bit.png": _with_png_header(8, b"\3"),
    "zero_height.png": _with_png_header(4, bytes(4)),
    "compression_method.png": _with_png_header(10, b"\1"),
    "filter_method.png": _with_png_header(11, b"\1"),
    "interlace_method.png": _with_png_header(12, b"\2"),
    "truncated.png": lambda data: data[:-20],
}


@pytest.mark.parametrize(
    "name", [*_LEFT_TO_PIL, "CMYK.jpg", "image.bmp", "image.gif", "image.webp"]
)
def test_other_formats_and_unusual_files_are_left_to_pil(tmp_path, name):
    # Anything the reading by hand is not sure of goes to PIL, which reads it or refuses it in
    # its own words. CMYK JPEGs are decoded by PIL, so PIL opens them.
    path = tmp_path / name
    image = Image.fromarray(NHWC[0])
    if name in _LEFT_TO_PIL:
        (plain,) = _save([image], tmp_path, path.suffix)
        assert _images._read_header_by_hand(plain) is not None
        path.write_bytes(_LEFT_TO_PIL[name](plain.read_bytes()))
    else:
        image.convert("CMYK" if name == "CMYK.jpg" else "RGB").save(path)
    assert _images._read_header_by_hand(path) is None


def _exif_directory_beyond(data):
    """``data`` with an EXIF segment whose first directory lies past its end: PIL warns."""
    tiff = b"II*\0" + struct.pack("<L", 4000)
    return data[:2] + _jpeg_segment(0xE1, b"Exif\0\0" + tiff) + data[2:]


# JPEGs that PIL's open alone refuses or warns about, made from a plain one: torchvision decodes
# them.
_REFUSED_BY_PIL_ALONE = {
    "short_jfif.jpg": lambda data: data[:2] + _jpeg_segment(0xE0, b"JFIF\0") + data[2:],
    "exif_directory_beyond.jpg": _exif_directory_beyond,
}


@pytest.mark.parametrize("name", _REFUSED_BY_PIL_ALONE)
def test_what_only_pil_refuses_is_read_by_hand_and_decoded_by_torchvision(tmp_path, name):
    # The files read by hand are decoded by torchvision, so PIL's own refusals do not matter.
    (plain,) = _save(NHWC[:1], tmp_path, name[-4:])
    path = tmp_path / name
    path.write_bytes(_REFUSED_BY_PIL_ALONE[name](plain.read_bytes()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises((ValueError, UserWarning)):  # PIL warns about a damaged EXIF block
            _pil_path_header(path)
    header = _images._read_header_by_hand(path)
    assert header == _images._read_header_by_hand(plain)
    assert header.size == (12, 10) and header.torchvision
    expected = _images._decode_file(plain, 3, header)
    assert torch.equal(_images._decode_file(path, 3, header), expected)


def test_files_over_pils_decompression_bomb_limit_are_left_to_it(tmp_path, monkeypatch):
    paths = _save(NHWC[:1], tmp_path, ".jpg") + _save(NHWC[:1], tmp_path, ".png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 120 pixels: PIL warns
    for path in paths:
        assert _images._read_header_by_hand(path) is None
        with pytest.warns(Image.DecompressionBombWarning):
            _images._read_header(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)  # over twice the limit: PIL refuses
    for path in paths:
        # PIL's own error, and a ValueError naming the file and the limit to raise.
        with pytest.raises(Image.DecompressionBombError):
            _images._read_header(path)
        with pytest.raises(ValueError, match=f"{path.name}' in X is too large.*MAX_IMAGE_PIXELS"):
            check_images([path])


def test_a_directory_among_the_paths_is_named_as_one(tmp_path):
    paths = _save(NHWC[:1], tmp_path, ".png") + [tmp_path]
    with pytest.raises(ValueError, match=f"{tmp_path.name}' in X is a directory, not an image"):
        check_images(paths)


# The channels torchvision decodes the fuzzed files to, by the mode PIL gives them.
_DECODED_CHANNELS = {"L": 1, "RGB": 3}


def _how_confirmed(path, header):
    """How a header read by hand is borne out: PIL's open gives the same one; or PIL refuses the
    file and torchvision decodes it to that size and mode; or both refuse it, and its decoding
    fails, named, as for damaged scan data, which no check before decoding finds either."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PIL's warnings about a damaged EXIF block and such
        try:
            if _pil_path_header(path) == header:
                return "PIL"
            refused = False
        except ValueError:
            refused = True
        try:
            data = _images._read_bytes(path)
            image = _images._torchvision_decode(data, _images.ImageReadMode.UNCHANGED)
        except RuntimeError:
            assert refused, f"{path.name}: {header} is not PIL's, nor torchvision's"
            with pytest.raises(ValueError, match=f"Could not decode image file .*{path.name}"):
                _images._decode_file(path, 3, header)
            return "neither"
    assert image.shape == (_DECODED_CHANNELS[header.mode], *header.size), path.name
    return "torchvision"


def test_a_header_read_by_hand_is_pils_or_the_one_torchvision_decodes(tmp_path):
    # Damaged copies of a JPEG with EXIF, up to its scan header, and of a PNG with several
    # chunks, up to its image data. PIL decodes that PNG, so its header must be PIL's.
    exif = Image.Exif()
    exif[0x0128], exif[0x011A], exif[0x0131] = 2, 300, "by hand"
    Image.fromarray(NHWC[0]).save(tmp_path / "exif.jpg", exif=exif)
    chunks = [(b"gAMA", struct.pack(">I", 45455)), (b"tRNS", b"\0\x80"), (b"pHYs", bytes(9))]
    chunks.append((b"tEXt", b"Software\0by hand"))
    _write_png(tmp_path / "grey.png", NHWC[0, ..., :1], 8, 0, chunks=chunks)
    rng = np.random.default_rng(0)
    outcomes = collections.Counter()
    for name in ("exif.jpg", "grey.png"):
        data = (tmp_path / name).read_bytes()
        end = data.find(b"\xff\xda") + 4 if name.endswith(".jpg") else data.find(b"IDAT") - 4
        for i in range(200):
            damaged = bytearray(data)
            for position in rng.integers(0, end, size=rng.integers(1, 3)):
                damaged[position] = rng.choice([0, 0xFF, rng.integers(0, 256)])
            path = tmp_path / f"{i}_{name}"
            path.write_bytes(bytes(damaged))
            header = _images._read_header_by_hand(path)
            if header is not None:
                outcomes[name, _how_confirmed(path, header)] += 1
    # Every chunk up to the image data has a checksum: only the copies left whole are read.
    assert outcomes["exif.jpg", "PIL"] > 100 and outcomes["grey.png", "PIL"] > 5, outcomes
    assert {name for name, _ in outcomes} == {"exif.jpg", "grey.png"}
    assert {how for name, how in outcomes if name == "grey.png"} == {"PIL"}, outcomes


def test_a_palette_image_is_keyed_by_its_palette_too():
    # The codes cache served one palette image the codes of another with the same indices.
    indices = RNG.integers(0, 4, size=(12, 10), dtype=np.uint8)
    images = []
    for palette in (list(range(12)), list(range(100, 112))):
        image = Image.fromarray(indices, "P")
        image.putpalette(palette)
        images.append(image)
    keys = check_images(images).row_keys()
    assert keys[0] != keys[1]


def test_tensors_with_gradients_or_in_bfloat16_are_keyed_and_stacked():
    floats = torch.from_numpy(NHWC / 255).float()
    for tensor in (floats.requires_grad_(), floats.detach().bfloat16()):
        keys = check_images(tensor).row_keys()  # NumPy refused both
        assert len(set(keys)) == len(NHWC)
        listed = check_images(list(tensor))  # NumPy stacked the list, and refused these too
        torch.testing.assert_close(_read_all(listed), _read_all(check_images(tensor)))


def test_a_masked_array_is_refused_unless_nothing_is_masked():
    floats = NHWC / 255
    floats[0, 0, 0, 0] = 50.0  # out of range, masked: the network would have read it
    with pytest.raises(TypeError, match=r"X is a masked array.*X.filled\(0\)"):
        check_images(np.ma.masked_greater(floats, 1))
    whole = np.ma.masked_array(NHWC, mask=False)
    torch.testing.assert_close(_read_all(check_images(whole)), _read_all(check_images(NHWC)))


@pytest.mark.parametrize(
    "X, match",
    [
        (torch.from_numpy(NHWC).to(torch.uint32), "got a torch.uint32 tensor"),
        (torch.empty(2, 3, 4, 4, device="meta"), "meta device"),
        (NHWC.astype("timedelta64[s]"), "got dtype timedelta64"),
    ],
    ids=["uint32 tensor", "meta tensor", "timedelta64"],
)
def test_values_that_are_not_pixels_are_refused_by_type(X, match):
    # torch's "min_all not implemented for UInt32" and ".item() on meta tensors" before;
    # timedelta64 was taken for integers.
    with pytest.raises(TypeError, match=match):
        check_images(X)


def test_long_double_floats_read_as_doubles():
    floats = NHWC / 255
    expected = _read_all(check_images(floats))
    torch.testing.assert_close(_read_all(check_images(floats.astype(np.longdouble))), expected)


def test_a_pil_image_whose_mode_pil_cannot_convert_is_refused_by_the_check():
    # It failed mid-extraction, after the batches before it had run through the network.
    images = [Image.fromarray(NHWC[0]), Image.new("La", (10, 12))]
    with pytest.raises(ValueError, match="Image 1 of X has PIL mode 'La'.*cannot convert"):
        check_images(images)


def test_same_sized_images_of_several_types_are_read_one_by_one():
    # NumPy stacked uint8 and 0-1 float images into one float array, refused as [0, 255].
    mixed = [NHWC[0], NHWC[1] / 255, NHWC[2], NHWC[3]]
    torch.testing.assert_close(_read_all(check_images(mixed)), _read_all(check_images(NHWC[:4])))


def test_paths_and_arrays_in_pandas_containers(tmp_path):
    import pandas as pd

    paths = [str(path) for path in _save(NHWC[:3], tmp_path, ".png")]
    expected = _read_all(check_images(NHWC[:3]))
    # A one-column DataFrame is what ColumnTransformer hands over for a list of columns.
    for X in (pd.DataFrame({"path": paths}), pd.Series(list(NHWC[:3]))):
        torch.testing.assert_close(_read_all(check_images(X)), expected)
