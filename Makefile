# tasklane: the two commands a new machine needs are `make run` and
# `make test`; everything they need is installed here. See README.md for
# every target and variable.

SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO ?= cargo
# Extra arguments for `cargo test`, e.g. `make test-rust TEST_ARGS=claim`.
TEST_ARGS ?=
WITH_DB := scripts/with-db.sh
BIN := target/debug

include mk/terraform.mk
include mk/emulator.mk

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort \
	  | awk -F':.*## ' '{printf "  %-20s %s\n", $$1, $$2}'

.PHONY: deps
deps: ## Install system packages the project needs (postgresql, python3-venv).
	@scripts/install-deps.sh

.PHONY: build
build: deps ## Build every binary (debug).
	$(CARGO) build --workspace --bins

.PHONY: db
db: deps ## Start the local Postgres cluster (when DATABASE_URL is unset) and print DATABASE_URL.
	@$(WITH_DB) bash -c 'echo "DATABASE_URL=$$DATABASE_URL"'

.PHONY: db-stop
db-stop: ## Stop the local Postgres cluster.
	@scripts/local-pg.sh stop

.PHONY: migrate
migrate: build ## Apply migrations to DATABASE_URL (or the local cluster).
	$(WITH_DB) $(BIN)/tasklane migrate

.PHONY: run
run: build ## The main job: run the samples end to end and print the results.
	$(WITH_DB) scripts/run-pipeline.sh

.PHONY: lint
lint: ## cargo fmt --check and clippy with warnings denied.
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

.PHONY: test-rust
test-rust: build ## Every Rust test, against real Postgres.
	$(WITH_DB) $(CARGO) test --workspace $(TEST_ARGS)

.PHONY: test
test: lint test-rust test-extra ## The whole suite: lint, Rust tests, Terraform and client checks.
	@echo "make test: all checks passed"

# Checks from the mk/*.mk fragments: Terraform formatting, and the official
# Python Cloud Tasks client against the emulator.
.PHONY: test-extra
test-extra: test-terraform-fmt test-emulator-python

.PHONY: bench
bench: deps ## Side-by-side benchmarks: push handler vs the FastAPI baseline, and the emulator.
	$(WITH_DB) python3 bench/run.py
	$(MAKE) --no-print-directory bench-emulator
