"""Domain adaptation: a representation, or a re-colouring, shared by source and target."""

from ._coral import CORAL
from ._dann import DANNClassifier
from ._diagnostics import proxy_a_distance

__all__ = [
    "CORAL",
    "DANNClassifier",
    "proxy_a_distance",
]
