"""What fine-tuning adds to skorch's training loop: conservative loss terms and a schedule."""

from __future__ import annotations

from skorch import NeuralNetClassifier
from skorch.callbacks import Callback
from torch import nn
from torch.nn import functional as F

from ..utils._skorch import LibraryNet


class L2SP(nn.Module):
    """The L2-SP penalty of Li, Grandvalet and Davoine (2018).

    ``alpha / 2 * ||w - w0||^2`` over the pretrained parameters, pulled back to their values
    ``w0`` at the start of fine-tuning (not to zero, as weight decay would), plus
    ``beta / 2 * ||w||^2`` over the new ones. The starting values are buffers, so they move
    with the network's device and are saved with it.

    Parameters
    ----------
    network : torch.nn.Module
        The network whose parameters are penalised, as it is before training.
    pretrained : list of str
        Names of the pretrained parameters in ``network``.
    new : list of str
        Names of the new parameters (the head, re-initialised layers).
    alpha, beta : float
        Strengths of the two terms.
    """

    def __init__(self, network, pretrained, new, alpha, beta):
        super().__init__()
        parameters = dict(network.named_parameters())
        self.pretrained = list(pretrained)
        self.new = list(new)
        self.alpha = alpha
        self.beta = beta
        for index, name in enumerate(self.pretrained):
            self.register_buffer(f"start_{index}", parameters[name].detach().clone())

    def forward(self, network, outputs):
        parameters = dict(network.named_parameters())
        drift = sum(
            (parameters[name] - getattr(self, f"start_{index}")).pow(2).sum()
            for index, name in enumerate(self.pretrained)
        )
        size = sum(parameters[name].pow(2).sum() for name in self.new)
        return self.alpha / 2 * drift + self.beta / 2 * size


class LwF(nn.Module):
    """The Learning without Forgetting term of Li and Hoiem (2016).

    ``strength * T**2 * KL(softmax(recorded / T) || softmax(source / T))``, averaged over the
    batch: the source head's outputs on the target data stay close to those the original
    network gave. The ``T**2`` factor (Hinton et al., 2015) keeps the gradient's scale
    independent of the temperature. The divergence differs from the paper's cross-entropy by
    the entropy of the recorded outputs, a constant, so the gradients are the same.

    Parameters
    ----------
    strength : float
        The paper's ``lambda_o``.
    temperature : float
        The paper's ``T``.
    """

    def __init__(self, strength, temperature):
        super().__init__()
        self.strength = strength
        self.temperature = temperature

    def forward(self, network, outputs):
        _, source, recorded = outputs
        t = self.temperature
        divergence = F.kl_div(
            F.log_softmax(source / t, dim=1),
            F.log_softmax(recorded / t, dim=1),
            reduction="batchmean",
            log_target=True,
        )
        return self.strength * t**2 * divergence


class RegularizedNet(LibraryNet, NeuralNetClassifier):
    """skorch's classifier with the trained network's regularizer added to the training loss.

    The network may return a tuple whose first item is the logits. The validation loss stays
    the plain cross-entropy, comparable across regularizations.
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        outputs = y_pred if isinstance(y_pred, tuple) else (y_pred,)
        loss = super().get_loss(outputs[0], y_true, X=X, training=training)
        suffix = trained_suffix(self.module_)
        if training and suffix.regularizer is not None:
            loss = loss + suffix.regularizer(suffix, outputs)
        return loss


class HeadFirst(Callback):
    """Hold the pretrained layers fixed for the first ``head_epochs`` epochs.

    Held layers get no gradients and stay in evaluation mode, so their batch-norm statistics
    do not move either; the epoch count is the net's, so a warm-started fit continues the
    schedule where it stopped.

    Parameters
    ----------
    head_epochs : int
        Epochs during which only the head trains.
    during : list of str
        Submodules of the trained suffix held during those epochs.
    always : list of str
        Submodules held for the whole training.
    """

    def __init__(self, head_epochs, during, always):
        self.head_epochs = head_epochs
        self.during = during
        self.always = always

    def on_epoch_begin(self, net, **kwargs):
        head_only = len(net.history) <= self.head_epochs
        trained_suffix(net.module_).hold(self.always + (self.during if head_only else []))

    def on_train_end(self, net, **kwargs):
        trained_suffix(net.module_).hold(self.always)


def trained_suffix(module):
    """The TrainableSuffix inside a trained module (itself, or a WholeNetwork's)."""
    return getattr(module, "suffix", module)
