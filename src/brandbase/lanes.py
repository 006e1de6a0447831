"""A lane: one database connection feeding a fixed number of concurrent tasks.

Both of the worker's pipelines (jobs and webhook deliveries) are the same loop: one round
trip settles every outcome since the last one and claims as many new items as there is
room for; items run as asyncio tasks; prefetched items start as slots free up, without a
round trip. Several lanes overlap one lane's wait for the database (its commit included)
with the others' work.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

# exchange(conn, outcomes, room) -> newly claimed items; perform(item) -> its outcome
Exchange = Callable[[psycopg.AsyncConnection, list, int], Awaitable[list]]
Perform = Callable[[Any], Awaitable[Any]]
LINGER = 0.01  # seconds a lane may wait for more outcomes before a round trip


def split(concurrency: int, per_lane: int = 10, most: int = 4) -> list[int]:
    """Slots per lane: lanes of about per_lane slots (batches stay large), at most `most`."""
    lanes = max(1, min(most, round(concurrency / per_lane)))
    return [concurrency // lanes + (1 if i < concurrency % lanes else 0) for i in range(lanes)]


@dataclass
class Lane:
    slots: int
    exchange: Exchange
    perform: Perform
    key: Callable[[Any], Any]
    prefetch: int = 0
    ready_too: bool = False  # exchange(conn, outcomes, room, ready): also the slots free now
    # drain: whether nothing is left that this lane could get (default: it claimed nothing)
    drained: Callable[[psycopg.AsyncConnection], Awaitable[bool]] | None = None
    running: dict[Any, tuple[Any, asyncio.Task]] = field(default_factory=dict)
    waiting: deque = field(default_factory=deque)  # claimed (leased), not started yet
    outcomes: list = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopping: bool = False

    @property
    def idle(self) -> bool:
        return not (self.running or self.waiting or self.outcomes)

    @property
    def room(self) -> int:
        return 0 if self.stopping else self.slots + self.prefetch - len(self.running) - len(self.waiting)

    @property
    def ready(self) -> int:
        return 0 if self.stopping else max(0, self.slots - len(self.running) - len(self.waiting))

    @property
    def held(self) -> list:
        return [*self.running, *(self.key(item) for item in self.waiting)]

    async def run(self, conn: psycopg.AsyncConnection, poll: float, drain: bool = False) -> None:
        while not self.stopping:
            self.wake.clear()
            claimed = await self.settle_and_claim(conn)
            self.waiting.extend(claimed)
            self.start()
            if drain and not claimed and self.idle and (self.drained is None or await self.drained(conn)):
                return
            if claimed and self.room > 0:
                continue  # more may be ready: claim again before sleeping
            if not self.outcomes:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), poll)
            await self.linger()

    async def linger(self) -> None:
        """Bigger batches, fewer round trips: while items still run and fewer than half the
        slots have an outcome, wait up to LINGER for more to finish."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER
        while self.running and len(self.outcomes) < self.slots // 2 and (left := deadline - loop.time()) > 0:
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), left)
        await asyncio.sleep(0)  # let the items about to finish finish

    async def settle_and_claim(self, conn: psycopg.AsyncConnection) -> list:
        outcomes, self.outcomes = self.outcomes, []
        if self.ready_too:
            return await self.exchange(conn, outcomes, self.room, self.ready)
        return await self.exchange(conn, outcomes, self.room)

    def start(self) -> None:
        while self.waiting and len(self.running) < self.slots and not self.stopping:
            item = self.waiting.popleft()
            self.running[self.key(item)] = (item, asyncio.create_task(self._perform(item)))

    async def _perform(self, item: Any) -> None:
        try:
            outcome = await self.perform(item)
            self.outcomes.append(outcome)  # the list in place now, not the one when it started
        finally:
            self.running.pop(self.key(item), None)
            self.start()
            self.wake.set()

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()

    async def finish(self, conn: psycopg.AsyncConnection, grace: float) -> list:
        """After stop(): running items get `grace` seconds, their outcomes are settled;
        returns the keys of the items left unfinished (running or never started)."""
        if self.running:
            await asyncio.wait([task for _, task in self.running.values()], timeout=grace)
        leftover = self.held
        self.waiting.clear()
        for _, task in list(self.running.values()):
            task.cancel()
        await asyncio.gather(*(task for _, task in self.running.values()), return_exceptions=True)
        await self.settle_and_claim(conn)
        return leftover
