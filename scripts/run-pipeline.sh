#!/usr/bin/env bash
# make run: the samples end to end on the local stack (see
# tests/src/bin/tasklane-pipeline.rs). Expects DATABASE_URL (an admin URL;
# scripts/with-db.sh provides one) and the workspace's debug binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
exec target/debug/tasklane-pipeline
