"""Helpers for the feed tests: a gate that lets the feed's watch poll one round at a time on
a fake clock (no real sleeps), and a feed over a Pyrus fake."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from calendar_bridge.feed import FeedServer
from pyrus_calendar import PyrusClient
from tests.watch.support import FakeClock

LIMIT = 10.0  # seconds a test waits for a poll before it fails


class Gate:
    """The feed's ``sleep``: each call ends one round (a poll, its changes taken and
    published); the test lets the next poll happen with :meth:`poll`."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.rounds = 0
        self._permits = asyncio.Semaphore(0)
        self._arrived = asyncio.Condition()

    async def sleep(self, seconds: float) -> None:
        async with self._arrived:
            self.rounds += 1
            self._arrived.notify_all()
        await self._permits.acquire()
        self.clock.move(timedelta(seconds=seconds))

    async def reach(self, rounds: int) -> None:
        """Wait until ``rounds`` rounds have ended."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: self.rounds >= rounds), LIMIT)

    async def poll(self, count: int = 1) -> None:
        """Let ``count`` more polls happen and wait until they are published."""
        target = self.rounds + count
        for _ in range(count):
            self._permits.release()
        await self.reach(target)


@asynccontextmanager
async def pyrus_feed(
    pyrus: PyrusClient, gate: Gate, state: Path | Any, **options: Any
) -> AsyncIterator[FeedServer]:
    """A started feed of ``pyrus``'s due tasks (and meetings) on a free loopback port, its
    first poll published."""
    watch = functools.partial(
        pyrus.watch,
        filters="due,due_date",
        include_meetings=True,
        state=state,
        interval=300,
        lookback=timedelta(days=1),
        horizon=timedelta(days=30),
    )
    options.setdefault("name", "Pyrus deadlines")
    if "feed_state" in options:  # the feed's own state (``state`` is the watch's here)
        options["state"] = options.pop("feed_state")
    async with FeedServer(watch, clock=gate.clock, sleep=gate.sleep, **options) as feed:
        await gate.reach(gate.rounds + 1)
        yield feed
