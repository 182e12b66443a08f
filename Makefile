# The two ways to run the portal: `make demo` (SQLite, no servers to install) and `make test`
# (PostgreSQL and Redis, as in production). Both create .venv with Python 3.11 on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN = $(VENV)/bin
DEMO_ENV = PORTAL_MODE=demo

.PHONY: demo test install install-dev lint format clean-demo bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py demo_setup
	$(DEMO_ENV) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho --procfile Procfile.dev start

test: install-dev
	$(BIN)/python -m config.check_services
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks against the Keap sandbox on 127.0.0.1; needs the test servers (PostgreSQL, Redis)
# and takes about ten minutes. Writes bench/results/*.json and docs/benchmarks.md.
bench: install-dev
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean-demo:
	rm -rf var/demo
