#!/usr/bin/env bash
# The Supabase CLI, pinned, from the npm registry, into .brandbase/supabase-cli (the tests
# push the bundle with it). Idempotent: skipped when the pinned version is already there.
set -euo pipefail
root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="2.117.0"
prefix="${root_dir}/.brandbase/supabase-cli"
bin="${prefix}/node_modules/.bin/supabase"
if [ -x "${bin}" ] && [ "$("${bin}" --version 2>/dev/null)" = "${version}" ]; then exit 0; fi
command -v npm >/dev/null || { echo "supabase-cli: npm not found; install Node.js 20+ (Debian: apt-get install nodejs npm)" >&2; exit 1; }
echo "bootstrap: npm install supabase@${version}"
mkdir -p "${prefix}"
npm install --prefix "${prefix}" --no-audit --no-fund --loglevel=error "supabase@${version}" >/dev/null
"${bin}" --version >/dev/null
