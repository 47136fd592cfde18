#!/usr/bin/env bash
# A project-local PostgreSQL cluster under .local/pg, owned by the postgres
# user, listening on 127.0.0.1 on a free port picked at first start.
#
#   scripts/local-pg.sh start   # start (creating it if needed); prints DATABASE_URL=...
#   scripts/local-pg.sh url     # print the URL of the running cluster
#   scripts/local-pg.sh stop    # stop it
#
# Installs Debian's postgresql with apt-get when initdb is missing. Works
# while other clusters listen on other ports.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
base="$root/.local/pg"
data="$base/data"
port_file="$base/port"
log="$base/server.log"

find_bin() {
  local name=$1 dir
  for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/$name" ]; then echo "$dir/$name"; return 0; fi
  done
  command -v "$name" 2>/dev/null && return 0
  return 1
}

ensure_installed() {
  if ! find_bin initdb >/dev/null || ! find_bin pg_ctl >/dev/null; then
    echo "local-pg: installing postgresql with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
  fi
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
}

free_port() {
  python3 - <<'PY'
import random, socket
for _ in range(200):
    port = random.randint(20000, 60000)
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
PY
}

as_pg() { runuser -u postgres -- "$@"; }

url() { echo "postgresql://postgres@127.0.0.1:$(cat "$port_file")/postgres"; }

is_running() {
  [ -f "$port_file" ] && [ -f "$data/postmaster.pid" ] && as_pg "$(find_bin pg_ctl)" -D "$data" status >/dev/null 2>&1
}

start() {
  ensure_installed
  mkdir -p "$base"
  # The postgres user must reach the cluster's folder.
  chmod o+x "$root" "$root/.local" 2>/dev/null || true
  chown postgres "$base"
  if is_running; then echo "DATABASE_URL=$(url)"; return 0; fi
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg "$(find_bin initdb)" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 300

synchronous_commit = off

shared_buffers = 256MB
CONF
  fi
  # A port taken since the last start is replaced by a free one.
  local port
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    echo "$port" > "$port_file"
    if as_pg "$(find_bin pg_ctl)" -D "$data" -l "$log" -o "-p $port" -w -t 60 start >/dev/null; then
      echo "DATABASE_URL=$(url)"
      return 0
    fi
  done
  echo "local-pg: could not start; see $log" >&2
  tail -20 "$log" >&2 || true
  return 1
}

stop() {
  if [ -f "$data/PG_VERSION" ] && is_running; then
    as_pg "$(find_bin pg_ctl)" -D "$data" -m fast -w stop >/dev/null
  fi
  echo "local-pg: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) is_running && echo "DATABASE_URL=$(url)" ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
