#!/usr/bin/env bash
# CLDR's plural rules with their samples (cldr-core) and the reference ICU MessageFormat
# implementation (intl-messageformat), pinned, from the npm registry, into
# .brandbase/i18n-ref. scripts/gen_plural_rules.py generates sql/i18n/05_plural_rules.sql
# from cldr-core; tests/test_i18n_cldr.py checks every CLDR sample and compares formatting
# with intl-messageformat run by node. Idempotent: skipped when the pinned versions are there.
set -euo pipefail
root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cldr_version="48.2.0"
imf_version="10.7.16"
prefix="${root_dir}/.brandbase/i18n-ref"
have() { [ -f "${prefix}/node_modules/$1/package.json" ] && grep -q "\"version\": \"$2\"" "${prefix}/node_modules/$1/package.json"; }
if have cldr-core "${cldr_version}" && have intl-messageformat "${imf_version}"; then exit 0; fi
command -v npm >/dev/null || { echo "i18n-reference: npm not found; install Node.js 20+ (Debian: apt-get install nodejs npm)" >&2; exit 1; }
echo "bootstrap: npm install cldr-core@${cldr_version} intl-messageformat@${imf_version}"
mkdir -p "${prefix}"
npm install --prefix "${prefix}" --no-audit --no-fund --loglevel=error \
    "cldr-core@${cldr_version}" "intl-messageformat@${imf_version}" >/dev/null
test -f "${prefix}/node_modules/cldr-core/supplemental/plurals.json"
test -f "${prefix}/node_modules/cldr-core/supplemental/ordinals.json"
