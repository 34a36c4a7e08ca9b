# Quick start: `make demo` (set up, then the main job offline) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of PyTorch, pinned in the set-up step only (not in pyproject.toml): an unpinned
# torch pulls several GB of CUDA packages. On a GPU box: `make demo TORCH=torch`.
TORCH  ?= torch==2.13.0
PIP    := $(BIN)/python -m pip
# Every install takes its versions from the lock of tested versions (`make lock` regenerates it).
LOCK   := requirements/lock.txt
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export WANDB_MODE ?= offline
export TOKENIZERS_PARALLELISM ?= false

.PHONY: demo test bench bench-grid lint lock ci-grid clean help

help:
	@echo "make demo   - create $(VENV), install, run the main job (PROFILE=default, offline)"
	@echo "make test   - create/update $(VENV), install .[dev,...], run the whole test suite"
	@echo "make bench  - speed benchmarks against peers (tests/perf), printed as a table"
	@echo "make bench-grid - the default grid from a cold cache, this checkout vs BENCH_BASE, back to back (~1 h)"
	@echo "make lint   - ruff, the import contracts (lint-imports) and the import-cycle check"
	@echo "make lock   - re-resolve $(LOCK) from pyproject.toml's ranges in a fresh venv"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Stamps: re-install only when pyproject.toml changes.
$(VENV)/.installed-base: pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -c $(LOCK) -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -c $(LOCK) -e ".[dev,cluster,local-llm]"
	@touch $@ $(VENV)/.installed-base

# The lock: pyproject.toml's ranges resolved in a fresh venv, minus the known-bad combinations of
# requirements/constraints.in, frozen (torch is pinned by $(TORCH) and the project itself left out).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv && .lock-venv/bin/python -m pip install -q --upgrade pip
	.lock-venv/bin/python -m pip install -q "$(TORCH)"
	.lock-venv/bin/python -m pip install -q -c requirements/constraints.in -e ".[dev,cluster,local-llm]"
	@{ echo "# Tested versions: every make target installs with -c $(LOCK). Regenerate: make lock."; \
	   .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v -E '^(torch|nvidia-|triton)'; } > $(LOCK)
	rm -rf .lock-venv

# PROFILE=short: the 8-minute version on a 2-core CPU, an easier question (docs/performance.md).
PROFILE ?= default
demo: $(VENV)/.installed-base
	$(BIN)/teamform grid profile=$(PROFILE)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

# tests/perf is collected only with --benchmark-enable; BENCH_THREADS (default 1) threads per library.
bench: $(VENV)/.installed-dev
	@mkdir -p .benchmarks && rm -f .benchmarks/perf.json
	$(BIN)/python -m pytest tests/perf -q --benchmark-enable -m perf --benchmark-json=.benchmarks/perf.json; \
	status=$$?; $(BIN)/python -m tests.perf.table .benchmarks/perf.json; exit $$status

# The default grid from a cold cache with this checkout's code and with BENCH_BASE's (git archive),
# back to back, as a ratio; also the largest difference of their means (tests/perf/bench_grid.py).
# BENCH_ARGS="--keep DIR" keeps both grids (per-job times in their grid.json).
BENCH_BASE ?= 7abf2a0
bench-grid: $(VENV)/.installed-base
	$(BIN)/python -m tests.perf.bench_grid --base $(BENCH_BASE) $(BENCH_ARGS)

ci-grid: $(VENV)/.installed-dev
	$(BIN)/teamform grid profile=quick

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m tests.import_cycles

clean:
	rm -rf outputs multirun .cache .pytest_cache
