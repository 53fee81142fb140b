# The two commands of the README: `make run` and `make test`. Both set up what they need.
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= data

.PHONY: run test lint format typecheck pytest bench crash clean system-deps screenshots

$(BIN)/python:
	python3 -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

system-deps:
	scripts/install-system-deps.sh

run: system-deps $(VENV)/.installed
	$(BIN)/ehcert serve --data-dir $(DATA_DIR) --demo

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

format: $(VENV)/.installed
	$(BIN)/ruff format src tests bench

typecheck: $(VENV)/.installed
	$(BIN)/mypy

pytest: system-deps $(VENV)/.installed
	EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" $(BIN)/pytest -q

test: system-deps lint typecheck pytest

$(VENV)/.bench-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

# Every benchmark, then its record (bench/results/<date>.json and .png, docs/benchmarks.md).
bench: $(VENV)/.bench-installed
	scripts/install-system-deps.sh --bench
	rm -f bench/results/.figures.jsonl
	for script in bench/bench_*.py; do EHCERT_BENCH_OUT=bench/results/.figures.jsonl EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" $(BIN)/python "$$script" || exit 1; done
	$(BIN)/python bench/report.py bench/results/.figures.jsonl

# The user guide's images, from the real UI in chromium (tests/e2e/browser.py `shot`).
screenshots: system-deps $(VENV)/.installed
	EHCERT_SCREENSHOTS=docs/images EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" \
		$(BIN)/pytest -q tests/e2e/test_web_ui.py tests/e2e/test_web_eid.py

# The crash harness of make test, longer: 10 SIGKILLs of 200 operations per database.
CRASH_ROUNDS ?= 10
CRASH_OPERATIONS ?= 200
crash: system-deps $(VENV)/.installed
	EHCERT_CRASH_ROUNDS=$(CRASH_ROUNDS) EHCERT_CRASH_OPERATIONS=$(CRASH_OPERATIONS) \
	EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" $(BIN)/pytest -q -s tests/crash

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
