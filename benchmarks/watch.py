"""What watching costs (issue 15): one poll of an unchanged window of 10,000 realistic,
unevenly loaded tasks with ``PyrusClient.watch(state=<SQLite file>)``, against one
``iter_calendar`` of the same window; the SQLite bytes for 100,000 watched tasks; and the
client's memory over many polls.

The fake runs in its own process, 20 ms late per answer, like :mod:`benchmarks.iter_calendar`,
but sorting by due: a shuffling server moves a walk's request count by a few percent from
walk to walk, which would be charged to whichever side drew more. The watch's clock stands
still, so every poll covers exactly the window ``iter_calendar`` reads. A poll is one walk
plus the diff: the state's load at start (once), one encoding and hash per task, and one
small transaction when nothing changed.
"""

from __future__ import annotations

import asyncio
import gc
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec

from calendar_watch import SqliteWatchState, Watch
from calendar_watch.state import Mark, Record, SnapshotDelta
from pyrus_calendar import PyrusClient, Task

from .data import SPAN_END, SPAN_START, make_tasks
from .iter_calendar import LATENCY, SEED, sdk_walk
from .memory import MB, _status
from .report import Row, median, ms, ratio
from .servers import Served, ServerProcess, pyrus_server

#: the state may add this share to a walk's wall-clock
TARGET_OVERHEAD = 0.20
#: growth of the client's RSS allowed over :data:`POLLS` unchanged polls
TARGET_GROWTH_MB = 5.0
POLLS = 20


class _Round(Exception):
    """Ends one measured round: the watch found nothing and went to sleep again."""


class _StillClock:
    """A clock that stands still; its sleep lets ``allow`` polls through, then ends the round."""

    def __init__(self) -> None:
        self.budget = 0

    def __call__(self) -> Any:
        return SPAN_START

    async def sleep(self, _seconds: float) -> None:
        if self.budget <= 0:
            raise _Round
        self.budget -= 1


async def _poll(watch: Watch[Any], clock: _StillClock, polls: int = 1) -> int:
    """Let ``polls`` more polls run; returns the changes they reported (all taken)."""
    clock.budget = polls
    taken = 0
    while True:
        try:
            await anext(watch)
        except _Round:
            return taken
        taken += 1


def _client(served: Served) -> PyrusClient:
    return PyrusClient(
        login=served.info["login"],
        security_key=served.info["security_key"],
        base_url=f"{served.url}/v4/",
    )


async def _measure(served: Served, tasks: int, repetitions: int, folder: str) -> list[Row]:
    clock = _StillClock()
    path = Path(folder) / "watch.db"
    samples: dict[str, list[float]] = {"poll": [], "walk": []}
    requests: dict[str, int] = {}
    async with _client(served) as pyrus:
        await pyrus.login()
        watch = pyrus.watch(
            filters="due",
            lookback=timedelta(0),
            horizon=SPAN_END - SPAN_START,
            state=path,
            clock=clock,
            sleep=clock.sleep,
        )
        async with watch:
            started = time.perf_counter()
            first = await _poll(watch, clock, 0)  # the first poll runs without a sleep
            first_seconds = time.perf_counter() - started
            assert first == tasks, f"the first poll reported {first} of {tasks} tasks"
            for rep in range(repetitions + 1):  # the first round is the warm-up
                for side in ["poll", "walk"] if rep % 2 else ["walk", "poll"]:
                    before = pyrus.stats.calendar_requests
                    started = time.perf_counter()
                    if side == "poll":
                        assert await _poll(watch, clock) == 0, "an unchanged poll reported"
                    else:
                        _, _, count = await sdk_walk(pyrus)
                        assert count == tasks
                    elapsed = time.perf_counter() - started
                    requests[side] = pyrus.stats.calendar_requests - before
                    if rep:
                        samples[side].append(elapsed)
            gc.collect()
            rss_before = _status("VmRSS")
            await _poll(watch, clock, POLLS)
            gc.collect()
            rss_after = _status("VmRSS")
        size = path.stat().st_size
    overhead = ratio(samples, "poll", "walk") - 1
    rows = [
        Row(
            measure=f"one poll of an unchanged {tasks:,}-task window, watch(state=SQLite file)",
            sdk=ms(median(samples["poll"])),
            baseline=f"{ms(median(samples['walk']))} (one iter_calendar)",
            result=f"{overhead * 100:+.0f} % wall-clock",
            target=f"<= +{TARGET_OVERHEAD * 100:.0f} %",
            ok=overhead <= TARGET_OVERHEAD,
            notes=[
                f"{repetitions} interleaved repetitions after a warm-up, 20 ms per answer, the"
                " fake sorting by due;"
                f" requests: poll {requests['poll']}, iter_calendar {requests['walk']};"
                f" the first poll (all {tasks:,} added, each taken and committed) took"
                f" {ms(first_seconds)}; state file {size / MB:.1f} MB"
            ],
        ),
        Row(
            measure="  requests of that poll",
            sdk=str(requests["poll"]),
            baseline=f"{requests['walk']} (one iter_calendar)",
            result=f"{requests['poll'] - requests['walk']:+d}",
            target="<= +0 (the walk's own spread aside)",
            ok=None,
            notes=["asserted exactly in tests/watch/test_poll_cost.py (in-process fake)"],
        ),
    ]
    if rss_before is not None and rss_after is not None:
        growth = (rss_after - rss_before) / MB
        rows.append(
            Row(
                measure=f"client RSS over {POLLS} more unchanged polls of {tasks:,} tasks",
                sdk=f"{rss_after / MB:.0f} MB",
                baseline=f"{rss_before / MB:.0f} MB (before them)",
                result=f"{growth:+.1f} MB",
                target=f"<= +{TARGET_GROWTH_MB:.0f} MB (flat)",
                ok=growth <= TARGET_GROWTH_MB,
            )
        )
    return rows


async def _fill_state(path: Path, items: int) -> float:
    """Store ``items`` realistic tasks in an SQLite state at ``path``; the commit's seconds."""
    state = SqliteWatchState(path)
    await state.open()
    put: dict[str, Record] = {}
    for raw in make_tasks(items, seed=SEED):
        task = msgspec.json.decode(msgspec.json.encode(raw), type=Task)
        data = msgspec.json.encode(task)  # as the watch stores it: the model's JSON
        mark = Mark(f"{task.last_modified_date}/{'0' * 24}", task.due)
        put[f"task:{task.id}"] = Record(mark, data)
    started = time.perf_counter()
    await state.commit("size", 1, [], SnapshotDelta(put=put))
    seconds = time.perf_counter() - started
    await state.close()  # the last connection closing checkpoints the WAL into the file
    return seconds


def _state_size(items: int, folder: str) -> tuple[int, float]:
    """Bytes of an SQLite state holding ``items`` realistic tasks, and the commit's seconds."""
    path = Path(folder) / f"size-{items}.db"
    seconds = asyncio.run(_fill_state(path, items))
    wal = Path(f"{path}-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0), seconds


def run(*, quick: bool = False) -> list[Row]:
    """The watch rows."""
    tasks, repetitions, stored = (2000, 1, 10_000) if quick else (10_000, 3, 100_000)
    with tempfile.TemporaryDirectory() as folder:
        with ServerProcess(
            pyrus_server, tasks=tasks, seed=SEED, latency=LATENCY, uneven=True, order="due"
        ) as served:
            rows = asyncio.run(_measure(served, tasks, repetitions, folder))
        size, seconds = _state_size(stored, folder)
    rows.append(
        Row(
            measure=f"SQLite state for {stored:,} watched tasks",
            sdk=f"{size / MB:.1f} MB",
            baseline=f"{size / stored:,.0f} bytes per task",
            result=f"committed in {ms(seconds)}",
            target="(informational)",
            ok=None,
            notes=[
                "realistic tasks (benchmarks/data.py), stored as the model's JSON with their"
                " mark; one transaction"
            ],
        )
    )
    return rows


def profile(*, quick: bool = False) -> None:
    """The rows, printed."""
    for row in run(quick=quick):
        print(row)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    profile()
