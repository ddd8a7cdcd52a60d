"""Domain adaptation: a representation, or a re-colouring, shared by source and target."""

from ._coral import CORAL
from ._dann import DANNClassifier
from ._diagnostics import proxy_a_distance
from ._feature_mapping import TCA, DomainRevealingFeatureSelector, SubspaceAlignment

__all__ = [
    "CORAL",
    "DANNClassifier",
    "DomainRevealingFeatureSelector",
    "SubspaceAlignment",
    "TCA",
    "proxy_a_distance",
]
