"""The model zoo: networks by name, callable or weight file, cut into ordered layers."""

from ._base import Backbone, GlobalAvgPool, Preprocessing
from ._registry import available_backbones, load_backbone, read_weight_file

__all__ = [
    "Backbone",
    "GlobalAvgPool",
    "Preprocessing",
    "available_backbones",
    "load_backbone",
    "read_weight_file",
]
