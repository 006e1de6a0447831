#!/usr/bin/env bash
# What the benchmarks need beyond the test suite: redis-server and redis-benchmark for the
# rate-limiter comparison (bench/gate.py) and the Python redis client it drives the same
# GCRA script with (one call per round trip, like psycopg for PostgreSQL); supa_audit 0.3.1
# for the capture comparison (bench/capture.py). Debian, as root; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# supa_audit is a SQL-only extension that no package registry here carries: point
# SUPA_AUDIT_SRC at a checkout of its repository at tag v0.3.1 and it is installed into the
# server's extension directory (bench/capture.py measures it when it is there).
install_supa_audit() {
  local src="${SUPA_AUDIT_SRC:-}" pg_config sharedir
  pg_config="$(ls /usr/lib/postgresql/*/bin/pg_config 2>/dev/null | sort -V | head -1)"
  [ -n "${pg_config}" ] || return 0
  sharedir="$("${pg_config}" --sharedir)/extension"
  [ -f "${sharedir}/supa_audit--0.3.1.sql" ] && return 0
  if [ -z "${src}" ] || [ ! -f "${src}/supa_audit--0.3.1.sql" ] || [ ! -f "${src}/supa_audit.control" ]; then
    echo "bench-deps: supa_audit 0.3.1 not installed (set SUPA_AUDIT_SRC to a checkout of tag v0.3.1)" >&2
    return 0
  fi
  install -m 0644 "${src}/supa_audit.control" "${src}"/supa_audit--*.sql "${sharedir}/"
}
install_supa_audit

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
