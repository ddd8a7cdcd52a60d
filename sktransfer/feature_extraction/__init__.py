"""Transfer of a frozen representation: features from a pretrained network's layers."""

from ._cnn_codes import CNNCodeExtractor

__all__ = ["CNNCodeExtractor"]
