"""Transfer-learning strategies as scikit-learn estimators, with torch doing the heavy compute."""

__version__ = "0.1.0.dev0"
