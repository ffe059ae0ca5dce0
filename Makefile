# `make demo` and `make test` each set up .venv themselves; a second run reuses it.
# The demo installs tokenomy alone; the tests add the dev tools and every extra.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: demo test test-wheel bench lint fuzz clean

$(VENV)/.created:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	touch $@

$(DEMO_STAMP): pyproject.toml $(VENV)/.created
	$(PY) -m pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml $(VENV)/.created
	$(PY) -m pip install --quiet -e '.[dev,dask,fast]'
	touch $@

demo: $(DEMO_STAMP)
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

# the built wheel, installed in a clean virtual environment, run from another folder (CI runs it)
test-wheel: $(STAMP)
	PYTHON=$(PYTHON) scripts/test_wheel.sh

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
