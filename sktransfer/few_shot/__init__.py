"""Few-shot learning: classes learned from one to a few examples, on a transferred embedding."""

from ._episodes import FewShotSplit, base_novel_accuracy, mean_confidence_interval
from ._prototypes import PrototypeClassifier

__all__ = [
    "FewShotSplit",
    "PrototypeClassifier",
    "base_novel_accuracy",
    "mean_confidence_interval",
]
