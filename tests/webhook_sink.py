"""A real HTTP receiver on loopback for the webhook tests, with misbehaving paths:

/ok          200 at once            /flaky/N   500 for the first N requests, then 200
/hang        sleeps past any test timeout                 /reset   drops the connection
/busy        429 with Retry-After: 1 once, then 200        /gone    410
/slow        200 after 50 ms           /delay/MS  200 after MS milliseconds
/rl/...      200 at once (rate-limit tests)
It runs its own event loop in a thread and keeps every request it got."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

from aiohttp import web


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float


class Sink:
    def __init__(self):
        self.received: list[Received] = []
        self.counts: dict[str, int] = {}
        self.loop = asyncio.new_event_loop()
        self.port = 0
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        ready.wait(10)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        path = request.path
        self.received.append(Received(path, dict(request.headers), body, time.time()))
        n = self.counts[path] = self.counts.get(path, 0) + 1
        if path.startswith("/flaky/"):
            return web.Response(status=500 if n <= int(path.rsplit("/", 1)[1]) else 200, text="flaky")
        if path == "/hang":
            await asyncio.sleep(30)
        if path == "/reset":
            request.transport.abort()
            return web.Response(status=200)
        if path == "/busy" and n == 1:
            return web.Response(status=429, headers={"Retry-After": "1"}, text="slow down")
        if path == "/gone":
            return web.Response(status=410, text="gone")
        if path == "/slow":
            await asyncio.sleep(0.05)
        if path.startswith("/delay/"):
            await asyncio.sleep(int(path.rsplit("/", 1)[1]) / 1000)
        return web.Response(status=200, text="thanks")
