# The README's two commands are `make demo` and `make test`; everything else supports them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

# Test processes: each runs whole test files (their module fixtures built once); two fit
# this project's 2-core machines, more serve a bigger one (TEST_PROCESSES=4 make test).
TEST_PROCESSES ?= 2

.PHONY: demo test lint bench clean messages

demo: $(VENV)/.installed
	$(BIN)/urbanpulse demo

# The slowest tests are listed after every run: the suite's time is watched (under 10 min).
test: lint
	bash scripts/ensure-test-tools.sh
	$(BIN)/pytest -n $(TEST_PROCESSES) --dist loadfile --durations=15

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# For translators: extract every marked string into src/urbanpulse/locale/messages.pot and
# merge it into the zh_CN and en catalogues (new strings arrive untranslated).
messages: $(VENV)/.installed
	$(BIN)/python scripts/messages.py

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/ingest.py

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache
