# Rapport: `make demo` runs the product on the synthetic firm; `make test` runs every check.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# The task pane's browser library (pinned in package-lock.json) and the Chromium its tests drive.
MSAL_JS := node_modules/@azure/msal-browser/lib/msal-browser.min.js
CHROMIUM := /usr/bin/chromium

.PHONY: help demo test lint typecheck test-sqlite test-postgres services bench clean

help:
	@echo "make demo   - set up, generate the demo firm, import it, serve the API"
	@echo "make test   - set up, then ruff, mypy and pytest on SQLite and PostgreSQL"
	@echo "make bench  - ingest benchmark on the Enron data (bench/ingest.py)"

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(MSAL_JS): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(MSAL_JS)

# Debian's Chromium for the Playwright tests (playwright install cannot download a browser).
$(CHROMIUM):
	apt-get update -qq && apt-get install -y -qq chromium

demo: $(STAMP) $(MSAL_JS)
	$(BIN)/python app.py demo

services:
	@bash .ci/services

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

test-sqlite: $(STAMP) $(MSAL_JS) $(CHROMIUM)
	@bash .ci/pytest $(BIN)/pytest

test-postgres: $(STAMP) $(MSAL_JS) $(CHROMIUM) services
	@RAPPORT_TEST_DATABASE_URL=$(PG_URL) bash .ci/pytest $(BIN)/pytest

test: lint typecheck test-sqlite test-postgres

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) var node_modules .pytest_cache .mypy_cache .ruff_cache
