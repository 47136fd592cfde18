# Cloud Tasks + Pub/Sub emulator targets (included from the top-level Makefile).
#
#   emulator-python-venv   $(PYTHON_VENV) with Google's official Python client
#   test-emulator-python   the official Python client against a fresh emulator
#   bench-emulator         dispatch throughput, rate accuracy, concurrency cap

PYTHON_VENV := .venv
EMULATOR_PYTHON_DEPS := emulator/python/requirements.txt
# Touched once the venv holds the pinned client, so edits to the
# requirements rebuild it.
EMULATOR_VENV_STAMP := $(PYTHON_VENV)/.emulator-python-deps
EMULATOR_TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
EMULATOR_BIN := $(EMULATOR_TARGET_DIR)/debug/tasklane-emulator

.PHONY: emulator-python-venv test-emulator-python bench-emulator

emulator-python-venv: $(EMULATOR_VENV_STAMP)

$(EMULATOR_VENV_STAMP): $(EMULATOR_PYTHON_DEPS)
	python3 -m venv $(PYTHON_VENV)
	$(PYTHON_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(EMULATOR_PYTHON_DEPS)
	touch $@

# Starts its own emulator on a free port (the script reads the printed
# address) and stops it at the end.
test-emulator-python: $(EMULATOR_VENV_STAMP)
	cargo build -p tasklane-emulator --bin tasklane-emulator
	$(PYTHON_VENV)/bin/python emulator/python/test_official_client.py --emulator $(EMULATOR_BIN)

# Release build; prints a table of medians over several runs.
bench-emulator:
	cargo run --release -p tasklane-emulator --bin emulator-bench
