"""Peak memory growth while iterating 10,000 and 100,000 tasks with ``iter_calendar``.

Method: the fake runs in its own process (it holds the data, so its memory is not the
client's). Each measurement runs in a fresh client process that logs in and reads one page
first (imports, decoder, connection pool, token all in place), collects garbage, and then
iterates the whole span while the consumer only counts tasks. Two figures, each from its
own run so one does not disturb the other:

- RSS: the process' resident-set high-water mark during the iteration minus its RSS just
  before it (``/proc/self/clear_refs`` resets the mark; Linux).
- tracemalloc: the peak of Python allocations traced from just before the iteration.

What is allowed to grow with the task count is the set of yielded task ids.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from pyrus_calendar import PyrusClient

from .data import SPAN_END, SPAN_START
from .report import Row
from .servers import ServerProcess, synthetic_pyrus_server

TARGET_MB = 30.0
MB = 1024 * 1024


def _status(field: str) -> int | None:
    """A ``kB`` line of /proc/self/status, in bytes."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_high_water() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


async def _iterate(url: str, info: dict[str, str], method: str) -> dict[str, Any]:
    async with PyrusClient(
        login=info["login"], security_key=info["security_key"], base_url=f"{url}/v4/"
    ) as pyrus:
        await pyrus.calendar(SPAN_START, SPAN_START.replace(hour=1), filters="due")
        gc.collect()
        before = _status("VmRSS") or 0
        exact = _reset_high_water()
        if method == "tracemalloc":
            tracemalloc.start()
        started = time.perf_counter()
        count = 0
        async for _task in pyrus.iter_calendar(SPAN_START, SPAN_END, filters="due"):
            count += 1
        elapsed = time.perf_counter() - started
        result: dict[str, Any] = {
            "count": count,
            "seconds": elapsed,
            "requests": pyrus.stats.calendar_requests - 1,
        }
        if method == "tracemalloc":
            result["growth"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        else:
            peak = _status("VmHWM") if exact else None
            result["growth"] = (peak - before) if peak is not None else None
        return result


def _child(url: str, info: str, method: str) -> None:
    result = asyncio.run(_iterate(url, json.loads(info), method))
    print(json.dumps(result), flush=True)


def _measure(tasks: int, method: str) -> dict[str, Any]:
    with ServerProcess(synthetic_pyrus_server, tasks=tasks) as served:
        command = [
            sys.executable,
            "-m",
            "benchmarks.memory",
            served.url,
            json.dumps(served.info),
            method,
        ]
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["count"] == tasks, f"read {result['count']} tasks, not {tasks}"
    return result


def run(*, quick: bool = False) -> list[Row]:
    """Memory growth rows: RSS and tracemalloc, small and large task counts."""
    small, large = (2_000, 10_000) if quick else (10_000, 100_000)
    figures = {
        (count, method): _measure(count, method)
        for count in (small, large)
        for method in ("rss", "tracemalloc")
    }
    rows = []
    for method, label in (("rss", "RSS high-water"), ("tracemalloc", "tracemalloc peak")):
        a, b = figures[(small, method)], figures[(large, method)]
        if a["growth"] is None or b["growth"] is None:
            rows.append(Row(f"memory growth ({label})", "n/a", "", "needs Linux /proc", "", None))
            continue
        worst = max(a["growth"], b["growth"]) / MB
        rows.append(
            Row(
                measure=f"peak memory growth iterating tasks ({label})",
                sdk=f"{b['growth'] / MB:.1f} MB at {large:,}",
                baseline=f"{a['growth'] / MB:.1f} MB at {small:,}",
                result=f"{worst:.1f} MB at most",
                target=f"<= {TARGET_MB:.0f} MB",
                ok=worst <= TARGET_MB,
                notes=[
                    f"{small:,} tasks: {a['requests']} requests in {a['seconds']:.1f} s;"
                    f" {large:,} tasks: {b['requests']} requests in {b['seconds']:.1f} s"
                ]
                if method == "rss"
                else [],
            )
        )
    return rows


def profile(*, quick: bool = False) -> None:
    """Where the memory is at the tracemalloc peak is better seen with ``tracemalloc``."""
    print(_measure(2_000 if quick else 10_000, "tracemalloc"))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], sys.argv[3])
