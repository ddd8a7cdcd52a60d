"""The pieces DANNClassifier trains: network, loss, paired batches and the paper's schedules."""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from skorch.callbacks import Callback
from torch import nn

from .._network_base import mlp
from ..backbones import Backbone, Preprocessing
from ..nn import GradientReversal
from ..utils._skorch import steps_per_epoch


def ganin_cnn(in_channels=3):
    """The ConvNet Ganin and Lempitsky (2015) used for MNIST -> MNIST-M, without its heads.

    Two blocks of a 5x5 convolution (32 then 48 filters), 2x2 max pooling and ReLU; the maps
    are flattened into the features. Inputs are scaled to [-1, 1]; any image size of at least
    16 px works (28 px gives 768 features, 32 px 1200).
    """
    model = nn.Sequential(
        OrderedDict(
            block1=nn.Sequential(nn.Conv2d(in_channels, 32, 5), nn.MaxPool2d(2), nn.ReLU()),
            block2=nn.Sequential(nn.Conv2d(32, 48, 5), nn.MaxPool2d(2), nn.ReLU()),
        )
    )
    layers = [(name, model.get_submodule(name)) for name in ("block1", "block2")]
    preprocessing = Preprocessing(mean=(0.5,), std=(0.5,))
    return Backbone(
        model, layers, pool=nn.Flatten(), preprocessing=preprocessing, in_channels=in_channels
    )


class DANNNetwork(nn.Module):
    """Feature extractor, label head, and a domain head behind a gradient reversal layer.

    ``forward(x, n_source)`` takes a batch whose first ``n_source`` rows are source rows and
    the rest target rows, and returns the class logits of every row, the domain logits (None
    for a batch without target rows) and ``n_source``. An extractor with batch normalisation
    takes the two parts in separate passes, so that the source rows are normalised by source
    statistics only, as in source-only training; any other extractor takes the whole batch in
    one pass, which halves the kernel launches of a step (what sets the pace of small networks
    on a GPU). The split is a host integer: no step waits for a value from the GPU.

    Parameters
    ----------
    extractor : torch.nn.Module
        Inputs to features of shape ``(n, n_features)``.
    n_features : int
        Width of the features.
    n_classes : int
        Outputs of the label head.
    domain_hidden_layer_sizes : tuple of int
        Hidden layers of the domain head, which ends in one logit (target vs source).
    """

    def __init__(self, extractor, n_features, n_classes, domain_hidden_layer_sizes):
        super().__init__()
        self.extractor = extractor
        self.label_head = nn.Linear(n_features, n_classes)
        self.reversal = GradientReversal(0.0)
        hidden, width = mlp(n_features, domain_hidden_layer_sizes)
        self.domain_head = nn.Sequential(hidden, nn.Linear(width, 1))
        self.separate_passes = any(
            isinstance(module, nn.modules.batchnorm._BatchNorm) for module in extractor.modules()
        )

    def forward(self, x, n_source):
        if n_source == len(x):
            return self.label_head(self.extractor(x)), None, n_source
        if self.separate_passes:
            features = torch.cat([self.extractor(x[:n_source]), self.extractor(x[n_source:])])
        else:
            features = self.extractor(x)
        domain_logits = self.domain_head(self.reversal(features)).squeeze(1)
        return self.label_head(features), domain_logits, n_source


class DANNLoss(nn.Module):
    """Cross-entropy on the labelled rows plus the domain head's binary cross-entropy.

    The criterion that ``net_`` minimises; its ``y_pred`` is ``DANNNetwork``'s output and its
    ``y_true`` the labels of the batch, ``-1`` for unlabelled target rows, which the
    cross-entropy ignores (no boolean mask, so no wait for the GPU). The domain head outputs
    one logit per row (``BCEWithLogitsLoss``), so it can learn: a softmax over a single
    output is constant.
    """

    def __init__(self):
        super().__init__()
        self.label_loss = nn.CrossEntropyLoss(ignore_index=-1)
        self.domain_loss = nn.BCEWithLogitsLoss()
        self.last_domain_ = None

    def forward(self, y_pred, y_true):
        logits, domain_logits, n_source = y_pred
        loss = self.label_loss(logits, y_true)
        if domain_logits is None:
            self.last_domain_ = None
            return loss
        is_target = torch.ones_like(domain_logits)
        is_target[:n_source] = 0.0
        domain_loss = self.domain_loss(domain_logits, is_target)
        # Kept on the device for DomainLog, which reads them back once per epoch.
        correct = ((domain_logits > 0) == is_target.bool()).sum()
        self.last_domain_ = (domain_loss.detach(), correct.detach(), len(domain_logits))
        return loss + domain_loss


class DomainRows(torch.utils.data.Dataset):
    """Prepared inputs, labels and domains of every row, with the RNGs of the batch order.

    Source and target rows are shuffled by two separate generators, so the source batches do
    not depend on whether (or how many) target rows are present.
    """

    def __init__(self, x, y, is_target, *, source_seed, target_seed):
        self.x = x
        self.y = y
        # Domains and row indices live on the host, where the batch order is drawn and the
        # source rows of a batch are counted; inputs and labels may live on the GPU.
        self.is_target = is_target.cpu()
        self.source_rows = (~self.is_target).nonzero()[:, 0]
        self.target_rows = self.is_target.nonzero()[:, 0]
        self.source_generator = torch.Generator().manual_seed(source_seed)
        self.target_generator = torch.Generator().manual_seed(target_seed)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return {"x": self.x[index], "is_target": self.is_target[index]}, self.y[index]


class PairedBatches:
    """skorch ``iterator_train``: each step ``batch_size`` shuffled source rows, then as many
    target rows, cycling through shuffled passes of the target rows.

    One epoch is one pass over the source rows, so the number of steps, and the training budget,
    is that of source-only training.
    """

    def __init__(self, dataset, batch_size, **kwargs):
        self.dataset = dataset
        self.batch_size = batch_size

    def __len__(self):
        return steps_per_epoch(len(self.dataset.source_rows), self.batch_size)

    def __iter__(self):
        data = self.dataset
        n_source = len(data.source_rows)
        source = data.source_rows[torch.randperm(n_source, generator=data.source_generator)]
        target = self._target_stream(n_source)
        if target is None:
            target = source[:0]
        # The epoch's order reaches the device in one copy: a copy from pageable host memory
        # at every step would make each step wait for the previous one to finish on the GPU.
        source_on, target_on = source.to(data.x.device), target.to(data.x.device)
        for step in range(len(self)):
            start = step * self.batch_size
            stop = min(start + self.batch_size, n_source)
            both = torch.cat([source[start:stop], target[start:stop]])
            on_device = torch.cat([source_on[start:stop], target_on[start:stop]])
            yield {"x": data.x[on_device], "is_target": data.is_target[both]}, data.y[on_device]

    def _target_stream(self, n_rows):
        data = self.dataset
        n_target = len(data.target_rows)
        if n_target == 0:
            return None
        passes = [
            data.target_rows[torch.randperm(n_target, generator=data.target_generator)]
            for _ in range(math.ceil(n_rows / n_target))
        ]
        return torch.cat(passes)


def ganin_domain_weight(progress):
    """The paper's ramp of the reversal factor, ``2 / (1 + exp(-10 p)) - 1``, from 0 to ~1."""
    return 2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0


class GaninLRFactor:
    """The paper's annealing ``1 / (1 + 10 p) ** 0.75`` of the learning rate, as a function of
    the optimisation step, for ``torch.optim.lr_scheduler.LambdaLR``."""

    def __init__(self, n_steps):
        self.n_steps = n_steps

    def __call__(self, step):
        return 1.0 / (1.0 + 10.0 * min(step / self.n_steps, 1.0)) ** 0.75


class DomainWeightSchedule(Callback):
    """Set the gradient reversal factor before every training step.

    ``domain_weight`` times :func:`ganin_domain_weight` of the training progress ``p`` (steps
    done over ``n_steps``) with ``schedule="ganin"``, or ``domain_weight`` throughout with
    ``schedule="constant"``.
    """

    def __init__(self, domain_weight, schedule, n_steps):
        self.domain_weight = domain_weight
        self.schedule = schedule
        self.n_steps = n_steps

    def initialize(self):
        self.step_ = 0
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        factor = 1.0
        if self.schedule == "ganin":
            factor = ganin_domain_weight(min(self.step_ / self.n_steps, 1.0))
        net.module_.reversal.lambda_ = self.domain_weight * factor

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.step_ += 1


class DomainLog(Callback):
    """Record the domain head's loss and accuracy of each epoch in the net's history.

    ``train_domain_loss`` is the binary cross-entropy of the domain head averaged over the
    epoch's rows (source and target), and ``train_domain_acc`` the fraction of those rows
    whose domain it told right, both measured during the training steps, as ``train_loss``
    is. Near 0.5, the features hide the domain; near 1, they reveal it. Skorch's table of
    epochs prints both. The batch values stay on the device and are read back once at the
    end of the epoch, so no step waits for the GPU.
    """

    def initialize(self):
        self.batches_ = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.batches_ = []

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        domain = net.criterion_.last_domain_
        if training and domain is not None:
            self.batches_.append(domain)

    def on_epoch_end(self, net, **kwargs):
        if not self.batches_:
            return
        losses, correct, sizes = zip(*self.batches_, strict=True)
        sizes = torch.as_tensor(sizes, dtype=torch.float64)
        losses, correct = torch.stack(losses).cpu().double(), torch.stack(correct).cpu().double()
        n_rows = float(sizes.sum())
        net.history.record("train_domain_loss", float((losses * sizes).sum()) / n_rows)
        net.history.record("train_domain_acc", float(correct.sum()) / n_rows)
        self.batches_ = []

    def on_train_end(self, net, **kwargs):
        # Nothing of the last step stays behind to be pickled with the net.
        net.criterion_.last_domain_ = None
