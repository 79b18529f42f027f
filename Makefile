# Two commands for a fresh machine: `make run` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed

.PHONY: run serve test check bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Run the gateway on the embedded SQLite default (first run prints a developer key once).
run: $(STAMP)
	HOST=$(HOST) PORT=$(PORT) $(BIN)/wmgw bootstrap
	HOST=$(HOST) PORT=$(PORT) WMGW_LOG_FORMAT=$${WMGW_LOG_FORMAT:-text} \
		$(BIN)/uvicorn --factory web.app:create_app_from_env \
		--host $(HOST) --port $(PORT) --no-access-log --timeout-graceful-shutdown 30

## Production-style: gunicorn with uvicorn workers (WORKERS=n); the gateway's worker class ends
## its graceful shutdown before gunicorn kills it, so running streams are ended and settled.
## web/gunicorn_conf.py: JSON logs, and /metrics summed over the workers.
serve: $(STAMP)
	$(BIN)/wmgw migrate
	$(BIN)/gunicorn 'web.app:create_app_from_env()' -c python:web.gunicorn_conf \
		-k web.worker.GatewayWorker \
		--bind $(HOST):$(PORT) --workers $${WORKERS:-2} --graceful-timeout 30

## The whole test suite (unit, end-to-end with the official SDKs, Schemathesis, PostgreSQL).
## PostgreSQL, Redis and nginx are installed if missing; the tests start their own on loopback.
test: $(STAMP)
	bash tests/services/ensure-postgres.sh
	bash tests/services/ensure-redis.sh
	bash tests/services/ensure-nginx.sh
	bash tests/services/ensure-chromium.sh
	@# The official openai Node SDK for tests/test_node_sdk.py, the AI SDK for
	@# tests/test_ai_sdk.py and Redocly CLI for tests/test_spec_lint.py (skipped where npm is
	@# missing).
	if command -v npm >/dev/null; then npm ci --prefix tests/node --no-audit --no-fund \
		--loglevel=error || echo "npm ci failed: the Node tests will be skipped"; fi
	$(BIN)/pytest -p no:cacheprovider

check: $(STAMP)
	$(BIN)/ruff check domain providers storage gateway web usecases cli handlers tests
	$(BIN)/ruff format --check domain providers storage gateway web usecases cli handlers tests
	$(BIN)/mypy domain providers storage gateway web usecases cli handlers
	@# The pure rules and the translators are typed to the last value.
	$(BIN)/mypy --strict domain providers

## LiteLLM proxy, the peer `make bench` measures beside the gateway, in its own virtualenv.
PEER := bench/.peer/.installed
$(PEER):
	$(PYTHON) -m venv bench/.peer
	bench/.peer/bin/pip install --quiet 'litellm[proxy]==1.108.7' 'uvloop==0.23.0' \
		&& touch $(PEER) || echo "LiteLLM could not be installed: the benchmark runs without it"

bench: $(STAMP) $(PEER)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var bench/.peer
