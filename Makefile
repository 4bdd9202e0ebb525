# Two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
API_PORT ?= 8000
UI_PORT ?= 8501

.PHONY: install browser run ingest serve ui test test-quick test-chroma-server redis-server lint eval fit bench clean

# Installs when the venv is missing or was installed from a different pyproject.toml: the stamp holds its
# hash, not its time, so a fresh clone reusing a venv (`make run VENV=../other/.venv`) does not reinstall.
# torch goes first and pinned: 2.13.0 is the CPU build here; a looser spec pulls GBs of CUDA packages.
install:
	@want=$$(sha256sum pyproject.toml | cut -d' ' -f1); \
	if [ "$$(cat $(STAMP) 2>/dev/null)" != "$$want" ]; then \
		set -e; \
		$(PYTHON) -m venv $(VENV); \
		$(PY) -m pip install --quiet --upgrade pip; \
		$(PY) -m pip install --quiet torch==2.13.0; \
		$(PY) -m pip install --quiet -e '.[dev]'; \
		echo "$$want" > $(STAMP); \
	fi

ingest: install
	$(PY) -m ingest $(ARGS)

# Each stops at once, naming the port and how to choose another, when its port is already in use.
serve: install
	VENV=$(VENV) bash scripts/check_port.sh $(HOST) $(API_PORT) API_PORT serve
	$(PY) -m server --host $(HOST) --port $(API_PORT)

ui: install
	VENV=$(VENV) bash scripts/check_port.sh $(HOST) $(UI_PORT) UI_PORT ui
	API_URL=http://$(HOST):$(API_PORT) $(VENV)/bin/streamlit run ui/app.py --server.address $(HOST) --server.port $(UI_PORT)

# Checks both ports, ingests (ARGS go to `python -m ingest`), then starts the API and the chat.
run: install
	HOST=$(HOST) API_PORT=$(API_PORT) UI_PORT=$(UI_PORT) VENV=$(VENV) bash scripts/run.sh $(ARGS)

# Chromium from Debian for the browser tests (Playwright cannot download its own offline).
# Without it those tests are skipped with a loud reason in the summary.
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
		>/dev/null 2>&1 || echo "WARNING: Chromium could not be installed; the browser tests will be skipped."

# The rate-limit tests run against a real Redis; without one they are skipped (and say so).
redis-server:
	@command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } \
		>/dev/null 2>&1 || echo "WARNING: could not install redis-server; the shared rate-limit tests will be skipped"

test: install browser redis-server
	$(PY) -m pytest
	$(MAKE) test-chroma-server

# The inner loop: everything but the quality floors and the tests that start processes.
test-quick: install
	$(PY) -m pytest -m "not slow" -x -q

# The integration tests again, every store in one real `chroma run` server.
test-chroma-server: install
	RAG_TEST_CHROMA=server $(PY) -m pytest tests/server tests/rag/test_ingestion.py tests/rag/test_retrieval.py tests/rag/test_model_record.py tests/ui

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# Refits rag/reader_weights.json (sentence weights, reader model weight, abstention) on the fitting sets:
# never on the measured SQuAD questions, paraphrase-test.jsonl or eval/everyday/test.jsonl.
fit: install
	$(PY) -m rag.evalsets paraphrase $(EVAL)/para
	$(PY) -m rag.evalsets squad-v1.1 $(EVAL)/squad
	$(PY) -m rag.fit --limit 500 \
		--set ../shared/eval/squad2-wiki5/dev.jsonl $(EVAL)/para/corpus $(EVAL)/para-store \
		--set eval/paraphrase-dev.jsonl $(EVAL)/para/corpus $(EVAL)/para-store \
		--set eval/followups.jsonl $(EVAL)/para/corpus $(EVAL)/para-store \
		--set eval/off-topic.jsonl $(EVAL)/para/corpus $(EVAL)/para-store \
		--set $(EVAL)/squad/train.jsonl $(EVAL)/squad/corpus $(EVAL)/squad-store \
		--set eval/everyday/dev.jsonl eval/everyday/dev-corpus $(EVAL)/everyday-dev-store

# Every dev set; ingested stores are kept under .data/eval and reused by the next run.
EVAL := .data/eval
eval: install
	$(PY) -m rag.evalsets paraphrase $(EVAL)/para
	$(PY) -m rag.evalsets squad-v1.1 $(EVAL)/squad
	$(PY) -m rag.evalsets hotpotqa $(EVAL)/hotpot
	$(PY) -m rag.eval --qa ../shared/eval/squad2-wiki5/dev.jsonl --corpus $(EVAL)/para/corpus --store $(EVAL)/para-store --mode all
	$(PY) -m rag.eval --qa ../shared/eval/seed_qa.jsonl --corpus corpus --mode all
	$(PY) -m rag.eval --qa eval/paraphrase-dev.jsonl --corpus $(EVAL)/para/corpus --store $(EVAL)/para-store
	$(PY) -m rag.eval --qa eval/paraphrase-test.jsonl --corpus $(EVAL)/para/corpus --store $(EVAL)/para-store
	$(PY) -m rag.eval --qa eval/everyday/dev.jsonl --corpus eval/everyday/dev-corpus --store $(EVAL)/everyday-dev-store
	$(PY) -m rag.eval --qa eval/everyday/test.jsonl --corpus eval/everyday/test-corpus --store $(EVAL)/everyday-test-store
	$(PY) -m rag.eval --qa eval/followups.jsonl --corpus $(EVAL)/para/corpus --store $(EVAL)/para-store
	$(PY) -m rag.eval --qa eval/topic-switch.jsonl --corpus $(EVAL)/para/corpus --store $(EVAL)/para-store
	$(PY) -m rag.eval --qa $(EVAL)/squad/qa.jsonl --corpus $(EVAL)/squad/corpus --store $(EVAL)/squad-store
	$(PY) -m rag.eval --qa $(EVAL)/hotpot/qa.jsonl --corpus $(EVAL)/hotpot/corpus --store $(EVAL)/hotpot-store

bench: install
	$(PY) benchmarks/ask_latency.py

clean:
	rm -rf .data
