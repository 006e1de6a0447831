#!/usr/bin/env bash
# The peer job systems that bench/jobs.py compares against (bench/peers/), installed into
# bench/.peers/ and nowhere else, idempotently (a re-run with nothing to do is instant):
#   venv/   procrastinate, pgqueuer and pgmq's Python client (whose wheel ships pgmq.sql),
#           orjson for the pgmq runner's JSON encoding
#   node/   graphile-worker 0.17.x, pg-boss 10.x and pg
#   pgmq.sql  pgmq's SQL-only install script, copied out of that wheel
set -euo pipefail

root_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="${root_dir}/bench/.peers"
python="${PYTHON:-python3}"
py_specs=(procrastinate pgqueuer pgmq "psycopg[binary,pool]" asyncpg orjson)
node_specs=(graphile-worker@~0.17 pg-boss@^10 pg@^8)

stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

install_venv() {
  local venv="${peers}/venv" stamp="${peers}/venv/.peers-stamp" want="${py_specs[*]}"
  stamp_ok "${stamp}" "${want}" && return
  echo "bench-peers: creating ${venv}"
  rm -rf "${venv}"
  "${python}" -m venv "${venv}"
  "${venv}/bin/python" -m pip install -q --upgrade pip
  "${venv}/bin/python" -m pip install -q "${py_specs[@]}"
  echo "${want}" >"${stamp}"
}

install_node() {
  local dir="${peers}/node" stamp="${peers}/node/.peers-stamp" want="${node_specs[*]}"
  stamp_ok "${stamp}" "${want}" && return
  command -v node >/dev/null && command -v npm >/dev/null \
    || { echo "bench-peers: node and npm are needed for graphile-worker and pg-boss" >&2; return; }
  echo "bench-peers: npm install ${want} into ${dir}"
  mkdir -p "${dir}"
  [ -f "${dir}/package.json" ] || echo '{"private": true}' >"${dir}/package.json"
  npm install --prefix "${dir}" --no-audit --no-fund --loglevel=error "${node_specs[@]}" >/dev/null
  echo "${want}" >"${stamp}"
}

install_pgmq_sql() {
  local src
  src="$("${peers}/venv/bin/python" -c \
    'from importlib.resources import files; print(files("pgmq") / "sql" / "pgmq.sql")')"
  cmp -s "${src}" "${peers}/pgmq.sql" || cp "${src}" "${peers}/pgmq.sql"
}

mkdir -p "${peers}"
install_venv
install_node
install_pgmq_sql
