#!/usr/bin/env python3
"""`make bench`: tasklane's push handler against the FastAPI baseline, side
by side in one run, on one Postgres, with the same load.

Both services do the same work per task (read the transcript, keep 120
characters, mark the meeting completed); tasklane also verifies an RS256 ID
token, claims the key atomically under a lease and fencing token, and stores
the result for replays. Rounds alternate the order of the two services; the
report gives medians over rounds and tasklane/baseline ratios.

Settings (environment): BENCH_ROUNDS (3), BENCH_DURATION (15s),
BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_ROWS per wrk thread
(200000), BENCH_POOL (32 connections in all for each service).
Needs DATABASE_URL (an admin URL; the Makefile provides one).
"""

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import http.client
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT.parent / "shared" / "bench" / "baseline-fastapi"
VENV = ROOT / ".venv-bench"
RELEASE = ROOT / "target" / "release"

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
DURATION = os.environ.get("BENCH_DURATION", "15s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
ROWS = int(os.environ.get("BENCH_ROWS", "200000"))
POOL = int(os.environ.get("BENCH_POOL", "32"))
AUDIENCE = "http://127.0.0.1/tasks/summarize"
INVOKER = "bench-invoker@local.iam.gserviceaccount.com"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


def psql(url, sql):
    run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], stdout=subprocess.DEVNULL)


def ensure_tools():
    if not shutil.which("wrk"):
        log("installing wrk")
        run(["apt-get", "update", "-qq"])
        run(["apt-get", "install", "-y", "-qq", "wrk"])
    if BASELINE.exists() and not (VENV / "bin" / "uvicorn").exists():
        log("creating .venv-bench for the baseline")
        run([sys.executable, "-m", "venv", str(VENV)])
        run([str(VENV / "bin" / "pip"), "install", "-q",
             "fastapi", "uvicorn", "asyncpg", "uvloop", "httptools"])


def prepare_database(admin):
    name = f"tasklane_bench_{os.getpid()}"
    psql(admin, f"DROP DATABASE IF EXISTS {name}")
    psql(admin, f"CREATE DATABASE {name}")
    url = with_database(admin, name)
    schema = (BASELINE / "schema.sql") if BASELINE.exists() else None
    psql(url, schema.read_text() if schema else
         "CREATE TABLE bench_meetings (id text PRIMARY KEY, "
         "status text NOT NULL DEFAULT 'pending', transcript text NOT NULL, summary text)")
    log(f"seeding {THREADS} x {ROWS} meetings")
    psql(url, "INSERT INTO bench_meetings (id, transcript) "
              "SELECT 'm-' || t || '-' || n, repeat('we agreed to ship on friday. ', 20) "
              f"FROM generate_series(0, {THREADS - 1}) t, generate_series(1, {ROWS}) n")
    psql(url, "INSERT INTO bench_meetings (id, transcript) SELECT 'warm-' || n, 'warm up' "
              "FROM generate_series(1, 100) n")
    env = dict(os.environ, DATABASE_URL=url)
    run([str(RELEASE / "tasklane"), "migrate"], env=env, stdout=subprocess.DEVNULL)
    return name, url


def reset(url):
    psql(url, "UPDATE bench_meetings SET status = 'pending', summary = NULL "
              "WHERE status <> 'pending'; TRUNCATE tasks, dead_letters, outbox")
    # VACUUM cannot run inside the transaction psql -c wraps statements in.
    psql(url, "VACUUM ANALYZE bench_meetings")
    psql(url, "VACUUM ANALYZE tasks")


def start_token_server():
    proc = subprocess.Popen(
        [str(RELEASE / "bench-token"), "--audience", AUDIENCE, "--email", INVOKER],
        stdout=subprocess.PIPE, text=True)
    values = {}
    while len(values) < 2:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("bench-token exited early")
        key, _, value = line.strip().partition("=")
        values[key] = value
    return proc, values["JWKS_URL"], values["TOKEN"]


def post(port, meeting, token):
    headers = {"Content-Type": "application/json", "X-CloudTasks-QueueName": "summarize",
               "X-CloudTasks-TaskName": f"warm-{meeting}", "X-CloudTasks-TaskRetryCount": "0"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", "/tasks/summarize", json.dumps({"meeting_id": meeting}), headers)
        return conn.getresponse().status
    finally:
        conn.close()


def start_service(kind, url, port, jwks, token, warm_id):
    """Start one service; return (process, ms from exec to first 200 push)."""
    if kind == "baseline":
        env = dict(os.environ, DATABASE_URL=url, POOL_MIN="4", POOL_MAX=str(POOL // 2))
        cmd = [str(VENV / "bin" / "uvicorn"), "app:app", "--app-dir", str(BASELINE),
               "--port", str(port), "--workers", "2", "--log-level", "warning"]
        tok = None
    else:
        env = dict(os.environ, DATABASE_URL=url, PORT=str(port), TASKLANE_AUDIENCE=AUDIENCE,
                   TASKLANE_INVOKERS=INVOKER, TASKLANE_JWKS_URL=jwks,
                   TASKLANE_DB_POOL_SIZE=str(POOL), RUST_LOG="warn",
                   TASKLANE_LOG_FORMAT="json")
        cmd = [str(RELEASE / "bench-fn"), "serve"]
        tok = token
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = started + 60
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{kind} exited with {proc.returncode} during start-up")
        try:
            if post(port, warm_id, tok) == 200:
                return proc, (time.perf_counter() - started) * 1000
        except OSError:
            pass
    raise SystemExit(f"{kind} did not answer within 60 s")


def rss_mb(proc):
    """Resident memory of a process and its children, in MB."""
    out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(proc.pid), "-p", str(proc.pid)],
                         capture_output=True, text=True).stdout
    return sum(int(x) for x in out.split()) / 1024


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wrk(port, token):
    env = dict(os.environ, BENCH_TOKEN=token or "")
    out = subprocess.run(
        ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{DURATION}", "-s",
         str(ROOT / "bench" / "push.lua"), f"http://127.0.0.1:{port}/tasks/summarize"],
        env=env, capture_output=True, text=True, check=True).stdout
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    return json.loads(line)


def one(kind, url, jwks, token, round_no):
    reset(url)
    port = free_port()
    proc, startup = start_service(kind, url, port, jwks, token, f"warm-{round_no * 2 + (kind == 'tasklane') + 1}")
    try:
        result = wrk(port, token if kind == "tasklane" else None)
        result["rss_mb"] = rss_mb(proc)
        result["startup_ms"] = startup
    finally:
        stop(proc)
    log(f"round {round_no + 1} {kind}: {result['rps']:.0f} tasks/s, p50 {result['p50_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms, non-2xx {result['non_2xx']}, rss {result['rss_mb']:.1f} MB")
    return result


def report(results):
    metrics = [("rps", "tasks/s", "{:.0f}"), ("p50_ms", "p50 ms", "{:.2f}"),
               ("p99_ms", "p99 ms", "{:.2f}"), ("rss_mb", "RSS MB (all processes)", "{:.1f}"),
               ("startup_ms", "start to first push ms", "{:.0f}"), ("non_2xx", "non-2xx", "{:.0f}")]
    kinds = [k for k in ("baseline", "tasklane") if results[k]]
    print(f"\nmake bench: {ROUNDS} rounds x {DURATION}, {CONNECTIONS} connections, "
          f"{THREADS} wrk threads, medians\n")
    header = "| metric | " + " | ".join(kinds) + (" | tasklane / baseline |" if len(kinds) == 2 else " |")
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for key, label, fmt in metrics:
        meds = {k: statistics.median(r[key] for r in results[k]) for k in kinds}
        row = f"| {label} | " + " | ".join(fmt.format(meds[k]) for k in kinds)
        if len(kinds) == 2:
            base = meds["baseline"]
            row += f" | {meds['tasklane'] / base:.2f}x" if base else " | n/a"
        print(row + " |")


def main():
    admin = os.environ.get("DATABASE_URL")
    if not admin:
        raise SystemExit("DATABASE_URL is not set (run through make bench)")
    ensure_tools()
    run(["cargo", "build", "-q", "--release", "-p", "tasklane", "-p", "tasklane-bench"])
    name, url = prepare_database(admin)
    token_proc, jwks, token = start_token_server()
    results = {"baseline": [], "tasklane": []}
    kinds = ["baseline", "tasklane"] if BASELINE.exists() else ["tasklane"]
    if not BASELINE.exists():
        log(f"baseline not found at {BASELINE}; measuring tasklane alone")
    try:
        for round_no in range(ROUNDS):
            order = kinds if round_no % 2 == 0 else list(reversed(kinds))
            for kind in order:
                results[kind].append(one(kind, url, jwks, token, round_no))
    finally:
        token_proc.terminate()
        psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    report(results)


if __name__ == "__main__":
    main()
