"""The bridge's figures (issue 16): the live feed's throughput from cache, the latency of a
conditional GET, and how often it polls the API; :data:`PARTS` lists each part's rows.

The feed part: a FeedServer over a FakePyrusServer of 200 tasks, 50 aiohttp clients on
loopback in the same process (so client and server share one core: the figures are a floor).
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp

from calendar_bridge.feed import FeedServer
from pyrus_calendar import PyrusClient, Task
from pyrus_calendar.testing import FakePyrusServer

from .bridge_sync import sync_rows
from .report import Row

CLIENTS = 50


async def _feed(count: int) -> tuple[float, list[float], int, int, int]:
    now = datetime.now(UTC).replace(microsecond=0)
    async with FakePyrusServer(seed=1) as fake:
        for task_id in range(1, 201):
            fake.add_task(
                Task(id=task_id, subject=f"task {task_id}", due=now + timedelta(hours=task_id))
            )
        async with PyrusClient(
            base_url=fake.api_url, login=fake.DEFAULT_LOGIN, security_key=fake.DEFAULT_SECURITY_KEY
        ) as pyrus:
            watch = functools.partial(pyrus.watch, filters="due", interval=300)
            connector = aiohttp.TCPConnector(limit=CLIENTS)
            async with (
                FeedServer(watch, name="bench") as feed,
                aiohttp.ClientSession(connector=connector) as http,
            ):
                await feed.wait_ready()
                async with http.get(feed.url) as first:
                    etag = first.headers["ETag"]
                    await first.read()

                async def fetch(jobs: list[int], conditional: bool, times: list[float]) -> None:
                    headers = {"If-None-Match": etag} if conditional else {}
                    for _ in range(len(jobs)):  # bounded: this worker's share
                        started = time.perf_counter()
                        async with http.get(feed.url, headers=headers) as answer:
                            await answer.read()
                            if answer.status != (304 if conditional else 200):
                                raise AssertionError(f"unexpected {answer.status}")
                        times.append(time.perf_counter() - started)

                def shares() -> list[list[int]]:
                    return [list(range(count // CLIENTS)) for _ in range(CLIENTS)]

                full: list[float] = []
                started = time.perf_counter()
                await asyncio.gather(*(fetch(jobs, False, full) for jobs in shares()))
                rate = len(full) / (time.perf_counter() - started)
                conditional: list[float] = []
                await asyncio.gather(*(fetch(jobs, True, conditional) for jobs in shares()))
                return rate, conditional, pyrus.stats.calendar_requests, feed.watch.polls, len(full)


def feed_rows(*, quick: bool = False) -> list[Row]:
    """Requests per second from cache, p50/p99 of a 304, and API polls per interval."""
    count = 1000 if quick else 10_000
    rate, times, requests, polls, served = asyncio.run(_feed(count))
    cuts = statistics.quantiles(times, n=100)
    return [
        Row(
            "feed: calendars served from cache (200, 200 events)",
            f"{rate:,.0f} req/s",
            "-",
            f"{served:,} requests, {CLIENTS} clients",
            "-",
            None,
        ),
        Row(
            "feed: conditional GET (304), 50 concurrent clients",
            f"p50 {cuts[49] * 1000:.2f} ms, p99 {cuts[98] * 1000:.2f} ms",
            "-",
            f"{len(times):,} requests",
            "-",
            None,
        ),
        Row(
            "feed: API polls per interval, whatever the fetches",
            f"{polls} poll(s), {requests} request(s)",
            "-",
            f"{served + len(times):,} fetches in one interval",
            "1 poll",
            polls == 1,
        ),
    ]


#: each part of the bridge section: a function of ``quick`` returning its rows
PARTS: list[Callable[..., list[Row]]] = [feed_rows, sync_rows]


def run(*, quick: bool = False) -> list[Row]:
    """Every part's rows."""
    rows: list[Row] = []
    for part in PARTS:
        rows += part(quick=quick)
    return rows


def profile(*, quick: bool = False) -> None:
    """Not profiled: the feed's work per request is a header check and a cached body."""
    raise SystemExit("the bridge comparison has no profile")
