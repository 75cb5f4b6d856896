# One-command set-up: `make test` and `make run` create the virtual environment they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv test test-fast lint run system-deps bench package clean

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

## Open the desktop app (creates the venv, and installs missing Qt system libraries, on first use).
run: $(STAMP) system-deps
	$(VENV)/bin/photosim

## The X11 libraries Qt's xcb plugin needs, from apt, when some are missing (minimal Debian/Ubuntu).
system-deps: $(STAMP)
	@pkgs="$$($(PY) -m photosim.app_launcher --missing)"; \
	if [ -n "$$pkgs" ]; then \
		echo "installing the system libraries Qt needs: $$pkgs"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
		else echo "run: sudo apt install $$pkgs"; exit 1; fi; \
		$$SUDO apt-get install -y -q $$pkgs || { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q $$pkgs; }; \
	fi

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache

## Benchmarks (not part of the test run); see bench/README.md.
bench: $(STAMP)
	$(PY) -m pip install --quiet -c requirements/constraints.txt -e '.[bench]'
	$(PY) -m bench.run $(BENCH_ARGS)

## Build the Linux installer and smoke-test what was built; see packaging/README.md.
package: $(STAMP)
	bash packaging/build.sh
