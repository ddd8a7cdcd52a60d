"""Offline data for examples, tests and benchmarks."""

from ._animal_attributes import load_animal_attributes
from ._animals import load_animal_silhouettes
from ._digits_m import make_digits_m
from ._shifted import (
    make_conditional_shift,
    make_redrawn_classification,
    make_shifted_classification,
    make_shifted_regression,
)

__all__ = [
    "load_animal_attributes",
    "load_animal_silhouettes",
    "make_conditional_shift",
    "make_digits_m",
    "make_redrawn_classification",
    "make_shifted_classification",
    "make_shifted_regression",
]
