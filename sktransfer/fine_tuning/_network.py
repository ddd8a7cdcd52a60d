"""The two parts of a fine-tuned network: a frozen prefix and the trainable rest."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import torch
from torch import nn

from ..utils._images import Preprocessor


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
    """

    def __init__(self, layers, pool, backbone):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.pool = pool
        self.input_kind = backbone.input_kind
        self.in_channels = backbone.in_channels
        self.preprocessing = backbone.preprocessing
        self.requires_grad_(False)
        self.eval()

    def train(self, mode=True):
        return super().train(False)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x if self.pool is None else self.pool(x)

    def encode(self, X, *, batch_size, device, image_size=None):
        """Prepare ``X`` (validated vectors or an ImageSet) and run it through the prefix.

        The outputs are computed batch by batch without autograd and copied to the host once,
        as a float32 array: they are the inputs of the trainable part.
        """
        if self.input_kind == "vector" and not len(self.layers) and self.pool is None:
            return np.asarray(X, dtype=np.float32)
        if self.input_kind == "vector":
            batches = (X[i : i + batch_size] for i in range(0, len(X), batch_size))
            prepare = torch.tensor
        else:
            batches = X.batches(batch_size)
            prepare = Preprocessor(
                self.preprocessing, self.in_channels, image_size=image_size, device=device
            )
        self.to(device)
        autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
        )
        outputs = []
        with torch.inference_mode(), autocast:
            for batch in batches:
                outputs.append(self(prepare(batch).to(device)).float())
        return torch.cat(outputs).cpu().numpy()


class TrainableSuffix(nn.Module):
    """The layers that fine-tuning trains, then the pooling step and the new head.

    Parameters are named ``layers.<j>.*`` (``j`` counting from the first trainable layer),
    ``pool.*`` and ``head.*``, which is what the layer-wise learning rates select.
    """

    def __init__(self, layers, pool, head):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.pool = pool if pool is not None else nn.Identity()
        self.head = head

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.head(self.pool(x))


class WholeNetwork(nn.Module):
    """Prefix and suffix chained: the network trained end to end, prefix kept frozen."""

    def __init__(self, prefix, suffix):
        super().__init__()
        self.prefix = prefix
        self.suffix = suffix

    def forward(self, x):
        return self.suffix(self.prefix(x))
