"""Torch building blocks to compose in your own networks."""

from ._gradient_reversal import GradientReversal

__all__ = ["GradientReversal"]
