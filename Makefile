# `make demo` and `make test` each set up .venv themselves; a second run reuses it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,dask]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tokenomy count data/samples/sample-document.txt --model gpt-4o --model gpt-4.1-mini --model gpt-5 --model text-embedding-3-small --model omni-moderation-latest
	$(VENV)/bin/tokenomy count data/samples/chat-request.json --model gpt-4o --model gpt-4o-mini --model gpt-4.1 --model gpt-5-mini

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m mypy

test: lint
	$(PY) -m pytest -q

$(VENV)/.installed-bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,dask,bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(PY) -m pytest benchmarks --benchmark-enable --benchmark-only --benchmark-columns=min,median,mean,rounds

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .benchmarks
