"""`brandbase local` against real PostgreSQL: as root (the server drops to an
unprivileged OS user) and as a normal user."""

from __future__ import annotations

import os
import pwd
import site
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from tests.helpers import ROOT, run_cli

is_root = os.geteuid() == 0
TEST_USER = "brandbase-test"


def lifecycle(home: Path, python: str = sys.executable, **kwargs) -> dict:
    """start, status, query, stop, status, start again, destroy; returns what it saw."""
    seen = {}
    started = run_cli("--home", str(home), "local", "start", python=python, **kwargs)
    assert started.returncode == 0, started.stderr
    url = started.stdout.strip().splitlines()[-1]
    seen["start_log"] = started.stderr
    status = run_cli("--home", str(home), "local", "status", python=python, **kwargs)
    assert status.returncode == 0 and status.stdout.startswith("running"), status.stdout
    with psycopg.connect(url) as conn:
        seen["user"], seen["superuser"] = conn.execute(
            "select current_user, rolsuper from pg_roles where rolname = current_user").fetchone()
        seen["listen"] = conn.execute("show listen_addresses").fetchone()[0]
        # Shaped as a Supabase project: its role attributes and a GoTrue-shaped auth.
        seen["supabase"] = conn.execute(
            "select (select rolbypassrls from pg_roles where rolname = 'service_role'), "
            "(select rolcanlogin from pg_roles where rolname = 'authenticator'), "
            "(select nspowner::regrole::text from pg_namespace where nspname = 'auth'), "
            "to_regclass('auth.identities') is not null").fetchone()
    seen["pgdata"] = status.stdout.split("data=")[1].split()[0]
    seen["pgdata_uid"] = Path(seen["pgdata"]).stat().st_uid
    assert run_cli("--home", str(home), "local", "stop", python=python, **kwargs).returncode == 0
    stopped = run_cli("--home", str(home), "local", "status", python=python, **kwargs)
    assert stopped.returncode == 1 and stopped.stdout.startswith("stopped")
    assert run_cli("--home", str(home), "local", "start", python=python, **kwargs).returncode == 0
    with psycopg.connect(url) as conn:  # same port and password after a restart
        assert conn.execute("select 1").fetchone()[0] == 1
    destroyed = run_cli("--home", str(home), "local", "destroy", "--yes", python=python, **kwargs)
    assert destroyed.returncode == 0, destroyed.stderr
    assert not Path(seen["pgdata"]).exists() and not (home / "cluster.json").exists()
    return seen


@pytest.mark.skipif(not is_root, reason="needs root")
def test_as_root_the_server_runs_as_an_unprivileged_user():
    home = ROOT / ".brandbase" / f"test-local-{uuid.uuid4().hex[:8]}"
    seen = lifecycle(home)
    assert "the server runs as OS user 'postgres'" in seen["start_log"]
    assert seen["pgdata_uid"] == pwd.getpwnam("postgres").pw_uid
    assert seen["pgdata"] == str(home / "pgdata")
    assert seen["user"] == "brandbase_owner" and seen["superuser"] is False
    assert seen["listen"] == "127.0.0.1"
    assert seen["supabase"] == (True, True, "supabase_auth_admin", True)


@pytest.mark.skipif(not is_root, reason="needs root")
def test_as_root_a_home_the_server_user_cannot_reach_moves_the_data(tmp_path):
    os.chmod(tmp_path.parent, 0o700)  # like /root: postgres cannot traverse it
    seen = lifecycle(tmp_path / "bb")
    assert seen["pgdata"].startswith("/var/lib/brandbase/")


def _as_normal_user() -> tuple[str, dict]:
    """The interpreter and subprocess arguments that run the CLI as an ordinary user.

    As root, that user may not be able to run root's interpreter (pyenv under /root), so
    the system's python3 of the same version runs our sources and the venv's packages."""
    if not is_root:
        return sys.executable, {}
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        TEST_USER], check=True)
    ent = pwd.getpwnam(TEST_USER)
    as_user = {"user": ent.pw_uid, "group": ent.pw_gid, "extra_groups": [], "cwd": "/tmp",
               "env": {**os.environ, "HOME": "/tmp",
                       "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *site.getsitepackages()])}}
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for python in (sys.executable, f"/usr/bin/python{version}"):
        try:
            probe = subprocess.run([python, "-c", "import brandbase.cli, psycopg"],
                                   capture_output=True, **as_user)
        except PermissionError:
            continue
        if probe.returncode == 0:
            return python, as_user
    pytest.skip(f"no Python {version} that {TEST_USER} can run with the checkout at {ROOT}")


def test_as_a_normal_user_the_server_runs_as_that_user():
    python, kwargs = _as_normal_user()
    home = ROOT / ".brandbase" / f"test-user-{uuid.uuid4().hex[:8]}"
    home.parent.mkdir(exist_ok=True)
    home.mkdir()
    if kwargs:
        os.chown(home, kwargs["user"], kwargs["group"])
    seen = lifecycle(home, python=python, **kwargs)
    home.rmdir()
    assert "runs as OS user" not in seen["start_log"]
    assert seen["pgdata_uid"] == kwargs.get("user", os.geteuid())
    assert seen["superuser"] is False


def test_commands_without_a_running_cluster_say_what_to_do(tmp_path):
    result = run_cli("--home", str(tmp_path / "none"), "status", env={
        k: v for k, v in os.environ.items() if k != "DATABASE_URL"})
    assert result.returncode == 1
    assert "the local cluster is not running" in result.stderr and "brandbase up" in result.stderr


def test_the_cluster_runs_with_supabase_settings_jit_on(cluster):
    from brandbase.local import SUPABASE_SETTINGS

    with psycopg.connect(cluster.url(superuser=True)) as conn:
        shown = {name: conn.execute(f"show {name}").fetchone()[0] for name in SUPABASE_SETTINGS}
        jit_available = conn.execute("select pg_jit_available()").fetchone()[0]
    assert shown["jit"] == "on" and shown["jit_above_cost"] == "100000"
    assert shown["timezone"] == "UTC" and shown["wal_level"] == "logical"
    assert shown["row_security"] == "on"
    assert jit_available  # Debian's server ships llvmjit: plans above the cost get compiled


def test_pg_cron_is_created_where_supabase_puts_it(cluster):
    with psycopg.connect(cluster.url()) as conn:
        row = conn.execute("select extnamespace::regnamespace::text from pg_extension "
                           "where extname = 'pg_cron'").fetchone()
    if row is None:
        pytest.skip("pg_cron not installed")
    assert row[0] == "pg_catalog"
