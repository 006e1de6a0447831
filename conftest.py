"""Test fixtures: one real PostgreSQL cluster (brandbase's own local cluster, root-safe),
a migrated template database built as a non-superuser owner, and per-test clones of it
through pytest-postgresql. pytest-pgtap runs pgtap/**/test_*.sql on a clone as the owner.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from pytest_postgresql import factories
from pytest_postgresql.executors import NoopExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from brandbase import migrate, pack
from brandbase.local import OWNER, LocalCluster

ROOT = Path(__file__).resolve().parent
TEST_DB = "brandbase_test"  # pytest-postgresql clones per test from TEST_DB + "_tmpl"


@pytest.fixture(scope="session")
def cluster() -> LocalCluster:
    c = LocalCluster(ROOT / ".brandbase" / "test-cluster")
    c.destroy()
    c.start(log=lambda m: None)
    yield c
    c.destroy()


@pytest.fixture(scope="session")
def new_database(cluster):
    """Factory: a fresh, empty database owned by the owner (extensions ready)."""
    made = []

    def make(template: str | None = None) -> str:
        name = f"t_{uuid.uuid4().hex[:10]}"
        made.append(name)
        return cluster.create_database(name, template)

    yield make
    for name in made:
        cluster.drop_database(name)


@pytest.fixture(scope="session")
def pg_server(cluster) -> NoopExecutor:
    """The server as pytest-postgresql sees it, with the migrated template in place."""
    state = cluster.state
    executor = NoopExecutor(host="127.0.0.1", port=state.port, user="postgres",
                            password=state.superuser_password, dbname=TEST_DB, options="")
    template_dsn = cluster.create_database(executor.template_dbname)
    with psycopg.connect(template_dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load(ROOT))
        conn.execute((ROOT / "pgtap" / "_helpers" / "helpers.sql").read_text())
    with psycopg.connect(cluster.url(superuser=True, dbname="postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("alter database {} is_template true").format(
            sql.Identifier(executor.template_dbname)))
    return executor


# Per test: a clone of the migrated template, connected as the superuser.
db = factories.postgresql("pg_server")


def give_to_owner(conn: psycopg.Connection, dbname: str) -> None:
    """Clones belong to whoever cloned them; hand them to the owner, as on Supabase."""
    conn.execute(sql.SQL("alter database {} owner to {}").format(
        sql.Identifier(dbname), sql.Identifier(OWNER)))
    conn.commit()


@pytest.fixture
def owner_dsn(db, cluster) -> str:
    """The per-test clone's DSN for the non-superuser owner (the role Supabase gives you)."""
    give_to_owner(db, db.info.dbname)
    return cluster.url(dbname=db.info.dbname)


@pytest.fixture(scope="session")
def pgtap_connection(pg_server, cluster):
    """pytest-pgtap's connection: a clone of the template, as the non-superuser owner."""
    janitor = DatabaseJanitor(user=pg_server.user, host=pg_server.host, port=pg_server.port,
                              dbname="brandbase_pgtap", template_dbname=pg_server.template_dbname,
                              password=pg_server.password)
    with janitor:
        with psycopg.connect(cluster.url(superuser=True, dbname="postgres")) as su:
            give_to_owner(su, "brandbase_pgtap")
        with psycopg.connect(cluster.url(dbname="brandbase_pgtap")) as conn:
            conn.execute("set search_path = public, extensions")
            conn.commit()
            yield conn
