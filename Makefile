# Quick start: `make demo` (set up, then the main job offline) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of PyTorch, pinned in the set-up step only (not in pyproject.toml): an unpinned
# torch pulls several GB of CUDA packages. On a GPU box: `make demo TORCH=torch`.
TORCH  ?= torch==2.13.0
PIP    := $(BIN)/python -m pip
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export WANDB_MODE ?= offline
export TOKENIZERS_PARALLELISM ?= false

.PHONY: demo test bench lint ci-grid clean help

help:
	@echo "make demo   - create $(VENV), install, run the main job (default profile, offline)"
	@echo "make test   - create/update $(VENV), install .[dev,...], run the whole test suite"
	@echo "make bench  - speed benchmarks against peers (tests/perf), printed as a table"
	@echo "make lint   - ruff"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Stamps: re-install only when pyproject.toml changes.
$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install -q "$(TORCH)"
	$(PIP) install -q -e ".[dev,cluster,local-llm]"
	@touch $@ $(VENV)/.installed-base

demo: $(VENV)/.installed-base
	$(BIN)/teamform grid profile=default

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

# tests/perf is collected only with --benchmark-enable; BENCH_THREADS (default 1) threads per library.
bench: $(VENV)/.installed-dev
	@mkdir -p .benchmarks && rm -f .benchmarks/perf.json
	$(BIN)/python -m pytest tests/perf -q --benchmark-enable -m perf --benchmark-json=.benchmarks/perf.json; \
	status=$$?; $(BIN)/python -m tests.perf.table .benchmarks/perf.json; exit $$status

ci-grid: $(VENV)/.installed-dev
	$(BIN)/teamform grid profile=quick

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

clean:
	rm -rf outputs multirun .cache .pytest_cache
