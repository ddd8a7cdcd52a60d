"""Image inputs: arrays, tensors, file paths and PIL images, validated up front, read by batch."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import multiprocessing
import os
import stat
import struct
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset, default_collate, get_worker_info
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from ._sklearn import Integers, validate_parameter_constraints

try:
    from torchvision.io import ImageReadMode, decode_image, read_file
except ImportError:  # torchvision 0.29 deprecates its image decoders; PIL stands in once they go
    decode_image = None

_INTERPOLATIONS = {
    "nearest": InterpolationMode.NEAREST,
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
}

_ACCEPTED = (
    "a 4-D array or tensor of images, (n, C, H, W) or (n, H, W, C); a 3-D array of grayscale "
    "images (n, H, W); a sequence of image file paths; a sequence of PIL images; or a "
    "sequence of single images as arrays or tensors, (H, W, C), (C, H, W) or (H, W)"
)


class ImageFileNotFoundError(FileNotFoundError, ValueError):
    """An image path that does not exist; a ``ValueError`` too, as for any bad input value."""


class ImageTooLargeError(Image.DecompressionBombError, ValueError):
    """An image file with more pixels than PIL opens (``PIL.Image.MAX_IMAGE_PIXELS``, its guard
    against decompression bombs); a ``ValueError`` too, as for any bad input value."""


class ImageSet:
    """Images checked once, then read batch by batch as ``(n, C, H, W)`` tensors.

    Arrays and tensors are sliced; file paths are decoded only when their batch is read, so
    memory is bounded by the batch size, not by the number of images. Built by
    :func:`check_images`, not by hand.

    Parameters
    ----------
    kind : {"array", "paths", "pil", "arrays"}
        What ``data`` holds.
    data : ndarray, torch.Tensor or list
        ``(n, C, H, W)`` images, file paths, PIL images, or ``(C, H, W)`` arrays or tensors
        of several sizes.
    channels : int
        Channels the network expects.
    headers : list, default=None
        For file paths: each file's format, mode and size, read when the paths were checked;
        None to read them when first needed.
    input_name : str, default="X"
        Name used in error messages.
    """

    def __init__(self, kind, data, channels, *, headers=None, input_name="X"):
        self.kind = kind
        self.data = data
        self.channels = channels
        # Per file: format, mode and size read from its header when the paths were checked.
        self._headers = headers
        self._input_name = input_name

    def __len__(self):
        return len(self.data)

    def subset(self, indices):
        """The images at ``indices``, as an ImageSet of the same kind.

        Parameters
        ----------
        indices : array-like of int
            Positions of the images to keep.

        Returns
        -------
        ImageSet
            The chosen images.
        """
        if self.kind == "array":
            return ImageSet(self.kind, self.data[indices], self.channels)
        headers = None if self._headers is None else [self._headers[i] for i in indices]
        return ImageSet(
            self.kind,
            [self.data[i] for i in indices],
            self.channels,
            headers=headers,
            input_name=self._input_name,
        )

    def sizes(self):
        """The ``(height, width)`` of each image, known without decoding any file.

        Returns
        -------
        list of tuple of int
            One ``(height, width)`` per image.
        """
        if self.kind == "array":
            return [tuple(int(side) for side in self.data.shape[2:])] * len(self)
        if self.kind == "paths":
            return [header.size for header in self._file_headers()]
        if self.kind == "arrays":
            return [tuple(int(side) for side in image.shape[1:]) for image in self.data]
        return [image.size[::-1] for image in self.data]

    def loader(self, batch_size, *, num_workers=0, pin_memory=False):
        """The images in order, ``batch_size`` at a time, through a torch ``DataLoader``.

        Parameters
        ----------
        batch_size : int
            Images per batch; the last batch may be smaller.
        num_workers : int, default=0
            Worker processes that decode files and PIL images (0: decode in this process).
            Arrays and tensors are already in memory and are sliced here whatever its value.
        pin_memory : bool, default=False
            Put batches in page-locked memory, for faster non-blocking copies to a GPU.

        Returns
        -------
        torch.utils.data.DataLoader or iterable
            Yields a ``(n, C, H, W)`` tensor when the images of a batch share their shape, a
            list of ``(C, H, W)`` tensors otherwise. Tensors are uint8 (0-255), or float32
            (0-1) for float input and images deeper than 8 bits. Iterating it leaves torch's
            global random state untouched. Files not yet checked (see :func:`check_images`)
            are checked when iteration starts, while the workers decode the first batches.
        """
        common = {
            "shuffle": False,
            "pin_memory": pin_memory and not _on_accelerator(self.data),
            # Without its own generator, every iteration draws a seed from the global one.
            "generator": torch.Generator(),
        }
        if self.kind == "array":
            return DataLoader(
                _ArrayBatches(self.data, batch_size),
                batch_size=None,
                collate_fn=_unchanged,
                **common,
            )
        if self.kind == "arrays":
            num_workers = 0  # in memory already, as for "array"
        unchecked = self.kind == "paths" and self._headers is None and num_workers > 0
        if self.kind == "paths" and not unchecked:
            self._file_headers()
        if num_workers > 0:
            common["multiprocessing_context"] = _worker_start_method()
        loader = DataLoader(
            _DecodedImages(self.data, self.channels, self.kind, self._headers),
            batch_size=batch_size,
            collate_fn=_collate,
            num_workers=num_workers,
            persistent_workers=False,
            **common,
        )
        if num_workers == 0:
            return loader
        return _WorkerBatches(loader, self._file_headers if unchecked else None)

    def batches(self, batch_size):
        """The batches of :meth:`loader` without worker processes.

        Parameters
        ----------
        batch_size : int
            Images per batch.

        Yields
        ------
        torch.Tensor or list of torch.Tensor
            ``(n, C, H, W)`` tensors, or lists of ``(C, H, W)`` tensors when sizes vary.
        """
        yield from self.loader(batch_size)

    def row_keys(self):
        """A digest per image that changes when the image does: the cache key of its codes.

        Returns
        -------
        list of str
            One hexadecimal digest per image.
        """
        if self.kind == "array":
            return row_digests(self.data)
        if self.kind == "paths":
            return [_file_key(path) for path in self.data]
        if self.kind == "arrays":
            return [row_digests(image[None])[0] for image in self.data]
        return [_pil_digest(image) for image in self.data]

    def _file_headers(self):
        if self._headers is None:
            self._headers = _read_headers(self.data, self._input_name)
        return self._headers


def check_images(X, *, channels=3, input_name="X", num_workers=0):
    """Validate images and return an :class:`ImageSet`, before any heavy compute.

    Parameters
    ----------
    X : array-like, tensor, sequence of paths, of PIL images or of single images
        Images as described in the user guide: NCHW or NHWC, uint8 (0-255), uint16 (0-65535,
        read as ``value / 65535``) or float (0-1); other integer types must hold 0-255.
        Paths may be held in a list, a 1-D array, a Series or a one-column DataFrame; single
        images, one array or tensor each, may differ in size.
        Grayscale inputs are expanded to ``channels``. Files and PIL images deeper than 8 bits
        (16-bit PNGs, PIL modes ``"I;16"``, ``"I"``) are read as floats in [0, 1]; PIL mode
        ``"F"`` must already lie in [0, 1].
    channels : int, default=3
        Channels the network expects.
    input_name : str, default="X"
        Name used in error messages.
    num_workers : int, default=0
        Worker processes that will decode the files. With workers, files are checked when
        :meth:`ImageSet.loader` first runs, in this process while the workers start decoding,
        and still before the loader hands out its first batch; with none, they are checked
        here. Either way the first missing or bad file in order is the one named.

    Returns
    -------
    ImageSet
        Arrays come back ``(n, C, H, W)`` with 1 or ``channels`` channels, as uint8, uint16 or
        float; :meth:`ImageSet.loader` turns uint16 into float32 batch by batch.

    Raises
    ------
    ValueError
        Empty input, wrong number of dimensions, channels that do not match, one colour
        image without its batch axis (``(H, W, 3)``), NaN or infinite values, floats outside
        [0, 1], a path that does not exist (named), a file that is not an image or is truncated
        (named), a PIL image with values out of range (its position), a parameter out of range.
    TypeError
        Input of a type that is not one of the above.
    """
    validate_parameter_constraints(
        {
            "channels": [Integers(1, None, closed="left")],
            "input_name": [str],
            "num_workers": [Integers(0, None, closed="left")],
        },
        {"channels": channels, "input_name": input_name, "num_workers": num_workers},
        caller_name="check_images",
    )
    if isinstance(X, (str, os.PathLike)):
        raise TypeError(f"{input_name} must be a sequence of images; got the single path {X!r}.")
    if isinstance(X, np.ma.MaskedArray) and not np.ma.is_masked(X):
        X = X.data
    if isinstance(X, np.ma.MaskedArray):
        raise TypeError(
            f"{input_name} is a masked array, whose masked values the network would read as "
            f"they are; fill them first, for example {input_name}.filled(0)."
        )
    column = _column_of_items(X)
    if column is not None:
        X = column  # paths or PIL images held in an array or in a one-column DataFrame
    if isinstance(X, (np.ndarray, torch.Tensor)):
        return ImageSet("array", _check_array(X, channels, input_name), channels)
    if not isinstance(X, Sequence) and not hasattr(X, "__array__"):
        raise TypeError(f"{input_name} must be {_ACCEPTED}; got {type(X).__name__}.")
    if len(X) == 0:
        raise ValueError(f"{input_name} is empty: at least one image is needed.")
    if all(isinstance(item, (str, os.PathLike)) for item in X):
        paths, headers = _check_paths(X, input_name, num_workers)
        return ImageSet("paths", paths, channels, headers=headers, input_name=input_name)
    if all(isinstance(item, Image.Image) for item in X):
        return ImageSet("pil", _check_pil_images(X, channels, input_name), channels)
    if all(isinstance(item, (np.ndarray, torch.Tensor)) for item in X):
        if len({(tuple(item.shape), str(item.dtype)) for item in X}) > 1:
            # Of several sizes or types: NumPy would not stack them, or would make 0-255
            # integers and 0-1 floats one float array.
            return ImageSet("arrays", _check_single_images(X, channels, input_name), channels)
        return ImageSet("array", _check_array(_stacked(X), channels, input_name), channels)
    try:
        array = np.asarray(X)
    except ValueError as exc:
        raise TypeError(f"{input_name} must be {_ACCEPTED}; could not read it: {exc}") from exc
    if array.dtype.kind in "OUS":
        raise TypeError(f"{input_name} must be {_ACCEPTED}; got a sequence of mixed items.")
    return ImageSet("array", _check_array(array, channels, input_name), channels)


def _check_array(X, channels, input_name, *, single=False):
    """``X`` as ``(n, C, H, W)`` with 1 or ``channels`` channels, its values checked; with
    ``single``, X is one image given a batch axis, and errors show the image's own shape."""
    X = _detached(X)
    if torch.is_tensor(X) and X.device.type == "meta":
        raise TypeError(f"{input_name} is a tensor on the meta device, which holds no values.")
    if X.ndim not in (3, 4):
        raise ValueError(
            f"{input_name} must be {_ACCEPTED}; got an array with {X.ndim} dimensions and shape "
            f"{tuple(X.shape)}."
        )
    if X.shape[0] == 0:
        raise ValueError(f"{input_name} is empty: at least one image is needed.")
    if X.ndim == 3:
        _refuse_one_colour_image(X, input_name)
        X = X[:, None]
    elif X.shape[1] not in (1, channels) and X.shape[-1] in (1, channels):
        X = X.permute(0, 3, 1, 2) if torch.is_tensor(X) else X.transpose(0, 3, 1, 2)
    elif X.shape[1] not in (1, channels):
        shape, axes = tuple(X.shape), "axis 1 (NCHW) nor axis 3 (NHWC)"
        if single:
            shape, axes = shape[1:], "its first axis (C, H, W) nor its last (H, W, C)"
        raise ValueError(
            f"{input_name} has shape {shape}: neither {axes} holds "
            f"{'1 channel' if channels == 1 else f'1 or {channels} channels'}, as the network "
            "expects."
        )
    if min(X.shape[2:]) == 0:
        raise ValueError(_no_pixels_message(input_name, tuple(X.shape[2:])))
    return _check_values(X, input_name)


def _refuse_one_colour_image(X, input_name):
    """A 3-D array is a stack of grayscale images, ``(n, H, W)``; one of shape ``(H, W, 3)``
    is one colour image without its batch axis, and gave H predictions without a word."""
    n, height, width = X.shape
    if width in (3, 4) and min(n, height) > 4:
        raise ValueError(
            f"{input_name} has shape {tuple(X.shape)}, which looks like one colour image "
            f"(height, width, channels) without a batch axis, while a 3-D array is read as "
            f"{n} grayscale images of {height}x{width} pixels. Pass {input_name}[None] (or "
            f"[{input_name}]) for one image, or {input_name}[:, None] for grayscale images "
            f"{width} pixels wide."
        )


def _column_of_items(X):
    """The items of X as a list when X holds file paths or PIL images in an array: 1-D, or
    2-D with one column (a DataFrame column selected by ColumnTransformer); None otherwise."""
    shape = getattr(X, "shape", None)
    if shape is None or torch.is_tensor(X) or len(shape) not in (1, 2):
        return None
    if len(shape) == 2 and shape[1] != 1:
        return None
    values = np.asarray(X, dtype=object) if hasattr(X, "iloc") else np.asarray(X)
    if values.dtype.kind not in "OUS":
        return None
    return values.reshape(-1).tolist()


def _stacked(images):
    """One array or tensor of single images of one shape and type."""
    if all(torch.is_tensor(image) for image in images):
        return torch.stack([image.detach() for image in images])
    return np.stack([np.asarray(_detached(image)) for image in images])


def _detached(X):
    return X.detach() if torch.is_tensor(X) else X


def _check_single_images(images, channels, input_name):
    """Images of several sizes, one array or tensor each: ``(C, H, W)`` each, checked as a
    batch of one."""
    checked = []
    for position, image in enumerate(images):
        name = f"Image {position} of {input_name}"
        if image.ndim not in (2, 3):
            raise ValueError(
                f"{name} has shape {tuple(image.shape)}: a single image is (H, W, C), "
                "(C, H, W) or (H, W)."
            )
        checked.append(_check_array(image[None], channels, name, single=True)[0])
    return checked


def _no_pixels_message(input_name, size):
    # Resizing an image without pixels divides by zero deep inside torchvision.
    return (
        f"{input_name} holds images of size {size} (height, width): every image needs at "
        "least one pixel."
    )


def _check_values(X, input_name):
    dtype = X.dtype
    is_float = dtype.is_floating_point if torch.is_tensor(X) else np.issubdtype(dtype, np.floating)
    if is_float:
        if not torch.is_tensor(X) and dtype.itemsize > 8:
            X = X.astype(np.float64)  # long double, which torch cannot hold
        finite = torch.isfinite(X).all() if torch.is_tensor(X) else np.isfinite(X).all()
        if not finite:
            raise ValueError(f"{input_name} contains NaN or infinite values.")
        low, high = float(X.min()), float(X.max())
        if low < -1e-3 or high > 1 + 1e-3:
            raise ValueError(
                f"Float images must lie in [0, 1]; {input_name} spans [{low:.3g}, {high:.3g}]. "
                "Divide 0-255 values by 255 or pass uint8 images."
            )
        return X
    if torch.is_tensor(X) and dtype not in _INTEGER_TENSOR_TYPES:
        raise TypeError(
            f"{input_name} must hold numbers as uint8, uint16, int8-int64 or floats, got a "
            f"{dtype} tensor."
        )
    # timedelta64 counts as an integer type to NumPy.
    if not torch.is_tensor(X) and (not np.issubdtype(dtype, np.integer) or dtype.kind == "m"):
        raise TypeError(f"{input_name} must hold numbers, got dtype {dtype}.")
    uint16 = (dtype == torch.uint16) if torch.is_tensor(X) else dtype.str[1:] == "u2"
    if uint16:
        # Any byte order. Every value is a valid 16-bit pixel; batches scale it by 65535, as
        # torchvision's ``to_dtype(..., scale=True)`` does.
        return X
    if X.dtype not in (np.uint8, torch.uint8):
        if X.min() < 0 or X.max() > 255:
            raise ValueError(f"Integer images must lie in [0, 255]; {input_name} does not.")
        X = X.to(torch.uint8) if torch.is_tensor(X) else X.astype(np.uint8)
    return X


# Integer tensor types whose values can be checked (torch has no min of uint32 or uint64).
_INTEGER_TENSOR_TYPES = (
    torch.uint8,
    torch.uint16,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
)


def _check_pil_images(images, channels, input_name):
    images = list(images)
    for position, image in enumerate(images):
        if 0 in image.size:
            raise ValueError(
                _no_pixels_message(f"Image {position} of {input_name}", image.size[::-1])
            )
        target = "L" if channels == 1 or image.mode in _GRAY_MODES else "RGB"
        if image.mode not in _DEEP_MODES and not _pil_converts(image.mode, target):
            raise ValueError(
                f"Image {position} of {input_name} has PIL mode {image.mode!r}, which PIL "
                f"cannot convert to {target!r}; convert it first (image.convert(...))."
            )
        if image.mode in ("I", "F"):
            # Only these modes can hold values out of range; reading them is a check in memory.
            try:
                _pil_to_tensor(image, channels)
            except ValueError as exc:
                raise ValueError(f"Image {position} of {input_name}: {exc}") from exc
    return images


@functools.cache
def _pil_converts(mode, target):
    try:
        Image.new(mode, (1, 1)).convert(target)
    except (ValueError, OSError):
        return False
    return True


class _FileHeader(NamedTuple):
    """What an image file's header says, read once when the paths are checked."""

    format: str | None
    mode: str
    size: tuple[int, int]  # (height, width)
    # Whether torchvision decodes it to the same pixels as PIL; otherwise PIL does.
    torchvision: bool


def _check_paths(paths, input_name, num_workers=0):
    paths = [Path(path) for path in paths]
    if num_workers > 0:
        # Checked by ImageSet.loader in this process while its workers start decoding.
        return paths, None
    return paths, _read_headers(paths, input_name)


def _read_headers(paths, input_name):
    """Every file's header, in order: the first missing or bad file raises, named."""
    headers = []
    for path in paths:
        try:
            status = path.stat()
        except OSError:
            status = None
        if status is None:
            raise ImageFileNotFoundError(
                f"Image file {str(path)!r} in {input_name} does not exist."
            )
        if not stat.S_ISREG(status.st_mode):
            what = "a directory" if stat.S_ISDIR(status.st_mode) else "a special file"
            raise ValueError(f"Path {str(path)!r} in {input_name} is {what}, not an image file.")
        # The file as it is now: another size or modification time is another file.
        now = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)
        headers.append(_header_of_unchanged(str(path), *now, input_name))
    return headers


@functools.lru_cache(maxsize=2**16)
def _header_of_unchanged(path, device, inode, size, mtime_ns, input_name):
    """The header of a file not changed since it was last checked, read once: a grid search
    checks the same files at every fit and transform. Failures are not cached."""
    # The path stays the string it is cached under: building a Path again cost a tenth of a
    # cold check, and the header and its error messages are the same for either.
    return _read_header(path, input_name)


def _read_header(path, input_name="X"):
    """Read a file's header and check that the file is whole, decoding it only when in doubt."""
    header = _read_header_by_hand(path)
    if header is not None:
        return header
    try:
        image = Image.open(path)
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(
            f"File {str(path)!r} in {input_name} is not an image, or is truncated: {exc}"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(
            f"Image file {str(path)!r} in {input_name} is too large to open: {exc} Raise "
            "PIL.Image.MAX_IMAGE_PIXELS (or set it to None) if the file is trusted."
        ) from exc
    with image:
        try:
            whole = _ends_whole(path, image.format)
            if not whole:
                # No end marker where one was expected (or no cheap marker for this format):
                # only a full decode tells a truncated file from one with bytes after its end.
                image.load()
        except Exception as exc:
            raise ValueError(
                f"Image file {str(path)!r} in {input_name} is truncated or unreadable: {exc}"
            ) from exc
        if not whole and image.mode in ("I", "F"):
            # Decoded already, so values out of range are found now rather than mid-extraction.
            try:
                _deep_pil_to_tensor(image)
            except ValueError as exc:
                raise ValueError(f"Image file {str(path)!r} in {input_name}: {exc}") from exc
        deep_colour = image.format == "PNG" and _png_deep_colour(path)
        torchvision = whole and _torchvision_reads(image.format, image.mode, deep_colour)
        return _FileHeader(image.format, image.mode, image.size[::-1], torchvision)


def _read_header_by_hand(path):
    """The header of an ordinary whole JPEG or PNG, read from one opening of the file; None for
    anything else, which PIL's open then reads or refuses in its own words. It never raises.

    A hand parser because this process checks every file before any network runs, while the
    workers decode: PIL's open costs about four times as much as this whole reading.

    It gives the format, mode and size that PIL would, and checks that the file ends whole.
    The JPEGs it accepts are decoded by torchvision (libjpeg), not by PIL, so it checks what
    that decoding needs: segments walked by their lengths up to the first frame. PIL's own
    refusals (a malformed EXIF directory, a short JFIF or Adobe segment) are left out on
    purpose: they do not stop torchvision, and PIL's open, which decodes nothing, never caught
    corrupt scan data either. Most PNGs are decoded by PIL, so it checks what PIL's open does:
    every chunk up to the image data, whole and matching its checksum (PIL's memory limit on
    text chunks is left to the decoding, which names the file).
    """
    try:
        # Not a Python file object, whose buffering costs more than the parsing.
        descriptor = os.open(path, _READ_ONLY)
    except OSError:
        return None
    try:
        data = _FileBytes(descriptor)
        if data.head.startswith(b"\xff\xd8\xff"):
            return _jpeg_header(data)
        if data.head.startswith(_PNG_SIGNATURE):
            return _png_header(data)
        return None
    except OSError:
        return None
    finally:
        os.close(descriptor)


_READ_ONLY = os.O_RDONLY | getattr(os, "O_BINARY", 0)  # O_BINARY: Windows only
# Bytes read from a file at a time: most JPEG and PNG headers lie in the first read.
_READ_BYTES = 4096


class _FileBytes:
    """An open file's first bytes, ``head``, its last, ``tail``, and others read a block at a
    time where a parser looks beyond the head."""

    def __init__(self, descriptor):
        self.descriptor = descriptor
        self.head = self.tail = os.read(descriptor, _READ_BYTES)
        self.size = len(self.head)
        if self.size == _READ_BYTES:  # not the whole file (a short read ends a regular file)
            self.size = os.lseek(descriptor, -_TAIL_BYTES, os.SEEK_END) + _TAIL_BYTES
            self.tail = os.read(descriptor, _TAIL_BYTES)
        self.start, self.block = 0, self.head

    def at(self, offset, count):
        """``count`` bytes from ``offset``; fewer at the end of the file."""
        end = offset + count
        if end <= len(self.head):
            return self.head[offset:end]
        end = min(end, self.size)
        if offset < self.start or end > self.start + len(self.block):
            os.lseek(self.descriptor, offset, os.SEEK_SET)
            self.block = os.read(self.descriptor, max(end - offset, _READ_BYTES))
            self.start = offset
        return self.block[offset - self.start : end - self.start]


def _whole_file_header(data, image_format, mode, width, height, deep_colour=False):
    """The header of a file read by hand when PIL's open would take its size without a
    decompression-bomb warning and its tail shows it whole; None otherwise."""
    limit = Image.MAX_IMAGE_PIXELS
    if width == 0 or height == 0 or (limit is not None and width * height > limit):
        return None
    if not _tail_is_whole(data.tail, image_format):
        return None  # truncated, or bytes after the end: only PIL's full decode tells
    torchvision = _torchvision_reads(image_format, mode, deep_colour)
    return _FileHeader(image_format, mode, (height, width), torchvision)


# A JPEG segment's first bytes: 0xFF, its marker, and the length of what follows the marker.
_JPEG_SEGMENT = struct.Struct(">BBH")
# Frames read by hand: Huffman-coded baseline, extended and progressive DCT. Lossless,
# hierarchical and arithmetic-coded frames go to PIL.
_JPEG_FRAMES = (0xC0, 0xC1, 0xC2)
# Segments walked over unread: Huffman and quantization tables, restart interval, APPn, comment.
_JPEG_SKIPPED = frozenset((0xC4, 0xDB, 0xDD, 0xFE, *range(0xE0, 0xF0)))
# PIL's modes for 1 and 3 components. CMYK (4) goes to PIL: PIL decodes it, so it must open it.
_JPEG_MODES = {1: "L", 3: "RGB"}


def _jpeg_header(data):
    """A JPEG's header from its first frame, found by walking its segments up to the scan.

    A multi-picture JPEG, which PIL calls MPO, is read as a JPEG: nothing in this package
    depends on the name, it ends as a JPEG ends, and torchvision decodes its first picture, as
    PIL does.
    """
    position, frame = 2, None
    while True:
        segment = data.at(position, 4)
        if len(segment) < 4:
            return None  # the file ends before its scan
        fill, marker, length = _JPEG_SEGMENT.unpack(segment)
        end = position + 2 + length
        if fill != 0xFF or length < 2 or end > data.size:
            return None  # fill bytes or junk between segments, or a segment cut short
        if marker == 0xDA:  # start of scan
            break
        if marker in _JPEG_FRAMES and frame is None:
            frame = data.at(position + 4, length - 2)
        elif marker not in _JPEG_SKIPPED:
            return None  # another kind of frame, a second frame, or a marker out of place
        position = end
    if frame is None or len(frame) < 6 or frame[0] != 8:
        return None  # no frame before the scan, or samples of other than 8 bits
    mode = _JPEG_MODES.get(frame[5])
    if mode is None or len(frame) != 6 + 3 * frame[5]:
        return None
    height, width = struct.unpack_from(">HH", frame, 1)
    return _whole_file_header(data, "JPEG", mode, width, height)


# PIL's modes for PNGs of 8 bits by colour type (byte 25 of every PNG: its IHDR chunk comes
# first), and for those of other bit depths by (bit depth, colour type).
_PNG_MODES = {0: "L", 2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}
_PNG_OTHER_DEPTHS = {
    (1, 0): "1",
    (2, 0): "L",
    (4, 0): "L",
    (16, 0): "I;16",
    (16, 2): "RGB",
    (16, 4): "RGBA",
    (16, 6): "RGBA",
    (1, 3): "P",
    (2, 3): "P",
    (4, 3): "P",
}
# IHDR's first fields: width, height, bit depth and colour type.
_PNG_HEADER = struct.Struct(">IIBB")


def _png_header(data):
    """A PNG's header from its first chunk, IHDR, when every chunk up to the image data is
    whole and matches its checksum, as PIL's open requires (PIL decodes most PNGs); the image
    data is left to the decoder."""
    ihdr = data.at(8, 25)
    if len(ihdr) < 25 or ihdr[:8] != b"\0\0\0\rIHDR":
        return None
    width, height, depth, colour = _PNG_HEADER.unpack_from(ihdr, 8)
    mode = _png_mode(depth, colour)
    # Then the compression, filter and interlace methods: PNG defines no others.
    if mode is None or ihdr[18:21] not in (b"\0\0\0", b"\0\0\1"):
        return None
    if not _png_chunks_intact(data.at, 8, data.size, until=b"IDAT"):
        return None
    deep_colour = _deep_colour(depth, colour)
    return _whole_file_header(data, "PNG", mode, width, height, deep_colour)


def _png_mode(depth, colour):
    """PIL's mode for a PNG of this bit depth and colour type; None for a pair PNG lacks."""
    return _PNG_MODES.get(colour) if depth == 8 else _PNG_OTHER_DEPTHS.get((depth, colour))


def _deep_colour(depth, colour):
    """Whether a PNG holds 16-bit colour, which PIL would cut to 8 bits: torchvision decodes
    these."""
    return depth == 16 and colour in (2, 4, 6)


def _png_deep_colour(path):
    with open(path, "rb") as file:
        head = file.read(26)
    return len(head) == 26 and _deep_colour(head[24], head[25])


def _png_chunks_intact(read, position, size, *, until=b"IEND"):
    """Whether the chunks of a PNG from ``position`` to the first one of type ``until`` are
    whole and match their checksums; ``read(offset, count)`` gives the file's bytes."""
    while position + 12 <= size:
        length = int.from_bytes(read(position, 4), "big")
        end = position + 12 + length
        if end > size:
            return False
        kind = read(position + 4, 4)
        if kind == until == b"IDAT":
            return True  # the image data, left to the decoder
        if zlib.crc32(read(position + 4, 4 + length)) != int.from_bytes(read(end - 4, 4), "big"):
            return False
        if kind == until:
            return True
        position = end
    return False


# The bytes a complete file of each format ends with, before any zero padding.
# (MPO: JPEGs from cameras that hold several pictures; the first one is the image.)
_END_MARKERS = {"JPEG": b"\xff\xd9", "MPO": b"\xff\xd9", "GIF": b";"}
# PNG's last chunk, IEND, with its CRC: eight bytes that compressed data almost never holds.
_PNG_END = b"IEND\xaeB`\x82"


# How many of a file's last bytes are searched for its end marker.
_TAIL_BYTES = 4096


def _ends_whole(path, image_format):
    """Whether the file's last bytes are its format's end marker; False when none is known.

    Raises ValueError for a PNG without its IEND chunk, which no decoder needs to confirm.
    """
    with open(path, "rb") as file:
        size = file.seek(0, os.SEEK_END)
        if image_format == "WEBP":
            file.seek(4)
            return size >= int.from_bytes(file.read(4), "little") + 8
        file.seek(max(0, size - _TAIL_BYTES))
        tail = file.read()
    whole = _tail_is_whole(tail, image_format)
    if image_format == "PNG" and not whole:
        raise ValueError("it does not end with PNG's IEND chunk")
    return whole


def _tail_is_whole(tail, image_format):
    """Whether a file's last bytes end it as a whole file of its format ends."""
    if image_format == "PNG":
        # Decoders stop at IEND, so bytes after it are harmless; a file without it was cut.
        return _PNG_END in tail
    return image_format in _END_MARKERS and tail.rstrip(b"\0").endswith(_END_MARKERS[image_format])


def _torchvision_reads(image_format, mode, deep_colour=False):
    """Whether torchvision decodes a file: JPEGs of 1 or 3 channels, and PNGs of 16-bit colour,
    which PIL would cut to 8 bits. PIL decodes the rest, whose conversions define the pixels,
    and every other PNG: torchvision 0.29's decode_png crashes the process (a segmentation
    fault, not an exception) on any error libpng reports, such as damaged image data."""
    if decode_image is None:
        return False
    if image_format == "PNG":
        return deep_colour
    return image_format in ("JPEG", "MPO") and mode in ("L", "RGB")


def _decode_file(path, channels, header=None):
    """Decode one file to a ``(C, H, W)`` tensor; any failure is a ValueError naming the file.

    Without ``header`` (a worker decoding files that this process checks meanwhile), JPEGs and
    PNGs are told apart by their first bytes, so that the worker does not read the header again.
    """
    with _torchvision_deprecation_ignored():
        return _decode_file_warned_already(path, channels, header)


@contextlib.contextmanager
def _torchvision_deprecation_ignored():
    """torchvision 0.29 deprecates its decoders in favour of TorchCodec's (not a dependency
    here) with a warning at every call; when they are removed, ``decode_image`` is None and
    PIL decodes. Entered once per batch: once per file, it cost a tenth of a JPEG's decoding."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", _TORCHVISION_DEPRECATION, DeprecationWarning)
        yield


def _decode_file_warned_already(path, channels, header=None):
    """:func:`_decode_file` inside :func:`_torchvision_deprecation_ignored`."""
    try:
        if header is None:
            image = _decode_by_signature(path, channels)
            if image is not None:
                return image
            header = _read_header(path)
        if header.torchvision:
            try:
                data = _read_bytes(path)
                png = header.format == "PNG"
                return _decode_with_torchvision(data, channels, header.mode, png=png)
            except RuntimeError:
                pass  # a torchvision built without libpng or libjpeg, or a file it rejects
        return _decode_with_pil(path, channels)
    except Exception as exc:
        raise ValueError(f"Could not decode image file {str(path)!r}: {exc}") from exc


def _decode_with_pil(file, channels):
    """``file`` (a path or a file object) decoded by PIL."""
    with Image.open(file) as image:
        return _pil_to_tensor(image, channels)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _decode_by_signature(path, channels):
    """A JPEG or PNG decoded as the header path would, by torchvision or, for PNGs of up to 8
    bits, by PIL; None for anything else (other formats, CMYK JPEGs, files torchvision rejects),
    which then goes through the header."""
    if decode_image is None:
        return None
    try:
        data = _read_bytes(path)
        head = data.numpy()[:26].tobytes()
        if head.startswith(_PNG_SIGNATURE):
            if len(head) < 26 or head[12:16] != b"IHDR":
                return None
            if not _deep_colour(head[24], head[25]):
                # From the bytes already read, not a second reading of the file.
                return _decode_with_pil(io.BytesIO(data.numpy()), channels)
            mode = _png_mode(head[24], head[25])
            return _decode_with_torchvision(data, channels, mode, png=True)
        if head.startswith(b"\xff\xd8"):
            # The JPEG's own channels: 1 is what a grey read gives, 3 an RGB read; 4 is CMYK,
            # whose conversion PIL defines.
            image = _torchvision_decode(data, ImageReadMode.UNCHANGED)
            if image.shape[0] in (1, 3):
                return _luminance(image) if channels == 1 and image.shape[0] == 3 else image
    except RuntimeError:
        pass
    return None


# Both inside _torchvision_deprecation_ignored.
def _read_bytes(path):
    return read_file(str(path))


def _torchvision_decode(data, mode):
    return decode_image(data, mode=mode)


def _decode_with_torchvision(data, channels, mode, *, png=False):
    """Decode a file's bytes as :func:`_pil_to_tensor` would, from the mode PIL reports for it.

    Unlike PIL, torchvision keeps all 16 bits of colour PNGs. A PNG gets to it only when all
    of its chunks match their checksums: libpng's errors crash torchvision 0.29.
    """
    if png:
        _check_png_chunks(data.numpy())
    one_channel = channels == 1 or mode in _GRAY_MODES
    gray = one_channel and (mode in _GRAY_MODES or mode == "LA")
    image = _torchvision_decode(data, ImageReadMode.GRAY if gray else ImageReadMode.RGB)
    if image.dtype == torch.uint16:
        image = image.to(torch.float32).div_(65535)
    if one_channel and image.shape[0] == 3:
        image = _luminance(image)
    return image


def _check_png_chunks(data):
    """Raise a ValueError unless every chunk of a PNG's bytes is whole and matches its checksum.

    Only PNGs of 16-bit colour, which PIL cannot read whole, are decoded by torchvision; their
    image data is checked as well.
    """
    view = memoryview(data)

    def read(offset, count):
        return view[offset : offset + count]

    if not _png_chunks_intact(read, 8, len(view)):
        raise ValueError("a chunk of it is cut short or does not match its checksum")
    problem = _png_image_data_problem(view)
    if problem:
        raise ValueError(problem)


# Channels by colour type of the PNGs torchvision decodes (16-bit colour, with or without alpha).
_PNG_CHANNELS = {2: 3, 4: 2, 6: 4}
# Adam7's passes: first column and row, then the steps between columns and between rows.
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def _png_image_data_problem(view):
    """What libpng could refuse in a 16-bit colour PNG's image data (as a sentence), or None.

    Checksums guard against damage to the chunks, not against data that was damaged before
    they were computed: a deflate stream that does not inflate or does not end, too few rows
    or an unknown row filter still reach libpng, whose errors crash torchvision 0.29. Inflating
    the data here costs about as much as decoding it.
    """
    width, height, depth, colour, _, _, interlace = struct.unpack_from(">IIBBBBB", view, 16)
    row_lengths = _png_row_lengths(width, height, depth * _PNG_CHANNELS[colour], interlace)
    expected = sum(count * length for count, length in row_lengths)
    try:
        rows, ends = _inflated(_png_chunk_payloads(view, b"IDAT"), expected)
    except zlib.error:
        return "its image data does not inflate"
    if len(rows) < expected:
        return "its image data holds fewer rows than its size calls for"
    if not ends:
        return "its image data is cut short"
    start = 0
    for count, length in row_lengths:
        filters = np.frombuffer(rows, np.uint8, count * length, start)[::length]
        if filters.size and filters.max() > 4:  # PNG's five row filters
            return "a row of its image data names an unknown filter"
        start += count * length
    return None


def _inflated(payloads, keep):
    """The first ``keep`` bytes that a deflate stream split over ``payloads`` inflates to, and
    whether the stream ends (libpng needs its end); more rows than the size calls for are
    inflated to check the stream, not kept."""
    inflater = zlib.decompressobj()
    kept = bytearray()
    for payload in payloads:
        while payload and not inflater.eof:
            out = inflater.decompress(payload, 1 << 20)
            kept += out[: max(keep - len(kept), 0)]
            payload = inflater.unconsumed_tail
    return kept, inflater.eof


def _png_row_lengths(width, height, bits_per_pixel, interlace):
    """(rows, bytes a row) of each pass of a PNG's image data; a row's first byte is its filter."""
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    lengths = []
    for column, row, column_step, row_step in passes:
        columns = -(-max(width - column, 0) // column_step)
        rows = -(-max(height - row, 0) // row_step)
        if columns and rows:
            lengths.append((rows, 1 + -(-columns * bits_per_pixel // 8)))
    return lengths


def _png_chunk_payloads(view, kind):
    """The data of a PNG's chunks of one type, in order (the chunks were checked whole)."""
    position = 8
    while position + 12 <= len(view):
        length = int.from_bytes(view[position : position + 4], "big")
        if view[position + 4 : position + 8] == kind:
            yield view[position + 8 : position + 8 + length]
        position += 12 + length


def _luminance(image):
    """PIL's RGB to L conversion (ITU-R 601-2 luma, in 16-bit fixed point)."""
    if image.dtype == torch.uint8:
        red, green, blue = image.to(torch.int32)
        luma = (red * 19595 + green * 38470 + blue * 7471 + 0x8000) >> 16
        return luma.to(torch.uint8)[None]
    red, green, blue = image
    return ((red * 19595 + green * 38470 + blue * 7471) / 65536)[None]


_TORCHVISION_DEPRECATION = "The image decoding and encoding capabilities of TorchVision"

# PIL modes of one channel; those after "L" hold more than 8 bits and are read as floats.
_DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
_GRAY_MODES = ("1", "L", *_DEEP_MODES)


def _pil_to_tensor(image, channels):
    if image.mode in _DEEP_MODES:
        return _deep_pil_to_tensor(image)
    mode = "L" if channels == 1 or image.mode in _GRAY_MODES else "RGB"
    return TF.pil_to_tensor(image.convert(mode))


def _deep_pil_to_tensor(image):
    """A 1-channel float32 tensor in [0, 1]: integers divided by 65535, floats as they are."""
    values = np.array(image, dtype=np.float32)
    if image.mode != "F":
        low, high = float(values.min()), float(values.max())
        if low < 0 or high > 65535:
            raise ValueError(
                f"16-bit images must lie in [0, 65535]; this {image.mode!r} image spans "
                f"[{low:.6g}, {high:.6g}]."
            )
        values = values / 65535
    elif not np.isfinite(values).all():
        raise ValueError("this 'F' image contains NaN or infinite values.")
    elif values.min() < -1e-3 or values.max() > 1 + 1e-3:
        raise ValueError(
            f"Float images must lie in [0, 1]; this 'F' image spans "
            f"[{values.min():.3g}, {values.max():.3g}]."
        )
    return torch.from_numpy(values)[None]


class _DecodedImages(Dataset):
    """Files, PIL images or single images in memory, each made a ``(C, H, W)`` tensor when it
    is asked for.

    A file whose header was not read yet has it read here, in the worker that decodes it.
    """

    def __init__(self, items, channels, kind, headers=None):
        self.items = items
        self.channels = channels
        self.kind = kind
        self.headers = headers

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        with _torchvision_deprecation_ignored():
            return self._decode(index)

    def __getitems__(self, indices):
        # A batch at a time, for the DataLoader: one warnings context for all its files.
        with _torchvision_deprecation_ignored():
            return [self._decode(index) for index in indices]

    def _decode(self, index):
        try:
            return self._decode_or_raise(index)
        except ValueError as exc:
            if get_worker_info() is None:
                raise
            # Sent back rather than raised: torch would raise it again with the worker's
            # traceback as its message, before the file's name.
            return _Failure(str(exc))

    def _decode_or_raise(self, index):
        if self.kind == "paths":
            header = None if self.headers is None else self.headers[index]
            return _decode_file_warned_already(self.items[index], self.channels, header)
        if self.kind == "arrays":
            return _as_tensor(self.items[index])
        try:
            return _pil_to_tensor(self.items[index], self.channels)
        except Exception as exc:
            raise ValueError(f"Could not read PIL image {index}: {exc}") from exc


class _Failure:
    """An image that a worker process could not decode, with the error's message."""

    def __init__(self, message):
        self.message = message


class _ArrayBatches(Dataset):
    """An array or tensor already in memory, one slice of ``batch_size`` images per item."""

    def __init__(self, data, batch_size):
        self.data = data
        self.batch_size = batch_size

    def __len__(self):
        return -(-len(self.data) // self.batch_size)

    def __getitem__(self, index):
        return _as_tensor(self.data[index * self.batch_size : (index + 1) * self.batch_size])


def _as_tensor(images):
    """Checked images in memory as a tensor, sharing their memory where torch can; uint16
    scaled to float32 in [0, 1]."""
    if not torch.is_tensor(images):
        # torch wraps numpy memory only when it is writable, not reversed, in native order.
        if images.flags.writeable and min(images.strides) >= 0 and images.dtype.isnative:
            images = torch.from_numpy(images)
        else:
            images = torch.from_numpy(np.array(images, dtype=images.dtype.newbyteorder("=")))
    if images.dtype == torch.uint16:
        images = images.to(torch.float32).div_(65535)
    return images


def _collate(images):
    """Stack images of one shape into a batch; keep a list when their shapes differ."""
    for image in images:
        if isinstance(image, _Failure):
            return image
    if len({image.shape for image in images}) > 1:
        return list(images)
    if len({image.dtype for image in images}) > 1:
        images = [_to_float(image) for image in images]
    # torch's own collation stacks into shared memory inside a worker process, which saves
    # a copy of every batch on its way back to the calling process.
    return default_collate(images)


class _WorkerBatches:
    """The batches of a loader with worker processes, which stops its workers as soon as an
    iteration fails or is left, rather than when its iterator is garbage-collected: the
    traceback of a failure holds that iterator, and collecting it in another loader's new
    worker made torch print an AssertionError from there.

    With ``check`` (files not yet checked), iterating it starts the workers on the first
    batches, checks every file here meanwhile, and only then hands batches out, so a bad file
    is still named before any batch is used.
    """

    def __init__(self, loader, check=None):
        self.loader = loader
        self.check = check

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        batches = iter(self.loader)
        try:
            if self.check is not None:
                self.check()
            for batch in batches:
                if isinstance(batch, _Failure):
                    raise ValueError(batch.message)
                yield batch
        finally:
            # torch's iterator offers no public way to stop its workers; without this, they
            # stop when the iterator is collected.
            stop = getattr(batches, "_shutdown_workers", None)
            if stop is not None:
                stop()


def _worker_start_method():
    """How the ``DataLoader`` starts its workers: as Python starts processes here, unless this
    process was given a start method of another library, which torch's workers cannot use.

    joblib's workers (``GridSearchCV(n_jobs=2)``, ``cross_val_score``) make loky's their
    default: every fit with ``num_workers`` there failed with ``AttributeError: 'Process'
    object has no attribute 'env'``. They then start as Python's default method does.
    """
    method = multiprocessing.get_start_method(allow_none=True)
    if method is None or method in multiprocessing.get_all_start_methods():
        return None  # torch's default: the process's own
    return multiprocessing.get_all_start_methods()[0]


def _unchanged(batch):
    return batch


def _on_accelerator(data):
    if isinstance(data, list):
        return any(_on_accelerator(item) for item in data)
    return torch.is_tensor(data) and data.device.type != "cpu"


def row_digests(X):
    """A digest of each row of an array or tensor, which also covers its dtype and shape."""
    if torch.is_tensor(X):
        X = X.detach().cpu()
        if X.dtype == torch.bfloat16:  # NumPy has no bfloat16: its bits are the key
            data, dtype = X.view(torch.int16).numpy(), "bfloat16"
        else:
            data = X.numpy()
            dtype = data.dtype.str
    else:
        data = np.asarray(X)
        dtype = data.dtype.str
    header = f"{dtype}{data.shape[1:]}".encode()
    rows = np.ascontiguousarray(data).reshape(len(data), -1)
    return [_digest(header, row.tobytes()) for row in rows]


def _pil_digest(image):
    # A palette image's bytes are indices into its palette, which is part of the picture.
    palette = bytes(image.getpalette() or []) if image.mode in ("P", "PA") else b""
    return _digest(f"{image.mode}{image.size}".encode() + palette, image.tobytes())


def _digest(header, payload):
    return hashlib.blake2b(header + payload, digest_size=16).hexdigest()


def _file_key(path):
    status = path.stat()
    return _digest(f"{path.resolve()}:{status.st_size}:{status.st_mtime_ns}".encode(), b"")


class Preprocessor:
    """Turn a batch from :meth:`ImageSet.batches` into the network's normalised input.

    Parameters
    ----------
    preprocessing : Preprocessing
        The backbone's resize, crop and normalisation.
    channels : int
        Channels the network expects; grayscale is repeated to match.
    image_size : int or None
        Overrides the backbone's size: the shorter side is resized to it and the centre square
        kept, so square images are resized whole.
    normalize : bool
        Apply the backbone's resizing and normalisation (``False``: only scale to [0, 1]).
    device : torch.device
        Where the work happens.
    """

    def __init__(self, preprocessing, channels, *, image_size=None, normalize=True, device="cpu"):
        self.channels = channels
        self.device = torch.device(device)
        size = image_size or preprocessing.size
        resize = image_size or preprocessing.resize_size or size
        self.size = size if normalize else image_size
        self.resize = resize if normalize else image_size
        self.interpolation = _INTERPOLATIONS[preprocessing.interpolation]
        self.mean = list(preprocessing.mean) if normalize else None
        self.std = list(preprocessing.std) if normalize else None

    def __call__(self, batch):
        if isinstance(batch, list):
            return torch.stack([self._one(image[None])[0] for image in batch])
        return self._one(batch)

    def _one(self, images):
        images = torch.as_tensor(images).to(self.device, non_blocking=True)
        images = _to_float(images)
        if images.shape[1] != self.channels:
            images = images.expand(-1, self.channels, -1, -1)
        if self.resize is not None:
            images = TF.resize(images, [self.resize], self.interpolation, antialias=True)
            images = TF.center_crop(images, [self.size, self.size])
        if self.mean is not None:
            images = TF.normalize(
                images,
                _per_channel(self.mean, self.channels),
                _per_channel(self.std, self.channels),
            )
        return images


def _to_float(images):
    if images.dtype == torch.uint8:
        return images.float().div_(255)
    if images.dtype == torch.uint16:
        return images.float().div_(65535)
    return images.float()


def _per_channel(values, channels):
    return values * channels if len(values) == 1 else values


def is_table(X):
    """Whether X is a table (array, DataFrame, sparse matrix, nested lists) rather than images."""
    if _column_of_items(X) is not None:
        return False
    shape = getattr(X, "shape", None)
    if shape is None and hasattr(X, "__array__"):
        shape = np.asarray(X).shape
    if shape is None and isinstance(X, (list, tuple)) and len(X) and _is_number_row(X[0]):
        return True
    return shape is not None and len(shape) == 2


def _is_number_row(row):
    return isinstance(row, (list, tuple)) and all(isinstance(v, (int, float)) for v in row)


def check_input_kind(backbone, vectors):
    """Raise a ValueError when 2-D input meets an image backbone, or images a vector one."""
    if vectors and backbone.input_kind != "vector":
        raise ValueError(
            "Got a 2-D array, but the backbone takes images: pass images as a 4-D array "
            "(n, C, H, W) or (n, H, W, C), a 3-D array of grayscale images, file paths or PIL "
            "images; or use a vector backbone such as 'toy_mlp'."
        )
    if not vectors and backbone.input_kind == "vector":
        raise ValueError(
            "The backbone takes vectors: pass X as a 2-D array (n_samples, n_features)."
        )
