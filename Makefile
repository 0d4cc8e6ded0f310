# DockerPanel: `make run` serves the panel, `make test` checks everything on a real engine.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup engine browsers lint pytest pgtest unit clean image deploy-images bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.requirements: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.requirements-dev: requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.requirements node_modules/.package-lock.json
	bash scripts/vendor.sh
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py migrate --noinput --verbosity 0

run: setup
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) dockerpanel.asgi:application

engine:
	bash scripts/engine.sh

# The panel's image (dockerpanel:latest), on debian:bookworm unless BASE=… (scripts/image.sh).
image: setup
	bash scripts/image.sh panel

# Also the Redis and PostgreSQL images deploy/compose.yaml runs.
deploy-images: setup
	bash scripts/image.sh panel redis postgres

browsers:
	@command -v chromium >/dev/null 2>&1 || bash scripts/apt.sh chromium

lint: $(VENV)/.requirements-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run

# A failed test runs again (up to twice) and shows as R in the summary: see the README.
RERUNS := --reruns 2 --reruns-delay 3
pytest: $(VENV)/.requirements-dev
	$(VENV)/bin/pytest $(RERUNS)

# The tests that need no Docker engine (pure logic, or the fake engine of tests/fake_engine.py):
# seconds, and they pass with no engine at all. -m engine and -m browser select the others.
unit: $(VENV)/.requirements-dev
	$(VENV)/bin/pytest -m unit

# The tests where the database matters, again on a PostgreSQL 15 cluster started for the run.
PG_TESTS ?= tests/test_audit_log.py tests/test_healthz.py tests/test_container_bulk.py tests/test_engine_faults.py
pgtest: $(VENV)/.requirements-dev
	$(PY) -m tests.live postgres -- $(VENV)/bin/pytest -p no:cacheprovider $(RERUNS) $(PG_TESTS)

test: setup $(VENV)/.requirements-dev engine browsers lint pytest pgtest

# Every benchmark of bench/, each against the CLI or the raw Engine API in the same run; each writes
# its results to docs/ (docs/bench-*.md). Slow (tens of minutes) and best on a quiet machine: not
# part of `make test`. One bench alone: .venv/bin/python bench/NAME.py (see its docstring).
BENCHES := containers_list container_detail logs_flood logs_download stats_list terminal
bench: setup $(VENV)/.requirements-dev engine browsers
	@set -e; for b in $(BENCHES); do echo "== bench/$$b.py"; $(PY) bench/$$b.py; done

clean:
	rm -rf staticfiles static/vendor
