"""The user guide's code blocks run as written, and the values their comments state hold.

A line ``print(expr)  # True`` (or ``False``) asserts ``bool(expr)``; ``print(expr)  # below X``
asserts ``expr < X``. Pages join the list as their blocks are made runnable in seconds.
"""

import re
import textwrap
from pathlib import Path

import pytest
from sklearn import config_context

GUIDE = Path(__file__).parents[1] / "docs" / "user_guide"
PAGES = [
    "networks.rst",
    "model_selection.rst",
    "domain_adaptation.rst",
    "instance_transfer.rst",
    "when_to_transfer.rst",
]

_BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", re.MULTILINE)
_STATED = [
    (re.compile(r"^(\s*)print\((.*)\)\s+# (True|False)$"), r"\1assert bool(\2) is \3, '''\2'''"),
    (re.compile(r"^(\s*)print\((.*)\)\s+# below ([0-9.]+)$"), r"\1assert (\2) < \3, '''\2'''"),
]


def code_blocks(page):
    """The page's Python code blocks, dedented, with their stated values turned into asserts."""
    blocks = [textwrap.dedent(block) for block in _BLOCK.findall((GUIDE / page).read_text())]
    return [_with_asserts(block) for block in blocks]


def _with_asserts(block):
    lines = []
    for line in block.splitlines():
        for pattern, replacement in _STATED:
            line = pattern.sub(replacement, line)
        lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize("page", PAGES)
def test_code_blocks_run_and_state_what_they_compute(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = code_blocks(page)
    assert blocks, f"{page} has no Python code block"
    namespace = {}
    # A page may switch scikit-learn's global config (metadata routing): restore it afterwards.
    with config_context():
        for block in blocks:
            exec(compile(block, f"{page} block", "exec"), namespace)  # noqa: S102


def test_stated_values_become_assertions():
    assert _with_asserts("print(a == b)  # True") == "assert bool(a == b) is True, '''a == b'''"
    assert _with_asserts("print(x)  # below 0.05") == "assert (x) < 0.05, '''x'''"
