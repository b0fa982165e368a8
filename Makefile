# SafeTwin — two set-up commands for a fresh machine:
#   make demo   creates .venv, installs SafeTwin, runs the main job on embedded defaults
#   make test   installs what the tests need, starts what they need, checks the layers, runs the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test install services lint bench clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[all,test]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/safetwin demo $(DEMO_ARGS)

services:
	bash tools/ensure_services.sh

# static checks: ruff over the package, mypy on the typed core, the layer contracts of import-linter
# (all configured in pyproject.toml; tests/test_layers.py checks the layers too)
lint: install
	$(BIN)/python -m ruff check safetwin
	$(BIN)/python -m mypy
	$(BIN)/lint-imports --no-cache

test: install services lint
	set -a && . var/services.env && set +a && $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install services
	set -a && . var/services.env && set +a && for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var build *.egg-info
