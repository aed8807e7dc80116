# innbyggerpost: `make run` and `make test` do all the set-up on a fresh machine.
# Spyne 2.14 imports on Python 3.11 only, so the virtual environment is built with a 3.11 interpreter.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON311 := $(shell command -v python3.11 2>/dev/null || (python3 -c 'import sys; exit(sys.version_info[:2] != (3, 11))' 2>/dev/null && command -v python3))

.PHONY: run test lint bench chaos venv clean generate wsdl system-deps

$(VENV)/.installed: setup.cfg pyproject.toml
	@if [ -z "$(PYTHON311)" ]; then echo "innbyggerpost needs Python 3.11 (spyne 2.14 does not import on 3.12+): install python3.11 and retry" >&2; exit 1; fi
	$(PYTHON311) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/innbyggerpost run-all

lint: venv
	$(VENV)/bin/ruff check service clients simulators tests
	$(VENV)/bin/ruff format --check service clients simulators tests
	$(VENV)/bin/mypy service clients tests/support

system-deps:
	@bash deploy/system-deps.sh

test: venv system-deps lint
	$(VENV)/bin/pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# make bench BENCH_ARGS='--quick --db sqlite' (python tests/bench/run_bench.py --help)
bench: venv system-deps
	$(PY) tests/bench/run_bench.py $(BENCH_ARGS)

# Real faults against real processes (not part of make test): CHAOS_ARGS=--quick, --scenario NAME
chaos: venv system-deps
	$(PY) tests/chaos/run_chaos.py $(CHAOS_ARGS)

# Regenerate every generated file (contract models, operation table, golden WSDLs) from the published
# Altinn 2 WSDLs; tests/unit/test_generated_current.py proves the checked-in output is current.
REFERENCE_DIR ?= $(or $(INNBYGGERPOST_REFERENCE_DIR),../shared/reference)
generate: venv
	$(PY) -m service.tools.generate $(REFERENCE_DIR)/altinn

wsdl: generate

clean:
	rm -rf $(VENV) var
