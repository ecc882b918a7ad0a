"""Reading 10,000 tasks spread over 30 days: ``PyrusClient.iter_calendar`` (item_count 100,
the fake answering in a new random order each time and 20 ms late, like a WAN round trip)
against the official synchronous ``pyrus-api`` client walking, one after the other, windows
small enough that none is cut.

The official client gets the best case: its window length is chosen from the data (the
longest of 24, 12, 8, 6, 4, 3, 2 or 1 hours that leaves no window over 100 tasks), which a
real caller cannot know in advance. The SDK starts from the whole 30 days and splits what
the server cuts.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from pyrus_calendar import PyrusClient

from .data import SPAN_END, SPAN_START, due_times
from .report import Row, median, ms, ratio
from .servers import Served, ServerProcess, pyrus_server

TARGET_SPEEDUP = 3.0
TARGET_REQUESTS = 3.0
ITEM_COUNT = 100
LATENCY = 0.02
SEED = 1


def baseline_window(tasks: int) -> timedelta:
    """The longest window (whole hours dividing a day) that no stretch of the data overfills."""
    dues = due_times(tasks, seed=SEED)
    for hours in (24, 12, 8, 6, 4, 3, 2, 1):
        step = hours * 3600
        per_window = Counter(int((due - SPAN_START).total_seconds()) // step for due in dues)
        if max(per_window.values()) <= ITEM_COUNT:
            return timedelta(hours=hours)
    raise RuntimeError("even one-hour windows are overfull")


def _windows(step: timedelta) -> list[tuple[datetime, datetime]]:
    windows = []
    start = SPAN_START
    while start < SPAN_END:
        windows.append((start, min(start + step, SPAN_END)))
        start += step
    return windows


def _official_client(served: Served) -> Any:
    from pyrus import client as pyrus_client  # type: ignore[import-untyped]

    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    api = pyrus_client.PyrusAPI(
        login=served.info["login"], security_key=served.info["security_key"]
    )
    # The official client speaks https to fixed hosts; aim it at the loopback fake.
    api._protocol = "http"
    api._auth_host = f"127.0.0.1:{served.port}/api"
    api.auth()
    return api


def official_walk(api: Any, step: timedelta) -> tuple[float, int, int]:
    """Seconds, requests and tasks for one walk over the span."""
    from pyrus.models import requests as pyrus_requests  # type: ignore[import-untyped]

    started = time.perf_counter()
    count = requests = 0
    for start, end in _windows(step):
        answer = api.get_calendar_tasks(
            pyrus_requests.CalendarRequest(start, end, item_count=ITEM_COUNT, filter_mask=1)
        )
        requests += 1
        if answer.has_more:
            raise AssertionError(f"window {start}..{end} was cut")
        count += len(answer.tasks)
    return time.perf_counter() - started, requests, count


async def sdk_walk(pyrus: PyrusClient, concurrency: int = 4) -> tuple[float, int, int]:
    """Seconds, requests and tasks for one ``iter_calendar`` over the span."""
    before = pyrus.stats.calendar_requests
    started = time.perf_counter()
    count = 0
    seen: set[int] = set()
    async for task in pyrus.iter_calendar(
        SPAN_START, SPAN_END, filters="due", item_count=ITEM_COUNT, concurrency=concurrency
    ):
        count += 1
        seen.add(task.id)
    elapsed = time.perf_counter() - started
    assert len(seen) == count, "a task came out twice"
    return elapsed, pyrus.stats.calendar_requests - before, count


def _client(served: Served) -> PyrusClient:
    return PyrusClient(
        login=served.info["login"],
        security_key=served.info["security_key"],
        base_url=f"{served.url}/v4/",
    )


async def _measure(served: Served, tasks: int, repetitions: int) -> list[Row]:
    step = baseline_window(tasks)
    api = await asyncio.to_thread(_official_client, served)
    samples: dict[str, list[float]] = {"sdk": [], "official": []}
    counts: dict[str, int] = {}
    async with _client(served) as pyrus:
        await pyrus.login()
        for rep in range(repetitions + 1):  # the first round is the warm-up
            order = ["sdk", "official"] if rep % 2 else ["official", "sdk"]
            for side in order:
                if side == "sdk":
                    seconds, requests, count = await sdk_walk(pyrus)
                else:
                    seconds, requests, count = await asyncio.to_thread(official_walk, api, step)
                assert count == tasks, f"{side} read {count} tasks, not {tasks}"
                counts[side] = requests
                if rep:
                    samples[side].append(seconds)
    speedup = ratio(samples, "official", "sdk")
    minimum = -(-tasks // ITEM_COUNT)
    request_ratio = counts["sdk"] / minimum
    hours = int(step.total_seconds() // 3600)
    return [
        Row(
            measure=f"read {tasks:,} tasks over 30 days via iter_calendar (20 ms per response)",
            sdk=ms(median(samples["sdk"])),
            baseline=f"{ms(median(samples['official']))} (pyrus-api, {hours} h windows)",
            result=f"{speedup:.1f}x faster",
            target=f">= {TARGET_SPEEDUP:.0f}x faster",
            ok=speedup >= TARGET_SPEEDUP,
            notes=[
                f"{repetitions} interleaved repetitions after a warm-up; shuffled order;"
                f" concurrency=4 (the default); the official client made {counts['official']}"
                f" requests with the best window length for this data ({hours} h)"
            ],
        ),
        Row(
            measure="  requests made by iter_calendar",
            sdk=f"{counts['sdk']}",
            baseline=f"{minimum} (the minimum, {tasks:,} / {ITEM_COUNT})",
            result=f"{request_ratio:.2f}x the minimum",
            target=f"<= {TARGET_REQUESTS:.0f}x",
            ok=request_ratio <= TARGET_REQUESTS,
        ),
    ]


def run(*, quick: bool = False) -> list[Row]:
    """The iter_calendar rows."""
    tasks, repetitions = (2000, 1) if quick else (10_000, 3)
    with ServerProcess(pyrus_server, tasks=tasks, seed=SEED, latency=LATENCY) as served:
        return asyncio.run(_measure(served, tasks, repetitions))


def profile(*, quick: bool = False) -> None:
    """cProfile of one SDK walk."""
    tasks = 2000 if quick else 10_000

    async def main(served: Served) -> None:
        async with _client(served) as pyrus:
            await pyrus.login()
            profiler = cProfile.Profile()
            profiler.enable()
            print(await sdk_walk(pyrus))
            profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)

    with ServerProcess(pyrus_server, tasks=tasks, seed=SEED, latency=LATENCY) as served:
        asyncio.run(main(served))
