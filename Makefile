# Two commands for a newcomer: `make run` starts everything, `make test` runs the tests.
# Neither needs PostgreSQL or Redis on the machine: embedded ones start under ./.data
# unless DATABASE_URL / REDIS_URL (or TEST_DATABASE_URL / TEST_REDIS_URL) are set.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000

.PHONY: run test lint format bench install clean help

help:
	@echo "make run    start the whole stack (API, worker, scheduler, databases) on http://127.0.0.1:$(PORT)"
	@echo "make test   run the test suite against real PostgreSQL and Redis"
	@echo "make lint   ruff"
	@echo "make bench  run the benchmarks under bench/"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version 2>&1)); install it or run: make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@echo "• installing pinned dependencies into $(VENV) …"
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3"
	$(BIN)/python -m pip install --quiet --progress-bar on -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	PORT=$(PORT) $(BIN)/smbfinance dev

# One worker per core (at most 4), each with its own database and Redis; TEST_WORKERS=0 runs
# in one process (for a debugger).
TEST_WORKERS ?= auto

test: $(STAMP)
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --maxprocesses=4) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .data/test .pytest_cache .ruff_cache
