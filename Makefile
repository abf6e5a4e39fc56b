# The two commands of the README: `make run` and `make test`. Everything else is a step they take.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
UV_VERSION := 0.13.9

.PHONY: run test test-unit test-e2e test-soak install fetch bench clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

# Camunda's own tools (bpmnlint + camunda-compat, the element-template JSON Schema), pinned in
# tools/camunda/package-lock.json; tests/unit/test_camunda_tools.py runs them.
CAMUNDA_TOOLS := tools/camunda/node_modules/.installed
$(CAMUNDA_TOOLS): tools/camunda/package-lock.json
	cd tools/camunda && npm ci --no-audit --no-fund --silent
	@touch $(CAMUNDA_TOOLS)

install: $(STAMP)

fetch: install
	$(BIN)/contract-workers fetch --profile full

run: fetch
	$(BIN)/contract-workers dev --profile full

test: fetch $(CAMUNDA_TOOLS)
	$(BIN)/pytest

test-unit: install $(CAMUNDA_TOOLS)
	$(BIN)/pytest -m "not e2e"

test-e2e: fetch $(CAMUNDA_TOOLS)
	$(BIN)/pytest -m e2e

# The e2e suite (both profiles) 5 times in a row with one core kept busy; stops at the first failure.
test-soak: fetch
	$(BIN)/python -m tests.soak --runs $(or $(RUNS),5)

bench: install
	$(BIN)/python -m bench.token_cache
	$(BIN)/python -m bench.stack_startup

clean:
	rm -rf $(VENV) var/devstack/runs
