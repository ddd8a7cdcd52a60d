"""Zero-shot learning: classes without training images, recognised by their description."""

from ._attribute_zero_shot import AttributeZeroShot
from ._class_names import embed_class_names
from ._embedding_zero_shot import EmbeddingZeroShot
from ._evaluation import (
    ClassHoldoutSplit,
    harmonic_mean_score,
    harmonic_mean_scorer,
    per_class_accuracy_score,
    per_class_accuracy_scorer,
    seen_unseen_accuracy,
)

__all__ = [
    "AttributeZeroShot",
    "ClassHoldoutSplit",
    "EmbeddingZeroShot",
    "embed_class_names",
    "harmonic_mean_score",
    "harmonic_mean_scorer",
    "per_class_accuracy_score",
    "per_class_accuracy_scorer",
    "seen_unseen_accuracy",
]
