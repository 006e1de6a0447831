"""The webhook benchmark's receiver: an aiohttp server on 127.0.0.1 that answers 200 at once,
counts requests and records each one's arrival time (time.time()) by its webhook-id.

    .venv/bin/python bench/webhook_sink.py --port 8765

POST anywhere but /_stats: a webhook (answered 200, counted). GET /_stats: {"count": n};
GET /_stats?arrivals=1 adds {"arrivals": {webhook-id: seconds}} (the first arrival of each).
POST /_reset: forgets everything. Exits on SIGTERM/SIGINT, or after --lifetime seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time

from aiohttp import web


def build_app() -> web.Application:
    state = {"count": 0, "arrivals": {}}

    async def hook(request: web.Request) -> web.Response:
        now = time.time()
        await request.read()
        state["count"] += 1
        state["arrivals"].setdefault(request.headers.get("webhook-id", ""), now)
        return web.Response(status=200)

    async def stats(request: web.Request) -> web.Response:
        body = {"count": state["count"]}
        if request.query.get("arrivals"):
            body["arrivals"] = state["arrivals"]
        return web.json_response(body)

    async def reset(request: web.Request) -> web.Response:
        state["count"] = 0
        state["arrivals"] = {}
        return web.json_response({"count": 0})

    app = web.Application()
    app.router.add_get("/_stats", stats)
    app.router.add_post("/_reset", reset)
    app.router.add_post("/{tail:.*}", hook)
    return app


async def serve(port: int, lifetime: float) -> None:
    runner = web.AppRunner(build_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"sink listening on 127.0.0.1:{port}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), lifetime)
    except TimeoutError:
        pass
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lifetime", type=float, default=3600.0,
                        help="seconds before the sink exits by itself (a safety net)")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.lifetime))


if __name__ == "__main__":
    main()
