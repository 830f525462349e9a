# Quick start: `make demo` (the orders job on local Spark), `make test` (every test) and `make test-fast` (unit and
# program tiers, under 15 s); each installs first
# (Python packages into .venv, and asl-validator from npm into node_modules).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast lint bench snapshots clean

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m jobs.common.local orders

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The fast loop: lint, then the unit and program tiers without the tests marked slow (tiers: tests/conftest.py).
# It keeps bytecode caches (ignored by git) even where PYTHONDONTWRITEBYTECODE is set: the next run then skips
# compiling and rewriting the asserts of what did not change.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -m "(unit or program) and not slow"

lint: $(STAMP)
	$(BIN)/ruff check .

# Rewrites tests/snapshots/<stack>.json (every resource each stack registers) from the program as it is now.
snapshots: $(STAMP)
	$(BIN)/python -m pytest tests/test_snapshots.py --update-snapshots -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) node_modules .build out .pytest_cache
