"""Handlers for the worker tests, loaded by real `brandbase worker` processes with
`--handlers jobs_handlers:HANDLERS` (tests/ on PYTHONPATH). Each records its runs in
public.executions through its own connection, so a run is visible even when the worker
dies before completing the job."""

from __future__ import annotations

import asyncio
import os

import psycopg

_conn: psycopg.AsyncConnection | None = None


async def _record(job) -> None:
    global _conn
    if _conn is None:
        _conn = await psycopg.AsyncConnection.connect(os.environ["JOBS_TEST_DSN"], autocommit=True)
    await _conn.execute("insert into public.executions (job_id, pid) values (%s, %s)", (job.id, os.getpid()))


async def record(job):
    await _record(job)
    await asyncio.sleep(job.payload.get("sleep", 0))
    return {"ok": job.id}


async def explode(job):
    await _record(job)
    raise RuntimeError(f"cannot handle {job.payload}")


def blocking(job):
    """A synchronous handler: the worker runs it in a thread."""
    return {"sum": sum(job.payload["numbers"])}


HANDLERS = {"record": record, "explode": explode, "blocking": blocking}
