"""torchvision's classification models as :class:`Backbone`, and the decomposition of a module.

Every torchvision classification model is cut into the coarse blocks its own ``forward`` runs
one after the other (a ResNet's stem and ``layer1`` to ``layer4``, a ViT's embedding and encoder
blocks...). Layers hold the model's own submodules; the few steps a model's ``forward`` does
with functions (flattening, a final ReLU, selecting the class token...) become small modules
without parameters inside a layer or the pooling step, so that ``backbone(x)`` equals
``model(x)``.
"""

from __future__ import annotations

import difflib
import functools
import math
import urllib.error
import urllib.parse
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn
from torchvision import models as tvm
from torchvision.models import WeightsEnum

from ._base import Backbone, GlobalAvgPool, Preprocessing, sequential
from ._registry import is_weight_file, load_weight_file, read_weight_file

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)
_IMAGENET_ALIASES = {"imagenet", "default"}

# Construction arguments without pretrained weights. GoogLeNet and Inception v3 warn unless
# `init_weights` is given; True keeps the initialisation they use by default.
_RANDOM_INIT_KWARGS = {
    "googlenet": {"init_weights": True},
    "inception_v3": {"init_weights": True},
}
# Auxiliary classifiers that torchvision's builders drop once pretrained weights are loaded.
_AUX_CLASSIFIERS = {"googlenet": ("aux1", "aux2"), "inception_v3": ("AuxLogits",)}

# Modules that finish the layer before them rather than start one: activations, dropout,
# normalisation and flattening. A convolution's batch norm and ReLU thus share its layer, and a
# layer's output is what the next layer receives (post-ReLU "CNN codes").
_TRAILING = (
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Hardswish,
    nn.Hardsigmoid,
    nn.Hardtanh,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.Dropout,
    nn.Dropout1d,
    nn.Dropout2d,
    nn.Dropout3d,
    nn.AlphaDropout,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.LocalResponseNorm,
    nn.Flatten,
    nn.Identity,
)


class WeightsDownloadError(OSError):
    """Pretrained weights could not be downloaded (typically: no network access)."""


@functools.cache
def _names():
    return tuple(tvm.list_models(module=tvm))


def torchvision_names():
    """Names of torchvision's image classification models (``"resnet50"``, ``"vit_b_16"``...).

    Returns
    -------
    list of str
    """
    return list(_names())


def _weights_enum(name):
    """The weights enum of model ``name``, or ``None`` for a model without pretrained weights."""
    try:
        return tvm.get_model_weights(name)
    except (ValueError, KeyError):
        return None


def _valid_weights_message(name, enum):
    if enum is None:
        return f"{name!r} has no pretrained weights: pass None or the path of a local .pth file."
    members = ", ".join(repr(member) for member in enum.__members__ if member != "DEFAULT")
    return (
        f"Valid weights for {name!r}: None, {members}, 'DEFAULT' (= {enum.DEFAULT.name!r}; "
        f"'imagenet' is an alias), a {enum.__name__} member, or the path of a local "
        ".pth/.pt file."
    )


def _resolve_weights(name, enum, weights):
    """The member of ``enum`` that ``weights`` (a member or its name) designates."""
    if isinstance(weights, WeightsEnum):
        if enum is not None and isinstance(weights, enum):
            return weights
        raise ValueError(
            f"weights={weights!r} are not weights of {name!r}. "
            + _valid_weights_message(name, enum)
        )
    if not isinstance(weights, str):
        raise TypeError(
            f"weights must be None, a str, a path or a torchvision weights enum; got "
            f"{type(weights).__name__}."
        )
    prefix, _, key = weights.rpartition(".")
    if key.lower() in _IMAGENET_ALIASES:
        key = "DEFAULT"
    # "ResNet50_Weights.IMAGENET1K_V2", as `str(member)` writes it, is accepted for its own model.
    if enum is not None and prefix in ("", enum.__name__) and key in enum.__members__:
        return enum[key]
    raise ValueError(
        f"Unknown weights {weights!r} for {name!r}. " + _valid_weights_message(name, enum)
    )


def _hub_file(weights):
    """Where ``torch.hub.load_state_dict_from_url`` keeps the file of ``weights``."""
    filename = Path(urllib.parse.urlparse(weights.url).path).name
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _ensure_downloaded(name, weights):
    """Download the file of ``weights`` to the torch hub cache unless it is there already.

    Downloading here, rather than inside torchvision's builder, separates a failed download (a
    clear message below) from errors in building the model, and the builder then reads the
    cached file without a second download.

    Raises
    ------
    WeightsDownloadError
        If the download fails.
    """
    target = _hub_file(weights)
    if target.is_file():
        return
    match = torch.hub.HASH_REGEX.search(target.name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(
            weights.url, str(target), match.group(1) if match else None, progress=True
        )
    # URLError (no network) is an OSError; torch.hub raises RuntimeError on a bad hash.
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        raise WeightsDownloadError(
            f"The weights {weights!r} of {name!r} could not be downloaded "
            f"({type(exc).__name__}: {exc}). Download {weights.url} on a machine with network "
            f"access and pass weights='/path/to/{target.name}' (a local file is read without "
            f"any download), or place the file in {str(target.parent)!r} "
            "(torch.hub.get_dir()/checkpoints), where it is found under its own name."
        ) from exc


def _imagenet_preprocessing(size=224):
    # The usual 0.875 ratio between the crop and the resized shorter side (224 / 256).
    return Preprocessing(
        size=size,
        resize_size=round(size / 0.875),
        mean=_IMAGENET_MEAN,
        std=_IMAGENET_STD,
        interpolation="bilinear",
    )


def _fixed_input_size(model):
    """The only input size ``model`` accepts, or ``None`` when it accepts many."""
    if isinstance(model, tvm.VisionTransformer):
        return model.image_size
    return None


def _preprocessing_of(weights):
    """The resizing and normalisation that ``weights.transforms()`` applies (no download)."""
    transforms = weights.transforms()
    default = _imagenet_preprocessing()

    def first(values, fallback):
        return int(values[0]) if values else fallback

    interpolation = getattr(transforms, "interpolation", None)
    return Preprocessing(
        size=first(getattr(transforms, "crop_size", None), default.size),
        resize_size=first(getattr(transforms, "resize_size", None), default.resize_size),
        mean=tuple(float(v) for v in getattr(transforms, "mean", default.mean)),
        std=tuple(float(v) for v in getattr(transforms, "std", default.std)),
        interpolation=getattr(interpolation, "value", default.interpolation),
    )


def _preprocessing(model, enum, weights):
    """How inputs of ``model`` must be prepared.

    Without a weights member (random initialisation or a local file), the metadata of the
    model's default weights is used, or of the first weights trained at the model's fixed input
    size when it has one (a ViT-H/14 built for 224 px, whose default weights use 518 px).
    """
    size = _fixed_input_size(model)
    if weights is None and enum is not None:
        candidates = [enum.DEFAULT, *enum]
        fitting = [w for w in candidates if size is None or _preprocessing_of(w).size == size]
        weights = fitting[0] if fitting else enum.DEFAULT
    if weights is None:
        return _imagenet_preprocessing(size or 224)
    preprocessing = _preprocessing_of(weights)
    if size is not None and preprocessing.size != size:
        preprocessing = replace(preprocessing, size=size, resize_size=size)
    return preprocessing


def torchvision_backbone(name, weights=None):
    """A torchvision classification model as a :class:`Backbone`.

    Parameters
    ----------
    name : str
        A name from :func:`torchvision_names`, e.g. ``"resnet50"``.
    weights : None, str, path or torchvision weights enum, default=None
        ``None`` keeps torchvision's random initialisation. A member of the model's weights enum,
        or its name (``"IMAGENET1K_V2"``, ``"ResNet50_Weights.IMAGENET1K_V2"``), is downloaded
        to the torch hub cache (``torch.hub.get_dir()/checkpoints``) unless already there;
        ``"DEFAULT"`` and its alias ``"imagenet"`` take the model's default weights. A path to a
        local ``.pth``/``.pt`` file (such as a file downloaded from the weights' URL) is loaded
        strictly into a model built as torchvision builds its pretrained one: GoogLeNet and
        Inception v3 then normalise their inputs with ``transform_input=True``, a ViT takes the
        input size of the file's position embedding, and a head with other than 1000 outputs
        (a fine-tuned file) is rebuilt to fit.

    Returns
    -------
    Backbone
        Cut into layers by :func:`from_module`. Its preprocessing is that of the weights
        (``weights.transforms()``); with ``None`` or a local file, that of the model's default
        weights (of weights trained at the model's input size, for a ViT).

    Raises
    ------
    ValueError
        If ``name`` is unknown, ``weights`` names no weights of the model (the valid names are
        listed), or a local file does not match the model.
    WeightsDownloadError
        An ``OSError``: the weights could not be downloaded. The message gives their URL.
    FileNotFoundError
        If ``weights`` is a path that does not exist.
    """
    if name not in _names():
        close = difflib.get_close_matches(name, _names(), n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise ValueError(f"Unknown torchvision model {name!r}.{hint}")
    enum = _weights_enum(name)
    member = None
    if weights is None:
        model = tvm.get_model(name, weights=None, **_RANDOM_INIT_KWARGS.get(name, {}))
    elif is_weight_file(weights):
        model = _build_from_file(name, weights)
    else:
        member = _resolve_weights(name, enum, weights)
        _ensure_downloaded(name, member)
        model = tvm.get_model(name, weights=member)
    return _as_backbone(model, preprocessing=_preprocessing(model, enum, member))


def _file_kwargs(name, shapes):
    """Construction arguments under which ``name`` fits a weight file with these key shapes."""
    if name in _AUX_CLASSIFIERS:
        # The released weights expect the ImageNet-normalised input converted back to the
        # normalisation they were trained with; torchvision's builders turn it on with them.
        aux = any(key.split(".")[0] in _AUX_CLASSIFIERS[name] for key in shapes)
        return {"transform_input": True, "aux_logits": aux, "init_weights": False}
    if name.startswith("vit_") and {"encoder.pos_embedding", "conv_proj.weight"} <= set(shapes):
        # (1, 1 + (size / patch) ** 2, hidden): the SWAG weights use 384, 512 or 518 px.
        tokens = shapes["encoder.pos_embedding"][1] - 1
        return {"image_size": math.isqrt(tokens) * shapes["conv_proj.weight"][-1]}
    return {}


def _head_classes(model, shapes):
    """Outputs of the head in the file, where they differ from those of ``model``."""
    head = _decompose(model).head
    if head is None:
        return None
    expected = model.get_submodule(head).state_dict()
    weights = [key for key, value in expected.items() if key.endswith("weight") and value.ndim]
    if not weights:
        return None
    key = f"{head}.{weights[-1]}"
    found = shapes.get(key)
    return found[0] if found and found[0] != expected[weights[-1]].shape[0] else None


def _build_from_file(name, path):
    """Model ``name`` built to match the weight file ``path``, with those weights loaded."""
    shapes = {key: tuple(value.shape) for key, value in read_weight_file(path).items()}
    kwargs = _file_kwargs(name, shapes)
    model = tvm.get_model(name, weights=None, **kwargs)
    classes = _head_classes(model, shapes)
    if classes is not None:
        model = tvm.get_model(name, weights=None, num_classes=classes, **kwargs)
    load_weight_file(model, path)
    if name in _AUX_CLASSIFIERS:
        # As with torchvision's pretrained models: the auxiliary classifiers only served training.
        model.aux_logits = False
        for aux in _AUX_CLASSIFIERS[name]:
            setattr(model, aux, None)
    return model


class _OwnerReference(nn.Module):
    """A module that calls into a network without registering it as a submodule.

    Registering the network would make every one of its submodules look like part of the layer
    that holds this module, and would put its weights twice in a state dict.
    """

    def __init__(self, owner):
        super().__init__()
        self.__dict__["_owner"] = owner


class _TransformInput(_OwnerReference):
    """GoogLeNet's and Inception v3's input renormalisation, applied when ``transform_input``."""

    def forward(self, x):
        return self._owner._transform_input(x)


class _VitEmbedding(_OwnerReference):
    """A ViT's patch embedding, class token, position embedding and dropout."""

    def __init__(self, vit):
        super().__init__(vit)
        # Registered so that `features(x, stop="conv_proj")` finds them inside this layer.
        self.conv_proj = vit.conv_proj
        self.dropout = vit.encoder.dropout

    def forward(self, x):
        vit = self._owner
        x = vit._process_input(x)
        token = vit.class_token.expand(x.shape[0], -1, -1)
        x = torch.cat([token, x], dim=1)
        return self.dropout(x + vit.encoder.pos_embedding)


class _ClassToken(nn.Module):
    """The first token of a ``(n, tokens, dim)`` sequence."""

    def forward(self, x):
        return x[:, 0]


class _SpatialMean(nn.Module):
    """``x.mean((2, 3))``, the global pooling of ShuffleNet v2 and MNASNet."""

    def forward(self, x):
        return x.mean([2, 3])


class _Permute(nn.Module):
    """``x.permute(dims)``."""

    def __init__(self, *dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(self.dims)

    def extra_repr(self):
        return f"dims={self.dims}"


@dataclass
class _Parts:
    layers: list
    pool: list = field(default_factory=list)
    head: str | None = None


def _children(prefix, container):
    """``(qualified name, child)`` for each child of ``container``, in order."""
    return [
        (f"{prefix}.{name}" if prefix else name, child)
        for name, child in container.named_children()
    ]


def _group(items):
    """Join each module with the activations, dropout and norms that follow it into one layer."""
    groups = []
    for name, module in items:
        if groups and isinstance(module, _TRAILING):
            groups[-1][1].append(module)
        else:
            groups.append((name, [module]))
    return [(name, sequential(*modules)) for name, modules in groups]


def _split_head(prefix, classifier):
    """The qualified name of a sequential classifier's last module, and the items before it."""
    items = _children(prefix, classifier)
    return items[-1][0], items[:-1]


def _modules(items):
    return [module for _, module in items]


def _resnet(m):
    stem = ("conv1", sequential(m.conv1, m.bn1, m.relu, m.maxpool))
    stages = [(name, getattr(m, name)) for name in ("layer1", "layer2", "layer3", "layer4")]
    return _Parts([stem, *stages], [m.avgpool, nn.Flatten(1)], "fc")


def _regnet(m):
    layers = [("stem", m.stem), *_children("trunk_output", m.trunk_output)]
    return _Parts(layers, [m.avgpool, nn.Flatten(1)], "fc")


def _vgg(m):
    # Razavian et al.'s CNN codes are the outputs of the ReLUs of fc6 and fc7, so the hidden
    # linear layers of the classifier are layers too and the pooling step is empty.
    head, hidden = _split_head("classifier", m.classifier)
    items = [*_children("features", m.features), ("avgpool", m.avgpool), ("", nn.Flatten(1))]
    return _Parts(_group(items + hidden), [], head)


def _mobilenet_v2(m):
    head, before = _split_head("classifier", m.classifier)
    return _Parts(_children("features", m.features), [GlobalAvgPool(), *_modules(before)], head)


def _mobilenet_v3(m):
    head, hidden = _split_head("classifier", m.classifier)
    items = [("avgpool", m.avgpool), ("", nn.Flatten(1)), *hidden]
    return _Parts(_children("features", m.features) + _group(items), [], head)


def _efficientnet(m):
    head, before = _split_head("classifier", m.classifier)
    return _Parts(
        _children("features", m.features), [m.avgpool, nn.Flatten(1), *_modules(before)], head
    )


def _mnasnet(m):
    head, before = _split_head("classifier", m.classifier)
    return _Parts(_group(_children("layers", m.layers)), [_SpatialMean(), *_modules(before)], head)


def _convnext(m):
    # The classifier's LayerNorm normalises the pooled features. Modules with parameters or
    # buffers go in layers, never in the pooling step: Backbone registers the pooling step, so
    # they would appear twice in its state dict.
    head, before = _split_head("classifier", m.classifier)
    pooling = _group([("avgpool", m.avgpool), *before])
    return _Parts(_children("features", m.features) + pooling, [], head)


def _densenet(m):
    f = m.features
    stem = ("features.conv0", sequential(f.conv0, f.norm0, f.relu0, f.pool0))
    rest = _children("features", f)[4:]
    # forward() applies a ReLU after `features` (whose last module is norm5).
    layers = _group([stem, *rest, ("", nn.ReLU())])
    return _Parts(layers, [GlobalAvgPool()], "classifier")


def _squeezenet(m):
    # The classifier is convolutional (dropout, 1x1 convolution to one map per class, ReLU,
    # global average pooling): it is the head as a whole, and takes the last Fire module's
    # feature map, so the pooling step is empty. forward() flattens the classifier's output;
    # a flatten (no parameters, no state) is appended to the classifier so that it returns
    # the logits itself.
    if not isinstance(m.classifier[-1], nn.Flatten):
        m.classifier.append(nn.Flatten(1))
    return _Parts(_group(_children("features", m.features)), [], "classifier")


def _shufflenet(m):
    layers = [("conv1", sequential(m.conv1, m.maxpool))]
    layers += [(name, getattr(m, name)) for name in ("stage2", "stage3", "stage4", "conv5")]
    return _Parts(layers, [_SpatialMean()], "fc")


_GOOGLENET = (
    "conv1 maxpool1 conv2 conv3 maxpool2 inception3a inception3b maxpool3 inception4a "
    "inception4b inception4c inception4d inception4e maxpool4 inception5a inception5b"
).split()
_INCEPTION_V3 = (
    "Conv2d_1a_3x3 Conv2d_2a_3x3 Conv2d_2b_3x3 maxpool1 Conv2d_3b_1x1 Conv2d_4a_3x3 maxpool2 "
    "Mixed_5b Mixed_5c Mixed_5d Mixed_6a Mixed_6b Mixed_6c Mixed_6d Mixed_6e Mixed_7a Mixed_7b "
    "Mixed_7c"
).split()


def _inception_layers(m, names):
    # The auxiliary classifiers only run in training, off the main path: they are left out.
    first, *rest = names
    layers = [(first, sequential(_TransformInput(m), getattr(m, first)))]
    return layers + [(name, getattr(m, name)) for name in rest]


def _googlenet(m):
    return _Parts(_inception_layers(m, _GOOGLENET), [m.avgpool, nn.Flatten(1), m.dropout], "fc")


def _inception_v3(m):
    pool = [m.avgpool, m.dropout, nn.Flatten(1)]
    return _Parts(_inception_layers(m, _INCEPTION_V3), pool, "fc")


def _vit(m):
    layers = [("conv_proj", _VitEmbedding(m))]
    layers += _children("encoder.layers", m.encoder.layers)
    layers.append(("encoder.ln", m.encoder.ln))
    head, before = _split_head("heads", m.heads)
    if not before:
        return _Parts(layers, [_ClassToken()], head)
    # A pre-logits layer (`representation_size`) has parameters: a layer, not the pooling step.
    layers.append((before[0][0], sequential(_ClassToken(), *_modules(before))))
    return _Parts(layers, [], head)


def _swin(m):
    # Swin runs channels-last (n, H, W, C); each layer returns (n, C, H, W) like a ConvNet's,
    # and the next one permutes back. Both are views: the next layer receives the very tensor
    # the model would have passed.
    to_first, to_last = _Permute(0, 3, 1, 2), _Permute(0, 2, 3, 1)
    items = _children("features", m.features) + [("norm", m.norm)]
    layers = [(items[0][0], sequential(items[0][1], to_first))]
    layers += [(name, sequential(to_last, module, to_first)) for name, module in items[1:]]
    return _Parts(layers, [m.avgpool, m.flatten], "head")


def _maxvit(m):
    head, hidden = _split_head("classifier", m.classifier)
    layers = [("stem", m.stem), *_children("blocks", m.blocks), *_group(hidden)]
    return _Parts(layers, [], head)


# A subclass that overrides any of these methods computes something else than its base class.
_FORWARD_METHODS = ("forward", "_forward_impl", "_forward", "_transform_input", "_process_input")

_FAMILIES = (
    (tvm.ResNet, _resnet),
    (tvm.RegNet, _regnet),
    (tvm.VGG, _vgg),
    (tvm.AlexNet, _vgg),
    (tvm.MobileNetV2, _mobilenet_v2),
    (tvm.MobileNetV3, _mobilenet_v3),
    (tvm.EfficientNet, _efficientnet),
    (tvm.MNASNet, _mnasnet),
    (tvm.ConvNeXt, _convnext),
    (tvm.DenseNet, _densenet),
    (tvm.SqueezeNet, _squeezenet),
    (tvm.ShuffleNetV2, _shufflenet),
    (tvm.GoogLeNet, _googlenet),
    (tvm.Inception3, _inception_v3),
    (tvm.VisionTransformer, _vit),
    (tvm.SwinTransformer, _swin),
    (tvm.MaxVit, _maxvit),
)


def _family(model):
    """The decomposition function for ``model``'s torchvision class, or ``None``."""
    for cls, decompose in _FAMILIES:
        if isinstance(model, cls) and all(
            getattr(type(model), method, None) is getattr(cls, method, None)
            for method in _FORWARD_METHODS
        ):
            return decompose
    return None


def _has_state(module):
    return any(True for _ in module.parameters()) or any(True for _ in module.buffers())


def _sequential(model):
    """One layer per child; a final ``nn.Linear`` is the head, a stateless tail the pool."""
    items = _children("", model)
    head = None
    if len(items) > 1 and isinstance(items[-1][1], nn.Linear):
        head = items.pop()[0]
    layers = _group(items)
    pool = []
    while len(layers) > 1 and not _has_state(layers[-1][1]):
        pool.insert(0, layers.pop()[1])
    return _Parts(layers, pool, head)


def _decompose(model):
    decompose = _family(model)
    if decompose is not None:
        return decompose(model)
    if type(model).forward is nn.Sequential.forward and len(model):
        return _sequential(model)
    return _Parts([("model", model)])


def _input_spec(model):
    """``(input_kind, in_channels, in_features)`` from the first convolution or linear layer."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            return "vector", None, module.in_features
        if isinstance(module, nn.Conv2d):
            return "image", module.in_channels, None
    return "image", None, None


def _as_backbone(model, preprocessing=None):
    parts = _decompose(model)
    input_kind, in_channels, in_features = _input_spec(model)
    if preprocessing is None:
        if _family(model) is not None:
            preprocessing = _imagenet_preprocessing(_fixed_input_size(model) or 224)
        else:
            preprocessing = Preprocessing()
    return Backbone(
        model,
        parts.layers,
        pool=sequential(*parts.pool) if parts.pool else None,
        head=parts.head,
        preprocessing=preprocessing,
        input_kind=input_kind,
        in_channels=in_channels,
        in_features=in_features,
    )


def from_module(model):
    """Cut a network into named layers, a pooling step and a head, as a :class:`Backbone`.

    ``backbone(x)`` equals ``model(x)`` (in eval mode; the auxiliary classifiers of GoogLeNet
    and Inception v3 are not run). Layers are the model's own submodules, named as in the model;
    the activations, dropout and normalisation that follow a module belong to its layer, so a
    layer's output is what the next layer receives (post-ReLU).

    Parameters
    ----------
    model : torch.nn.Module
        A torchvision classification model (of any size or number of classes), an
        ``nn.Sequential``, or any other module.

    Returns
    -------
    Backbone

    Notes
    -----
    Layers per family, from the input side, with the pooling step and the head:

    - ResNet, ResNeXt, Wide ResNet: ``conv1`` (``conv1``, ``bn1``, ``relu``, ``maxpool``),
      ``layer1`` to ``layer4``; average pooling; head ``fc``.
    - RegNet: ``stem``, ``trunk_output.block1`` to ``block4``; average pooling; ``fc``.
    - VGG, AlexNet: each convolution with its batch norm and ReLU (``features.0``...), each max
      pooling on its own, ``avgpool`` (with the flatten), then each hidden linear layer of the
      classifier with its ReLU and dropout (``classifier.0``, ``classifier.3`` for VGG:
      Razavian et al.'s fc6 and fc7 codes); no pooling step; head ``classifier.6``.
    - MobileNet v2, EfficientNet (B0-B7, v2): each child of ``features``; average pooling and
      the classifier's dropout; head ``classifier.1``.
    - ConvNeXt: each child of ``features`` (stem, stages, downsampling), ``avgpool`` (with the
      classifier's LayerNorm and flatten); no pooling step; head ``classifier.2``.
    - MobileNet v3: each child of ``features``, ``avgpool``, ``classifier.0`` (with its
      Hardswish and dropout); head ``classifier.3``.
    - MNASNet: ``layers.0`` ... (convolutions with their norm and ReLU, and the stacks);
      spatial mean and dropout; head ``classifier.1``.
    - DenseNet: ``features.conv0`` (stem with its max pooling), then each dense block and
      transition (``features.denseblock4`` includes ``norm5`` and the final ReLU); average
      pooling; head ``classifier``.
    - SqueezeNet: each child of ``features`` (convolution with its ReLU, max pooling, Fire
      modules); no pooling step. The classifier is convolutional (dropout, 1x1 convolution to
      one map per class, ReLU, average pooling), so the whole ``classifier`` is the head and
      takes the last feature map; a parameterless ``nn.Flatten`` is appended to it, in place,
      so that it returns the ``(n, classes)`` logits of ``forward``.
    - ShuffleNet v2: ``conv1`` (with ``maxpool``), ``stage2`` to ``stage4``, ``conv5``; spatial
      mean; head ``fc``.
    - GoogLeNet, Inception v3: each top-level convolution block, max pooling and inception
      module (``conv1`` ... ``inception5b``; ``Conv2d_1a_3x3`` ... ``Mixed_7c``); the first
      layer applies ``transform_input`` when the model has it on. Average pooling, dropout;
      head ``fc``. The auxiliary classifiers are left out.
    - ViT: ``conv_proj`` (patch embedding, class token, position embedding, dropout),
      ``encoder.layers.encoder_layer_0`` ..., ``encoder.ln``; outputs are token sequences
      ``(n, tokens, dim)``; the pooling step selects the class token; head ``heads.head``
      (with ``representation_size``, the class token and ``heads.pre_logits`` are a layer).
    - Swin, Swin v2: ``features.0`` to ``features.7`` (patch embedding, stages, patch merging)
      and ``norm``. Swin computes channels-last; each layer here returns ``(n, C, H, W)``
      (a permuted view) like a ConvNet's. Average pooling; head ``head``.
    - MaxViT: ``stem``, ``blocks.0`` to ``blocks.3``, ``classifier.0`` (average pooling,
      flatten, LayerNorm), ``classifier.3`` (linear and tanh); head ``classifier.5``.

    An ``nn.Sequential`` gets one layer per child (activations, dropout and norms joined to the
    module before them); a final ``nn.Linear`` is the head, and trailing children without
    parameters or buffers (pooling, flatten) are the pooling step. Any other module, including
    a subclass of a torchvision model that overrides its ``forward``, is one layer named
    ``"model"``, with no pooling step and no head: pass an ``nn.Sequential`` or build a
    :class:`Backbone` to get several layers.

    The pooling step never holds parameters or buffers, which would appear twice in the
    backbone's state dict: where a network normalises or transforms its pooled features
    (ConvNeXt, MobileNet v3, MaxViT, VGG), the pooling is a layer and the pooling step is empty.

    Inputs are images with the channels of the first convolution, or vectors when the first
    parameterised module is an ``nn.Linear``. Preprocessing is ImageNet's (224 px crops of
    256 px, ImageNet mean and standard deviation) for torchvision models, and none otherwise.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}.")
    return _as_backbone(model)
