"""Few-shot learning: classes learned from one to a few examples, on a transferred embedding."""

from ._prototypes import PrototypeClassifier

__all__ = ["PrototypeClassifier"]
