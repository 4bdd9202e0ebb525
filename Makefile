# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
API_PORT ?= 8000
UI_PORT ?= 8501

.PHONY: install run ingest serve ui test test-chroma-server redis-server lint eval bench clean

install: $(STAMP)

# torch goes first and pinned: 2.13.0 is the CPU build here; a looser spec pulls GBs of CUDA packages.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

ingest: install
	$(PY) -m ingest

serve: install
	$(PY) -m server --host $(HOST) --port $(API_PORT)

ui: install
	API_URL=http://$(HOST):$(API_PORT) $(VENV)/bin/streamlit run ui/app.py --server.address $(HOST) --server.port $(UI_PORT)

run: install
	$(PY) -m ingest
	HOST=$(HOST) API_PORT=$(API_PORT) UI_PORT=$(UI_PORT) VENV=$(VENV) bash scripts/run.sh

test: install redis-server
	$(PY) -m pytest
	$(MAKE) test-chroma-server

# The rate-limit tests run against a real Redis; without one they are skipped (and say so).
redis-server:
	@command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; } \
		|| echo "WARNING: could not install redis-server; the shared rate-limit tests will be skipped"

# The integration tests again, every store in one real `chroma run` server.
test-chroma-server: install
	RAG_TEST_CHROMA=server $(PY) -m pytest tests/server tests/rag/test_ingestion.py tests/rag/test_retrieval.py tests/ui

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

eval: install
	$(PY) -m rag.eval --qa ../shared/eval/squad2-wiki5/dev.jsonl --corpus ../shared/eval/squad2-wiki5/corpus --mode all
	$(PY) -m rag.eval --qa ../shared/eval/seed_qa.jsonl --corpus corpus --mode all

bench: install
	$(PY) benchmarks/ask_latency.py

clean:
	rm -rf .data
