"""What the library's skorch nets add to skorch's training loop, to keep a GPU busy."""

from __future__ import annotations

import math

import numpy as np
import torch
from skorch.dataset import get_len
from torch.utils.data import DataLoader, Subset


class InMemoryBatches:
    """skorch ``iterator_train`` over data held in memory, on the host or on the GPU.

    Each epoch draws one permutation (from torch's RNG, seeded by the estimator) and each
    step gathers its rows with one indexing call, instead of a ``DataLoader`` indexing and
    collating sample by sample; data already on the GPU is never copied.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
        Holds ``X`` (array, tensor, or dict of them) and ``y``.
    batch_size : int
        Rows per step.
    shuffle : bool, default=False
        Draw a new order at each epoch.
    **kwargs : dict
        Other ``iterator_train__*`` settings, which have no meaning here.
    """

    def __init__(self, dataset, batch_size, shuffle=False, **kwargs):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        data, rows = self.dataset, None
        if isinstance(data, Subset):  # skorch's train_split hands over subsets
            data, rows = data.dataset, torch.as_tensor(data.indices)
        if not hasattr(data, "X"):
            yield from DataLoader(self.dataset, batch_size=self.batch_size, shuffle=self.shuffle)
            return
        n_rows = len(self.dataset)
        order = torch.randperm(n_rows) if self.shuffle else torch.arange(n_rows)
        if rows is not None:
            order = rows[order]
        order = _Order(order)
        for start in range(0, n_rows, self.batch_size):
            batch = slice(start, start + self.batch_size)
            yield _take(data.X, order, batch), _take(data.y, order, batch)


class _Order:
    """An epoch's row order, copied once to each device that holds data.

    A copy from pageable host memory at every step would make each step wait for the
    previous one to finish on the GPU.
    """

    def __init__(self, rows):
        self.rows = rows
        self.copies = {}

    def on(self, device):
        if device not in self.copies:
            self.copies[device] = self.rows.to(device)
        return self.copies[device]


def _take(data, order, batch):
    if data is None:
        return None
    if isinstance(data, dict):
        return {key: _take(value, order, batch) for key, value in data.items()}
    if torch.is_tensor(data):
        return data[order.on(data.device)[batch]]
    return np.asarray(data)[order.rows[batch].numpy()]


class ModeSetOnChange:
    """Mixin for skorch nets: a module's train/eval mode is set only when it changes.

    skorch sets the mode before every step, walking every submodule; for a small network on a
    GPU that walk costs as much as the step's arithmetic. Modules that keep parts in
    evaluation mode (``train`` overrides) apply that whenever the mode does change.
    """

    def _set_training(self, training=True):
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                module.train(training)


class OneSyncPerEpoch:
    """Mixin for skorch nets: on CUDA, batch losses reach the host once per epoch.

    skorch records ``loss.item()`` after every step, which makes the host wait for the GPU
    at each step. On CUDA the losses stay on the device and the history receives their values
    when the epoch's last batch is done, before the epoch-end callbacks read them; callbacks
    that read a batch's loss at its end (a progress bar's postfix) do not see it. On other
    devices skorch's own loop runs.
    """

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None or not self._defer_losses():
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        losses = []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            size = get_len(batch[0]) if isinstance(batch, (tuple, list)) else get_len(batch)
            self.history.record_batch(prefix + "_batch_size", size)
            self.notify("on_batch_end", batch=batch, training=training, **step)
        if losses:
            records = self.history[-1]["batches"][-len(losses) :]
            for record, loss in zip(records, torch.stack(losses).tolist(), strict=True):
                record[prefix + "_loss"] = loss
        self.history.record(prefix + "_batch_count", len(losses))

    def _defer_losses(self):
        return torch.device(self.device).type == "cuda"
