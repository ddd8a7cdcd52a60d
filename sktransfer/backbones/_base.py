"""A pretrained network seen as an ordered sequence of layers, a pooling step and a head."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import torch
from torch import nn


@dataclass(frozen=True)
class Preprocessing:
    """How images must be prepared before they enter a backbone.

    Images are scaled to ``[0, 1]``, their shorter side is resized to ``resize_size``, the centre
    ``size x size`` crop is kept, then each channel is normalised as ``(x - mean) / std``.

    Parameters
    ----------
    size : int or None
        Side of the square input the network was trained on; ``None`` for vector backbones.
    resize_size : int or None
        Shorter side after resizing, before the centre crop; ``None`` means ``size``.
    mean, std : tuple of float
        Per-channel normalisation.
    interpolation : {"bilinear", "bicubic", "nearest"}
        Resampling used by the resize.
    """

    size: int | None = None
    resize_size: int | None = None
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    interpolation: str = "bilinear"


class _StopForward(Exception):
    """Raised by a forward hook to end a forward pass once the wanted output is captured."""

    def __init__(self, output):
        super().__init__()
        self.output = output


class Backbone(nn.Module):
    """A network cut into named layers that run one after the other, then a pooling step and a head.

    ``forward(x)`` equals the original network's output: ``head(pool(layer_n(...layer_1(x))))``.
    Each layer is a module that may hold (and share) submodules of ``model``; only ``model`` is
    registered, so ``state_dict()`` keeps the original network's key layout and weight files load
    into ``model`` unchanged.

    Parameters
    ----------
    model : torch.nn.Module
        The whole network; owns every parameter.
    layers : list of (str, torch.nn.Module)
        The feature layers in execution order, each named after the submodule of ``model`` it
        starts with (e.g. ``"layer3"`` for a ResNet). The activation that follows a layer in the
        network belongs to that layer, so its output is what the next layer receives.
    pool : torch.nn.Module, default=None
        What the network does between its last layer and its head (global pooling and flattening
        for most ConvNets); ``None`` means identity.
    head : str, default=None
        Name in ``model`` of the classification head (the module fine-tuning replaces); ``None``
        for a network without one.
    preprocessing : Preprocessing, default=None
        How inputs must be prepared; ``None`` means no resizing and no normalisation.
    input_kind : {"image", "vector"}, default="image"
        Whether the network takes ``(n, C, H, W)`` images or ``(n, n_features)`` vectors.
    in_channels : int or None, default=3
        Channels expected by an image network.
    in_features : int or None, default=None
        Features expected by a vector network.
    """

    def __init__(
        self,
        model,
        layers,
        *,
        pool=None,
        head=None,
        preprocessing=None,
        input_kind="image",
        in_channels=3,
        in_features=None,
    ):
        super().__init__()
        self.model = model
        names = [name for name, _ in layers]
        if len(set(names)) != len(names):
            raise ValueError(f"Layer names must be unique, got {names}.")
        if not names:
            raise ValueError("A backbone needs at least one layer.")
        # A plain list: the layers share modules with `model`, and registering them a second time
        # would duplicate every key of the state dict.
        self._layers = list(layers)
        self._pool = pool if pool is not None else nn.Identity()
        self.head_name = head
        self.preprocessing = preprocessing if preprocessing is not None else Preprocessing()
        self.input_kind = input_kind
        self.in_channels = in_channels
        self.in_features = in_features

    @property
    def layer_names(self):
        """Names of the feature layers, from the input side."""
        return [name for name, _ in self._layers]

    @property
    def head(self):
        """The classification head, or ``None``."""
        return None if self.head_name is None else self.model.get_submodule(self.head_name)

    def layer(self, name):
        """The module of a layer.

        Parameters
        ----------
        name : int or str
            The layer: its name, or its position (negative from the end).

        Returns
        -------
        torch.nn.Module
            The layer's module, which shares its submodules with ``model``.
        """
        return self._layers[self.layer_index(name)][1]

    def layer_index(self, layer):
        """Position of a layer, from the input side.

        Parameters
        ----------
        layer : int or str
            A layer name, or a position (negative from the end).

        Returns
        -------
        int
            The position in ``layer_names``, in ``[0, len(layer_names))``.

        Raises
        ------
        ValueError
            If ``layer`` is not a layer of this backbone; the message lists the valid ones.
        """
        names = self.layer_names
        if isinstance(layer, str):
            if layer in names:
                return names.index(layer)
            raise ValueError(
                f"Unknown layer {layer!r}. Valid layers, from the input side: {names} "
                f"(or an integer in [{-len(names)}, {len(names) - 1}])."
            )
        # NumPy integers too: a grid search over np.arange(n) hands them over.
        if isinstance(layer, bool) or not isinstance(layer, Integral):
            raise TypeError(f"layer must be an int or a str, got {type(layer).__name__}.")
        layer = int(layer)
        if not -len(names) <= layer < len(names):
            raise ValueError(
                f"layer={layer} is out of range for a backbone with {len(names)} layers "
                f"(valid: {-len(names)} to {len(names) - 1}, or a name in {names})."
            )
        return layer % len(names)

    def resolve_layer(self, layer):
        """Qualified name of a layer, or of any submodule of ``model`` inside one.

        Parameters
        ----------
        layer : int or str
            A layer name or position (negative from the end), or the full name in ``model`` of a
            submodule inside a layer (e.g. ``"layer3.1.conv2"`` for a ResNet).

        Returns
        -------
        str
            The layer's name, or the submodule's full name as given.

        Raises
        ------
        ValueError
            If ``layer`` names neither a layer nor a submodule inside a layer.
        """
        if isinstance(layer, str) and layer not in self.layer_names:
            self._enclosing_layer(layer)
            return layer
        return self.layer_names[self.layer_index(layer)]

    def _enclosing_layer(self, name):
        for index, (_, module) in enumerate(self._layers):
            if _contains(module, self.model, name):
                return index
        raise ValueError(
            f"Unknown layer {name!r}. Valid layers, from the input side: {self.layer_names}; "
            "a submodule inside one of them can be named by its full name in the network "
            "(e.g. 'layer3.1.conv2' for a ResNet)."
        )

    def features(self, x, *, start=None, stop=None):
        """Run the layers from ``start`` to ``stop`` (both included) on ``x``.

        Parameters
        ----------
        x : torch.Tensor
            The input of layer ``start``: prepared images or vectors when ``start=None``.
        start : int or str, default=None
            The first layer to run, by name or position; ``None`` begins at the input.
        stop : int or str, default=None
            The last layer to run, by name or position; ``None`` runs every layer. It may also be
            the full name of a submodule inside a layer: the pass ends when that submodule's
            output is ready. A submodule that runs more than once in a pass (a module called
            at several places) raises a ``ValueError``.

        Returns
        -------
        torch.Tensor
            The output of ``stop`` (of the submodule, when ``stop`` names one), before pooling.
        """
        first = 0 if start is None else self.layer_index(start)
        if isinstance(stop, str) and stop not in self.layer_names:
            return self._features_to_submodule(x, first, stop)
        last = len(self._layers) - 1 if stop is None else self.layer_index(stop)
        for _, module in self._layers[first : last + 1]:
            x = module(x)
        return x

    def _features_to_submodule(self, x, first, name):
        self._enclosing_layer(name)  # refuses a name that lies in no layer
        target = self.model.get_submodule(name)
        # Through every layer that holds it: one module shared by two layers runs in both.
        last = max(i for i, (_, layer) in enumerate(self._layers) if _holds(layer, target))
        # Counted from where the pass starts: from a later layer, a module shared with an
        # earlier one runs once, and from the input twice.
        checked = self.__dict__.setdefault("_run_once", set())
        if (first, name) not in checked and self._check_runs_once(x, first, last, target, name):
            checked.add((first, name))

        def capture(module, inputs, output):
            raise _StopForward(output)

        handle = target.register_forward_hook(capture)
        try:
            for _, module in self._layers[first : last + 1]:
                x = module(x)
        except _StopForward as stop:
            return stop.output
        finally:
            handle.remove()
        raise RuntimeError(f"Submodule {name!r} did not run during the forward pass.")

    def _check_runs_once(self, x, first, last, target, name):
        """Refuse a submodule that runs more than once in a pass (ResNet blocks call one ReLU
        twice): its name does not say which output is wanted.

        Counted once per name and start, in a pass through every layer that holds it, without
        gradients, in eval mode (no batch statistics updated or needed) and on a copy of ``x``
        (in-place modules leave the caller's input alone); the outputs then come from a pass
        that stops there. Returns whether it ran once: not when the pass from ``start`` does
        not reach it.
        """
        calls = []
        handle = target.register_forward_hook(lambda module, inputs, output: calls.append(1))
        training = {module: module.training for module in self.model.modules()}
        try:
            self.model.eval()
            with torch.no_grad():
                x = x.clone() if torch.is_tensor(x) else x
                for _, module in self._layers[first : last + 1]:
                    x = module(x)
        finally:
            handle.remove()
            for module, mode in training.items():
                module.training = mode
        if len(calls) > 1:
            parent = name.rpartition(".")[0] or self.layer_names[last]
            raise ValueError(
                f"Submodule {name!r} runs {len(calls)} times in a forward pass (one module "
                "called at several places, as the ReLU of a ResNet block), so its output is "
                f"ambiguous. Name a submodule that runs once, such as {parent!r}."
            )
        return len(calls) == 1

    @property
    def pool_module(self):
        """The module of the network's step from its last layer's output to its head's input."""
        return self._pool

    def pool(self, x):
        """Apply the network's own step from its last layer's output to its head's input.

        Parameters
        ----------
        x : torch.Tensor
            The output of the last layer.

        Returns
        -------
        torch.Tensor
            The head's input (for most ConvNets, globally pooled and flattened maps).
        """
        return self._pool(x)

    def forward(self, x):
        """Run the whole network: its layers, its pooling step and its head.

        Parameters
        ----------
        x : torch.Tensor
            Prepared images ``(n, C, H, W)`` or vectors ``(n, n_features)``.

        Returns
        -------
        torch.Tensor
            The original network's output: the head's logits, or the pooled features of a
            network without a head.
        """
        x = self.pool(self.features(x))
        head = self.head
        return x if head is None else head(x)


def _holds(layer, target):
    """Whether the module ``target`` lies inside ``layer``."""
    return any(sub is target for sub in layer.modules())


def _contains(module, model, name):
    """Whether the submodule of ``model`` called ``name`` lies inside ``module``."""
    try:
        target = model.get_submodule(name)
    except AttributeError:
        return False
    return _holds(module, target)


def sequential(*modules):
    """Chain modules into one layer without taking ownership of their parameters' names."""
    return modules[0] if len(modules) == 1 else nn.Sequential(*modules)


class GlobalAvgPool(nn.Module):
    """Average ``(n, C, H, W)`` maps over space to ``(n, C)``; other shapes pass through."""

    # Declared so that the signature shows no parameter (nn.Module's is (*args, **kwargs)).
    def __init__(self):
        super().__init__()

    def forward(self, x):
        """Average the maps over space.

        Parameters
        ----------
        x : torch.Tensor
            Maps ``(n, C, H, W)``, or a tensor of another rank.

        Returns
        -------
        torch.Tensor
            The ``(n, C)`` spatial means of 4-D maps; any other input unchanged.
        """
        if x.ndim == 4:
            x = torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
        return x
