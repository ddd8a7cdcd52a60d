"""The gradient reversal layer of domain-adversarial training."""

from __future__ import annotations

import torch
from torch import nn


class _ReverseGradient(torch.autograd.Function):
    """Identity on the way forward; the gradient times ``-lambda_`` on the way back."""

    @staticmethod
    def forward(ctx, x, lambda_):
        ctx.lambda_ = lambda_
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        # No gradient for lambda_: it is a coefficient set by a schedule, not a parameter.
        return grad_output.neg() * ctx.lambda_, None


class GradientReversal(nn.Module):
    """Pass inputs through unchanged and multiply their gradient by ``-lambda_``.

    Placed between a feature extractor and a domain classifier, the layer lets the domain
    classifier learn to tell the domains apart while the extractor receives the *reversed*
    gradient of the domain loss, and so learns features the domain classifier cannot separate:
    the gradient reversal layer of Ganin and Lempitsky (2015).

    Parameters
    ----------
    lambda_ : float, default=1.0
        The factor of the reversed gradient. It is a plain attribute, not a parameter of the
        module, so a schedule may change it between steps (``layer.lambda_ = 0.5``); ``0``
        cuts the gradient.

    See Also
    --------
    sktransfer.domain_adaptation.DANNClassifier : Domain-adversarial training built on it.

    References
    ----------
    .. [1] Y. Ganin and V. Lempitsky, "Unsupervised Domain Adaptation by Backpropagation",
       ICML, 2015.
    .. [2] Y. Ganin, E. Ustinova, H. Ajakan, P. Germain, H. Larochelle, F. Laviolette,
       M. Marchand and V. Lempitsky, "Domain-Adversarial Training of Neural Networks", JMLR
       17(59), 2016.

    Examples
    --------
    >>> import torch
    >>> from sktransfer.nn import GradientReversal
    >>> x = torch.tensor([1.0, 2.0], requires_grad=True)
    >>> y = GradientReversal(lambda_=0.5)(x)
    >>> y.sum().backward()
    >>> y.detach(), x.grad
    (tensor([1., 2.]), tensor([-0.5000, -0.5000]))
    """

    def __init__(self, lambda_=1.0):
        super().__init__()
        self.lambda_ = lambda_

    def forward(self, x):
        """Return ``x`` unchanged; its gradient comes back times ``-lambda_``.

        Parameters
        ----------
        x : torch.Tensor
            Features on their way to a domain classifier.

        Returns
        -------
        torch.Tensor
            A view of ``x``.
        """
        return _ReverseGradient.apply(x, float(self.lambda_))

    def extra_repr(self):
        return f"lambda_={self.lambda_}"
