"""Timing, medians and the table: what every comparison shares.

A comparison returns :class:`Row` objects; :func:`print_table` prints them. Ratios are
computed per repetition from timings taken side by side (interleaved, alternating which
side goes first) and the median of those ratios is reported, so a noisy neighbour slows
both sides of a pair rather than one side of the table.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any


@dataclass
class Row:
    """One line of the table: a measure, its SDK figure, the baseline's, and the target."""

    measure: str
    sdk: str
    baseline: str
    result: str
    target: str
    ok: bool | None  # None: informational, no target
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        return cls(**data)


def median(values: Sequence[float]) -> float:
    """The median; an empty sequence is an error worth seeing."""
    return statistics.median(values)


def ms(seconds: float) -> str:
    """Seconds as a short millisecond (or second) figure."""
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms" if seconds >= 0.01 else f"{seconds * 1000:.2f} ms"


def us(seconds: float) -> str:
    """Seconds as microseconds."""
    return f"{seconds * 1e6:,.0f} µs"


def timed(function: Callable[[], object], loops: int = 1) -> float:
    """Seconds per call of ``function``, over ``loops`` calls."""
    started = time.perf_counter()
    for _ in range(loops):
        function()
    return (time.perf_counter() - started) / loops


async def atimed(function: Callable[[], Awaitable[object]]) -> float:
    """Seconds one await of ``function()`` took."""
    started = time.perf_counter()
    await function()
    return time.perf_counter() - started


def side_by_side(
    runs: dict[str, Callable[[], float]], repetitions: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Call each timing function once per repetition, rotating who goes first."""
    names = list(runs)
    for _ in range(warmup):
        for name in names:
            runs[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(repetitions):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(runs[name]())
    return samples


async def aside_by_side(
    runs: dict[str, Callable[[], Awaitable[float]]], repetitions: int, warmup: int = 1
) -> dict[str, list[float]]:
    """:func:`side_by_side` for coroutines."""
    names = list(runs)
    for _ in range(warmup):
        for name in names:
            await runs[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(repetitions):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(await runs[name]())
    return samples


def ratio(samples: dict[str, list[float]], top: str, bottom: str) -> float:
    """Median of the per-repetition ratios ``top / bottom``."""
    return median([a / b for a, b in zip(samples[top], samples[bottom], strict=True)])


def environment() -> list[str]:
    """The machine and the versions that matter, one ``key: value`` per line."""
    lines = [
        f"python: {sys.version.split()[0]} ({platform.python_implementation()})",
        f"platform: {platform.platform()}",
        f"cpu: {_cpu_name()} x {os.cpu_count()}",
    ]
    versions = []
    for package in ("aiohttp", "msgspec", "tenacity", "yarl", "pyrus-api", "requests"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (missing)")
    lines.append("versions: " + ", ".join(versions))
    with contextlib.suppress(OSError):
        lines.append("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return lines


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"


def print_table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (returned, and printed), with notes below it."""
    header = ["measure", "SDK", "baseline", "result", "target", ""]
    body = [
        [
            row.measure,
            row.sdk,
            row.baseline,
            row.result,
            row.target,
            "-" if row.ok is None else ("met" if row.ok else "MISSED"),
        ]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def render(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    lines = [render(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [render(cells) for cells in body]
    notes = [f"- {row.measure}: {note}" for row in rows for note in row.notes]
    text = "\n".join(lines + (["", *notes] if notes else []))
    print(text, flush=True)
    return text
