# Bank warehouse: the two commands are `make run` and `make test`. Each creates .venv on first use.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	if $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= 0.1
PYTEST_ARGS ?=

.PHONY: help install system-packages run test test-fast test-external lint bench bench-ingest bench-warehouse lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "Python >= 3.11 is required (none found on PATH)"; exit 1; }
	@echo "Creating $(VENV) with $(PYTHON) and installing pinned dependencies (constraints.txt) ..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install everything (done by every target)

run: $(STAMP) ## the whole pipeline on the demo bank (scale $(SCALE))
	$(BIN)/bankwh run --demo --scale $(SCALE)

system-packages: ## Debian's chromium (the screen tests' browser) and docker-compose (checks the compose file)
	@command -v chromium >/dev/null && command -v docker-compose >/dev/null || { \
	  echo "Installing Debian's chromium and docker-compose (the screen tests and the compose check use them) ..."; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium docker-compose >/dev/null; }

test: $(STAMP) system-packages ## the pytest suites against a real PostgreSQL (embedded unless PGHOST is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) system-packages ## the suites without the slow end-to-end tests (the edit–test loop)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-external: $(STAMP) system-packages ## the same suites against the server at 127.0.0.1:5432
	PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres PGDATABASE=bank $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff and import-linter (package layers) on Python, dbt-bouncer on the parsed project, sqlfluff on the SQL
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/dbt parse --quiet --project-dir . --profiles-dir .
	$(BIN)/dbt-bouncer run --config-file dbt-bouncer.yml --only manifest_checks
	@$(BIN)/bankwh db start >/dev/null
	eval "$$($(BIN)/bankwh db env)" && $(BIN)/sqlfluff lint models tests analyses snapshots --processes 2 --nocolor

bench: $(STAMP) ## all benchmarks at scale 1 (generation, ingest vs COPY, dbt builds, export vs COPY TO)
	$(BIN)/python -m bench.run --what all $(BENCH_ARGS)

bench-ingest: $(STAMP) ## ingest rows/s at scale 1 next to a plain COPY of the same files
	$(BIN)/python -m bench.run --what ingest $(BENCH_ARGS)

bench-warehouse: $(STAMP) ## one night and the next at scale 1: ingest, full and incremental dbt build, Delta export
	$(BIN)/python -m bench.run --what warehouse $(BENCH_ARGS)

lock: $(STAMP) ## re-resolve dependencies from pyproject.toml and rewrite constraints.txt
	@$(BIN)/python -m pip install --quiet --upgrade -e '.[dev]'
	@{ head -n 2 constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e'; } > constraints.txt.new
	@mv constraints.txt.new constraints.txt

clean: ## remove the venv, the embedded warehouse and generated data
	-$(BIN)/bankwh db stop 2>/dev/null
	rm -rf $(VENV) .warehouse target logs data/raw data/delta data/reports
