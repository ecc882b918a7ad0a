"""The watch soak: a watcher process on an SQLite state, killed with SIGKILL and restarted at
random points, while the fake Pyrus server injects faults and the calendar is changed at
random between polls (tasks added, edited, deleted, and moved inside or out of the window).

The soak keeps its own copy of the calendar from the changes delivered (applied once per
change key) and checks it against the server: a change is lost if the copy ends up wrong, or
if a delivered change does not follow the one before it (its ``previous`` is not the version
the copy holds). A change delivered twice is counted; at-least-once allows one per kill (the
change handled but not yet committed when the process died).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

from pyrus_calendar import Task
from pyrus_calendar.testing import FakePyrusServer

__all__ = ["WatchChaosConfig", "WatchReport", "format_watch_table", "soak_watch"]

ROOT = Path(__file__).resolve().parents[2]
MUTATIONS = {"add": 0.3, "edit": 0.3, "delete": 0.15, "move": 0.15, "move out": 0.05, "back": 0.05}
_LINE_TIMEOUT = 30.0  # seconds without a line from the watcher before the soak gives up
_MAX_READS = 50  # lines read at most while waiting for the moment to kill


@dataclass(frozen=True, slots=True)
class WatchChaosConfig:
    """One watch soak: rounds of changes, how often the watcher is killed, the fault rate."""

    rounds: int = 300
    seed: int = 1
    kill_rate: float = 0.2  # share of rounds that end with a SIGKILL
    rate: float = 0.08  # share of HTTP requests given a fault
    tasks: int = 60
    interval: float = 0.02  # seconds between the watcher's polls
    handle_time: float = 0.01  # seconds the watcher's handler takes per change
    timeout: float = 0.5  # seconds per HTTP attempt
    time_limit: float = 240.0


@dataclass
class WatchReport:
    """What the watch soak did and found."""

    config: WatchChaosConfig
    mutations: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    kills_after_a_change: int = 0  # killed just after a change was written: maybe in flight
    starts: int = 0
    polls_seen: int = 0
    delivered: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    lost: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    stopped_early: bool = False

    def problems(self) -> list[str]:
        """Every expectation that did not hold (empty when all is well)."""
        found = [f"lost: {what}" for what in self.lost]
        if self.duplicates > self.kills:
            found.append(f"{self.duplicates} changes repeated, more than the {self.kills} kills")
        return found


class _Watcher:
    """The worker process and its lines."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.reliability.watch_worker",
            json.dumps(self.config),
            cwd=ROOT,
            env=dict(os.environ),
            stdout=asyncio.subprocess.PIPE,
        )

    async def line(self) -> dict[str, Any]:
        assert self.process is not None
        assert self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), _LINE_TIMEOUT)
        if not raw:
            code = await self.process.wait()
            raise RuntimeError(f"the watcher ended (exit {code}) without being killed")
        parsed: dict[str, Any] = json.loads(raw)
        return parsed

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        self.process = None


class _Copy:
    """The consumer's copy of the calendar, from the changes delivered."""

    def __init__(self, report: WatchReport) -> None:
        self.report = report
        self.items: dict[int, list[Any]] = {}
        self.keys: set[str] = set()

    def apply(self, line: dict[str, Any]) -> None:
        report = self.report
        report.delivered[line["kind"]] += 1
        if line["key"] in self.keys:
            report.duplicates += 1
            return
        self.keys.add(line["key"])
        task_id, kind = line["id"], line["kind"]
        held = self.items.get(task_id)
        if kind == "added":
            if held is not None:
                report.lost.append(f"task {task_id} added again, its removal never came")
            self.items[task_id] = line["item"]
        elif kind == "changed":
            if held != line["previous"]:
                report.lost.append(f"task {task_id}: changed from {line['previous']}, copy {held}")
            self.items[task_id] = line["item"]
        else:
            if held != line["item"]:
                report.lost.append(f"task {task_id}: removed as {line['item']}, copy {held}")
            self.items.pop(task_id, None)


class _Calendar:
    """The server's tasks, changed at random; what a poll should show now."""

    def __init__(self, server: FakePyrusServer, rng: random.Random, now: datetime) -> None:
        self.server = server
        self.rng = rng
        self.now = now
        self.tasks: dict[int, Task] = {}
        self.parked: dict[int, Task] = {}  # moved out of the window, may come back
        self.next_id = 1
        self.version = 0

    def _due(self) -> datetime:
        return self.now + timedelta(hours=1, minutes=self.rng.randrange(20 * 24 * 60))

    def _store(self, task: Task) -> None:
        self.tasks[task.id] = task
        self.server.add_task(task)

    def add(self) -> None:
        self.version += 1
        task = Task(id=self.next_id, subject=f"t{self.next_id} v{self.version}", due=self._due())
        self.next_id += 1
        self._store(task)

    def mutate(self, kind: str) -> bool:
        if kind == "add" or (not self.tasks and kind != "back"):
            self.add()
            return True
        if kind == "back":
            if not self.parked:
                return False
            task = self.parked.pop(self.rng.choice(sorted(self.parked)))
            self._store(msgspec.structs.replace(task, due=self._due()))
            return True
        task_id = self.rng.choice(sorted(self.tasks))
        task = self.tasks[task_id]
        self.version += 1
        if kind == "edit":
            self._store(msgspec.structs.replace(task, subject=f"t{task_id} v{self.version}"))
        elif kind == "move":
            self._store(msgspec.structs.replace(task, due=self._due()))
        elif kind == "move out":  # past the horizon: gone from inside the window
            moved = msgspec.structs.replace(task, due=self.now + timedelta(days=90))
            self.server.add_task(moved)
            del self.tasks[task_id]
            self.parked[task_id] = moved
        else:
            self.server.remove_task(task_id)
            del self.tasks[task_id]
        return True

    def truth(self) -> dict[int, list[Any]]:
        return {
            task_id: [task.subject, msgspec.to_builtins(task.due)]
            for task_id, task in self.tasks.items()
        }


def _install_faults(server: FakePyrusServer, rate: float) -> None:
    faults = server.faults
    gateway = b"<html><body><h1>Bad Gateway</h1>nginx</body></html>"
    for status in (502, 503, 504):
        faults.fail_fraction(rate * 0.1, status, body=gateway, content_type="text/html")
    faults.fail_fraction(
        rate * 0.2,
        429,
        body=b'{"error_code":"too_many_requests","error":"Too many requests."}',
        retry_after=0.005,
    )
    faults.drop_fraction(rate * 0.2)
    faults.truncate_fraction(rate * 0.2)
    faults.revoke_fraction(rate * 0.1)


async def soak_watch(config: WatchChaosConfig) -> WatchReport:
    """Run the watch soak (see the module docstring)."""
    report = WatchReport(config)
    rng = random.Random(config.seed)
    server = FakePyrusServer(
        order="shuffled", rate_limit=None, seed=config.seed, record_requests=False
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="watch-soak-") as folder:
        async with server:
            calendar = _Calendar(server, rng, datetime.now(UTC).replace(microsecond=0))
            for _ in range(config.tasks):
                calendar.add()
            watcher = _Watcher(
                {
                    "api_url": server.api_url,
                    "login": FakePyrusServer.DEFAULT_LOGIN,
                    "security_key": FakePyrusServer.DEFAULT_SECURITY_KEY,
                    "state": str(Path(folder) / "watch.sqlite"),
                    "interval": config.interval,
                    "handle_time": config.handle_time,
                    "timeout": config.timeout,
                }
            )
            copy = _Copy(report)
            _install_faults(server, config.rate)
            try:
                await watcher.start()
                report.starts += 1
                deadline = time.monotonic() + config.time_limit
                for _ in range(config.rounds):
                    if time.monotonic() > deadline:
                        report.stopped_early = True
                        break
                    for _ in range(rng.randint(1, 4)):
                        kind = rng.choices(list(MUTATIONS), weights=list(MUTATIONS.values()))[0]
                        if calendar.mutate(kind):
                            report.mutations[kind] += 1
                    if rng.random() < config.kill_rate:
                        # Killed right after a change was written (its handler still
                        # running), while waiting between polls, or after a few lines.
                        line = {"waiting": True}
                        mode = rng.choice(["after a change", "while waiting", "anywhere"])
                        reads = rng.randint(0, 3) if mode == "anywhere" else _MAX_READS
                        for _ in range(reads):
                            line = await watcher.line()
                            if "waiting" in line:
                                report.polls_seen += 1
                            else:
                                copy.apply(line)
                            if mode != "anywhere" and ("waiting" in line) == (
                                mode == "while waiting"
                            ):
                                break
                        report.kills += 1
                        report.kills_after_a_change += "waiting" not in line
                        await watcher.kill()
                        await watcher.start()
                        report.starts += 1
                        continue
                    while "waiting" not in (line := await watcher.line()):
                        copy.apply(line)
                    report.polls_seen += 1
                # The last word: no faults, and two full polls after the last change.
                server.faults.clear()
                waits = 0
                while waits < 2:
                    line = await watcher.line()
                    if "waiting" in line:
                        waits += 1
                        report.polls_seen += 1
                    else:
                        copy.apply(line)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    await watcher.kill()
            truth = calendar.truth()
            for task_id in sorted(set(truth) | set(copy.items)):
                server_has, copy_has = truth.get(task_id), copy.items.get(task_id)
                if server_has != copy_has:
                    report.lost.append(f"task {task_id}: server {server_has}, copy {copy_has}")
            report.faults = Counter(server.faults.injected)
    report.elapsed = time.perf_counter() - started
    return report


def format_watch_table(report: WatchReport) -> str:
    """The watch soak's figures as a Markdown table."""
    config = report.config
    faults = sum(report.faults.values())
    rows = [
        ("rounds of random changes", str(config.rounds)),
        ("changes made on the server", str(sum(report.mutations.values()))),
        *((f"· {kind}", str(report.mutations[kind])) for kind in MUTATIONS),
        ("watcher processes started", str(report.starts)),
        ("SIGKILLs at random points", str(report.kills)),
        ("· of them just after a change was written", str(report.kills_after_a_change)),
        ("polls seen to the end", str(report.polls_seen)),
        ("faults injected (5xx, 429, drops, truncations, revocations)", str(faults)),
        ("changes delivered", str(sum(report.delivered.values()))),
        *((f"· {kind}", str(report.delivered[kind])) for kind in ("added", "changed", "removed")),
        ("changes lost (must be 0)", str(len(report.lost))),
        ("changes delivered twice (at most one per kill)", str(report.duplicates)),
        (
            "wall time",
            f"{report.elapsed:.1f} s" + (" (time limit hit)" if report.stopped_early else ""),
        ),
    ]
    head = (
        f"seed {config.seed}, {config.tasks} tasks to start with, a kill in "
        f"{config.kill_rate:.0%} of rounds, fault rate {config.rate:.0%} of HTTP requests, "
        f"polls every {config.interval}s"
    )
    lines = [head, "", "| | watch |", "|---|---:|"]
    lines += [f"| {label} | {value} |" for label, value in rows]
    return "\n".join(lines)
