import copy
import pickle

import pytest
import torch
from torch import nn

from sktransfer.nn import GradientReversal


@pytest.mark.parametrize("lambda_", [0.0, 0.3, 1.0, 2.5])
def test_forward_is_identity_and_backward_scales_the_gradient_by_minus_lambda(lambda_):
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(0), requires_grad=True)
    weights = torch.arange(12.0).reshape(4, 3)
    out = GradientReversal(lambda_)(x)
    (out * weights).sum().backward()

    assert torch.equal(out.detach(), x.detach())
    # d(sum(out * w))/dx is w for the identity: reversed and scaled it is -lambda * w.
    assert torch.allclose(x.grad, -lambda_ * weights)


def test_layers_before_get_the_reversed_gradient_and_layers_after_the_plain_one():
    torch.manual_seed(0)
    extractor, head = nn.Linear(3, 2), nn.Linear(2, 1)
    x = torch.randn(5, 3)

    head(GradientReversal(0.5)(extractor(x))).sum().backward()
    reversed_extractor = extractor.weight.grad.clone()
    reversed_head = head.weight.grad.clone()
    extractor.zero_grad(), head.zero_grad()
    head(extractor(x)).sum().backward()

    assert torch.allclose(reversed_extractor, -0.5 * extractor.weight.grad)
    assert torch.equal(reversed_head, head.weight.grad)


def test_lambda_can_change_between_steps_and_zero_cuts_the_gradient():
    layer = GradientReversal()
    x = torch.ones(2, requires_grad=True)
    layer(x).sum().backward()
    assert torch.equal(x.grad, -torch.ones(2))

    x.grad = None
    layer.lambda_ = 0.0
    layer(x).sum().backward()
    assert torch.equal(x.grad.abs(), torch.zeros(2))


def test_reversal_composes_with_the_chain_rule_through_a_nonlinear_loss():
    x = torch.linspace(-2, 2, 7, dtype=torch.float64, requires_grad=True)
    out = torch.sin(GradientReversal(0.7)(x))
    (grad,) = torch.autograd.grad(out.sum(), x)

    assert torch.allclose(grad, -0.7 * torch.cos(x.detach()))
    assert out.dtype == torch.float64


def test_holds_no_parameters_and_survives_pickle_and_deepcopy():
    layer = GradientReversal(0.25)
    assert list(layer.parameters()) == []
    assert layer.state_dict() == {}
    for copied in (pickle.loads(pickle.dumps(layer)), copy.deepcopy(layer)):
        assert copied.lambda_ == 0.25
    assert "lambda_=0.25" in repr(layer)
