"""The embedded default: a private PostgreSQL cluster under `.brandbase/`.

It mirrors a Supabase project: the app database `brandbase` is owned by a non-superuser
role with CREATEROLE, extensions are created beforehand by the superuser in schema
`extensions`, the server runs with the settings of Supabase's postgresql.conf that change
plans or behaviour (JIT on, UTC, logical WAL; SUPABASE_SETTINGS), and it listens on
loopback only. PostgreSQL refuses to run as
root, so when root starts it the server runs as an unprivileged OS user instead.

`brandbase local` (and so `make demo`) shapes the app database as Supabase shapes a
project (supabase_twin.sql: Supabase's roles with their attributes, a GoTrue-shaped
`auth`, `storage`, the realtime publication); the test suite's cluster keeps the plain
PostgreSQL shape, so the pack's own auth shim stays tested too.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
from psycopg import sql

APP_DB = "brandbase"
OWNER = "brandbase_owner"
SUPERUSER = "postgres"
FALLBACK_ROOT = Path("/var/lib/brandbase")
PRELOAD = ("pg_stat_statements", "pg_cron")
EXTENSIONS = ("pgcrypto", "pg_trgm", "pg_stat_statements", "pgtap", "hypopg")
# What a Supabase project's postgresql.conf (supabase/postgres, ansible/files/
# postgresql_config/postgresql.conf.j2) sets that changes plans or behaviour. JIT stays
# on, with PostgreSQL's thresholds, as there: a plan costed above jit_above_cost is
# compiled (~0.5 s for a big one), which the explain test guards against. Written out so
# that no other include can turn it off unnoticed.
SUPABASE_SETTINGS = {
    "jit": "on",
    "jit_provider": "'llvmjit'",
    "jit_above_cost": "100000",
    "jit_inline_above_cost": "500000",
    "jit_optimize_above_cost": "500000",
    "row_security": "on",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "wal_level": "logical",  # Realtime and logical replication; more WAL per write
    "max_wal_senders": "10",
    "max_replication_slots": "5",
    "max_slot_wal_keep_size": "1024",
}


class LocalError(Exception):
    pass


@dataclass
class State:
    pgdata: str
    port: int
    owner_password: str
    superuser_password: str
    run_as: str | None
    bindir: str


def find_bindir() -> Path:
    """The newest PostgreSQL server binaries: $BRANDBASE_PG_BINDIR, Debian's layout, PATH."""
    if env := os.environ.get("BRANDBASE_PG_BINDIR"):
        return Path(env)
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                    key=lambda p: int(Path(p).parts[-3]))
    if debian:
        return Path(debian[-1]).parent
    if initdb := shutil.which("initdb"):
        return Path(initdb).parent
    raise LocalError(
        "PostgreSQL server binaries not found (initdb). Install PostgreSQL 15+ "
        "(Debian: apt-get install postgresql-15) or set BRANDBASE_PG_BINDIR."
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shared_buffers_mb() -> int:
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return max(128, min(1024, memory_mb // 4))


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


TWIN_SQL = Path(__file__).with_name("supabase_twin.sql")


def shape_like_supabase(superuser_url: str, installer: str = OWNER) -> None:
    """Make a database Supabase-shaped (idempotent); `installer` plays Supabase's postgres."""
    with psycopg.connect(superuser_url, autocommit=True) as c:
        c.execute("select set_config('twin.installer', %s, false)", (installer,))
        c.execute(TWIN_SQL.read_text())


class LocalCluster:
    def __init__(self, home: Path, supabase: bool = False):
        self.home = home.resolve()
        self.state_file = self.home / "cluster.json"
        self.supabase = supabase  # shape the app database as Supabase does, when created

    # -- state -------------------------------------------------------------------------
    @property
    def state(self) -> State:
        if not self.state_file.exists():
            raise LocalError(f"no local cluster in {self.home}; run `brandbase local start`")
        return State(**json.loads(self.state_file.read_text()))

    def _save(self, state: State) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(asdict(state), indent=2))
        self.state_file.chmod(0o600)

    @property
    def exists(self) -> bool:
        return self.state_file.exists()

    def url(self, superuser: bool = False, dbname: str = APP_DB) -> str:
        s = self.state
        user, pw = (SUPERUSER, s.superuser_password) if superuser else (OWNER, s.owner_password)
        return f"postgresql://{user}:{pw}@127.0.0.1:{s.port}/{dbname}"

    # -- running commands as the server's OS user -----------------------------------------
    def _run(self, state: State, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(Path(state.bindir) / args[0]), *args[1:]]
        env = {**os.environ, "PGPASSFILE": str(Path(state.pgdata) / "pgpass")}
        kwargs: dict = {"env": env}
        if state.run_as:
            pw_ent = pwd.getpwnam(state.run_as)
            kwargs = {"user": pw_ent.pw_uid, "group": pw_ent.pw_gid, "extra_groups": [],
                      "cwd": "/", "env": {**env, "HOME": pw_ent.pw_dir}}
        proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
        if check and proc.returncode != 0:
            raise LocalError(f"{args[0]} failed ({proc.returncode}):\n{proc.stderr or proc.stdout}")
        return proc

    @staticmethod
    def _server_user() -> str | None:
        """None when we may run the server ourselves; else the unprivileged user to use."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "brandbase"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", "brandbase"], check=True)
        return "brandbase"

    def _pgdata_for(self, run_as: str | None) -> Path:
        """`.brandbase/pgdata`, unless the server's user cannot reach it (e.g. under /root)."""
        preferred = self.home / "pgdata"
        self.home.mkdir(parents=True, exist_ok=True)
        if run_as is None or _reachable_by(self.home, run_as):
            return preferred
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        return FALLBACK_ROOT / digest / "pgdata"

    # -- lifecycle --------------------------------------------------------------------------
    def start(self, log=print) -> State:
        state = self.state if self.exists else self._init(log)
        if self.running(state):
            return state
        if port_in_use(state.port):
            state.port = free_port()
            self._save(state)
        self._write_conf(state)  # every start: a newer brandbase's settings reach old clusters
        log(f"starting PostgreSQL on 127.0.0.1:{state.port} ({state.pgdata})")
        self._run(state, "pg_ctl", "-D", state.pgdata, "-l", f"{state.pgdata}/server.log",
                  "-w", "-t", "60", "start")
        return state

    def running(self, state: State | None = None) -> bool:
        state = state or self.state
        if not Path(state.pgdata, "PG_VERSION").exists():
            return False
        return self._run(state, "pg_ctl", "-D", state.pgdata, "status", check=False).returncode == 0

    def stop(self) -> None:
        state = self.state
        if self.running(state):
            self._run(state, "pg_ctl", "-D", state.pgdata, "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        if not self.exists:
            return
        state = self.state
        self.stop()
        shutil.rmtree(state.pgdata, ignore_errors=True)
        fallback = Path(state.pgdata).parent
        if fallback.parent == FALLBACK_ROOT:
            shutil.rmtree(fallback, ignore_errors=True)
        self.state_file.unlink(missing_ok=True)
        # Only this cluster's files: other clusters may live below this home (the test
        # suite's and the benchmarks' under .brandbase/).
        with contextlib.suppress(OSError):
            self.home.rmdir()

    def _init(self, log) -> State:
        run_as = self._server_user()
        bindir = find_bindir()
        pgdata = self._pgdata_for(run_as)
        if pgdata.exists():
            shutil.rmtree(pgdata)
        pgdata.mkdir(parents=True, mode=0o700)
        state = State(str(pgdata), free_port(), secrets.token_urlsafe(18),
                      secrets.token_urlsafe(18), run_as, str(bindir))
        if run_as:
            pw_ent = pwd.getpwnam(run_as)
            os.chown(pgdata, pw_ent.pw_uid, pw_ent.pw_gid)
            log(f"running as root: the server runs as OS user '{run_as}'")
        log(f"initdb {pgdata}")
        with tempfile.NamedTemporaryFile("w", delete=False, dir=pgdata.parent) as pwfile:
            pwfile.write(state.superuser_password)
        try:
            if run_as:
                os.chown(pwfile.name, pwd.getpwnam(run_as).pw_uid, -1)
            self._run(state, "initdb", "-D", str(pgdata), "-U", SUPERUSER, "-E", "UTF8",
                      "--locale=C.UTF-8", "--auth=scram-sha-256", f"--pwfile={pwfile.name}")
        finally:
            os.unlink(pwfile.name)
        self._write_conf(state)
        self._save(state)
        self._run(state, "pg_ctl", "-D", state.pgdata, "-l", f"{state.pgdata}/server.log",
                  "-w", "-t", "60", "start")
        self._provision(state, log)
        return state

    def _write_conf(self, state: State) -> None:
        libdir = self._pkglibdir(state)
        preload = [lib for lib in PRELOAD if libdir and Path(libdir, f"{lib}.so").exists()]
        lines = [
            "listen_addresses = '127.0.0.1'",
            f"port = {state.port}",
            "unix_socket_directories = ''",
            f"shared_preload_libraries = '{','.join(preload)}'",
            f"cron.database_name = '{APP_DB}'",
            "max_connections = 200",
            # initdb's 128 MB is sized for tiny machines; a quarter of memory up to 1 GB is
            # the usual starting point, and it raises the derived wal_buffers from 4 MB to
            # 16 MB, which bulk writes (a batch of 20,000 jobs is ~5 MB of WAL) fill.
            f"shared_buffers = {shared_buffers_mb()}MB",
            "log_min_messages = warning",
            *(f"{name} = {value}" for name, value in SUPABASE_SETTINGS.items()),
        ]
        # pg_cron runs each job over a libpq connection as the job's owner; the server
        # finds the owner's password here (PGPASSFILE, set for pg_ctl, inside 0700 pgdata).
        pgpass = Path(state.pgdata) / "pgpass"
        pgpass.touch(mode=0o600)
        pgpass.write_text(f"*:*:*:{OWNER}:{state.owner_password}\n")
        conf = Path(state.pgdata) / "brandbase.conf"
        conf.write_text("\n".join(lines) + "\n")
        main = Path(state.pgdata) / "postgresql.conf"
        text = main.read_text()
        if "include_if_exists = 'brandbase.conf'" not in text:
            main.write_text(text + "\ninclude_if_exists = 'brandbase.conf'\n")
        if state.run_as:
            pw_ent = pwd.getpwnam(state.run_as)
            for path in (conf, pgpass):
                os.chown(path, pw_ent.pw_uid, pw_ent.pw_gid)

    @staticmethod
    def _pkglibdir(state: State) -> str:
        pkglib = subprocess.run([str(Path(state.bindir) / "pg_config"), "--pkglibdir"],
                                capture_output=True, text=True)
        return pkglib.stdout.strip() if pkglib.returncode == 0 else ""

    def _provision(self, state: State, log) -> None:
        """Create the owner role, the app database and the extensions, as a superuser would."""
        with psycopg.connect(self.url(superuser=True, dbname="postgres"), autocommit=True) as c:
            c.execute(sql.SQL(
                "create role {} login createrole password {}"
            ).format(sql.Identifier(OWNER), sql.Literal(state.owner_password)))
            c.execute(sql.SQL("grant pg_read_all_stats, pg_signal_backend to {}").format(
                sql.Identifier(OWNER)))
            c.execute(sql.SQL("create database {} owner {}").format(
                sql.Identifier(APP_DB), sql.Identifier(OWNER)))
        missing = prepare_database(self.url(superuser=True), OWNER)
        if self.supabase:
            shape_like_supabase(self.url(superuser=True))
        for ext in missing:
            log(f"note: extension {ext} is not installed; the features that use it are off")


    def create_database(self, name: str, template: str | None = None) -> str:
        """A (re)created database owned by the non-superuser owner, prepared as a
        superuser would (extensions in place); returns the owner's DSN for it."""
        ident = sql.Identifier(name)
        clone = sql.SQL("template {}").format(sql.Identifier(template)) if template else sql.SQL("")
        with psycopg.connect(self.url(superuser=True, dbname="postgres"), autocommit=True) as c:
            c.execute(sql.SQL("drop database if exists {} with (force)").format(ident))
            c.execute(sql.SQL("create database {} owner {} {}").format(
                ident, sql.Identifier(OWNER), clone))
        if not template:
            prepare_database(self.url(superuser=True, dbname=name), OWNER)
        return self.url(dbname=name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.url(superuser=True, dbname="postgres"), autocommit=True) as c:
            c.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _reachable_by(path: Path, user: str) -> bool:
    pw_ent = pwd.getpwnam(user)
    probe = subprocess.run(["test", "-x", str(path)], user=pw_ent.pw_uid,
                           group=pw_ent.pw_gid, extra_groups=[], cwd="/")
    return probe.returncode == 0


def prepare_database(superuser_url: str, owner: str) -> list[str]:
    """What a superuser (or the Supabase dashboard) does before brandbase installs:
    schema `extensions`, the extensions there, pg_cron usage. Returns missing extensions."""
    missing = []
    with psycopg.connect(superuser_url, autocommit=True) as c:
        db = c.info.dbname
        c.execute("create schema if not exists extensions")
        c.execute(sql.SQL("grant usage on schema extensions to public"))
        available = {r[0] for r in c.execute("select name from pg_available_extensions")}
        for ext in EXTENSIONS:
            if ext in available:
                c.execute(sql.SQL("create extension if not exists {} with schema extensions")
                          .format(sql.Identifier(ext)))
            else:
                missing.append(ext)
        cron_db = c.execute("select current_setting('cron.database_name', true)").fetchone()[0]
        preloaded = c.execute("select current_setting('shared_preload_libraries')").fetchone()[0]
        if "pg_cron" in preloaded and cron_db == db:
            # Where Supabase puts it (its objects live in schema cron either way); in
            # public it would be a splinter `extension_in_public` finding.
            c.execute("create extension if not exists pg_cron with schema pg_catalog")
            c.execute(sql.SQL("grant usage on schema cron to {}").format(sql.Identifier(owner)))
        elif "pg_cron" not in preloaded:
            missing.append("pg_cron")
        c.execute(sql.SQL("alter database {} set search_path = \"$user\", public, extensions")
                  .format(sql.Identifier(db)))
    return missing
