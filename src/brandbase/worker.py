"""`brandbase worker`: the pack's one long-running process.

It runs the jobs of queues served by Python callables and of queues with SQL handlers,
the brand.schedules entries when pg_cron is absent, reaps expired leases, and probes
external services for health.

Throughput comes from batching: each round trip settles every job finished since the
last one and claims as many new ones as there are free slots (one pipelined exchange of
`jobs.complete` + `jobs.claim`). LISTEN wakes an idle worker at once; a poll interval
covers delayed jobs and retries.

It needs sessions of its own (LISTEN, prepared statements, the heartbeat's connection),
so it refuses a transaction-mode pooler (Supabase's port 6543) at start, naming the
session/direct URL to use instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import inspect
import json
import os
import signal
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import entry_points
from typing import Any

import psycopg
from croniter import croniter
from psycopg.types.json import Jsonb

from . import lanes, webhooks
from .db import pooler_hint, redact, transaction_pooler

Handler = Callable[["Job"], Any | Awaitable[Any]]  # async def runs in the loop, def in a thread
ENTRY_POINT_GROUP = "brandbase.handlers"
ERROR_LIMIT = 2000  # characters of a handler's error kept per attempt
# Delivery lanes of about 50 slots: a claim and a record cost about the same for 25 rows
# as for 50, so halving the round trips per delivery cut PostgreSQL's CPU per delivery by
# 40 % and the worker's by 25 % (docs/performance.md, webhooks).
DELIVERY_LANE = 50


class WorkerError(Exception):
    """A setup problem the operator must fix (unknown queue, bad handler spec)."""


@dataclass
class Job:
    """What a handler receives. `cancelled` turns true when someone cancels the job."""

    id: int
    queue: str
    brand_id: str | None
    payload_json: str  # parsed on first use: a handler that never reads it never pays
    attempts: int
    max_attempts: int
    cancelled: bool = False

    @functools.cached_property
    def payload(self) -> Any:
        return json.loads(self.payload_json)


def load_handlers(specs: list[str]) -> dict[str, Handler]:
    """Handlers by queue name from `module:attr` specs (a dict of callables, or one callable
    named after its queue) plus the `brandbase.handlers` entry points of installed packages."""
    handlers: dict[str, Handler] = {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}
    for spec in specs:
        module_name, _, attr = spec.partition(":")
        try:
            target = getattr(importlib.import_module(module_name), attr or "HANDLERS")
        except (ImportError, AttributeError) as exc:
            raise WorkerError(f"cannot load handlers {spec!r}: {exc}\n"
                              "  hint: give module:attr where attr is a dict {queue: callable}") from exc
        if callable(target):
            handlers[target.__name__] = target
        elif isinstance(target, dict):
            handlers.update(target)
        else:
            raise WorkerError(f"{spec!r} is neither a callable nor a dict of callables")
    return handlers


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Worker:
    dsn: str
    handlers: dict[str, Handler]
    concurrency: int = 20
    prefetch: int = 0  # jobs claimed ahead, started as slots free up (no round trip)
    deliveries: int = 100  # webhook deliveries in flight at once (0: none)
    poll: float = 1.0
    grace: float = 30.0
    drain: bool = False  # exit once nothing is ready or running (tests, benchmarks, cron)
    housekeeping: bool = True
    id: str = field(default_factory=worker_id)
    log: Callable[[str], None] = print

    def __post_init__(self):
        self.is_async = {name: inspect.iscoroutinefunction(h) for name, h in self.handlers.items()}
        self.job_lanes: list[lanes.Lane] = []
        self.lanes: list[lanes.Lane] = []  # job lanes, then delivery lanes
        self.sender: webhooks.Sender | None = None
        self.processed = 0
        self.seconds = 0.0  # from the first round trip to the last settle

    @property
    def running(self) -> dict[int, tuple[Job, asyncio.Task]]:
        return {k: v for lane in self.job_lanes for k, v in lane.running.items()}

    # -- setup ---------------------------------------------------------------------------

    async def refuse_transaction_pooler(self) -> None:
        """Through a transaction pooler LISTEN hears nothing, a prepared statement lands on
        a server that already has one (DuplicatePreparedStatement) and the lanes' sessions
        are shared: stop before any of that, with the URL to use instead."""
        try:
            reason = await asyncio.to_thread(transaction_pooler, self.dsn)
        except psycopg.OperationalError as exc:
            raise WorkerError(f"cannot connect to {redact(self.dsn)}: "
                              f"{str(exc).strip().splitlines()[-1]}") from None
        if reason:
            raise WorkerError(f"{redact(self.dsn)} goes through a transaction-mode pooler: "
                              f"{reason}; the worker will not run there\n"
                              + pooler_hint("brandbase worker"))

    async def queues(self, conn: psycopg.AsyncConnection) -> dict[str, float]:
        """The queues this worker serves, with their lease in seconds; fails on handlers
        that name no queue or a queue with a SQL handler."""
        rows = await (await conn.execute(
            "select name, handler is not null, extract(epoch from lease)::float8 "
            "from jobs.queues where name = any(%s)", (list(self.handlers),))).fetchall()
        known = {name: (has_sql, lease) for name, has_sql, lease in rows}
        for name in self.handlers:
            if name not in known:
                raise WorkerError(f"handler {name!r} has no queue\n"
                                  f"  hint: select jobs.create_queue('{name}');")
            if known[name][0]:
                raise WorkerError(f"queue {name!r} has a SQL handler; the database runs it")
        return {name: lease for name, (_, lease) in known.items()}

    # -- running -------------------------------------------------------------------------

    async def run(self) -> int:
        """Runs until SIGTERM/SIGINT (or, with drain, until idle); returns items settled."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop)
        await self.refuse_transaction_pooler()
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            leases = await self.queues(conn)
        self.queue_names = list(leases)
        slots = lanes.split(self.concurrency) if leases else []
        self.job_lanes = [lanes.Lane(n, self.exchange, self.perform, key=lambda j: j.id,
                                     prefetch=self.prefetch // len(slots)) for n in slots]
        self.lanes = list(self.job_lanes)
        sender = self.sender = webhooks.Sender(self.id, self.log) if self.deliveries else None
        if sender:
            sender.lanes = [lanes.Lane(n, sender.exchange, sender.perform, key=webhooks.key, prefetch=n,
                                       ready_too=True, drained=sender.drained)
                            for n in lanes.split(self.deliveries, per_lane=DELIVERY_LANE)]
            self.lanes += sender.lanes
            async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
                await sender.refresh(conn)  # lease and timeout fix the lanes' prefetch before any claim
        extras = [asyncio.create_task(self.listen())]
        if leases:
            extras.append(asyncio.create_task(self.heartbeat(min(leases.values()) / 3)))
        if self.housekeeping:
            extras.append(asyncio.create_task(self.chores()))
        started = time.perf_counter()
        try:
            async with sender or contextlib.nullcontext():
                await asyncio.gather(*(self.work(lane) for lane in self.lanes))
            self.seconds = time.perf_counter() - started
        finally:
            for task in extras:
                task.cancel()
            await asyncio.gather(*extras, return_exceptions=True)
        return self.processed

    def stop(self) -> None:
        for lane in self.lanes:
            lane.stop()

    def wake_all(self) -> None:
        for lane in self.lanes:
            lane.wake.set()

    async def work(self, lane: lanes.Lane) -> None:
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            await lane.run(conn, self.poll, self.drain)
            lane.stop()
            leftover = await lane.finish(conn, self.grace)
            if leftover:
                await lane.exchange(conn, [("release", key) for key in leftover], 0)
                self.log(f"worker: released {len(leftover)} unfinished item(s)")

    # -- jobs ----------------------------------------------------------------------------

    async def exchange(self, conn: psycopg.AsyncConnection, outcomes: list, room: int) -> list[Job]:
        """One round trip and one commit: settle what finished, claim up to `room` jobs."""
        done = [(i, r) for kind, i, *r in outcomes if kind == "done"]
        failed = [(i, e[0]) for kind, i, *e in outcomes if kind == "failed"]
        released = [i for kind, i, *_ in outcomes if kind == "release"]
        if released:
            await conn.execute("select jobs.release(%s, %s)", (self.id, released))
        cursor = await conn.execute(
            "select id, queue, brand_id::text, payload::text, attempts, max_attempts "
            "from jobs.cycle(%s, %s, %s, %s, %s, %s, %s)",
            (self.id, room, self.queue_names, [i for i, _ in done],
             [None if r[0] is None else Jsonb(r[0]) for _, r in done],
             [i for i, _ in failed], [e for _, e in failed]))
        self.processed += len(done) + len(failed)
        return [Job(*row) for row in await cursor.fetchall()]

    async def perform(self, job: Job) -> tuple:
        try:
            handler = self.handlers[job.queue]
            if self.is_async[job.queue]:
                return ("done", job.id, await handler(job))
            return ("done", job.id, await asyncio.to_thread(handler, job))  # blocking: a thread
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a handler's failure is the job's, not ours
            return ("failed", job.id, f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT])

    # -- companions ----------------------------------------------------------------------

    async def listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            await conn.execute("listen brandbase_jobs")
            await conn.execute("listen brandbase_webhooks")
            async for _ in conn.notifies():
                self.wake_all()

    async def heartbeat(self, every: float) -> None:
        """Extends the leases of running jobs; flags the ones someone cancelled."""
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            while True:
                await asyncio.sleep(every)
                held = [key for lane in self.job_lanes for key in lane.held]
                if not held:
                    continue
                running = self.running
                rows = await (await conn.execute("select jobs.heartbeat(%s, %s)",
                                                 (self.id, held))).fetchall()
                for (cancelled,) in rows:
                    if cancelled in running:
                        running[cancelled][0].cancelled = True

    async def chores(self) -> None:
        """Once per poll: reap expired leases, run SQL-handler jobs, and without pg_cron
        the due schedules. Every 5 s: vacuum the hot job table when it carries dead rows.
        External health checks once a minute. A failing chore is logged and retried at the
        next poll."""
        loop = asyncio.get_running_loop()
        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            has_cron = (await (await conn.execute("select brand.has_pg_cron()")).fetchone())[0]
            next_probe = next_vacuum = 0.0
            while True:
                try:
                    await conn.execute("select jobs.reap(), webhooks.reap()")
                    await run_sql_jobs(conn)
                    if not has_cron:
                        await run_due_schedules(conn, self.log)
                    if loop.time() >= next_vacuum:
                        next_vacuum = loop.time() + 5
                        await vacuum_hot_table(conn)
                    if loop.time() >= next_probe:
                        next_probe = loop.time() + 60
                        await asyncio.to_thread(probe_external, self.dsn)
                except psycopg.Error as exc:  # a failing chore must not stop the others
                    self.log(f"worker: housekeeping failed: {exc}")
                await asyncio.sleep(self.poll)


async def vacuum_hot_table(conn: psycopg.AsyncConnection, dead_rows: int = 10_000) -> bool:
    """A busy queue leaves a dead row per job; autovacuum wakes once a minute, by which
    time a fast queue has left hundreds of thousands. Vacuuming the (small) live set often
    keeps the hot table and its ready index small."""
    dead = (await (await conn.execute(
        "select coalesce(sum(n_dead_tup), 0) from pg_stat_user_tables "
        "where schemaname = 'jobs' and relname = 'job_queue'")).fetchone())[0]
    if dead < dead_rows:
        return False
    await conn.execute("vacuum (analyze) jobs.job_queue")
    return True


async def run_sql_jobs(conn: psycopg.AsyncConnection, batch: int = 100) -> int:
    """Jobs of SQL-handler queues, a committed batch at a time, until none is ready."""
    total = 0
    while True:
        ran = (await (await conn.execute("select jobs.run_ready(%s)", (batch,))).fetchone())[0]
        total += ran
        if ran < batch:
            return total


def probe_external(dsn: str) -> None:
    from .health import probe_external as probe

    with psycopg.connect(dsn, autocommit=True) as conn:
        probe(conn)


async def run_due_schedules(conn: psycopg.AsyncConnection, log: Callable[[str], None]) -> int:
    """Runs brand.schedules entries that pg_cron would run, each at most once per due time
    across any number of workers: a run is claimed by moving next_run_at forward first."""
    now = datetime.now(UTC)
    rows = await (await conn.execute(
        "select name, cron, command, next_run_at from brand.schedules "
        "where not via_pg_cron and (next_run_at is null or next_run_at <= now())")).fetchall()
    ran = 0
    for name, cron, command, due in rows:
        following = croniter(cron, now).get_next(datetime)
        claimed = await (await conn.execute(
            "update brand.schedules set next_run_at = %s, last_run_at = case when %s then now() "
            "else last_run_at end where name = %s and next_run_at is not distinct from %s returning 1",
            (following, due is not None, name, due))).fetchone()
        if not claimed or due is None:
            continue  # another worker took it, or it was just seen for the first time
        try:
            await conn.execute(command)
            error = None
            ran += 1
        except psycopg.Error as exc:
            error = str(exc)
            log(f"worker: schedule {name} failed: {error}")
        await conn.execute("update brand.schedules set last_error = %s where name = %s", (error, name))
    return ran
