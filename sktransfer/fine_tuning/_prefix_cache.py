"""Activations of a frozen prefix cached on disk, per image and per depth.

A grid search over ``freeze_depth`` with cross-validation runs the same frozen layers over the
same images many times: once per fold, per grid point and per refit. With ``memory=`` the output
of the frozen prefix is stored per image under a key that covers everything it depends on, so
every later fit or prediction that needs it reads it back. A deeper prefix also starts from the
deepest depth already cached for an image, and runs only the layers below it.

The key of depth ``j`` chains digests: the input preparation (kind, channels, preprocessing,
``image_size``, numeric precision), then for each of the first ``j`` stages its architecture and
the bytes of its parameters and buffers. Two networks share entries exactly as far as their
first layers agree: random initialisations with different seeds never collide, while a
fine-tuned network that kept its first layers reuses them.
"""

from __future__ import annotations

import joblib
import numpy as np
import torch
from tqdm.auto import tqdm

from ..utils._code_cache import CodeCache, module_settings, tensor_bytes
from ..utils._images import row_digests
from ..utils._torch import resolved_precision, run_network


def encode_prefix(
    prefix,
    X,
    *,
    memory,
    batch_size,
    device,
    image_size=None,
    precision="auto",
    num_workers=0,
    verbose=0,
):
    """``prefix.encode(X)``, read from and stored in the cache at ``memory`` when there is one.

    Parameters
    ----------
    prefix : FrozenPrefix
        The frozen layers (and the pooling step when every layer is frozen).
    X : ndarray or ImageSet
        Validated vectors or images.
    memory : None, str or joblib.Memory
        Cache location; ``None`` or a ``Memory`` without location computes everything.
    batch_size : int
        Samples per forward pass.
    device : torch.device
        Where the prefix runs.
    image_size : int, default=None
        Size the images are resized to, as in :meth:`FrozenPrefix.encode`.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Autocast precision of the frozen layers.
    num_workers : int, default=0
        Worker processes decoding image files.
    verbose : int, default=0
        Show a progress bar over the batches that run through the prefix when positive
        (those read from the cache take no time and are not counted).

    Returns
    -------
    ndarray of float32, one row per sample
    """
    options = {"image_size": image_size, "precision": precision, "num_workers": num_workers}
    cache = PrefixCache(memory, prefix, device=device, **options)
    if not cache.enabled:
        n_batches = 0 if prefix.passes_through else _n_batches(len(X), batch_size)
        with _progress_bar(prefix, n_batches, verbose) as progress:
            return prefix.encode(
                X, batch_size=batch_size, device=device, progress=progress, **options
            )
    return cache.encode(X, batch_size=batch_size, verbose=verbose)


def _n_batches(n_rows, batch_size):
    return -(-n_rows // batch_size)


def _progress_bar(prefix, n_batches, verbose):
    """A bar over the batches of the pass, shown when ``verbose`` and there is work to do."""
    description = "frozen layers" if len(prefix.layers) else "preparing inputs"
    return tqdm(
        total=n_batches, desc=description, unit="batch", disable=not verbose or not n_batches
    )


class PrefixCache:
    """The cached activations of each depth of one frozen prefix.

    Parameters
    ----------
    memory : None, str or joblib.Memory
        Cache location.
    prefix : FrozenPrefix
        The frozen layers, then the pooling step if the prefix has one.
    image_size : int or None
        Size the images are resized to.
    device : torch.device
        Where the prefix runs.
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Autocast precision; bfloat16 activations are kept apart from float32 ones.
    num_workers : int, default=0
        Worker processes decoding image files.
    """

    def __init__(self, memory, prefix, *, image_size, device, precision="auto", num_workers=0):
        self.prefix = prefix
        self.image_size = image_size
        self.device = device
        self.precision = resolved_precision(precision, device)
        self.num_workers = num_workers
        self.stages = list(prefix.layers) + ([] if prefix.pool is None else [prefix.pool])
        self.depths = []
        if memory is not None and self.stages:
            # depths[j - 1] holds the outputs of the first j stages.
            self.depths = [
                CodeCache(memory, digest)
                for digest in _depth_digests(prefix, self.stages, image_size, self.precision)
            ]
        if self.depths and not self.depths[0].enabled:
            self.depths = []

    @property
    def enabled(self):
        return bool(self.depths)

    def encode(self, X, *, batch_size, verbose=0):
        """The prefix's output for every sample of ``X``, computing only what is not cached.

        With ``verbose``, a progress bar counts the batches computed.
        """
        vectors = self.prefix.input_kind == "vector"
        keys = row_digests(X) if vectors else X.row_keys()
        rows, starts, missing = self._lookup(keys)
        n_batches = _n_batches(len(missing), batch_size) + sum(
            _n_batches(len(indices), batch_size) for indices, _ in starts.values()
        )
        with _progress_bar(self.prefix, n_batches, verbose) as progress:
            computed = self._compute(X, missing, starts, batch_size, progress)
        if computed:
            positions = sorted(computed)
            outputs = np.stack([computed[i] for i in positions])
            self.depths[-1].add([keys[i] for i in positions], outputs)
        rows.update(computed)
        return np.stack([rows[i] for i in range(len(keys))]).astype(np.float32, copy=False)

    def _compute(self, X, missing, starts, batch_size, progress):
        """Outputs, by row, of the rows not cached at full depth."""
        vectors = self.prefix.input_kind == "vector"
        computed = {}
        if len(missing):
            subset = X[missing] if vectors else X.subset(missing)
            outputs = self.prefix.encode(
                subset,
                batch_size=batch_size,
                device=self.device,
                image_size=self.image_size,
                precision=self.precision,
                num_workers=self.num_workers,
                progress=progress,
            )
            computed.update(zip(missing.tolist(), outputs, strict=True))
        for depth, (indices, activations) in starts.items():
            outputs = self._run_from(depth, activations, batch_size, progress)
            computed.update(zip(indices.tolist(), outputs, strict=True))
        return computed

    def _lookup(self, keys):
        """Finished rows, cached starting points by depth, and the samples to compute in full.

        Each sample starts from the deepest depth cached for it.
        """
        todo = np.arange(len(keys))
        rows, starts = {}, {}
        for depth in range(len(self.stages), 0, -1):
            hits, missing = self.depths[depth - 1].lookup([keys[i] for i in todo])
            if hits:
                found = np.array(sorted(hits), dtype=np.intp)
                if depth == len(self.stages):
                    rows.update(zip(todo[found].tolist(), (hits[i] for i in found), strict=True))
                else:
                    starts[depth] = (todo[found], np.stack([hits[i] for i in found]))
            todo = todo[missing]
            if not len(todo):
                break
        return rows, starts, todo

    def _run_from(self, depth, activations, batch_size, progress=None):
        """Run the stages after ``depth`` over cached activations, as the prefix would."""
        self.prefix.to(self.device)

        def rest(x):
            for stage in self.stages[depth:]:
                x = stage(x)
            return x

        batches = (
            torch.from_numpy(activations[start : start + batch_size])
            for start in range(0, len(activations), batch_size)
        )
        return run_network(
            rest, batches, device=self.device, precision=self.precision, progress=progress
        )


def _depth_digests(prefix, stages, image_size, precision):
    """One digest per depth, each covering the input preparation and every stage up to it."""
    digest = joblib.hash(
        {
            "cache": "sktransfer frozen prefix",
            "input_kind": prefix.input_kind,
            "in_channels": prefix.in_channels,
            "preprocessing": prefix.preprocessing,
            "image_size": image_size if prefix.input_kind == "image" else None,
            "precision": precision,
        }
    )
    digests = []
    for stage in stages:
        digest = joblib.hash([digest, _architecture(stage), _weights(stage)])
        digests.append(digest)
    return digests


def _architecture(module):
    # Classes and plain attributes that forward reads are in neither the repr nor the weights.
    return [repr(module), module_settings(module)]


def _weights(module):
    return {name: tensor_bytes(t) for name, t in module.state_dict().items()}
