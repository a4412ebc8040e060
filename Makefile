# tickwork — every target here is what CI runs too. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
DASHBOARD_SRC := $(shell find dashboard/src dashboard/index.html dashboard/vite.config.ts dashboard/package.json -type f 2>/dev/null)
PYTEST_ARGS ?=

.PHONY: help install run dev-dashboard dashboard services chromium test test-fast lint format bench bench-scale drill verify openapi clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMPS)/python: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@mkdir -p $(STAMPS) && touch $@

install: $(STAMPS)/python ## Create .venv and install tickwork with its dev tools

dashboard/node_modules/.package-lock.json: dashboard/package-lock.json
	npm ci --prefix dashboard --no-audit --no-fund

src/tickwork/static/index.html: dashboard/node_modules/.package-lock.json $(DASHBOARD_SRC)
	npm run build --prefix dashboard

dashboard: src/tickwork/static/index.html ## Build the dashboard into the Python package

run: install dashboard ## Start the all-in-one (coordinator + worker, SQLite) on http://127.0.0.1:8000
	$(BIN)/tickwork dev

dev-dashboard: ## Vite dev server on :3000 proxying to :8000
	npm run dev --prefix dashboard

services: ## Start PostgreSQL and Redis if they are down
	@scripts/services.sh

chromium: ## Install Debian's Chromium for the browser tests
	@command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

.PHONY: screenshots
screenshots: install dashboard services chromium ## Refresh docs/screenshots (light, dark and phone) from a demo cluster
	TICKWORK_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest -q -p no:randomly tests/browser/test_screenshots.py

test: install dashboard services chromium ## Install everything and run every test
	$(BIN)/pytest -n 2 --dist loadgroup -m "not solo" $(PYTEST_ARGS)
	$(BIN)/pytest -m solo $(PYTEST_ARGS) || [ $$? -eq 5 ]  # timing tests, alone (5: none chosen)
	npm test --prefix dashboard

test-fast: install ## Unit tests only (no services)
	$(BIN)/pytest tests/unit -q

lint: install ## ruff, ruff format --check, mypy --strict, import contracts
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install ## Format the code
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

bench: install services ## Throughput and fire-lag benchmarks on PostgreSQL + Redis
	$(BIN)/python -m benchmarks.run

bench-scale: install services ## The API and retention at 1M jobs and 10M runs (PostgreSQL; ~15 min)
	$(BIN)/python -m benchmarks.scale $(BENCH_ARGS)

drill: install ## Failover drill: kill, partition, restart PostgreSQL under load (own PG + Redis; ~3 min)
	timeout --signal=INT --kill-after=30 300 $(BIN)/python -m benchmarks.drill $(DRILL_ARGS)

openapi: install ## Regenerate docs/openapi.json and the dashboard's API types from it
	$(BIN)/python -m tickwork.api.openapi > docs/openapi.json
	npm run types --prefix dashboard

verify: install ## Fail when docs/openapi.json or the dashboard's API types are stale
	$(BIN)/python -m tickwork.api.openapi | diff -q - docs/openapi.json
	cd dashboard && npx vitest run src/api/schema.test.ts

clean: ## Remove the virtualenv, build outputs and local databases
	rm -rf $(VENV) $(STAMPS) src/tickwork/static dashboard/node_modules tickwork.db*
