# One place for the commands README.md gives. `make test` sets up everything the tests need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup servers demo test check lint typecheck bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

setup: $(STAMP)

## Set up and start the console on its sandbox (no credentials, nothing leaves the machine).
demo: setup
	$(BIN)/outreach-tui demo

## The real servers the tests start on loopback (Dovecot, PostgreSQL), installed when missing.
servers:
	tools/ensure_test_servers.sh

## Set up and run every test.
test: setup servers
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	# The engine's functional tests again, on a real PostgreSQL (tests/functional/backend.py);
	# test_scale_pg runs on PostgreSQL in the first pass already, the demo is SQLite by design.
	OUTREACH_TEST_DB=postgresql $(BIN)/python -m pytest tests/functional \
		--ignore=tests/functional/test_scale_pg.py -k "not test_demo" $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check outreach_tui tests bench
	$(BIN)/ruff format --check outreach_tui tests bench

typecheck: setup
	$(BIN)/mypy outreach_tui

check: lint typecheck test

bench: setup
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/run_all.py

## The README's screenshots, made from the app itself.
screenshots: setup
	$(BIN)/python tools/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
