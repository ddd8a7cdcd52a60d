"""Input validation (images, domains), device choice and seeding."""

from ._domains import pack_domains, split_domains
from ._images import ImageSet, check_images
from ._torch import resolve_device

__all__ = ["ImageSet", "check_images", "pack_domains", "resolve_device", "split_domains"]
