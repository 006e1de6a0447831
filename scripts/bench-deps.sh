#!/usr/bin/env bash
# What the benchmarks need beyond the test suite: redis-server and redis-benchmark for the
# rate-limiter comparison (bench/gate.py), and the Python redis client it drives the same
# GCRA script with (one call per round trip, like psycopg for PostgreSQL). Debian, as
# root; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! { command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; }; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "bench-deps: install redis-server (with redis-benchmark) to compare against Redis" >&2
  else
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends redis-server redis-tools >/dev/null
  fi
fi
if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import redis' 2>/dev/null; then
  .venv/bin/python -m pip install -q -e '.[bench]'
fi
