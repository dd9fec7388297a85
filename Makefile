# riskwatch: `make run` (set up + run the main job on the embedded demo) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= riskwatch.toml
export RISKWATCH_CONFIG := $(CONFIG)

.PHONY: run test lint format bench clean help

help:
	@echo "make run   - create .venv, install from requirements.lock, seed the demo source, run riskwatch"
	@echo "make test  - create .venv with dev tools (requirements-dev.lock) and run the whole test suite"
	@echo "make lint  - ruff + mypy"
	@echo "make bench - run the benchmarks in bench/ and update bench/RESULTS.md"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-virtualenv -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: requirements-dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-virtualenv -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	@test -f $(CONFIG) || $(BIN)/riskwatch init --demo $(CONFIG)
	@if grep -q '^\[sources.demo\]' $(CONFIG); then $(BIN)/riskwatch demo --if-empty --source demo --load-months 6; fi
	$(BIN)/riskwatch run --wait
	@$(BIN)/riskwatch status

test: $(VENV)/.dev
	$(BIN)/python -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.dev
	for b in bench/ingest.py bench/train.py bench/diagnostics.py bench/api.py bench/run.py bench/drift_demo.py bench/faults.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) workspace .pytest_cache .mypy_cache .ruff_cache
