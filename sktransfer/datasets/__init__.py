"""Offline data for examples, tests and benchmarks."""

from ._animals import load_animal_silhouettes

__all__ = ["load_animal_silhouettes"]
