# terrakit — two commands do everything:  `make demo`  and  `make test`.
# Both create .venv on first use and reinstall only when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.terrakit-installed
OUT    ?= out
CONFIG ?= data/samples/southeast/study.toml
# pytest workers: both cores by default (override: make test JOBS=1)
JOBS   ?= 2
LINTED := terrakit tests $(wildcard benchmarks scripts notebooks)

.PHONY: demo study test test-slow lint format notebooks samples clean help

help:
	@echo "make demo    - install terrakit with all extras into .venv and run the sample study into $(OUT)/"
	@echo "make study   - run a study from a config file: make study CONFIG=path/to/study.toml OUT=dir"
	@echo "make test    - install into .venv if needed and run the whole test suite (pytest + nbval notebooks)"
	@echo "make lint    - ruff + mypy"
	@echo "make samples - rebuild data/samples/ deterministically"
	@echo "make notebooks - re-run the curated notebooks in full mode and store their outputs"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -e ".[widgets,routing,distributed,test,dev]"
	touch $(STAMP)

demo: $(STAMP)
	MPLBACKEND=Agg $(BIN)/terrakit demo --out $(OUT)

study: $(STAMP)
	MPLBACKEND=Agg $(BIN)/terrakit run $(CONFIG) --out $(OUT)

test: $(STAMP)
	TERRAKIT_FAST=1 MPLBACKEND=Agg $(BIN)/python -m pytest -n $(JOBS) --dist loadfile \
		tests notebooks --nbval-lax $(PYTEST_ARGS)

test-slow: $(STAMP)
	TERRAKIT_FAST=1 MPLBACKEND=Agg $(BIN)/python -m pytest -n $(JOBS) --dist loadfile \
		tests notebooks --nbval-lax --run-slow $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

notebooks: $(STAMP)
	MPLBACKEND=module://matplotlib_inline.backend_inline $(BIN)/python scripts/run_notebooks.py

samples: $(STAMP)
	$(BIN)/python scripts/build_samples.py

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache
