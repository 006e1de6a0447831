"""The jobs module with real `brandbase worker` processes against a real server: draining,
exactly-once completion when workers are SIGKILLed mid-batch, retries to dead, graceful
SIGTERM, NOTIFY wake-up, SQL handlers and schedules without pg_cron."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from tests.helpers import ROOT, run_cli, scalar

from brandbase import migrate, pack
from brandbase import worker as worker_mod

HANDLERS = "jobs_handlers:HANDLERS"


def setup_queues(dsn: str, lease: str = "5 minutes") -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table public.executions (job_id bigint not null, pid integer not null)")
        conn.execute("select jobs.create_queue('record', lease => %s::interval)", (lease,))
        conn.execute("select jobs.create_queue('explode', max_attempts => 3, "
                     "backoff_base => '50 ms', backoff_max => '100 ms')")
        conn.execute("select jobs.create_queue('blocking')")


def enqueue(dsn: str, queue: str, payloads: list[dict]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select count(*) from jobs.enqueue_many(%s, %s)",
                     (queue, psycopg.types.json.Json(payloads)))


def start_worker(dsn: str, *args: str, handlers: str | None = HANDLERS) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests"), "JOBS_TEST_DSN": dsn}
    return subprocess.Popen([sys.executable, "-m", "brandbase.cli", "worker", "--dsn", dsn,
                             *(["--handlers", handlers] if handlers else []), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(dsn: str, query: str, expected, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while (value := scalar(dsn, query)) != expected:
        if time.monotonic() > deadline:
            pytest.fail(f"{query!r} is {value!r}, expected {expected!r} within {timeout} s")
        time.sleep(0.1)
    return value


def stop(proc: subprocess.Popen, signal_first: bool = True) -> tuple[int, str]:
    if signal_first and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def test_worker_drains_a_queue_and_archives_results(owner_dsn):
    setup_queues(owner_dsn)
    enqueue(owner_dsn, "record", [{"n": i} for i in range(300)])
    enqueue(owner_dsn, "blocking", [{"numbers": [1, 2, 3]}])
    code, err = stop(start_worker(owner_dsn, "--drain", "--concurrency", "7"), signal_first=False)
    assert code == 0, err
    assert "301 job(s) settled" in err
    assert scalar(owner_dsn, "select count(*) from jobs.job_queue") == 0
    assert scalar(owner_dsn, "select count(*) from jobs.job_history where state = 'succeeded'") == 301
    assert scalar(owner_dsn, "select result from jobs.job_history where queue = 'blocking'") == {"sum": 6}
    assert scalar(owner_dsn, "select count(distinct job_id) from public.executions") == 300


def test_sigkill_mid_batch_loses_nothing_and_completes_each_job_once(owner_dsn):
    setup_queues(owner_dsn, lease="2 seconds")
    jobs = 600
    enqueue(owner_dsn, "record", [{"sleep": 0.01} for _ in range(jobs)])
    workers = [start_worker(owner_dsn, "--concurrency", "10", "--poll", "0.2") for _ in range(3)]
    try:
        wait_for(owner_dsn, "select count(*) >= 100 from jobs.job_history", True)
        victim = workers[0]
        victim.kill()  # SIGKILL: no release, no settle, leases left behind
        victim.wait()
        held = scalar(owner_dsn, "select count(*) from jobs.job_queue where locked_by is not null")
        wait_for(owner_dsn, "select count(*) from jobs.job_history", jobs, timeout=90)
    finally:
        for proc in workers[1:]:
            code, err = stop(proc)
            assert code == 0, err
    assert held > 0, "the killed worker should have died holding leases"
    assert scalar(owner_dsn, "select count(distinct id) from jobs.job_history") == jobs
    assert scalar(owner_dsn, "select count(*) from jobs.job_history where state <> 'succeeded'") == 0
    # At least once: every job ran; the killed worker's in-flight jobs may have run twice.
    assert scalar(owner_dsn, "select count(distinct job_id) from public.executions") == jobs


def test_a_failing_handler_is_retried_with_backoff_then_dead(owner_dsn):
    setup_queues(owner_dsn)
    enqueue(owner_dsn, "explode", [{"x": 1}])
    proc = start_worker(owner_dsn, "--poll", "0.05")
    try:
        wait_for(owner_dsn, "select count(*) from jobs.job_history where state = 'dead'", 1, timeout=30)
    finally:
        stop(proc)
    errors = scalar(owner_dsn, "select errors from jobs.job_history")
    assert [e["attempt"] for e in errors] == [1, 2, 3]
    assert all("RuntimeError: cannot handle {'x': 1}" in e["error"] for e in errors)
    assert scalar(owner_dsn, "select count(*) from public.executions") == 3
    gaps = scalar(owner_dsn, "select array_agg(extract(epoch from (e->>'at')::timestamptz) "
                             "order by (e->>'attempt')::int) from jobs.job_history, "
                             "jsonb_array_elements(errors) as e")
    assert gaps[1] - gaps[0] >= 0.025, "the retry waited its backoff"


def test_sigterm_lets_running_jobs_finish(owner_dsn):
    setup_queues(owner_dsn)
    enqueue(owner_dsn, "record", [{"sleep": 1.0} for _ in range(4)])
    proc = start_worker(owner_dsn, "--concurrency", "4")
    wait_for(owner_dsn, "select count(*) from public.executions", 4)
    code, err = stop(proc)
    assert code == 0, err
    assert scalar(owner_dsn, "select count(*) from jobs.job_history where state = 'succeeded'") == 4


def test_sigterm_past_the_grace_period_releases_jobs_uncounted(owner_dsn):
    setup_queues(owner_dsn)
    enqueue(owner_dsn, "record", [{"sleep": 30} for _ in range(2)])
    proc = start_worker(owner_dsn, "--concurrency", "2", "--grace", "0.2")
    wait_for(owner_dsn, "select count(*) from public.executions", 2)
    code, err = stop(proc)
    assert code == 0, err
    assert "released 2 unfinished item(s)" in err
    assert scalar(owner_dsn, "select array_agg(attempts::text || coalesce(locked_by, '-')) "
                             "from jobs.job_queue") == ["0-", "0-"]


def test_notify_wakes_an_idle_worker_at_once(owner_dsn):
    setup_queues(owner_dsn)
    proc = start_worker(owner_dsn, "--poll", "30")  # polling alone would take 30 s
    try:
        time.sleep(1.5)  # let it go idle, listening
        started = time.monotonic()
        enqueue(owner_dsn, "record", [{}])
        wait_for(owner_dsn, "select count(*) from jobs.job_history", 1, timeout=5)
        assert time.monotonic() - started < 2
    finally:
        stop(proc)


def test_sql_handlers_run_in_the_database_without_pg_cron(owner_dsn):
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("create table public.touched (n integer)")
        conn.execute("""
            create function public.touch(job jobs.job_queue) returns jsonb language plpgsql as $$
            begin
                insert into public.touched values ((job.payload ->> 'n')::int);
                if job.payload::jsonb ? 'fail' then raise exception 'refused %', job.payload ->> 'n'; end if;
                return jsonb_build_object('n', job.payload -> 'n');
            end $$""")
        conn.execute("select jobs.create_queue('touch', handler => 'public.touch(jobs.job_queue)', "
                     "max_attempts => 1)")
        conn.execute("""select jobs.enqueue_many('touch', '[{"n": 1}, {"n": 2, "fail": true}]')""")
        assert asyncio.run(run_sql_jobs(owner_dsn)) == 2
        states = dict(conn.execute("select payload->>'n', state from jobs.job_history").fetchall())
        touched = [n for (n,) in conn.execute("select n from public.touched").fetchall()]
        error = conn.execute("select errors->0->>'error' from jobs.job_history "
                             "where state = 'dead'").fetchone()
    assert states == {"1": "succeeded", "2": "dead"}
    assert touched == [1], "the failing handler's own writes were rolled back"
    assert error[0] == "refused 2"


async def run_sql_jobs(dsn: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        return await worker_mod.run_sql_jobs(conn)


def test_schedules_without_pg_cron_run_once_per_due_time_across_workers(owner_dsn):
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("create table public.ticks (at timestamptz default now())")
        conn.execute("select brand.schedule('tick', '* * * * *', 'insert into public.ticks default values')")
        conn.execute("update brand.schedules set next_run_at = now() - interval '1 second' "
                     "where name = 'tick'")

    async def two_workers_at_once() -> list[int]:
        conns = [await psycopg.AsyncConnection.connect(owner_dsn, autocommit=True) for _ in range(2)]
        try:
            return await asyncio.gather(*(worker_mod.run_due_schedules(c, print) for c in conns))
        finally:
            for c in conns:
                await c.close()

    assert sorted(asyncio.run(two_workers_at_once())) == [0, 1]
    assert scalar(owner_dsn, "select count(*) from public.ticks") == 1
    assert scalar(owner_dsn, "select next_run_at > now() from brand.schedules where name = 'tick'")


def test_a_handler_without_a_queue_is_refused_with_a_hint(owner_dsn):
    result = run_cli("worker", "--dsn", owner_dsn, "--handlers", HANDLERS, "--drain",
                     env={**os.environ, "PYTHONPATH": str(ROOT / "tests")})
    assert result.returncode == 1
    assert "handler 'record' has no queue" in result.stderr
    assert "jobs.create_queue('record')" in result.stderr


def test_the_worker_vacuums_a_hot_table_full_of_dead_rows(owner_dsn):
    setup_queues(owner_dsn)
    enqueue(owner_dsn, "record", [{} for _ in range(200)])
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("select jobs.complete('w', array(select id from jobs.claim('w', 200, array['record'])))")
        conn.execute("select pg_stat_force_next_flush()")

    async def vacuum(threshold: int) -> bool:
        async with await psycopg.AsyncConnection.connect(owner_dsn, autocommit=True) as conn:
            return await worker_mod.vacuum_hot_table(conn, threshold)

    assert asyncio.run(vacuum(1_000_000)) is False, "below the threshold it leaves the table alone"
    assert asyncio.run(vacuum(100)) is True
    assert scalar(owner_dsn, "select coalesce(vacuum_count, 0) from pg_stat_user_tables "
                             "where relname = 'job_queue'") >= 1


def pack_before(migration: str, dest: Path) -> Path:
    """The pack (migrations/ and sql/) as released just before `migration` was added, from
    git: an upgrade test installs the old code with the old migrations, then upgrades to
    this checkout (today's sql/ need today's migrations)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to rebuild the earlier release")
    added = subprocess.run(
        ["git", "-C", str(ROOT), "log", "--diff-filter=A", "--format=%H", "--", f"migrations/{migration}"],
        capture_output=True, text=True, check=True).stdout.split()
    if not added:
        pytest.skip(f"{migration} is not committed yet")
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", f"{added[-1]}^", "migrations", "sql"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def test_upgrade_to_json_payloads_keeps_every_payload_and_the_app_view(new_database, tmp_path):
    """Migration 0019 turns jsonb payloads into json: live and finished jobs keep theirs,
    api.jobs (which it drops to change the column) is back, ids come from a cache."""
    dsn = new_database()
    old = pack_before("0019_jobs__lean_enqueue.sql", tmp_path / "old")
    payload_types = ("select array_agg(distinct atttypid::regtype::text) from pg_attribute where "
                     "attrelid in ('jobs.job_queue'::regclass, 'jobs.job_history'::regclass) "
                     "and attname = 'payload'")
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load(old))
        assert conn.execute(payload_types).fetchone()[0] == ["jsonb"]
        conn.execute("select jobs.create_queue('m')")
        conn.execute("""select count(*) from jobs.enqueue_many('m', '[{"a": 1}, {"b": [2, 3]}, "x"]')""")
        claimed = [r[0] for r in conn.execute("select id from jobs.claim('w', 1, array['m'])")]
        conn.execute("select jobs.complete('w', %s)", (claimed,))
        before = conn.execute("select id, state, payload::jsonb from api.jobs order by id").fetchall()
        done = migrate.migrate(conn, pack.load(ROOT))
        assert done.versioned[0].name == "migrations/0019_jobs__lean_enqueue.sql"
        after = conn.execute("select id, state, payload::jsonb from api.jobs order by id").fetchall()
        assert after == before and len(after) == 3 and after[0][1] == "succeeded"
        assert conn.execute(payload_types).fetchone()[0] == ["json"]
        assert conn.execute("select seqcache from pg_sequence where seqrelid = "
                            "pg_get_serial_sequence('jobs.job_queue', 'id')::regclass").fetchone()[0] == 100


def test_upgrade_to_text_signatures_converts_handlers_and_probes_in_place(new_database, tmp_path):
    """Migration 0023 turns the regprocedure columns (which pg_upgrade refuses) into text
    signatures: a queue's SQL handler and every probe keep working, schema-qualified."""
    dsn = new_database()
    old = pack_before("0023_jobs__signatures_as_text_and_caps.sql", tmp_path / "old")
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate.migrate(conn, pack.load(old))
        conn.execute("create function public.touch(job jobs.job_queue) returns jsonb language sql "
                     "as $$ select jsonb_build_object('touched', job.id) $$")
        conn.execute("select jobs.create_queue('touch', handler => 'public.touch(jobs.job_queue)')")
        probes = conn.execute("select name, probe::text from health.probes order by name").fetchall()
        migrate.migrate(conn, pack.load(ROOT))
        assert conn.execute("select handler from jobs.queues where name = 'touch'").fetchone()[0] == \
            "public.touch(jobs.job_queue)"
        assert conn.execute("select name, probe from health.probes order by name").fetchall() == probes
        assert conn.execute(
            "select count(*) from pg_attribute a join pg_class c on c.oid = a.attrelid "
            "join pg_type t on t.oid = a.atttypid where c.relnamespace in "
            "('jobs'::regnamespace, 'health'::regnamespace) and t.typname like 'reg%' "
            "and a.attnum > 0 and c.relkind in ('r', 'p')").fetchone()[0] == 0
        conn.execute("select jobs.enqueue('touch', '{}')")
        assert conn.execute("select jobs.run_ready(10)").fetchone()[0] == 1
        assert conn.execute("select state from jobs.job_history where queue = 'touch'").fetchone()[0] == \
            "succeeded"
        checks = conn.execute("select health.check() -> 'checks'").fetchone()[0]
        assert checks and not [c for c in checks if "no longer exists" in (c["detail"] or "")]
