"""Reading 10,000 unevenly loaded tasks over 30 days (:func:`benchmarks.data.uneven_due_times`:
a burst afternoon, Moscow working hours) with ``PyrusClient.iter_calendar`` at its default
concurrency, the fake shuffling every answer 20 ms late, like a WAN round trip; against
two references:

- the floor: the fewest requests (``ceil(tasks / 100)``) x 20 ms / concurrency, plus the
  time the SDK needs to decode that many full 100-task pages; no walk can beat it;
- the official synchronous ``pyrus-api`` client walking ideal windows, one after the other:
  windows cut from the data itself so that each holds at most 100 tasks and none is cut
  (about the minimum number of requests), which a real caller cannot know in advance.
"""

from __future__ import annotations

import asyncio
import bisect
import cProfile
import inspect
import os
import pstats
import time
from datetime import datetime
from typing import Any

import msgspec

from pyrus_calendar import CalendarPage, PyrusClient

from .data import SPAN_END, SPAN_START, uneven_due_times
from .decode_page import page_bytes
from .report import Row, median, ms, ratio, timed
from .servers import Served, ServerProcess, pyrus_server

TARGET_SPEEDUP = 5.0
TARGET_VS_FLOOR = 1.5
ITEM_COUNT = 100
LATENCY = 0.02
SEED = 1
#: what ``iter_calendar`` uses when the caller does not say
DEFAULT_CONCURRENCY: int = (
    inspect.signature(PyrusClient.iter_calendar).parameters["concurrency"].default
)


def ideal_windows(dues: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Half-open windows over the span holding at most ``ITEM_COUNT`` deadlines each, cut
    at every 100th deadline (fewer only where deadlines share a second)."""
    ordered = sorted(dues)
    windows = []
    start, first = SPAN_START, 0
    while first + ITEM_COUNT < len(ordered):
        boundary = ordered[first + ITEM_COUNT]
        following = bisect.bisect_left(ordered, boundary)
        if following == first:
            raise RuntimeError(f"over {ITEM_COUNT} deadlines at {boundary}")
        windows.append((start, boundary))
        start, first = boundary, following
    windows.append((start, SPAN_END))
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


def official_walk(api: Any, windows: list[tuple[datetime, datetime]]) -> tuple[float, int, int]:
    """Seconds, requests and tasks for one walk over the given windows."""
    from pyrus.models import requests as pyrus_requests  # type: ignore[import-untyped]

    started = time.perf_counter()
    count = requests = 0
    for start, end in windows:
        answer = api.get_calendar_tasks(
            pyrus_requests.CalendarRequest(start, end, item_count=ITEM_COUNT, filter_mask=1)
        )
        requests += 1
        if answer.has_more:
            raise AssertionError(f"window {start}..{end} was cut")
        count += len(answer.tasks)
    return time.perf_counter() - started, requests, count


async def sdk_walk(pyrus: PyrusClient) -> tuple[float, int, int]:
    """Seconds, requests and tasks for one ``iter_calendar`` over the span."""
    before = pyrus.stats.calendar_requests
    started = time.perf_counter()
    count = 0
    seen: set[int] = set()
    async for task in pyrus.iter_calendar(
        SPAN_START, SPAN_END, filters="due", item_count=ITEM_COUNT
    ):
        count += 1
        seen.add(task.id)
    elapsed = time.perf_counter() - started
    assert len(seen) == count, "a task came out twice"
    return elapsed, pyrus.stats.calendar_requests - before, count


def decode_seconds(pages: int) -> float:
    """What decoding ``pages`` full 100-task pages into models costs the SDK (median)."""
    data = page_bytes()
    decoder = msgspec.json.Decoder(CalendarPage)
    samples = [timed(lambda: decoder.decode(data), loops=5) for _ in range(7)]
    return median(samples) * pages


def _client(served: Served) -> PyrusClient:
    return PyrusClient(
        login=served.info["login"],
        security_key=served.info["security_key"],
        base_url=f"{served.url}/v4/",
    )


async def _measure(served: Served, tasks: int, repetitions: int) -> list[Row]:
    windows = ideal_windows(uneven_due_times(tasks, seed=SEED))
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
                    seconds, requests, count = await asyncio.to_thread(official_walk, api, windows)
                assert count == tasks, f"{side} read {count} tasks, not {tasks}"
                counts[side] = requests
                if rep:
                    samples[side].append(seconds)
    minimum = -(-tasks // ITEM_COUNT)
    decoding = decode_seconds(minimum)
    floor = minimum * LATENCY / DEFAULT_CONCURRENCY + decoding
    sdk = median(samples["sdk"])
    speedup = ratio(samples, "official", "sdk")
    return [
        Row(
            measure=f"read {tasks:,} uneven tasks over 30 days via iter_calendar (20 ms per"
            " response)",
            sdk=ms(sdk),
            baseline=f"{ms(floor)} (the floor)",
            result=f"{sdk / floor:.2f}x the floor",
            target=f"<= {TARGET_VS_FLOOR}x",
            ok=sdk / floor <= TARGET_VS_FLOOR,
            notes=[
                f"{repetitions} interleaved repetitions after a warm-up; the fake shuffles"
                f" every answer; concurrency={DEFAULT_CONCURRENCY} (the default);"
                f" {counts['sdk']} requests. Floor = {minimum} requests x"
                f" {LATENCY * 1000:.0f} ms / {DEFAULT_CONCURRENCY} + {ms(decoding)} to decode"
                f" {minimum} full pages"
            ],
        ),
        Row(
            measure="  same, against pyrus-api walking ideal windows",
            sdk=ms(sdk),
            baseline=f"{ms(median(samples['official']))} (pyrus-api)",
            result=f"{speedup:.1f}x faster",
            target=f">= {TARGET_SPEEDUP:.0f}x faster",
            ok=speedup >= TARGET_SPEEDUP,
            notes=[
                f"the official client made {counts['official']} requests, one after the"
                " other, over windows cut from the data at every 100th deadline"
            ],
        ),
    ]


def run(*, quick: bool = False) -> list[Row]:
    """The iter_calendar rows."""
    tasks, repetitions = (2000, 1) if quick else (10_000, 3)
    with ServerProcess(
        pyrus_server, tasks=tasks, seed=SEED, latency=LATENCY, uneven=True
    ) as served:
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

    with ServerProcess(
        pyrus_server, tasks=tasks, seed=SEED, latency=LATENCY, uneven=True
    ) as served:
        asyncio.run(main(served))
