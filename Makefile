# The README's two set-up commands: `make run` and `make test`. Each makes its own venv.
VENV ?= .venv
PY := $(VENV)/bin/python
# llama-cpp-python builds from source: a portable, text-only CPU build (~7 min the first
# time; pip caches the wheel).
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF

.PHONY: run test lint chromium postgresql

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed-run
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.installed-run
	$(PY) app.py

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

# PostgreSQL 15 from Debian, for the conversation-store tests (a throwaway cluster per run).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq postgresql; }

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy qa vectorstore

test: $(VENV)/.installed-dev chromium postgresql lint
	$(VENV)/bin/pytest -p no:cacheprovider
