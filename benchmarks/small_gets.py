"""2,000 small GETs (the R7 calendar list): ``R7Client.calendars.list()`` against the same
GET sent with a bare ``aiohttp.ClientSession`` (same URL, same ``Authorization`` header)
and ``json.loads``, one at a time and 50 at a time, on one FakeR7Server."""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
from collections.abc import Awaitable, Callable

import aiohttp

from r7cal import R7Client

from .report import Row, median, ms, ratio
from .servers import Served, ServerProcess, r7_server

TARGET = 1.05  # issue 13: no measurable cost without hooks
CALENDARS = 5  # the main calendar and four more: a listing of about 1.3 KB
PATH = "/api/v1/email/Calendars"
SLICES = 8  # each side's requests run in this many slices, alternating with the other side's

Call = Callable[[], Awaitable[object]]


async def _clients(served: Served) -> tuple[R7Client, aiohttp.ClientSession, Call, Call]:
    r7 = R7Client(served.url, login=served.info["login"], password=served.info["password"])
    bare = aiohttp.ClientSession()
    existing = await r7.calendars.list()
    for i in range(CALENDARS - len(existing)):
        await r7.calendars.create(name=f"Team {i}", short_name=f"T{i}", color="#FFC078")
    assert r7.token is not None
    url = served.url + PATH
    headers = {"Authorization": r7.token}

    async def sdk_call() -> object:
        return await r7.calendars.list()

    async def bare_call() -> object:
        async with bare.get(url, headers=headers) as response:
            return json.loads(await response.read())

    sdk_answer, bare_answer = await sdk_call(), await bare_call()
    assert isinstance(sdk_answer, list)
    assert isinstance(bare_answer, list)
    assert len(sdk_answer) == len(bare_answer) == CALENDARS
    return r7, bare, sdk_call, bare_call


async def _run(call: Call, count: int, concurrency: int) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    if concurrency == 1:
        for _ in range(count):
            await call()
    else:

        async def worker(share: int) -> None:
            for _ in range(share):
                await call()

        share, extra = divmod(count, concurrency)
        await asyncio.gather(*(worker(share + (i < extra)) for i in range(concurrency)))
    return loop.time() - started


async def _pair(
    sdk_call: Call, bare_call: Call, count: int, concurrency: int
) -> tuple[float, float]:
    """``count`` requests on each side, run in slices that alternate between the sides (and
    which side goes first), so both see the same background load; the two total times."""
    sdk = bare = 0.0
    for i in range(SLICES):
        share = count // SLICES
        if i % 2:
            bare += await _run(bare_call, share, concurrency)
            sdk += await _run(sdk_call, share, concurrency)
        else:
            sdk += await _run(sdk_call, share, concurrency)
            bare += await _run(bare_call, share, concurrency)
    return sdk, bare


async def _measure(served: Served, count: int, repetitions: int) -> list[Row]:
    r7, bare, sdk_call, bare_call = await _clients(served)
    rows = []
    try:
        for concurrency in (1, 50):
            await _pair(sdk_call, bare_call, count // 4, concurrency)  # warm-up
            samples: dict[str, list[float]] = {"sdk": [], "bare": []}
            for _ in range(repetitions):
                sdk, bare_time = await _pair(sdk_call, bare_call, count, concurrency)
                samples["sdk"].append(sdk)
                samples["bare"].append(bare_time)
            result = ratio(samples, "sdk", "bare")
            how = "one at a time" if concurrency == 1 else f"{concurrency} at a time"
            per_sdk = median(samples["sdk"]) / count * 1e6
            per_bare = median(samples["bare"]) / count * 1e6
            rows.append(
                Row(
                    measure=f"{count:,} small GETs (R7 calendar list), {how}",
                    sdk=ms(median(samples["sdk"])),
                    baseline=f"{ms(median(samples['bare']))} (bare aiohttp + json.loads)",
                    result=f"SDK/bare = {result:.3f}",
                    target=f"<= {TARGET:.2f}",
                    ok=result <= TARGET,
                    notes=[
                        f"{repetitions} repetitions after a warm-up, each {count:,} requests"
                        f" per side in {SLICES} alternating slices; median of the per-repetition"
                        f" ratios; per request {per_sdk:.0f} µs SDK, {per_bare:.0f} µs bare"
                    ],
                )
            )
    finally:
        await bare.close()
        await r7.aclose()
    return rows


def run(*, quick: bool = False) -> list[Row]:
    """The two rows of this comparison."""
    count, repetitions = (400, 3) if quick else (2000, 9)
    with ServerProcess(r7_server) as served:
        return asyncio.run(_measure(served, count, repetitions))


def profile(*, quick: bool = False, concurrency: int = 50) -> None:
    """cProfile of the SDK side, 50 requests at a time."""
    count = 500 if quick else 3000

    async def main(served: Served) -> None:
        r7, bare, sdk_call, _ = await _clients(served)
        try:
            await _run(sdk_call, 200, concurrency)
            profiler = cProfile.Profile()
            profiler.enable()
            await _run(sdk_call, count, concurrency)
            profiler.disable()
        finally:
            await bare.close()
            await r7.aclose()
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats("calendar_transport|tenacity|r7cal|msgspec", 30)

    with ServerProcess(r7_server) as served:
        asyncio.run(main(served))
