"""pgmq, the raw-queue ceiling: its SQL-only install (bench/.peers/pgmq.sql, shipped in the pgmq
wheel), a logged queue, send_batch() per chunk, then `concurrency` connections each looping
read(batch of 100) + delete(ids) in autocommit, as pgmq consumers do, until a read comes back
empty (what is left is then in other readers' hands)."""

import asyncio
import sys
from pathlib import Path

import orjson
import psycopg
from _peer import args, chunks, now, report
from psycopg.types.json import Jsonb, set_json_dumps

BATCH = 100
VT = 30  # seconds a read message stays invisible to other readers


async def reader(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as c:
        while True:
            cur = await c.execute("select msg_id from pgmq.read('noop', %s, %s)", (VT, BATCH))
            ids = [r[0] for r in await cur.fetchall()]
            if not ids:
                return
            await c.execute("select pgmq.delete('noop', %s::bigint[])", (ids,))


async def main() -> None:
    dsn, jobs, concurrency = args()
    install = Path(sys.argv[4]).read_text()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as c:
        set_json_dumps(orjson.dumps, c)  # the encoder brandbase's bench client uses
        await c.execute(install)
        await c.execute("select pgmq.create('noop')")
        t0 = now()
        for part in chunks(jobs):
            await c.execute("select pgmq.send_batch('noop', %s::jsonb[])", ([Jsonb({"i": i}) for i in part],))
        t1 = now()
        await asyncio.gather(*(reader(dsn) for _ in range(concurrency)))
        t2 = now()
        left = (await (await c.execute("select count(*) from pgmq.q_noop")).fetchone())[0]
    report(jobs, t1 - t0, t2 - t1, left)


if __name__ == "__main__":
    asyncio.run(main())
