"""Model selection for transfer: unsupervised scorers, domain-aware splitters, transferability
scores that rank representations before training, a test of whether transfer helps, and an
advisor that recommends a strategy.

Use them as ``scoring=`` and ``cv=`` of :class:`~sklearn.model_selection.GridSearchCV` or
:func:`~sklearn.model_selection.cross_validate`, with metadata routing enabled
(``sklearn.config_context(enable_metadata_routing=True)``) so that ``sample_domain`` reaches
the estimator, the splitter and the scorers.
"""

from ._compare import TransferComparison, compare_to_baseline
from ._recommend import StrategyRecommendation, recommend_strategy
from ._scorers import (
    DeepEmbeddedValidationScorer,
    ImportanceWeightedScorer,
    PredictionEntropyScorer,
    ReverseValidationScorer,
    SoftNeighborhoodDensityScorer,
    TargetAccuracyScorer,
)
from ._split import DomainShuffleSplit, LeaveOneSourceOut
from ._transferability import (
    h_score,
    leep_score,
    logme_score,
    make_transferability_scorer,
    nce_score,
)

__all__ = [
    "DeepEmbeddedValidationScorer",
    "DomainShuffleSplit",
    "ImportanceWeightedScorer",
    "LeaveOneSourceOut",
    "PredictionEntropyScorer",
    "ReverseValidationScorer",
    "SoftNeighborhoodDensityScorer",
    "StrategyRecommendation",
    "TargetAccuracyScorer",
    "TransferComparison",
    "compare_to_baseline",
    "h_score",
    "leep_score",
    "logme_score",
    "make_transferability_scorer",
    "nce_score",
    "recommend_strategy",
]
