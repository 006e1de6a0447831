#!/usr/bin/env bash
# Unleash's client specification, pinned, from the npm registry, into
# .brandbase/unleash-spec (tests/test_flags.py runs its cases against flags.evaluate).
# Idempotent: skipped when the pinned version is already there.
set -euo pipefail
root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="6.1.0"
prefix="${root_dir}/.brandbase/unleash-spec"
pkg="${prefix}/node_modules/@unleash/client-specification"
if [ -f "${pkg}/package.json" ] && grep -q "\"version\": \"${version}\"" "${pkg}/package.json"; then exit 0; fi
command -v npm >/dev/null || { echo "unleash-spec: npm not found; install Node.js 20+ (Debian: apt-get install nodejs npm)" >&2; exit 1; }
echo "bootstrap: npm install @unleash/client-specification@${version}"
mkdir -p "${prefix}"
npm install --prefix "${prefix}" --no-audit --no-fund --loglevel=error "@unleash/client-specification@${version}" >/dev/null
test -f "${pkg}/specifications/index.json"
