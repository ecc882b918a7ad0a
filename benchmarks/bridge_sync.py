"""The sync part of the bridge figures: 1,000 Pyrus tasks synced into a real Radicale on
loopback (a temporary folder): the first run, a re-run with no change, a run after 10
edits; wall-clock and CalDAV writes (PUT and DELETE) of each."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from calendar_bridge.sync import MemorySyncState, Sync
from calendar_bridge.sync.caldav import CalDAVTarget
from pyrus_calendar import PyrusClient, Task
from pyrus_calendar.testing import FakePyrusServer

from .report import Row

__all__ = ["sync_rows"]


@contextlib.contextmanager
def radicale() -> Iterator[str]:
    """A Radicale (no auth) on a free loopback port; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}"]
        command += ["--storage-filesystem-folder", str(Path(folder) / "c"), "--auth-type", "none"]
        command += ["--logging-level", "warning"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # until it listens
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)


async def _sync(base: str, count: int) -> list[tuple[str, float, int]]:
    now = datetime.now(UTC).replace(microsecond=0)

    def task(number: int, text: str = "") -> Task:
        due = now + timedelta(minutes=20 * number)
        return Task(id=number, due=due, text=text or f"task {number}", last_modified_date=now)

    async with (
        FakePyrusServer(seed=1) as fake,
        PyrusClient(
            base_url=fake.api_url, login=fake.DEFAULT_LOGIN, security_key=fake.DEFAULT_SECURITY_KEY
        ) as pyrus,
    ):
        fake.add_tasks(task(number) for number in range(1, count + 1))
        target = CalDAVTarget(f"{base}/bench/pyrus/", username="bench", password="-")
        sync = Sync(
            lambda a, b: pyrus.iter_calendar(a, b, filters="due"),
            target,
            source="bench",
            state=MemorySyncState(),
            horizon=timedelta(days=count // 72 + 2),
            lookback=timedelta(0),
        )
        results: list[tuple[str, float, int]] = []
        await asyncio.to_thread(_make_calendar, base)
        async with sync:
            for label in ("first run", "re-run, no change", "after 10 edits"):
                if label == "after 10 edits":
                    fake.add_tasks(task(number, "edited") for number in range(1, 11))
                before, started = target.writes, time.perf_counter()
                await sync.run()
                results.append((label, time.perf_counter() - started, target.writes - before))
        return results


def _make_calendar(base: str) -> None:
    import caldav

    with caldav.DAVClient(url=base, username="bench", password="-") as client:
        client.principal().make_calendar(name="pyrus", cal_id="pyrus")


def sync_rows(*, quick: bool = False) -> list[Row]:
    """Wall-clock and writes of the three runs."""
    count = 200 if quick else 1000
    with radicale() as base:
        results = asyncio.run(_sync(base, count))
    targets = {"first run": count, "re-run, no change": 0, "after 10 edits": 10}
    return [
        Row(
            f"sync into Radicale, {count:,} items: {label}",
            f"{seconds:.2f} s",
            "-",
            f"{writes:,} writes",
            f"{targets[label]} writes",
            writes == targets[label],
        )
        for label, seconds, writes in results
    ]
