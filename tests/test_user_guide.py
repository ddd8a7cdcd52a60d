"""The user guide's code blocks run as written, and the values their pages state hold.

A line ``print(expr)  # True`` (or ``False``) asserts ``bool(expr)``; ``print(expr)  # below X``
asserts ``expr < X``. The blocks of ``PAGES`` run in every test run; those of ``HEAVY_PAGES``
take minutes (a network fine-tuned, hundreds of images encoded at 224 px) and carry the
``guide_heavy`` marker, which the default run deselects; ``make docs`` runs both lists
(``pytest -m "guide_heavy or not guide_heavy"``). Every page with a Python block is in one
of the two lists.

A decimal number (``0.93``) or a percentage (``93%``) in the prose of a page of
``NUMBERS_CHECKED`` must be printed by the page's own code blocks (rounded as the prose rounds
it), appear in those blocks' code (a parameter value), be a value of the results JSON of a
benchmark the page names (``benchmarks/bench_dann.py`` or ``bench_dann.json`` stand for
``benchmarks/results/bench_dann.json``), or be listed in ``STATED_ELSEWHERE`` with the reason
it may stand. A page that cites a large JSON is checked loosely: a wrong number may round like
some value of it by chance.
"""

import contextlib
import io
import json
import re
import textwrap
from pathlib import Path

import pytest
import torch
from sklearn import config_context

from sktransfer.utils import _torch

ROOT = Path(__file__).parents[1]
GUIDE = ROOT / "docs" / "user_guide"
PAGES = [
    "introduction.rst",
    "pitfalls.rst",
    "networks.rst",
    "feature_extraction.rst",
    "model_selection.rst",
    "domain_adaptation.rst",
    "instance_transfer.rst",
    "few_shot.rst",
    "when_to_transfer.rst",
]
HEAVY_PAGES = ["fine_tuning.rst", "zero_shot.rst"]
RESULTS = ROOT / "benchmarks" / "results"
# Pages whose prose numbers are checked: those of PAGES (their blocks run here), and pages
# without a Python block, whose prose may then state no number it does not take from a
# benchmark's results.
NUMBERS_CHECKED = [*PAGES, *HEAVY_PAGES, "which_strategy.rst", "glossary.rst"]
# page -> {number as the prose writes it: why it may stand without being printed}
STATED_ELSEWHERE = {
    "domain_adaptation.rst": {
        "57%": "the DANN paper's own result on MNIST -> MNIST-M (Ganin et al., 2016)",
        "80%": "a setting of the label-shift case of bench_da_features.py (positive rate)",
        "0.058": "0.993 - 0.935, two values of bench_da_features.json in the table above",
    },
    "zero_shot.rst": {
        "2.6": "0.628 - 0.603, ESZSL's unseen top-1 with fixed and with tuned regularisers, two "
        "values of bench_zero_shot.json in the table above",
    },
}

_BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:(?:   .*)?\n)+)", re.MULTILINE)
_STATED = [
    (re.compile(r"^(\s*)print\((.*)\)\s+# (True|False)$"), r"\1assert bool(\2) is \3, '''\2'''"),
    (re.compile(r"^(\s*)print\((.*)\)\s+# below ([0-9.]+)$"), r"\1assert (\2) < \3, '''\2'''"),
]
# A decimal number or a percentage, not part of a dotted version ("2.14.1") or a word.
_PROSE_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?%|\d+\.\d+)(?!\.?\d)")
_PRINTED_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# Text that is code, not prose: literal blocks after "::" (a paragraph's or a code directive's)
# and inline literals and roles.
_LITERAL_START = re.compile(r"^(\s*)(?:\.\. (?:code-block|code|sourcecode)::.*|(?!\.\. ).*::)$")
_INLINE_CODE = re.compile(r"``.*?``|:\w+(?::\w+)?:`[^`]*`", re.DOTALL)


def code_blocks(page, guide=GUIDE):
    """The page's Python code blocks, dedented, with their stated values turned into asserts."""
    blocks = [textwrap.dedent(block) for block in _BLOCK.findall((guide / page).read_text())]
    return [_with_asserts(block) for block in blocks]


def _with_asserts(block):
    lines = []
    for line in block.splitlines():
        for pattern, replacement in _STATED:
            line = pattern.sub(replacement, line)
        lines.append(line)
    return "\n".join(lines)


def run_blocks(page, guide=GUIDE):
    """Run the page's blocks in order, in one namespace; return what their own ``print`` calls
    printed.

    What the library prints itself (skorch's table of epochs, the ``[CV]`` lines of a verbose
    search) is left out: its losses and timings matched numbers the prose stated by chance, and
    a page stated an accuracy (0.74) that only a loss in the table printed.
    """
    output = io.StringIO()

    def printed(*args, **kwargs):
        print(*args, **{**kwargs, "file": kwargs.get("file") or output})

    namespace = {"print": printed}
    # A page may switch scikit-learn's global config (metadata routing): restore it afterwards.
    with config_context(), contextlib.redirect_stdout(io.StringIO()):
        for block in code_blocks(page, guide):
            exec(compile(block, f"{page} block", "exec"), namespace)  # noqa: S102
    return output.getvalue()


def prose(text):
    """The text of a reST page without its literal blocks, inline literals and roles."""
    kept, literal_indent = [], None
    for line in text.splitlines():
        if literal_indent is not None:
            indent = len(line) - len(line.lstrip())
            if not line.strip() or indent > literal_indent:
                continue
            literal_indent = None
        start = _LITERAL_START.match(line)
        if start:
            literal_indent = len(start.group(1))
            line = line[: -len("::")] if not line.lstrip().startswith("..") else ""
        kept.append(line)
    return _INLINE_CODE.sub(" ", "\n".join(kept))


def _matches(stated, value):
    """Whether the prose's ``stated`` (``"0.93"``, ``"93%"``) says the printed ``value``."""
    percent = stated.endswith("%")
    digits = stated.rstrip("%")
    decimals = len(digits.partition(".")[2])
    candidates = [value * 100, value] if percent else [value]
    # Prose numbers are read without their sign ("-3.6%" gives "3.6%"): compare magnitudes,
    # or a negative value (a difference, a loss) could never be stated.
    return any(round(abs(candidate), decimals) == float(digits) for candidate in candidates)


def _json_numbers(value):
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [number for item in value for number in _json_numbers(item)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    return []


def cited_results(text, results=RESULTS):
    """The values of the benchmark results JSON files that ``text`` names, as printed text."""
    values = []
    for name in sorted(set(re.findall(r"\bbench_\w+", text))):
        path = results / f"{name}.json"
        if path.is_file():
            values += _json_numbers(json.loads(path.read_text()))
    return " ".join(repr(value) for value in values)


def unprinted_numbers(text, output, allowed=()):
    """The numbers of the prose of ``text`` that ``output`` does not print.

    A number also stands when it is written in the page's Python code (a parameter value such
    as ``0.7``) or is one of ``allowed``.
    """
    printed = [float(number) for number in _PRINTED_NUMBER.findall(output)]
    in_code = set(_PROSE_NUMBER.findall("\n".join(_BLOCK.findall(text))))
    missing = []
    for stated in _PROSE_NUMBER.findall(prose(text)):
        if stated in in_code or stated in allowed:
            continue
        if not any(_matches(stated, value) for value in printed):
            missing.append(stated)
    return missing


@pytest.mark.parametrize(
    "page",
    [
        *PAGES,
        *(
            pytest.param(page, marks=[pytest.mark.slow, pytest.mark.guide_heavy])
            for page in HEAVY_PAGES
        ),
    ],
)
def test_code_blocks_run_and_state_what_they_compute(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # The pages state what their blocks compute on a CPU (networks.rst says so): on a machine
    # with a GPU, device="auto" would take it and bfloat16 would move the scores.
    resolve_device = _torch.resolve_device
    monkeypatch.setattr(
        _torch,
        "resolve_device",
        lambda device: torch.device("cpu") if device == "auto" else resolve_device(device),
    )
    assert code_blocks(page), f"{page} has no Python code block"
    output = run_blocks(page)
    if page in NUMBERS_CHECKED:
        text = (GUIDE / page).read_text()
        printed = output + "\n" + cited_results(text)
        missing = unprinted_numbers(text, printed, STATED_ELSEWHERE.get(page, {}))
        assert not missing, f"{page} states numbers its code does not print: {missing}"


@pytest.mark.parametrize("page", sorted(set(NUMBERS_CHECKED) - set(PAGES) - set(HEAVY_PAGES)))
def test_pages_without_code_state_no_unprinted_number(page):
    assert not code_blocks(page), f"{page} has Python code: add it to PAGES to run it"
    text = (GUIDE / page).read_text()
    missing = unprinted_numbers(text, cited_results(text), STATED_ELSEWHERE.get(page, {}))
    assert not missing, f"{page} states numbers that no code prints: {missing}"


def test_every_page_with_code_is_run():
    with_code = {path.name for path in GUIDE.glob("*.rst") if code_blocks(path.name)}
    assert with_code == set(PAGES) | set(HEAVY_PAGES)


def test_code_blocks_fit_in_79_columns():
    for page in sorted(path.name for path in GUIDE.glob("*.rst")):
        for block in _BLOCK.findall((GUIDE / page).read_text()):
            for line in textwrap.dedent(block).splitlines():
                assert len(line) <= 79, f"{page}: {line!r} is longer than 79 columns"


def test_stated_values_become_assertions():
    assert _with_asserts("print(a == b)  # True") == "assert bool(a == b) is True, '''a == b'''"
    assert _with_asserts("print(x)  # below 0.05") == "assert (x) < 0.05, '''x'''"


_WRONG_PAGE = """\
Accuracy
========

The model scores 0.91 here, {claim} on the target, and 45% of the rows are source rows.
With ``lr=0.37`` and ``version 2.14.1`` nothing is claimed.

.. code-block:: python

   import numpy as np

   accuracy = np.mean([1, 1, 0.73])
   print(f"{{accuracy:.2f}}")
   print(f"{{9 / 20:.0%}}")
   learning_rate = 0.05

A literal block::

   0.123 is code, not a claim

The learning rate is 0.05 and 91.0% of the rows are right.
"""


@pytest.mark.parametrize(
    ("claim", "missing"),
    [("0.91", []), ("0.93", ["0.93"]), ("91%", []), ("0.9", []), ("0.912", ["0.912"])],
)
def test_unprinted_numbers_are_caught(tmp_path, claim, missing):
    (tmp_path / "page.rst").write_text(_WRONG_PAGE.format(claim=claim))
    output = run_blocks("page.rst", guide=tmp_path)
    assert output == "0.91\n45%\n"
    # 0.91 and 91.0% are printed; 45% is printed; 0.05 is in the code; 0.37, 2.14.1 and 0.123
    # are code, not prose.
    assert unprinted_numbers((tmp_path / "page.rst").read_text(), output) == missing


def test_what_the_library_prints_itself_states_nothing(tmp_path):
    """Before: a verbose fit's table of losses was read as printed values, and a stated 0.74
    stood because a loss printed 0.7412."""
    page = (
        "The fit scores 0.74.\n\n.. code-block:: python\n\n   import builtins\n\n"
        '   builtins.print("train_loss 0.7412")  # as skorch prints its table\n'
        '   print("accuracy 0.78")\n'
    )
    (tmp_path / "page.rst").write_text(page)
    output = run_blocks("page.rst", guide=tmp_path)
    assert output == "accuracy 0.78\n"
    assert unprinted_numbers(page, output) == ["0.74"]


def test_negative_values_can_be_stated():
    text = "The difference is -3.62% and the log loss -0.41, not -0.52.\n"
    assert unprinted_numbers(text, "-0.0362 -0.41") == ["0.52"]


def test_allowed_numbers_stand(tmp_path):
    text = "Published in 2010 with 0.57 on MNIST -> MNIST-M.\n"
    assert unprinted_numbers(text, "") == ["0.57"]
    assert unprinted_numbers(text, "", allowed={"0.57": "the paper's figure"}) == []


def test_numbers_of_a_cited_benchmark_stand(tmp_path):
    (tmp_path / "bench_toy.json").write_text(json.dumps({"rows": [{"accuracy": 0.8123}]}))
    text = "``benchmarks/bench_toy.py`` gives 0.81 and 0.79.\n"
    assert cited_results(text, results=tmp_path) == "0.8123"
    assert unprinted_numbers(text, cited_results(text, results=tmp_path)) == ["0.79"]
