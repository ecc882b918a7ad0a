"""Start a fleet of worker processes against one FakePyrusServer and collect what they saw."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from pyrus_calendar.testing import FakePyrusServer

ROOT = Path(__file__).resolve().parents[2]
_WORKER_TIMEOUT = 300.0  # seconds; a stuck worker fails the run instead of hanging it


@dataclass
class FleetResult:
    """What a run of the fleet did, from the workers' and the server's side."""

    calls: int
    ok: int
    errors: list[str]
    logins: int  # seen by the server
    unauthorized: int  # 401s the server sent
    rate_limited: int  # 429s the server sent
    elapsed: float
    outages: int = 0  # Redis outages the workers noticed (each worker counts its own)
    client_logins: list[int] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)

    @property
    def rate(self) -> float:
        """Successful calls per second."""
        return self.ok / self.elapsed if self.elapsed else 0.0


async def run_fleet(
    server: FakePyrusServer,
    *,
    redis_url: str,
    workers: int,
    calls: int,
    shared: bool,
    rate: tuple[int, float] | None = None,
    concurrency: int = 2,
    during: Callable[[], Awaitable[None]] | None = None,
    warm: bool = False,
) -> FleetResult:
    """``calls`` calendar calls in all, spread over ``workers`` processes started together;
    ``during`` runs alongside (e.g. stops Redis for a while); ``warm``: each worker makes one
    call before the start, so all hold the token when ``during`` begins."""
    logins_before = server.counters.logins
    seen_before = len(server.requests_to("/v4/calendar"))
    served_before = server.counters.calendar_requests
    limited_before = server.counters.rate_limited
    shares = [calls // workers + (1 if i < calls % workers else 0) for i in range(workers)]
    processes = []
    for share in shares:
        config = {
            "api_url": server.api_url,
            "login": FakePyrusServer.DEFAULT_LOGIN,
            "security_key": FakePyrusServer.DEFAULT_SECURITY_KEY,
            "redis_url": redis_url,
            "shared": shared,
            "rate": list(rate) if rate else None,
            "workers": workers,
            "calls": share,
            "concurrency": concurrency,
            "warm": warm,
        }
        processes.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.redis.worker",
                json.dumps(config),
                cwd=ROOT,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        )
    try:
        async with asyncio.timeout(_WORKER_TIMEOUT):
            for process in processes:
                assert process.stdout is not None
                line = await process.stdout.readline()
                if line.strip() != b"ready":
                    _, err = await process.communicate()
                    raise RuntimeError(f"worker did not start: {line!r} {err.decode()[-2000:]}")
            started = time.monotonic()
            outputs = asyncio.gather(*(p.communicate(b"go\n") for p in processes))
            if during is not None:
                await during()
            results = await outputs
            wall = time.monotonic() - started
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    parsed: list[dict[str, Any]] = []
    for process, (out, err) in zip(processes, results, strict=True):
        if process.returncode != 0:
            raise RuntimeError(f"worker failed ({process.returncode}): {err.decode()[-3000:]}")
        parsed.append(json.loads(out.decode().strip().splitlines()[-1]))
    served = server.counters.calendar_requests - served_before
    limited = server.counters.rate_limited - limited_before
    seen = len(server.requests_to("/v4/calendar")) - seen_before
    return FleetResult(
        calls=calls,
        ok=sum(r["ok"] for r in parsed),
        errors=[e for r in parsed for e in r["errors"]],
        logins=server.counters.logins - logins_before,
        unauthorized=seen - served - limited,
        rate_limited=limited,
        # From the start signal to the last call answered (process start and exit left out).
        elapsed=min(wall, max(r["elapsed"] for r in parsed)),
        outages=sum(r["outages"] for r in parsed),
        client_logins=[r["logins"] for r in parsed],
    )


class WatchedPyrusServer(FakePyrusServer):
    """A FakePyrusServer that can say when it has served a number of calendar calls."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._watches: list[tuple[int, asyncio.Event]] = []

    def served(self, count: int) -> asyncio.Event:
        """An event set once ``count`` calendar calls (from now) have been answered."""
        event = asyncio.Event()
        self._watches.append((self.counters.calendar_requests + count, event))
        return event

    async def _calendar(self, request: web.Request) -> web.Response:
        response = await super()._calendar(request)
        for target, event in self._watches:
            if self.counters.calendar_requests >= target:
                event.set()
        return response
