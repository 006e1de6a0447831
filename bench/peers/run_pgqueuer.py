"""pgqueuer: one enqueue() call per chunk (array insert), then `concurrency / 10` QueueManagers,
each on its own asyncpg connection and dequeuing batches of 10 (pgqueuer's default and its
own benchmark's setup), so about `concurrency` jobs are in flight. Drain mode: each returns
once the queue is empty and its jobs' statuses are flushed.

(max_concurrent_tasks=20 on a single QueueManager is ~10x slower: once at the cap it
re-polls only every 100 ms.)"""

import asyncio

import asyncpg
from _peer import args, chunks, now, report
from pgqueuer import AsyncpgDriver, Queries, QueueManager
from pgqueuer.types import QueueExecutionMode

import os
BATCH = int(os.environ.get("B", 10))


async def worker(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    qm = QueueManager(Queries(AsyncpgDriver(conn)))

    @qm.entrypoint("noop")
    async def noop(job) -> None:
        pass

    await qm.run(batch_size=BATCH, mode=QueueExecutionMode.drain)
    await conn.close()


async def main() -> None:
    dsn, jobs, concurrency = args()
    conn = await asyncpg.connect(dsn)
    queries = Queries(AsyncpgDriver(conn))
    await queries.install()
    t0 = now()
    for part in chunks(jobs):
        await queries.enqueue(["noop"] * len(part), [str(i).encode() for i in part], [0] * len(part))
    t1 = now()
    await asyncio.gather(*(worker(dsn) for _ in range(int(os.environ.get("Q", max(1, concurrency // BATCH))))))
    t2 = now()
    left = await conn.fetchval("select count(*) from pgqueuer")
    await conn.close()
    report(jobs, t1 - t0, t2 - t1, left)


if __name__ == "__main__":
    asyncio.run(main())
