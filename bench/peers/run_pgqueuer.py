"""pgqueuer: one enqueue() call per chunk (array insert), then one QueueManager (pgqueuer's unit:
one asyncio worker on one asyncpg connection) dequeuing batches of `concurrency` jobs, so about
`concurrency` jobs are in flight. Drain mode: it returns once the queue is empty and the jobs'
statuses are flushed.

Measured alternatives, all slower here: max_concurrent_tasks=20 (at the cap it re-polls only
every 100 ms, ~10x slower); several QueueManagers (their dequeues collide and come back empty,
which again costs a 100 ms poll)."""

import asyncio

import asyncpg
from _peer import args, chunks, now, report
from pgqueuer import AsyncpgDriver, Queries, QueueManager
from pgqueuer.types import QueueExecutionMode


async def main() -> None:
    dsn, jobs, concurrency = args()
    conn = await asyncpg.connect(dsn)
    queries = Queries(AsyncpgDriver(conn))
    await queries.install()
    t0 = now()
    for part in chunks(jobs):
        await queries.enqueue(["noop"] * len(part), [str(i).encode() for i in part], [0] * len(part))
    t1 = now()
    worker = await asyncpg.connect(dsn)
    qm = QueueManager(Queries(AsyncpgDriver(worker)))

    @qm.entrypoint("noop")
    async def noop(job) -> None:
        pass

    await qm.run(batch_size=concurrency, mode=QueueExecutionMode.drain)
    t2 = now()
    await worker.close()
    left = await conn.fetchval("select count(*) from pgqueuer")
    await conn.close()
    report(jobs, t1 - t0, t2 - t1, left)


if __name__ == "__main__":
    asyncio.run(main())
