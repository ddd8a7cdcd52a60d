"""Input validation (images, domains), device choice and seeding."""

from ._images import ImageSet, check_images
from ._torch import resolve_device

__all__ = ["ImageSet", "check_images", "resolve_device"]
