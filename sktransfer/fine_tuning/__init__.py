"""Transfer of parameters: a pretrained network adapted to the target task by further training."""

from ._fine_tune import FineTuneClassifier

__all__ = ["FineTuneClassifier"]
