"""The model zoo: networks by name, callable or weight file, cut into ordered layers."""

from ._base import Backbone, GlobalAvgPool, Preprocessing
from ._registry import available_backbones, load_backbone, read_weight_file
from ._torchvision import WeightsDownloadError

__all__ = [
    "Backbone",
    "GlobalAvgPool",
    "Preprocessing",
    "WeightsDownloadError",
    "available_backbones",
    "load_backbone",
    "read_weight_file",
]
