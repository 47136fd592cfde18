#!/usr/bin/env bash
# Run a command with DATABASE_URL set: the caller's when it is set, else the
# project-local cluster's (started on demand by scripts/local-pg.sh).
set -euo pipefail
if [ -z "${DATABASE_URL:-}" ]; then
  line=$("$(dirname "$0")/local-pg.sh" start)
  export DATABASE_URL="${line#DATABASE_URL=}"
fi
exec "$@"
