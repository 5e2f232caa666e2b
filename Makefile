# The two commands of the README: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
ADMIN_TOKEN ?= demo-admin-token
# This machine only; `make demo HOST=0.0.0.0 ADMIN_TOKEN=<secret>` shares it on the network.
HOST ?= 127.0.0.1

.PHONY: demo test venv system-deps schema-deps stack up down bench dashboards rules help

help:
	@echo "make demo         serve the license server on http://127.0.0.1:8000 (SQLite, no other service)"
	@echo "make test         install what the tests need and run them all"
	@echo "make stack        license server + Prometheus + Alertmanager as local processes"
	@echo "make up / down    the whole stack in Docker (docker compose)"
	@echo "make dashboards   regenerate the Grafana JSON from grafana/dashboards/*.dashboard.py"
	@echo "make rules        regenerate the Prometheus rule profiles"
	@echo "make bench        run the benchmarks and print their figures"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

demo: venv
	@echo "Admin token for /config and the admin API: $(ADMIN_TOKEN)"
	ADMIN_TOKEN=$(ADMIN_TOKEN) $(PY) -m license_server --host $(HOST)

system-deps:
	scripts/install-system-deps.sh

# TypeScript and Grafana's published dashboard schema, for the dashboard type check.
SCHEMA_CHECK := grafana/schema-check
$(SCHEMA_CHECK)/node_modules/.installed: $(SCHEMA_CHECK)/package-lock.json
	npm ci --prefix $(SCHEMA_CHECK) --no-audit --no-fund
	touch $@

schema-deps: $(SCHEMA_CHECK)/node_modules/.installed

# Three workers taking whole files, each with its own native stack (tests/conftest.py): most of
# the suite waits on scrapes, alerts and loads, not on the CPU, so a third worker on 2 cores
# fills those waits (14 min with two workers, 11 with three, measured in one session).
test: system-deps venv schema-deps
	$(PY) -m pytest -n 3 --dist loadfile --no-loadscope-reorder --durations=15

stack: system-deps venv
	ADMIN_TOKEN=$(ADMIN_TOKEN) $(VENV)/bin/license-demo stack

up:
	scripts/compose-up.sh

down:
	docker compose down

dashboards: venv
	$(PY) -m grafana.generate

rules: venv
	$(PY) prometheus/generate_rules.py

bench: venv
	$(PY) -m bench.bench_server
	$(PY) -m bench.bench_detection
	$(PY) -m bench.bench_journey
	$(PY) -m bench.bench_capacity
