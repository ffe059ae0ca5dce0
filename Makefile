# `make demo` and `make test` each set up .venv themselves; a second run reuses it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint fuzz clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,dask,fast]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tokenomy count data/samples/sample-document.txt --model gpt-4o --model gpt-4.1-mini --model gpt-5 --model text-embedding-3-small --model omni-moderation-latest
	$(VENV)/bin/tokenomy count data/samples/chat-request.json --model gpt-4o --model gpt-4o-mini --model gpt-4.1 --model gpt-5-mini
	$(VENV)/bin/tokenomy cost data/samples/chat-request.json --output-tokens 300

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m mypy

# the suite runs with the fast backend when installed; the cutting algorithms run again on tiktoken
test: lint
	$(PY) -m pytest -q
	TOKENOMY_BACKEND=tiktoken $(PY) -m pytest -q tests/test_chunking.py tests/test_truncation.py tests/test_moderation.py tests/test_budget.py tests/test_messages.py

$(VENV)/.installed-bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,dask,fast,bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(PY) -m pytest benchmarks --benchmark-enable --benchmark-only --benchmark-columns=min,median,mean,rounds

# coverage-guided fuzzing (not in CI): FUZZ_RUNS executions per target
FUZZ_RUNS ?= 500000
$(VENV)/.installed-fuzz: $(STAMP)
	$(PY) -m pip install --quiet atheris
	touch $@

fuzz: $(VENV)/.installed-fuzz
	$(PY) fuzz/fuzz_images.py -atheris_runs=$(FUZZ_RUNS)
	$(PY) fuzz/fuzz_jsonl.py -atheris_runs=$(FUZZ_RUNS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .benchmarks
