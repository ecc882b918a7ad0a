"""The fakes, served from a separate process.

The client under test gets the benchmark process to itself: the fake's CPU time (and, for
the memory run, its memory) is not charged to whichever client is being timed, as with a
real server on another machine. ``ServerProcess`` starts a fake built by a module-level
factory in a spawned process and hands back its URL and whatever the factory reports.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import multiprocessing
import random
import types
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from aiohttp import web

from calendar_transport.testing import FakeServer, json_response
from pyrus_calendar.testing import FakePyrusServer
from r7cal.testing import FakeR7Server

from .data import due_times, make_task, uneven_due_times

Factory = Callable[..., tuple[FakeServer, dict[str, Any]]]


def r7_server() -> tuple[FakeServer, dict[str, Any]]:
    """A FakeR7Server with its default user, tokens good for a day, no request log."""
    server = FakeR7Server(record_requests=False, token_lifetime=24 * 3600.0)
    return server, {"login": "user_test", "password": "TestPassword"}


def pyrus_server(
    *,
    tasks: int,
    seed: int = 1,
    latency: float = 0.0,
    order: str = "shuffled",
    uneven: bool = False,
) -> tuple[FakeServer, dict[str, Any]]:
    """A FakePyrusServer holding ``tasks`` realistic tasks (see :mod:`benchmarks.data`),
    without a rate limit, answering in ``order`` after ``latency`` seconds; ``uneven``:
    deadlines from :func:`~benchmarks.data.uneven_due_times` instead of uniform ones."""
    server = FakePyrusServer(
        order=order,  # type: ignore[arg-type]
        rate_limit=None,
        latency=latency,
        record_requests=False,
        seed=seed,
    )
    rng = random.Random(seed + 1)
    dues = (uneven_due_times if uneven else due_times)(tasks, seed=seed)
    for i, due in enumerate(dues):
        server.add_task(make_task(i + 1, due, rng))
    return server, {
        "login": FakePyrusServer.DEFAULT_LOGIN,
        "security_key": FakePyrusServer.DEFAULT_SECURITY_KEY,
    }


def _serve(factory: Factory, kwargs: dict[str, Any], conn: Connection) -> None:
    asyncio.run(_serve_async(factory, kwargs, conn))


async def _serve_async(factory: Factory, kwargs: dict[str, Any], conn: Connection) -> None:
    server, info = factory(**kwargs)
    async with server:
        conn.send({"url": server.url, **info})
        await asyncio.to_thread(conn.recv)  # any message, or EOF, means stop


@dataclass
class Served:
    """Where the fake listens and what its factory reported (credentials)."""

    url: str
    info: dict[str, Any]

    @property
    def port(self) -> str:
        return self.url.rsplit(":", 1)[1]


class ServerProcess:
    """``with ServerProcess(factory, **kwargs) as served:`` a fake in a child process."""

    def __init__(self, factory: Factory, **kwargs: Any) -> None:
        self._factory = factory
        self._kwargs = kwargs
        self._process: Any = None
        self._conn: Connection | None = None

    def __enter__(self) -> Served:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(self._factory, self._kwargs, child), daemon=True
        )
        self._process.start()
        child.close()
        self._conn = parent
        if not parent.poll(300):
            raise RuntimeError("the fake server did not start within 300 s")
        info = dict(parent.recv())
        return Served(url=info.pop("url"), info=info)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send("stop")
            self._conn.close()
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(5)


class SyntheticPyrusServer(FakePyrusServer):
    """FakePyrusServer for very many tasks: it keeps only their sorted deadlines and renders
    a task's JSON when a page needs it, and selects by ``Due`` with a binary search, so a
    request costs what its page costs rather than a scan of every task. Auth, ``item_count``,
    ``has_more`` and the shuffled order are the stock fake's. Only ``filter_mask=1``."""

    def __init__(self, *, tasks: int, seed: int = 1) -> None:
        super().__init__(order="shuffled", rate_limit=None, record_requests=False, seed=seed)
        self._dues = sorted((due, i + 1) for i, due in enumerate(due_times(tasks, seed=seed)))
        self._due_keys = [due for due, _ in self._dues]

    async def _calendar(self, request: web.Request) -> web.Response:
        from pyrus_calendar.testing.fake import CalendarQuery

        _login, refusal = self._authorize(request)
        if refusal is not None:
            return refusal
        query = CalendarQuery.parse(request.query)
        if query.mask != 1:
            return json_response({"error_code": "invalid_request"}, status=400)
        low = bisect.bisect_left(self._due_keys, query.start)
        high = bisect.bisect_left(self._due_keys, query.end)
        matching = list(range(low, high))
        self._rng.shuffle(matching)
        page = []
        for index in matching[: query.item_count]:
            due, task_id = self._dues[index]
            page.append(make_task(task_id, due, random.Random(task_id)))
        return json_response({"tasks": page, "has_more": len(matching) > query.item_count})


def synthetic_pyrus_server(*, tasks: int, seed: int = 1) -> tuple[FakeServer, dict[str, Any]]:
    """A :class:`SyntheticPyrusServer` with ``tasks`` tasks over the 30-day span."""
    return SyntheticPyrusServer(tasks=tasks, seed=seed), {
        "login": FakePyrusServer.DEFAULT_LOGIN,
        "security_key": FakePyrusServer.DEFAULT_SECURITY_KEY,
    }
