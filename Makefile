# One-command set-up: `make test` and `make run` create the virtual environment they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test test-fast lint run bench package clean

venv: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements/constraints.txt -e '.[gui,dev]'
	touch $(STAMP)

## Run the whole test suite (creates the venv on first use).
test: $(STAMP)
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

test-fast: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check photosim tests
	$(VENV)/bin/lint-imports

## Open the desktop app (creates the venv on first use).
run: $(STAMP)
	$(VENV)/bin/photosim

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache

## Benchmarks (not part of the test run); see bench/README.md.
bench: $(STAMP)
	$(PY) -m pip install --quiet -c requirements/constraints.txt -e '.[bench]'
	$(PY) -m bench.run $(BENCH_ARGS)

## Build the Linux installer and smoke-test what was built; see packaging/README.md.
package: $(STAMP)
	bash packaging/build.sh
