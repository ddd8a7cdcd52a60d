"""The parts of a fine-tuned network: a frozen prefix, the trainable rest, and their chaining."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torchvision.transforms.v2 import functional as TF

from .._network_base import InputSpec, input_batches, to_device
from ..utils._torch import run_network


class FrozenPrefix(nn.Module):
    """Input preparation and the frozen first layers of a backbone, fixed for good.

    The parameters do not require gradients and the module stays in evaluation mode even when
    asked to train, so batch-norm running statistics and dropout never change what it computes
    (setting ``requires_grad=False`` alone would still update batch-norm statistics).

    Parameters
    ----------
    layers : list of torch.nn.Module
        The frozen layers, in execution order; may be empty.
    pool : torch.nn.Module or None
        The backbone's pooling step, frozen too when every layer is.
    backbone : Backbone
        Where the input kind, channels and preprocessing come from.
    preprocessing : Preprocessing, default=None
        Replaces the backbone's preprocessing, e.g. to leave normalisation to a later step.
    """

    def __init__(self, layers, pool, backbone, preprocessing=None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.pool = pool
        self.input_kind = backbone.input_kind
        self.in_channels = backbone.in_channels
        self.preprocessing = preprocessing or backbone.preprocessing
        self.requires_grad_(False)
        self.eval()

    def train(self, mode=True):
        return super().train(False)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x if self.pool is None else self.pool(x)

    @property
    def passes_through(self):
        """Whether the prefix returns its input as it is (vectors, nothing frozen)."""
        return self.input_kind == "vector" and not len(self.layers) and self.pool is None

    def encode(
        self,
        X,
        *,
        batch_size,
        device,
        image_size=None,
        precision="auto",
        num_workers=0,
        progress=None,
    ):
        """Prepare ``X`` (validated vectors or an ImageSet) and run it through the prefix.

        The outputs are computed batch by batch without autograd and copied to the host once,
        as a float32 array: they are the inputs of the trainable part. ``progress`` (a
        tqdm-like bar) is advanced once per batch.
        """
        if self.passes_through:
            return np.asarray(X, dtype=np.float32)
        spec = InputSpec(self.input_kind, self.in_channels, self.preprocessing, image_size)
        batches = input_batches(X, spec, batch_size, device, num_workers=num_workers)
        to_device(self, device)
        return run_network(self, batches, device=device, precision=precision, progress=progress)


class Frozen(nn.Module):
    """A module kept as it is: no gradients, always in evaluation mode."""

    def __init__(self, module):
        super().__init__()
        self.module = module
        self.requires_grad_(False)
        self.eval()

    def train(self, mode=True):
        return super().train(False)

    def forward(self, x):
        with torch.no_grad():
            return self.module(x)


class TrainableSuffix(nn.Module):
    """The layers that fine-tuning trains, then the pooling step and the new head.

    Parameters are named ``layers.<j>.*`` (``j`` counting from the first trainable layer),
    ``pool.*`` and ``head.*``, which is what the layer-wise learning rates select.

    Parameters
    ----------
    layers : list of torch.nn.Module
        The layers after the frozen prefix, in execution order.
    pool : torch.nn.Module or None
        The backbone's pooling step; ``None`` when it belongs to the prefix.
    head : torch.nn.Module
        The new head.
    source_head : torch.nn.Module, default=None
        The backbone's own head, kept for Learning without Forgetting: in training mode the
        forward pass then returns ``(logits, source_logits, recorded)``, where ``recorded``
        are the outputs of ``source`` (or those given) for the same input.
    source : torch.nn.Module, default=None
        A frozen copy of the original layers, pooling step and head, giving the outputs to keep.
    regularizer : torch.nn.Module, default=None
        A term added to the training loss, called as ``regularizer(self, outputs)``.
    """

    def __init__(self, layers, pool, head, *, source_head=None, source=None, regularizer=None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.pool = pool if pool is not None else nn.Identity()
        self.head = head
        self.source_head = source_head
        self.source = source
        self.regularizer = regularizer
        self.held = []

    def hold(self, names):
        """Keep the submodules ``names`` fixed (no gradients, evaluation mode), free the rest."""
        self.held = sorted(set(names))
        for name, parameter in self.named_parameters():
            parameter.requires_grad_(not name.startswith("source."))
        for name in self.held:
            self.get_submodule(name).requires_grad_(False)
        return self.train(self.training)

    def train(self, mode=True):
        super().train(mode)
        # Held layers keep their batch-norm statistics even while the rest trains.
        for name in self.held:
            self.get_submodule(name).eval()
        return self

    def features(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.pool(x)

    def forward(self, x, recorded=None):
        features = self.features(x)
        logits = self.head(features)
        if self.source_head is None or not self.training:
            return logits
        if recorded is None:
            recorded = self.source(x)
        return logits, self.source_head(features), recorded

    def source_outputs(self, x):
        """The source head's outputs on the current features."""
        return self.source_head(self.features(x))

    def recorded_outputs(self, x):
        """The original network's outputs, which Learning without Forgetting keeps."""
        return self.source(x)


class Augment(nn.Module):
    """Random augmentation of each training image, then the backbone's normalisation.

    Images arrive as floats in [0, 1] at the network's input size; ``transform`` is applied to
    each image separately (so each gets its own random draw) in training mode only.
    """

    def __init__(self, transform, mean, std, channels):
        super().__init__()
        self.transform = transform
        self.mean = list(mean) * channels if len(mean) == 1 else list(mean)
        self.std = list(std) * channels if len(std) == 1 else list(std)

    def forward(self, x):
        if self.training:
            x = torch.stack([self._augmented(image) for image in x])
        return TF.normalize(x, self.mean, self.std)

    def _augmented(self, image):
        # The batch is stacked and the network sized for one image size: anything else would
        # fail deep in torch, or train on images of another size than predict sees.
        out = self.transform(image)
        if not torch.is_tensor(out):
            raise TypeError(
                f"augment must return a tensor, as it is given; it returned {type(out).__name__}."
            )
        if out.shape != image.shape:
            raise ValueError(
                f"augment must return an image of the shape it is given, {tuple(image.shape)}; "
                f"it returned {tuple(out.shape)}. Resize inside the transform if it crops."
            )
        return out


class WholeNetwork(nn.Module):
    """Prefix and suffix chained: the network trained end to end, prefix kept frozen.

    Parameters
    ----------
    prefix : FrozenPrefix
        The frozen first layers.
    suffix : TrainableSuffix
        The rest, as trained on cached prefix outputs otherwise.
    augment : Augment, default=None
        Applied to the input first.
    """

    def __init__(self, prefix, suffix, augment=None):
        super().__init__()
        self.augment = augment
        self.prefix = prefix
        self.suffix = suffix

    def encode(self, x):
        if self.augment is not None:
            x = self.augment(x)
        return self.prefix(x)

    def forward(self, x, recorded=None):
        return self.suffix(self.encode(x), recorded)

    def features(self, x):
        return self.suffix.features(self.encode(x))

    def source_outputs(self, x):
        return self.suffix.source_outputs(self.encode(x))

    def recorded_outputs(self, x):
        return self.suffix.recorded_outputs(self.encode(x))
