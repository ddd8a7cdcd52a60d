"""Sphinx configuration for the sktransfer documentation (offline: nothing is fetched)."""

import os
import re
import sys
from pathlib import Path

import torch

# The examples run on the CPU during the build, whatever GPU the build machine has, so that the
# rendered numbers and timings do not depend on it.
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("MPLBACKEND", "Agg")

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))

import sktransfer  # noqa: E402

project = "sktransfer"
author = "The sktransfer developers"
copyright = "The sktransfer developers"
release = sktransfer.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # Formulas are drawn by matplotlib's mathtext into images at build time (the :mathmpl:
    # role): no LaTeX installation and no MathJax from a CDN, so the site reads offline.
    "matplotlib.sphinxext.mathmpl",
    # The .. plot:: directive draws the charts of the user guide (the four scenarios).
    "matplotlib.sphinxext.plot_directive",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"] if (DOCS / "_templates").is_dir() else []
default_role = "literal"

# -- autodoc / autosummary ---------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"

# -- numpydoc ----------------------------------------------------------------------------------
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Only what makes a docstring wrong for a reader, not style nits (numpydoc's validation codes):
# unknown sections (GL06), sections out of order (GL07), documented parameters that do not exist
# (PR02). Short method docstrings without a Parameters section (PR01) are accepted.
numpydoc_validation_checks = {"GL06", "GL07", "PR02"}

# -- sphinx-gallery ----------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Only plot_*.py scripts run; `make demo`'s demo_*.py script stays out of the gallery.
    # SKTRANSFER_GALLERY_PATTERN narrows the run while editing the docs (e.g. "plot_dann");
    # examples left out are listed without output.
    "filename_pattern": os.environ.get("SKTRANSFER_GALLERY_PATTERN", r"/plot_"),
    "ignore_pattern": r"demo_",
    # The gallery follows the user guide's order of the families; a folder not listed here
    # (a new family) comes last rather than failing the build.
    "subsection_order": [
        f"../examples/{family}"
        for family in (
            "feature_extraction",
            "fine_tuning",
            "instance_transfer",
            "domain_adaptation",
            "model_selection",
            "zero_shot",
            "few_shot",
        )
    ]
    + ["*"],
    "within_subsection_order": "FileNameSortKey",
    # "Examples using X" on every API page: the templates in _templates/autosummary end with a
    # minigallery of the examples that use the object, found through these back-references.
    "backreferences_dir": "gen_modules/backreferences",
    # The execution-time pages load jQuery and DataTables from CDNs: the site must read offline.
    # Each example still shows its own running time.
    "write_computation_times": False,
    "remove_config_comments": True,
    # Names in the examples link to this site's API pages; no links to other projects'
    # documentation, which would need their inventories, online.
    "doc_module": ("sktransfer",),
    "reference_url": {"sktransfer": None},
}

# -- matplotlib: formulas and charts ----------------------------------------------------------
mathmpl_fontsize = 12.0
mathmpl_srcset = ["2x"]
plot_formats = [("png", 100), ("hires.png", 200)]
plot_html_show_source_link = False
plot_html_show_formats = False
plot_include_source = False

# -- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sktransfer {release}"
html_theme_options = {
    # No icon links (GitHub, PyPI...): the site must build and read offline.
    "icon_links": [],
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["css/sktransfer.css"]
# Signatures longer than this are set one parameter per line, so none runs off the page.
python_maximum_signature_line_length = 79


# -- Hooks -------------------------------------------------------------------------------------
def _skip_torch_module_members(app, what, name, obj, skip, options):
    """Leave ``nn.Module``'s own members out of the backbone classes' pages.

    They would bury the few methods a backbone adds under some fifty that torch documents.
    """
    module_attribute = name in getattr(torch.nn.Module, "__annotations__", {})
    if module_attribute or getattr(torch.nn.Module, name, _MISSING) is obj:
        return True
    return None


_MISSING = object()


def _unlink_sklearn_roles(app, what, name, obj, options, lines):
    """Inherited scikit-learn docstrings cite labels and glossary terms of scikit-learn's own
    docs, which do not exist here (and intersphinx needs the network): keep their text only."""
    if not getattr(obj, "__module__", "").startswith("sklearn"):
        return
    for i, line in enumerate(lines):
        line = re.sub(r":(?:ref|term):`([^`<]*?)\s*<[^`>]*>`", r"\1", line)
        lines[i] = re.sub(r":(?:ref|term):`([^`]*)`", r"\1", line)


def setup(app):
    app.connect("autodoc-skip-member", _skip_torch_module_members)
    app.connect("autodoc-process-docstring", _unlink_sklearn_roles)
