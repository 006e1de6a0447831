"""Through a real PgBouncer in transaction mode (Debian's `pgbouncer`, as Supabase's port
6543 pooler behaves): the app's request path works; `brandbase migrate` and
`brandbase worker` refuse with a message naming the session/direct URL; the engine's own
guard stops a run whose transactions leave the session holding the lock. A session-mode
PgBouncer (Supabase's port 5432 pooler) is accepted."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from tests.helpers import ROOT, run_cli, scalar

from brandbase import migrate, pack
from brandbase.db import transaction_pooler
from brandbase.local import OWNER, free_port

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
pytestmark = pytest.mark.skipif(not Path(PGBOUNCER).exists(),
                                reason="pgbouncer not installed (scripts/bootstrap.sh installs it)")


@pytest.fixture(scope="module")
def bouncer(cluster):
    """Factory: start a PgBouncer in `mode` in front of the test cluster; returns a function
    giving the pooler DSN of a database. Each one is stopped at teardown."""
    state = cluster.state
    started: list[tuple[subprocess.Popen, str]] = []

    def start(mode: str = "transaction", pool_size: int = 2):
        # The pooler's files must be readable by the OS user it runs as (never root).
        folder = tempfile.mkdtemp(prefix="bb-pgbouncer-")
        port = free_port()
        Path(folder, "userlist.txt").write_text(f'"{OWNER}" "{state.owner_password}"\n')
        Path(folder, "pgbouncer.ini").write_text("\n".join([
            "[databases]",
            f"* = host=127.0.0.1 port={state.port}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "auth_type = trust",  # client side; the server login uses the userlist password
            f"auth_file = {folder}/userlist.txt",
            f"pool_mode = {mode}",
            f"default_pool_size = {pool_size}",
            "max_client_conn = 200",
            f"logfile = {folder}/pgbouncer.log",
            f"pidfile = {folder}/pgbouncer.pid",
            "ignore_startup_parameters = extra_float_digits",
        ]) + "\n")
        kwargs: dict = {}
        if os.geteuid() == 0:
            user = pwd.getpwnam(cluster.state.run_as or "postgres")
            for path in [folder, *Path(folder).iterdir()]:
                os.chown(path, user.pw_uid, user.pw_gid)
            kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "cwd": "/"}
        proc = subprocess.Popen([PGBOUNCER, f"{folder}/pgbouncer.ini"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, **kwargs)
        started.append((proc, folder))
        deadline = time.monotonic() + 15
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                log = Path(folder, "pgbouncer.log")
                raise RuntimeError(f"pgbouncer did not start: {proc.stdout.read().decode()}"
                                   f"{log.read_text() if log.exists() else ''}")
            time.sleep(0.05)
        return lambda dbname: (f"postgresql://{OWNER}:{state.owner_password}@127.0.0.1:{port}/"
                               f"{dbname}")

    yield start
    for proc, folder in started:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(new_database) -> tuple[str, str, str]:
    """A migrated database with one user who owns one brand: (dsn, user id, brand id)."""
    dsn = new_database()
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load(ROOT))
        user = str(conn.execute("insert into auth.users (email) values ('pool@acme.test') "
                                "returning id").fetchone()[0])
        with conn.transaction():
            act_as(conn, user)
            brand = str(conn.execute("select (api.create_brand('pooled', 'Pooled')).id").fetchone()[0])
    return dsn, user, brand


def act_as(conn: psycopg.Connection, user: str) -> None:
    """What PostgREST does at the start of each request's transaction."""
    claims = json.dumps({"sub": user, "role": "authenticated", "aud": "authenticated"})
    conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
    conn.execute("set local role authenticated")


def dbname(dsn: str) -> str:
    return dsn.rsplit("/", 1)[1]


def test_the_probe_tells_transaction_pooling_from_direct_and_session_pooled(bouncer, installed):
    dsn = installed[0]
    assert transaction_pooler(dsn) is None
    assert transaction_pooler(bouncer("session")(dbname(dsn))) is None
    reason = transaction_pooler(bouncer("transaction")(dbname(dsn)))
    assert reason and "server process" in reason
    single = transaction_pooler(bouncer("transaction", pool_size=1)(dbname(dsn)))
    assert single and "same server process" in single
    # A session pool with one server: the probe's second connection cannot get one while
    # the first keeps its session; it gives up after `wait` instead of hanging.
    started = time.monotonic()
    assert transaction_pooler(bouncer("session", pool_size=1)(dbname(dsn)), wait=1) is None
    assert time.monotonic() - started < 10
    assert "6543" in transaction_pooler("postgresql://u:p@db.example.invalid:6543/postgres")


def test_app_requests_work_through_a_transaction_pooler(bouncer, installed):
    dsn, user, brand = installed
    pooled = bouncer("transaction")(dbname(dsn))
    # psycopg's server-side prepared statements do not survive a transaction pooler
    # (the app's PostgREST runs with prepared statements off there, as on Supabase).
    with psycopg.connect(pooled, prepare_threshold=None) as a, \
         psycopg.connect(pooled, prepare_threshold=None) as b:
        pids = set()
        for i in range(12):
            conn = (a, b)[i % 2]
            with conn.transaction():
                act_as(conn, user)
                pids.add(conn.execute("select pg_backend_pid()").fetchone()[0])
                rows = conn.execute("select id::text, slug from api.my_brands").fetchall()
                assert rows == [(brand, "pooled")]
                assert conn.execute("select count(*) from api.brand_members where brand_id = %s",
                                    (brand,)).fetchone()[0] == 1
            conn.commit()
            # Nothing of the request outlives its transaction on the shared server.
            assert conn.execute("select current_user, coalesce(current_setting("
                                "'request.jwt.claims', true), '')").fetchone() == (OWNER, "")
            conn.commit()
        with a.transaction():  # a write through the pooler, as a request
            act_as(a, user)
            a.execute("select api.update_brand(%s, name => 'Pooled Inc')", (brand,))
    assert scalar(dsn, "select name from brand.brands where id = %s", (brand,)) == "Pooled Inc"
    assert len(pids) >= 1


def test_migrate_refuses_a_transaction_pooler_and_installs_nothing(bouncer, new_database):
    dsn = new_database()
    result = run_cli("migrate", "--dsn", bouncer("transaction")(dbname(dsn)))
    assert result.returncode == 1
    assert "goes through a transaction-mode pooler" in result.stderr, result.stderr
    assert "5432" in result.stderr and "session" in result.stderr
    assert "***@" in result.stderr and "Traceback" not in result.stderr
    assert scalar(dsn, "select to_regnamespace('brandbase') is null")
    up = run_cli("up", "--dsn", bouncer("transaction")(dbname(dsn)))
    assert up.returncode == 1 and "transaction-mode pooler" in up.stderr


def test_migrate_through_a_session_pooler_works(bouncer, new_database):
    dsn = new_database()
    result = run_cli("migrate", "--dsn", bouncer("session")(dbname(dsn)))
    assert result.returncode == 0, result.stderr
    assert scalar(dsn, "select count(*) > 0 from brandbase.migrations")


def test_the_engine_stops_when_a_file_would_run_outside_the_locking_session(bouncer, new_database):
    dsn = new_database()
    pooled = bouncer("transaction")(dbname(dsn))
    other = psycopg.connect(pooled, prepare_threshold=None)
    seen: list[str] = []

    def after(f, ms):
        seen.append(f.name)
        if len(seen) == 1:  # another client takes the lock's server for a while
            other.execute("select 1")

    with other, psycopg.connect(pooled, autocommit=True, prepare_threshold=None) as conn:
        with pytest.raises(migrate.SessionMoved, match="transaction pooler"):
            migrate.migrate(conn, pack.load(ROOT), on_file=after)
        other.rollback()
    assert len(seen) == 1  # the second file did not run
    assert scalar(dsn, "select count(*) from brandbase.migrations") == 1


def test_worker_refuses_a_transaction_pooler_with_the_url_to_use(bouncer, installed):
    result = run_cli("worker", "--dsn", bouncer("transaction")(dbname(installed[0])), "--drain")
    assert result.returncode == 1
    err = result.stderr
    assert "goes through a transaction-mode pooler" in err and "Traceback" not in err
    assert "DuplicatePreparedStatement" not in err
    assert "5432" in err and "6543" in err
