# The two commands of the README: `make run` and `make test`. Both set up what they need.
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= data

.PHONY: run test lint format typecheck pytest bench crash clean system-deps screenshots fuzz test-clock test-future

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

# One pytest worker per core (pytest-xdist), each given whole test files so that a file's
# module fixtures (a browser, a served platform) are set up once.
TEST_WORKERS ?= auto
XDIST := -n $(TEST_WORKERS) --dist loadfile

pytest: system-deps $(VENV)/.installed
	EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" $(BIN)/pytest -q $(XDIST)

# The suite with the clock moved ahead: libfaketime on the pytest process, inherited by
# every process it starts (ehcert serve, openssl, the CLI). Nothing may depend on today's
# date: `make test-future` runs the whole suite 3 and 100 years ahead (RFC 5280 4.1.2.5:
# from 2050 on, certificate times are GeneralizedTime); `make test` runs the modules of
# CLOCK_TESTS so (expiry, renewal windows, CRL nextUpdate, OCSP responder renewal, token
# validity, the operator commands that read the real clock).
# Only the wall clock moves: the monotonic clock carries no date, and libfaketime moving it
# makes every timed wait on a lock sleep for years (scripts/faketime/sitecustomize.py says
# why, and how time.sleep is kept working).
FAKE_CLOCK := PYTHONPATH=$(CURDIR)/scripts/faketime FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f
FUTURE_OFFSETS := +3y +100y
CLOCK_TESTS := tests/ca/test_ceremonies.py tests/e2e/test_ocsp_renewal.py \
	tests/e2e/test_ocsp_times.py tests/e2e/test_renewal_revocation.py tests/sts/test_token.py \
	tests/e2e/test_cli.py

test-clock: system-deps $(VENV)/.installed
	for offset in $(FUTURE_OFFSETS); do \
		EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" $(FAKE_CLOCK) $$offset \
			$(BIN)/pytest -q -p no:cacheprovider $(XDIST) $(CLOCK_TESTS) || exit 1; \
	done

test-future: system-deps $(VENV)/.installed
	for offset in $(FUTURE_OFFSETS); do \
		EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" $(FAKE_CLOCK) $$offset \
			$(BIN)/pytest -q -p no:cacheprovider $(XDIST) || exit 1; \
	done

test: system-deps lint typecheck pytest test-clock

# Coverage-guided fuzzing (atheris) of every parser of outside bytes, FUZZ_SECONDS each;
# `make test` runs a short smoke of the same targets (tests/fuzz).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := identifiers names csr jws ocsp etk unseal saml pkcs12 csv_rows

fuzz: $(VENV)/.installed
	for target in $(FUZZ_TARGETS); do $(BIN)/python fuzz/fuzz_$$target.py --seconds $(FUZZ_SECONDS) || exit 1; done

$(VENV)/.bench-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

# Every benchmark, then its record (bench/results/<date>.json and .png, docs/benchmarks.md).
bench: $(VENV)/.bench-installed
	scripts/install-system-deps.sh --bench
	rm -f bench/results/.figures.jsonl
	for script in bench/bench_*.py; do EHCERT_BENCH_OUT=bench/results/.figures.jsonl EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" $(BIN)/python "$$script" || exit 1; done
	EHCERT_BENCH_OUT=bench/results/.figures.jsonl EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" $(BIN)/python bench/bench_http.py --scale-out
	$(BIN)/python bench/report.py bench/results/.figures.jsonl

# The user guide's images, from the real UI in chromium (tests/e2e/browser.py `shot`).
screenshots: system-deps $(VENV)/.installed
	EHCERT_SCREENSHOTS=docs/images EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" \
		$(BIN)/pytest -q tests/e2e/test_web_ui.py tests/e2e/test_web_eid.py tests/e2e/test_web_mailbox.py

# The crash harness of make test, longer: 10 SIGKILLs of 200 operations per database.
CRASH_ROUNDS ?= 10
CRASH_OPERATIONS ?= 200
crash: system-deps $(VENV)/.installed
	EHCERT_CRASH_ROUNDS=$(CRASH_ROUNDS) EHCERT_CRASH_OPERATIONS=$(CRASH_OPERATIONS) \
	EHCERT_TEST_PG_URL="$$(scripts/ensure-postgres.sh)" $(BIN)/pytest -q -s tests/crash

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
