"""Callbacks that see what the SDK does: :class:`Hooks` and the frozen records it is given.

Every record is small and holds nothing secret: methods, URLs without their query string,
attempt numbers, statuses, durations, waits and their reasons, paging windows. A callback may
be a plain function or a coroutine function; one that raises is logged and the call goes on.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "CallEndRecord",
    "CallRecord",
    "Hooks",
    "LoginRecord",
    "RateLimitWaitRecord",
    "RequestRecord",
    "ResponseRecord",
    "RetryRecord",
    "WindowRecord",
    "emit",
    "public_url",
]

logger = logging.getLogger(__name__)

R = TypeVar("R")
#: a hook: called with one record; may return an awaitable, which is awaited
Callback = Callable[[R], Awaitable[object] | object]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecord:
    """A call entered :meth:`Transport.request` (before its first attempt).

    ``call_id`` numbers the calls of the process and ties the attempt records to their call;
    ``url`` is the full URL without its query string.
    """

    call_id: int
    method: str
    url: str
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEndRecord:
    """A call left :meth:`Transport.request`: its last status, its error class (``None`` when
    it succeeded), how many HTTP attempts it made and the seconds it took in all."""

    call_id: int
    method: str
    url: str
    path: str
    status: int | None
    error: str | None
    attempts: int
    elapsed: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRecord:
    """One HTTP attempt is about to leave (``attempt`` counts from 1 within the call)."""

    call_id: int
    method: str
    url: str
    path: str
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseRecord:
    """One HTTP attempt ended: the status (``None`` when no answer came) and, if the attempt
    failed, the error class it raised; ``elapsed`` is its duration in seconds."""

    call_id: int
    method: str
    url: str
    path: str
    attempt: int
    status: int | None
    elapsed: float
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryRecord:
    """Attempt ``attempt`` failed and the call is retried after ``wait`` seconds;
    ``reason`` says why (``"HTTP 503"``, ``"TransportError"``, ...)."""

    call_id: int
    method: str
    url: str
    path: str
    attempt: int
    wait: float
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginRecord:
    """The client logged in with its credentials (``ok``), or tried and failed (``error``).

    ``backend`` is the auth class (``"R7Auth"``, ``"PyrusAuth"``); ``elapsed`` in seconds.
    """

    backend: str
    ok: bool
    elapsed: float
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitWaitRecord:
    """A request waited ``wait`` seconds for a rate budget, or a server asked it to.

    ``reason``: ``"client budget"`` (a local ``RateLimit`` / ``AsyncLimiter``), ``"shared
    budget"`` (a budget shared by processes, e.g. ``RedisRateLimit``) or ``"server 429"``
    (the server answered 429 and named the wait).
    """

    wait: float
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowRecord:
    """A paging walk got the answer for one window; ``cut`` means it said ``has_more``."""

    start: datetime
    end: datetime
    mask: int
    meetings: bool
    cut: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Hooks:
    """Optional callbacks, each given one record; pass as ``hooks=`` to either client.

    ``on_request`` / ``on_response``: each HTTP attempt (logins included); ``on_retry``: a
    failed attempt that will be retried, with the wait; ``on_login``: a login with the
    credentials; ``on_rate_limit_wait``: a wait for a rate budget; ``on_window``: a paging
    window answered. ``on_call_start`` / ``on_call_end`` frame one call with its attempts
    (what a tracing adapter needs). Callbacks may be sync or async; one that raises is logged
    and does not break the call.
    """

    on_request: Callback[RequestRecord] | None = None
    on_response: Callback[ResponseRecord] | None = None
    on_retry: Callback[RetryRecord] | None = None
    on_login: Callback[LoginRecord] | None = None
    on_rate_limit_wait: Callback[RateLimitWaitRecord] | None = None
    on_window: Callback[WindowRecord] | None = None
    on_call_start: Callback[CallRecord] | None = None
    on_call_end: Callback[CallEndRecord] | None = None

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(f"Hooks({name}=...) must be callable, not {type(value).__name__}")


async def emit(callback: Callback[Any] | None, record: object) -> None:
    """Call ``callback`` with ``record`` (awaiting it if it returns an awaitable); an
    exception it raises is logged, never passed to the call being observed."""
    if callback is None:
        return
    try:
        result = callback(record)
        if inspect.isawaitable(result):
            await result
    except Exception:
        # The traceback is the callback's own; the record it was given holds nothing secret.
        logger.exception("hook %s raised on %s; the call goes on", _name(callback), record)


def public_url(url: str) -> str:
    """``url`` without its query string, fragment and any user information: what a record
    may show (a query value may be sensitive)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _name(callback: object) -> str:
    return getattr(callback, "__qualname__", None) or type(callback).__name__
