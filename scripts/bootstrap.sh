#!/usr/bin/env bash
# Bootstrap everything brandbase needs on a fresh Debian machine, idempotently:
#   1. PostgreSQL server packages with pg_cron, pgTAP, hypopg and plpgsql_check (`supabase
#      db lint` needs it), and PgBouncer (the pooler tests run one in transaction mode, as
#      Supabase's port 6543) (apt, only as root);
#      Chromium too: module notify's browser test opens an EventSource page in it headless;
#   2. a virtualenv in .venv with the package and its dev dependencies.
# Re-running it is cheap: each step is skipped when already satisfied.
set -euo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pg_major="${BRANDBASE_PG_MAJOR:-15}"
venv="${root_dir}/.venv"

missing_debs() {
  local pkg
  for pkg in "postgresql-${pg_major}" "postgresql-${pg_major}-cron" \
             "postgresql-${pg_major}-pgtap" "postgresql-${pg_major}-hypopg" \
             chromium \
             "postgresql-${pg_major}-plpgsql-check" pgbouncer; do
    dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q 'ok installed' || echo "${pkg}"
  done
}

install_postgres() {
  command -v dpkg-query >/dev/null || { echo "bootstrap: not Debian; install PostgreSQL ${pg_major}+ with pg_cron and pgTAP yourself (see README)"; return; }
  local missing
  missing="$(missing_debs | tr '\n' ' ')"
  [ -z "${missing// }" ] && return
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: missing ${missing}- run as root or: sudo apt-get install ${missing}" >&2
    return
  fi
  echo "bootstrap: apt-get install ${missing}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends ${missing} >/dev/null
  # The package's own service is not wanted: the tests start PgBouncer with their own
  # configuration and stop it again.
  if [[ " ${missing} " == *" pgbouncer "* ]] && command -v service >/dev/null; then
    service pgbouncer stop >/dev/null 2>&1 || true
  fi
}

install_venv() {
  local stamp="${venv}/.brandbase-stamp" want
  want="$(cat "${root_dir}/pyproject.toml" | sha256sum | cut -c1-16)"
  if [ -f "${stamp}" ] && [ "$(cat "${stamp}")" = "${want}" ]; then return; fi
  echo "bootstrap: creating ${venv}"
  python3 -m venv "${venv}"
  "${venv}/bin/pip" install -q --disable-pip-version-check --upgrade pip
  "${venv}/bin/pip" install -q --disable-pip-version-check -e "${root_dir}[dev]"
  echo "${want}" > "${stamp}"
}

install_postgres
install_venv
