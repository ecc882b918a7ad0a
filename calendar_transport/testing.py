"""Shared pieces of the fake servers: an aiohttp.web app on a loopback port, a request log,
and fault injection (error statuses, 429 with Retry-After, latency, dropped connections,
truncated bodies, token revocation).

The backend fakes (``r7cal.testing.FakeR7Server``,
``pyrus_calendar.testing.FakePyrusServer``) subclass :class:`FakeServer` and add their routes
in :meth:`FakeServer.setup_routes`.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

import msgspec
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FaultKind = Literal["status", "drop", "truncate", "revoke"]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer encoded with msgspec."""
    return web.Response(
        body=msgspec.json.encode(data),
        status=status,
        content_type="application/json",
        headers=headers,
    )


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON."""
        return msgspec.json.decode(self.body)


@dataclass(slots=True)
class _Rule:
    kind: FaultKind
    remaining: int | None  # None: no count, ``rate`` decides
    rate: float = 1.0
    status: int = 503
    body: bytes = b""
    content_type: str = "application/json"
    retry_after: str | None = None
    path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    skip: int = 0  # matching requests to let through before the rule starts

    def matches(self, request: web.Request) -> bool:
        return self.path is None or request.path.startswith(self.path)


@dataclass(slots=True)
class _Latency:
    seconds: float
    rate: float
    remaining: int | None
    path: str | None


@dataclass
class FaultInjector:
    """Faults the fake applies to incoming requests, in the order they were added.

    Counted faults (``*_next``) hit the next N matching requests; rated faults
    (``*_fraction``) hit each matching request with the given probability, from a seeded
    random generator so a run can be repeated. ``injected`` counts what was applied.
    """

    seed: int | None = None
    injected: Counter[str] = field(default_factory=Counter)
    _rules: list[_Rule] = field(default_factory=list)
    _latencies: list[_Latency] = field(default_factory=list)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        *,
        body: bytes | str = b"",
        content_type: str = "application/json",
        retry_after: float | str | None = None,
        path: str | None = None,
        headers: Mapping[str, str] | None = None,
        after: int = 0,
    ) -> None:
        """Answer the next ``count`` requests with ``status`` (and Retry-After when given).

        ``headers``: more headers for the answer, e.g. a ``Location`` for a 3xx.
        ``after``: let this many matching requests through first.
        """
        rule = _rule("status", count, 1.0, status, body, content_type, retry_after, path)
        rule.headers.update(headers or {})
        rule.skip = after
        self._rules.append(rule)

    def fail_fraction(
        self,
        rate: float,
        status: int = 503,
        *,
        body: bytes | str = b"",
        content_type: str = "application/json",
        retry_after: float | str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer a ``rate`` share of requests with ``status``."""
        self._rules.append(
            _rule("status", None, rate, status, body, content_type, retry_after, path)
        )

    def rate_limit_next(
        self, count: int = 1, *, retry_after: float = 1.0, path: str | None = None
    ) -> None:
        """Answer the next ``count`` requests with 429 and ``Retry-After``."""
        self.fail_next(
            count,
            429,
            body=b'{"error_code":"too_many_requests"}',
            retry_after=retry_after,
            path=path,
        )

    def drop_next(self, count: int = 1, *, path: str | None = None) -> None:
        """Close the connection of the next ``count`` requests without answering."""
        self._rules.append(_rule("drop", count, 1.0, 0, b"", "", None, path))

    def drop_fraction(self, rate: float, *, path: str | None = None) -> None:
        """Close the connection of a ``rate`` share of requests without answering."""
        self._rules.append(_rule("drop", None, rate, 0, b"", "", None, path))

    def truncate_next(self, count: int = 1, *, path: str | None = None) -> None:
        """Send only half of the next ``count`` answers' bodies, then close the connection."""
        self._rules.append(_rule("truncate", count, 1.0, 0, b"", "", None, path))

    def truncate_fraction(self, rate: float, *, path: str | None = None) -> None:
        """Truncate a ``rate`` share of answers."""
        self._rules.append(_rule("truncate", None, rate, 0, b"", "", None, path))

    def revoke_next(self, count: int = 1, *, path: str | None = None) -> None:
        """Revoke every token just before the next ``count`` requests are handled, so they
        (and every other request in flight with the same token) get a 401."""
        self._rules.append(_rule("revoke", count, 1.0, 0, b"", "", None, path))

    def revoke_fraction(self, rate: float, *, path: str | None = None) -> None:
        """Revoke every token before a ``rate`` share of requests is handled."""
        self._rules.append(_rule("revoke", None, rate, 0, b"", "", None, path))

    def add_latency(
        self,
        seconds: float,
        *,
        rate: float = 1.0,
        count: int | None = None,
        path: str | None = None,
    ) -> None:
        """Delay matching requests by ``seconds`` before handling them."""
        self._latencies.append(_Latency(seconds, rate, count, path))

    def clear(self) -> None:
        """Remove every fault (the ``injected`` counts stay)."""
        self._rules.clear()
        self._latencies.clear()

    def delay_for(self, request: web.Request) -> float:
        total = 0.0
        for latency in self._latencies:
            if latency.path is not None and not request.path.startswith(latency.path):
                continue
            if latency.remaining == 0 or self._rng.random() >= latency.rate:
                continue
            if latency.remaining is not None:
                latency.remaining -= 1
            total += latency.seconds
        if total:
            self.injected["latency"] += 1
        return total

    def pick(self, request: web.Request) -> _Rule | None:
        for rule in self._rules:
            if rule.remaining == 0 or not rule.matches(request):
                continue
            if rule.skip:
                rule.skip -= 1
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
            elif self._rng.random() >= rule.rate:
                continue
            self.injected[_fault_name(rule)] += 1
            return rule
        return None


def _rule(
    kind: FaultKind,
    count: int | None,
    rate: float,
    status: int,
    body: bytes | str,
    content_type: str,
    retry_after: float | str | None,
    path: str | None,
) -> _Rule:
    if count is not None and count < 0:
        raise ValueError("count must be >= 0")
    if not 0.0 <= rate <= 1.0:
        raise ValueError("rate must be between 0 and 1")
    return _Rule(
        kind=kind,
        remaining=count,
        rate=rate,
        status=status,
        body=body.encode() if isinstance(body, str) else body,
        content_type=content_type,
        retry_after=None if retry_after is None else str(retry_after),
        path=path,
    )


def _fault_name(rule: _Rule) -> str:
    return f"http_{rule.status}" if rule.kind == "status" else rule.kind


class FakeServer:
    """An aiohttp.web server on an ephemeral loopback port, used with ``async with``.

    ``latency`` adds a fixed delay to every answer (a WAN round trip); ``faults`` injects
    failures; ``requests`` records what arrived (``record_requests=False`` for benchmarks).
    ``ssl_context``: serve https with this context (e.g. to test certificate checks).
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        latency: float = 0.0,
        record_requests: bool = True,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.faults = FaultInjector(seed=seed)
        self.latency = latency
        self.record_requests = record_requests
        self.requests: list[RecordedRequest] = []
        self.app = web.Application(middlewares=[self._middleware])
        self.setup_routes(self.app)
        self._runner: web.AppRunner | None = None
        #: handlers waiting out an injected latency, cancelled by stop()
        self._delayed: set[asyncio.Task[Any]] = set()
        self._port: int | None = None
        self._ssl_context = ssl_context

    def setup_routes(self, app: web.Application) -> None:
        """Add the backend's routes; subclasses override this."""

    def revoke_tokens(self, login: str | None = None) -> object:
        """Make every token (of ``login``) unusable; backends with tokens override this.
        The ``revoke`` fault calls it."""
        raise NotImplementedError(f"{type(self).__name__} has no tokens to revoke")

    @property
    def open_connections(self) -> int:
        """Client connections the server holds open right now (0 once every client closed)."""
        if self._runner is None or self._runner.server is None:
            return 0
        return len(self._runner.server.connections)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https`` with an ``ssl_context``), once started."""
        if self._port is None:
            raise RuntimeError("the fake server is not started; use 'async with' or start()")
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self._port}"

    async def start(self) -> str:
        """Listen on an ephemeral loopback port; returns :attr:`url`."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self._ssl_context)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        return self.url

    async def stop(self) -> None:
        """Stop listening and close open connections; requests still held by an injected
        latency are cancelled (aiohttp would wait for them to finish)."""
        for waiting in list(self._delayed):
            waiting.cancel()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def requests_to(self, path: str, method: str | None = None) -> list[RecordedRequest]:
        """The recorded requests whose path is ``path`` (and method, when given)."""
        return [
            r for r in self.requests if r.path == path and (method is None or r.method == method)
        ]

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.record_requests:
            self.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    headers=dict(request.headers),
                    body=await request.read(),
                )
            )
        delay = self.latency + self.faults.delay_for(request)
        if delay:
            handling = asyncio.current_task()
            if handling is not None:
                self._delayed.add(handling)
            try:
                await asyncio.sleep(delay)
            finally:
                self._delayed.discard(handling)
        rule = self.faults.pick(request)
        if rule is not None and rule.kind == "status":
            headers = dict(rule.headers)
            if rule.retry_after is not None:
                headers["Retry-After"] = rule.retry_after
            return web.Response(
                status=rule.status, body=rule.body, content_type=rule.content_type, headers=headers
            )
        if rule is not None and rule.kind == "drop":
            _close(request)
            raise asyncio.CancelledError  # aiohttp ends the handler quietly; nothing is written
        if rule is not None and rule.kind == "revoke":
            self.revoke_tokens()
        try:
            response = await handler(request)
            if rule is not None and rule.kind == "truncate" and isinstance(response, web.Response):
                return await _truncated(request, response)
        except ConnectionResetError:
            # The client went away (it timed out during a latency spike): nobody to answer.
            raise asyncio.CancelledError from None
        return response


def _close(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()


async def _truncated(request: web.Request, response: web.Response) -> web.StreamResponse:
    body = response.body if isinstance(response.body, bytes) else b""
    stream = web.StreamResponse(status=response.status, headers=response.headers)
    stream.content_length = max(len(body), 2)
    await stream.prepare(request)
    await stream.write(body[: len(body) // 2])
    _close(request)
    return stream
