"""What the library's skorch nets add to skorch's training loop: a GPU kept busy, and a diverged
training refused."""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from skorch.dataset import get_len
from torch.utils.data import DataLoader, Subset

from ._torch import _unavailable


def steps_per_epoch(n_rows, batch_size):
    """The training steps of an epoch over ``n_rows``: a last batch of one row is left out.

    BatchNorm cannot normalise one row in training mode: a fit whose row count left one row
    over (33 rows in batches of 32, a fold of a cross-validation) failed with torch's
    "Expected more than 1 value per channel". The row left out is another at each shuffled
    epoch.
    """
    n_steps = math.ceil(n_rows / batch_size)
    return n_steps - 1 if n_steps > 1 and n_rows % batch_size == 1 else n_steps


def train_loader(dataset, batch_size, shuffle=False, **kwargs):
    """skorch ``iterator_train``: its ``DataLoader``, with :func:`steps_per_epoch`'s rule."""
    n_rows = len(dataset)
    drop_last = steps_per_epoch(n_rows, batch_size) < math.ceil(n_rows / batch_size)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, **kwargs
    )


def training_batches(device):
    """skorch settings of the shuffled training batches on ``device``.

    On a GPU the training inputs live there (``keep_on_device``): :class:`InMemoryBatches`
    gathers whole batches in place. On the CPU a ``DataLoader`` serves them. Both leave out a
    last batch of one row.
    """
    iterator = InMemoryBatches if torch.device(device).type == "cuda" else train_loader
    return {"iterator_train": iterator, "iterator_train__shuffle": True}


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
        return steps_per_epoch(len(self.dataset), self.batch_size)

    def __iter__(self):
        data, rows = self.dataset, None
        if isinstance(data, Subset):  # skorch's train_split hands over subsets
            data, rows = data.dataset, torch.as_tensor(data.indices)
        if not hasattr(data, "X"):
            yield from train_loader(self.dataset, self.batch_size, shuffle=self.shuffle)
            return
        n_rows = len(self.dataset)
        order = torch.randperm(n_rows) if self.shuffle else torch.arange(n_rows)
        if rows is not None:
            order = rows[order]
        order = _Order(order)
        for step in range(len(self)):
            batch = slice(step * self.batch_size, (step + 1) * self.batch_size)
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


class LoadsWhereItCan:
    """Mixin for skorch nets: a net saved on a device this machine lacks loads on the CPU.

    skorch maps a CUDA net to the CPU only where CUDA is missing altogether: a net fitted on
    ``cuda:1`` could not be loaded on a machine with one GPU. The estimator holding the net
    chooses where it runs next (its ``device``, or the CPU with a warning).
    """

    def __setstate__(self, state):
        device = state.get("device")
        if device is not None and _unavailable(torch.device(device)):
            state["device"] = torch.device("cpu")
        super().__setstate__(state)


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


class RaisesOnDivergence:
    """Mixin for skorch nets: training that diverged raises a ValueError, as in scikit-learn's
    MLPClassifier, instead of leaving a network that predicts NaN without a word.

    Checked once, when training ends: the last epoch's loss, the parameters, and the outputs
    of the trained network (in evaluation mode, as predictions run) on the last training
    batch. The last update can push a network whose loss was still finite to outputs that
    overflow, so the loss and the parameters alone miss it. The flags are reduced on the
    device, so a fit waits for the GPU once more at most, never at every step.
    """

    def train_step(self, batch, **fit_params):
        # A reference for the check at the end, neither a copy nor a wait for the device.
        self._last_batch = batch
        return super().train_step(batch, **fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        try:
            super().partial_fit(X, y, classes=classes, **fit_params)
            reason = _divergence(self, getattr(self, "_last_batch", None))
        finally:
            # The batch would otherwise stay alive, and be pickled, with the net.
            self.__dict__.pop("_last_batch", None)
        if reason is not None:
            raise ValueError(
                f"Training diverged: {reason}. Lower the learning rate lr (now {self.lr!r})."
            )
        return self


def _divergence(net, batch):
    """Why the trained network is unusable (a loss, parameters or outputs not finite), or None."""
    loss = net.history[-1].get("train_loss") if len(net.history) else None
    if loss is not None and not math.isfinite(loss):
        return f"the training loss of the last epoch is {loss}"
    parameters = [p.isfinite().all() for p in net.module_.parameters()]
    outputs = [] if batch is None else [t.isfinite().all() for t in _outputs(net, batch)]
    flags = parameters + outputs
    if not flags:
        return None
    # A network split across devices gathers its flags on one of them.
    device = flags[0].device
    finite = torch.stack([flag.to(device) for flag in flags])
    parameters_finite, outputs_finite = finite[: len(parameters)], finite[len(parameters) :]
    if not parameters_finite.all():
        return "the network's parameters are not finite"
    if not outputs_finite.all():
        return "the trained network's outputs on training rows are not finite"
    return None


def _outputs(net, batch):
    """The floating-point tensors the trained network returns for ``batch``, in evaluation
    mode; the module's mode is given back."""
    training = net.module_.training
    try:
        outputs = net.evaluation_step(batch, training=False)
    finally:
        net._set_training(training)
    return [t for t in _tensors(outputs) if t.is_floating_point()]


def _tensors(outputs):
    if torch.is_tensor(outputs):
        return [outputs]
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if isinstance(outputs, (tuple, list)):
        return [t for item in outputs for t in _tensors(item)]
    return []


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


class WarnsWhenInterrupted:
    """Mixin for skorch nets: a training interrupted by the user (Ctrl-C) warns.

    skorch ends training on a ``KeyboardInterrupt`` and keeps the epochs done: callbacks such
    as ``EarlyStopping`` stop training that way on purpose. An interrupt that no callback
    raised is the user's: the fit still keeps what it learned, as skorch and scikit-learn's
    ``MLPClassifier`` do, but says so instead of returning as if every epoch had run. (A
    Ctrl-C that lands while a callback runs passes for that callback's stop.)
    """

    def notify(self, method_name, **cb_kwargs):
        try:
            super().notify(method_name, **cb_kwargs)
        except KeyboardInterrupt:
            self.__dict__["_stopped_by_callback"] = True
            raise

    def fit_loop(self, X, y=None, **fit_params):
        try:
            return super().fit_loop(X, y, **fit_params)
        except KeyboardInterrupt:
            if not self.__dict__.pop("_stopped_by_callback", False):
                warnings.warn(
                    f"Training interrupted by user in epoch {len(self.history)}; the network "
                    "keeps what it learned so far.",
                    UserWarning,
                    stacklevel=2,
                )
            raise


class LibraryNet(
    LoadsWhereItCan, RaisesOnDivergence, WarnsWhenInterrupted, ModeSetOnChange, OneSyncPerEpoch
):
    """The mixins every skorch net of the library takes, put before skorch's own net class:
    it loads on the CPU when its device is missing, refuses a diverged training, warns when
    the user interrupts training, sets a module's mode only when it changes, and reads the
    losses back once per epoch on CUDA. A new network family subclasses this and skorch's
    class, and gets all five."""
