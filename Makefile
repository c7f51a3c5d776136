# SafeHaven: `make run` serves the embedded default with Wigan demo data; `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
# Each engine's pass runs on this many pytest-xdist workers (0: one process); tests that must
# not run side by side share an xdist_group (tests/conftest.py).
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?= --durations=15 -n $(PYTEST_WORKERS) --dist loadgroup
# Test processes keep compiled bytecode (and pytest its rewritten test modules) even where the
# environment sets PYTHONDONTWRITEBYTECODE: otherwise every worker, server and app a test
# starts compiles the project again (collection alone: 13.5 s of CPU a worker, 5 s with it).
TEST_ENV := PYTHONDONTWRITEBYTECODE=

.PHONY: run test test-sqlite test-postgis lint bench app install install-dev install-client clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

$(VENV)/.installed-client: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[client]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev
install-client: $(VENV)/.installed-client

## run: create .venv, install, migrate SQLite, seed Wigan demo data, serve on http://127.0.0.1:5000
run: install
	$(BIN)/safehaven db upgrade
	$(BIN)/safehaven seed wigan
	$(BIN)/safehaven serve --host $(HOST) --port $(PORT)

## test: the whole suite on SQLite, then on PostGIS (skipped locally without PostgreSQL; required when CI=true)
test: test-sqlite test-postgis

# axe-core for the portal's accessibility checks in the Chromium tests (npm, pinned).
AXE := tests/support/axe/node_modules/axe-core/axe.min.js
$(AXE):
	npm install --silent --no-audit --no-fund --no-save --prefix tests/support/axe axe-core@4.14.1

test-sqlite: install-dev $(AXE)
	@echo "== test suite on SQLite"
	$(TEST_ENV) SAFEHAVEN_TEST_ENGINE=sqlite $(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgis: install-dev $(AXE)
	@echo "== test suite on PostgreSQL + PostGIS"
	$(TEST_ENV) SAFEHAVEN_TEST_ENGINE=postgis $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check backend shared_schemas mobile_client tests bench
	$(BIN)/ruff format --check backend shared_schemas mobile_client tests bench
	$(BIN)/mypy

bench: install-dev
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

## app: the Kivy app against the server from `make run`, signed in as the demo resident
app: install-client
	$(BIN)/python -m mobile_client --server http://$(HOST):$(PORT) --demo

clean:
	rm -rf $(VENV) instance/*.sqlite3* .pytest_cache
