# `make demo` and `make test` each set up .venv on first use, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test test-fast lint docs bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,docs,benchmarks,demo,names]"
	touch $@

demo: $(VENV)/.installed
	$(PY) examples/demo_cnn_codes.py

test: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The user guide's heavy pages (their blocks take minutes) are run here, before the build.
docs: $(VENV)/.installed
	$(PY) -m pytest -m "guide_heavy or not guide_heavy" tests/test_user_guide.py
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_cnn_codes.py

clean:
	rm -rf $(VENV) docs/_build docs/auto_examples docs/gen_modules
