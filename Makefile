# The two commands of the README: `make run` and `make test`. Both set up what they need.
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= data

.PHONY: run test lint format typecheck pytest bench clean system-deps fuzz

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
	$(BIN)/ruff check src tests bench fuzz
	$(BIN)/ruff format --check src tests bench fuzz
	$(BIN)/lint-imports

format: $(VENV)/.installed
	$(BIN)/ruff format src tests bench

typecheck: $(VENV)/.installed
	$(BIN)/mypy

pytest: system-deps $(VENV)/.installed
	EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" $(BIN)/pytest -q

test: system-deps lint typecheck pytest

# Coverage-guided fuzzing (atheris) of every parser of outside bytes, FUZZ_SECONDS each;
# `make test` runs a short smoke of the same targets (tests/fuzz).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := identifiers names csr jws ocsp etk unseal saml pkcs12 csv_rows

fuzz: $(VENV)/.installed
	for target in $(FUZZ_TARGETS); do $(BIN)/python fuzz/fuzz_$$target.py --seconds $(FUZZ_SECONDS) || exit 1; done

bench: $(VENV)/.installed
	for script in bench/bench_*.py; do EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" $(BIN)/python "$$script" || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
