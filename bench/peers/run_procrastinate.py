"""procrastinate: batch_defer_async in chunks, then one worker with `concurrency` async slots
(wait=False: it returns once the queue is empty and every job's status is saved)."""

import asyncio

import procrastinate
from _peer import args, chunks, now, report


async def main() -> None:
    dsn, jobs, concurrency = args()
    # A pool as large as the concurrency, so no job slot waits for a connection.
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=dsn, min_size=concurrency + 2, max_size=concurrency + 2))

    @app.task(name="noop")
    async def noop(i: int) -> None:
        pass

    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        t0 = now()
        for part in chunks(jobs):
            await noop.batch_defer_async(*({"i": i} for i in part))
        t1 = now()
        await app.run_worker_async(concurrency=concurrency, wait=False, install_signal_handlers=False)
        t2 = now()
        async with app.connector.pool.connection() as c:
            cur = await c.execute("select count(*) from procrastinate_jobs where status <> 'succeeded'")
            left = (await cur.fetchone())[0]
    report(jobs, t1 - t0, t2 - t1, left)


if __name__ == "__main__":
    asyncio.run(main())
