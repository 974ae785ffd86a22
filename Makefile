# Bridgeflow: `make run` serves it with the demo ERP and CRM; `make test` runs everything.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080

.PHONY: setup run worker test test-fast lint bench clean vendor

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,erp]'
	touch $@

# bpmn-js, dmn-js and htmx come from npm (package-lock.json) and are copied into web/static.
VENDOR = web/static/vendor/.built
$(VENDOR): package.json package-lock.json scripts/copy-vendor.mjs
	npm ci --no-audit --no-fund
	npm run vendor
	touch $@

vendor: $(VENDOR)

setup: $(VENV)/.installed $(VENDOR)
	$(BIN)/bridgeflow db upgrade

run: setup
	$(BIN)/bridgeflow demo --host $(HOST) --port $(PORT)

worker: setup
	$(BIN)/bridgeflow worker

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy engine service_tasks web

# The analysts' process and decision tests (processes/*.test.yaml) run first: they are quick.
test: lint
	$(BIN)/bridgeflow test processes/
	$(BIN)/pytest -q

test-fast: setup
	$(BIN)/bridgeflow test processes/
	$(BIN)/pytest -q -m "not slow"

bench: setup
	$(BIN)/python bench/engine_bench.py
	$(BIN)/python bench/rest_bench.py
	$(BIN)/python bench/dmn_bench.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache node_modules web/static/vendor
