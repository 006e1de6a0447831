"""The webhook benchmark's receiver on 127.0.0.1: answers 200 at once, counts requests and
records each one's arrival time (time.time()) by its webhook-id.

    .venv/bin/python bench/webhook_sink.py --port 8765

POST anywhere but /_stats and /_reset: a webhook (answered 200, counted). GET /_stats:
{"count": n}; GET /_stats?arrivals=1 adds {"arrivals": {webhook-id: seconds}} (the first
arrival of each). POST /_reset: forgets everything. Exits on SIGTERM/SIGINT, or after
--lifetime seconds.

It shares the machine with the worker and PostgreSQL, so it is an asyncio protocol over
httptools' request parser (about 100 µs of CPU a request here) rather than an aiohttp
application (about 250 µs): the benchmark measures the sender, not the receiver. The tests' receiver
(tests/webhook_sink.py) stays a full aiohttp server with failure modes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time

import httptools

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class State:
    def __init__(self):
        self.count = 0
        self.arrivals: dict[str, float] = {}


class Receiver(asyncio.Protocol):
    def __init__(self, state: State):
        self.state = state
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.webhook_id = ""
        self.arrived = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.arrived = time.time()
        self.url = b""
        self.webhook_id = ""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"webhook-id":
            self.webhook_id = value.decode()

    def on_message_complete(self) -> None:
        path, _, query = self.url.partition(b"?")
        if path == b"/_stats":
            body = {"count": self.state.count}
            if b"arrivals=1" in query:
                body["arrivals"] = self.state.arrivals
            self.reply(json.dumps(body).encode())
        elif path == b"/_reset":
            self.state.count, self.state.arrivals = 0, {}
            self.reply(b'{"count": 0}')
        else:
            self.state.count += 1
            self.state.arrivals.setdefault(self.webhook_id, self.arrived)
            self.transport.write(OK)
        if not self.parser.should_keep_alive():
            self.transport.close()

    def reply(self, body: bytes) -> None:
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


async def serve(port: int, lifetime: float) -> None:
    state = State()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Receiver(state), "127.0.0.1", port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"sink listening on 127.0.0.1:{port}", flush=True)
    try:
        await asyncio.wait_for(stop.wait(), lifetime)
    except TimeoutError:
        pass
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lifetime", type=float, default=3600.0,
                        help="seconds before the sink exits by itself (a safety net)")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.lifetime))


if __name__ == "__main__":
    main()
