"""Transfer-learning strategies as scikit-learn estimators, with torch doing the heavy compute."""

__version__ = "0.1.0.dev0"

from ._show_versions import show_versions  # noqa: E402

__all__ = ["show_versions"]
