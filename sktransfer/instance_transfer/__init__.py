"""Instance transfer: re-weight source rows so that those the target agrees with count most."""

from ._importance import KLIEP, KMM, ImportanceWeightedClassifier, ImportanceWeightedRegressor
from ._tradaboost import TrAdaBoost
from ._tradaboost_r2 import TrAdaBoostR2, TwoStageTrAdaBoostR2

__all__ = [
    "KLIEP",
    "KMM",
    "ImportanceWeightedClassifier",
    "ImportanceWeightedRegressor",
    "TrAdaBoost",
    "TrAdaBoostR2",
    "TwoStageTrAdaBoostR2",
]
