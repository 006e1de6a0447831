#!/usr/bin/env bash
# What the benchmarks need beyond the test suite: redis-server and redis-benchmark for the
# rate-limiter comparison (bench/gate.py). Debian, as root; idempotent.
set -euo pipefail
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "bench-deps: install redis-server (with redis-benchmark) to compare against Redis" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends redis-server redis-tools >/dev/null
