"""The one request path: session ownership, headers, auth, retry, error mapping, decoding.

Backends call :meth:`Transport.request` and never touch aiohttp themselves.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import os
import platform
import ssl
import threading
import time
import warnings
from collections.abc import Awaitable, Coroutine, Mapping
from types import TracebackType
from typing import Any, Final, TypeVar, overload
from urllib.parse import urlsplit

import aiohttp
import msgspec
from multidict import CIMultiDict, CIMultiDictProxy
from tenacity import AsyncRetrying

from . import __version__
from .checks import require_bool, require_finite_positive, require_int
from .dialect import Dialect
from .errors import (
    APIError,
    AuthenticationError,
    CalendarError,
    ClientClosedError,
    DecodeError,
    ErrorEnvelope,
    ErrorEnvelopeError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TransportError,
    WrongEventLoopError,
    error_class_for_status,
)
from .hooks import (
    CallEndRecord,
    CallRecord,
    Hooks,
    RateLimitWaitRecord,
    RequestRecord,
    ResponseRecord,
    RetryRecord,
    emit,
    public_url,
)
from .retry import (
    RetryPolicy,
    build_retrying,
    final_connection_failure,
    is_idempotent,
    may_have_reached,
    retries_spent,
    retry_after_from_headers,
    retry_reason,
)
from .stats import ClientStats
from .urls import validate_base_url

T = TypeVar("T")

logger = logging.getLogger("calendar_transport")

USER_AGENT: Final = (
    f"r7-pyrus-calendar/{__version__} aiohttp/{aiohttp.__version__} "
    f"python/{platform.python_version()}"
)
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024

ParamValue = str | int | float | bool

# Errors raised before any byte of the request was written: always safe to send again.
_NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError,)
if hasattr(aiohttp, "ConnectionTimeoutError"):  # aiohttp >= 3.10 splits connect timeouts out
    _NOT_SENT_ERRORS += (aiohttp.ConnectionTimeoutError,)

# What an attempt that got no answer raises (the order of _attempt_error's checks matters).
_ATTEMPT_FAILURES: tuple[type[BaseException], ...] = (
    *_NOT_SENT_ERRORS,
    TimeoutError,
    aiohttp.ClientError,
    ssl.SSLError,
)

# What a request given a pooled connection the server had already closed fails with.
_CLOSED_IN_POOL: Final = (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError)


class _RequestBody(aiohttp.BytesPayload):
    """A request body that notes whether any of it may have gone out: a connection found
    closed when the body's turn comes took none of it, and a server cannot act on a request
    whose body it never got. So a create that fails so was not sent, and may go again."""

    def __init__(self, value: bytes) -> None:
        super().__init__(value, content_type="application/json")
        self.may_have_left = False

    def _starts(self, writer: Any) -> None:
        transport = getattr(writer, "transport", None)
        if transport is not None and not transport.is_closing():
            self.may_have_left = True

    async def write(self, writer: Any) -> None:
        self._starts(writer)
        await super().write(writer)

    async def write_with_length(self, writer: Any, content_length: int | None) -> None:
        self._starts(writer)
        await super().write_with_length(writer, content_length)


async def _login_step(step: Awaitable[T]) -> T:
    # A login inside a call made its own retries: its failure is not retried again by the
    # call's, or a login answered 5xx would be tried attempts x attempts times.
    try:
        return await step
    except CalendarError as error:
        retries_spent(error)
        raise


async def _let_closes_arrive() -> None:
    # Before a request that cannot be sent twice, the loop reads what has arrived: a server
    # that hung up on a pooled connection after its last answer is seen to have, and aiohttp
    # hands this request a new connection instead of the dead one (on Python 3.12 the body
    # was otherwise written into the dead socket: a "maybe" although nothing was read). Two
    # turns: one where the loop polls the sockets, one where what it found has run.
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def _may_have_left(body: bytes | _RequestBody | None) -> bool:
    # Only a followed body can tell; of any other request assume the worst.
    return not isinstance(body, _RequestBody) or body.may_have_left


# 401-replays one attempt may make; only the tokens of other calls' logins are tried more
# than once (see _attempt).
_MAX_REPLAYS: Final = 3

_ERROR_CODE_KEYS = ("error_code", "ErrorCode", "code")
_ERROR_MESSAGE_KEYS = ("error", "ErrorMessage", "Message", "message", "error_description")


def _compressed(response: aiohttp.ClientResponse) -> bool:
    encoding = response.headers.get("Content-Encoding", "")
    return encoding.strip().lower() not in ("", "identity")


def _encode_params(params: Mapping[str, ParamValue] | None) -> dict[str, str] | None:
    if params is None:
        return None
    encoded: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, bool):  # the APIs want lowercase booleans
            encoded[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            encoded[key] = str(value)
        else:
            raise TypeError(f"query parameter {key!r} must be str, int, float or bool")
    return encoded


_call_ids = itertools.count(1)

# Bumped in a child process after fork(): it has the parent's thread ids and asyncio's table
# of current tasks, so neither tells it that the loop of first use is not running there.
_forks = 0


def _count_fork() -> None:
    global _forks
    _forks += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_count_fork)


class _Call:
    """One call as :meth:`Transport.request` was asked for it, and what its attempts have
    learnt so far (handed down the request path instead of its parts one by one)."""

    __slots__ = (
        "attempts",
        "authenticate",
        "body",
        "call_id",
        "idempotent",
        "json",
        "method",
        "params",
        "path",
        "query",
        "reached",
        "response_type",
        "sensitive",
        "status",
        "url",
    )

    def __init__(
        self,
        method: str,
        path: str,
        params: Mapping[str, ParamValue] | None,
        json: Any,
        response_type: Any,
        idempotent: bool | None,
        authenticate: bool,
        sensitive: bool,
    ) -> None:
        self.method = method
        self.path = path
        self.params = params
        self.json = json
        self.response_type = response_type
        self.idempotent = idempotent
        self.authenticate = authenticate
        self.sensitive = sensitive
        # the encoded query and body (set once the call is checked)
        self.query: dict[str, str] | None = None
        self.body: bytes | None = None
        # whether an attempt may have reached the server and acted (see may_have_reached)
        self.reached = False
        self.attempts = 0
        # only with hooks: the call's number, its URL as records show it, its last status
        self.call_id = 0
        self.url = ""
        self.status: int | None = None


class Transport:
    """An HTTP client for one API: base URL, session, auth, retry and decoding.

    ``session``: an :class:`aiohttp.ClientSession` you own; it is used and never closed.
    Without it one is created on first use and closed by :meth:`aclose` / ``async with``.
    ``timeout`` bounds each attempt, ``deadline`` (optional) the whole call with its retries.
    Closed means closed: after :meth:`aclose` every call raises :class:`ClientClosedError`.
    A transport belongs to the event loop it is first used in; another loop gets
    :class:`WrongEventLoopError`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        dialect: Dialect | None = None,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        headers: Mapping[str, str] | None = None,
        allow_insecure: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        hooks: Hooks | None = None,
        stats: ClientStats | None = None,
    ) -> None:
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise TypeError(f"session must be an aiohttp.ClientSession, not {type(session)!r}")
        require_bool(allow_insecure, "allow_insecure")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry must be a RetryPolicy, not {type(retry).__name__}")
        require_finite_positive(timeout, "timeout")
        if deadline is not None:
            require_finite_positive(deadline, "deadline")
        require_int(max_response_bytes, "max_response_bytes", low=1)
        if hooks is not None and not isinstance(hooks, Hooks):
            raise TypeError(f"hooks must be a calendar_transport.Hooks, not {type(hooks).__name__}")
        if dialect is None:
            dialect = Dialect()
        elif not isinstance(dialect, Dialect):
            raise TypeError(f"dialect must be a calendar_transport.Dialect, not {dialect!r:.40}")
        #: the backend's ways: auth, error reports, body repairs, its request budget
        self.dialect = dialect
        self.allow_insecure = allow_insecure
        self._base_url = validate_base_url(base_url, allow_insecure=allow_insecure).rstrip("/")
        self._session = session
        self._owns_session = session is None
        self.auth = dialect.auth
        self.retry = retry or RetryPolicy()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.deadline = deadline
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        self._headers.update(headers or {})
        self._header_sets: dict[tuple[str | None, bool], CIMultiDict[str]] = {}
        self.max_response_bytes = max_response_bytes
        # The dialect's parts the request path calls, read once here rather than through
        # two attribute lookups per attempt (see Dialect for what each does).
        rating = dialect.rating
        self._before_attempt = rating.before_attempt
        self._on_rate_limited = rating.rate_limited
        self._on_headers = rating.saw_headers
        self._error_envelope = dialect.error_envelope
        self._repair_body = dialect.repair_body
        self._dec_hook = dialect.dec_hook
        self._decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
        self._owner = dialect.name
        # Tasks inside request(), with how deep (a login is a request inside a request).
        self._inflight: dict[asyncio.Task[Any], int] = {}
        self._drained: asyncio.Event | None = None  # set when a call leaves, while closing
        self._cancelled_by_close: set[asyncio.Task[Any]] = set()
        self._closed = False  # for good: nothing reopens a closed transport
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop of first use
        self._thread = 0  # the thread where the loop check last passed
        self._forks_seen = -1  # forks of this process by then (see _calling_task)
        #: the callbacks told of every call, attempt and retry (None: nothing is reported)
        self.hooks = hooks
        #: what this transport has done (shared with the client that owns it)
        self.stats = stats if stats is not None else ClientStats()

    def __repr__(self) -> str:
        return f"{self._owner}(base_url={self._base_url!r})"

    @property
    def base_url(self) -> str:
        """The URL that relative request paths are joined to."""
        return self._base_url

    @base_url.setter
    def base_url(self, url: str) -> None:
        self._base_url = validate_base_url(url, allow_insecure=self.allow_insecure).rstrip("/")

    async def note_rate_limit_wait(self, seconds: float, reason: str) -> None:
        """Count a wait for a rate budget and tell ``hooks.on_rate_limit_wait`` (the rate
        limiters call it; see :class:`~calendar_transport.hooks.RateLimitWaitRecord`)."""
        self.stats.rate_limit_waits += 1
        if self.hooks is not None:
            await emit(
                self.hooks.on_rate_limit_wait, RateLimitWaitRecord(wait=seconds, reason=reason)
            )

    @property
    def timeout(self) -> float:
        """Seconds one attempt may take."""
        return float(self._timeout.total or 0)

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called (a closed transport sends nothing more)."""
        return self._closed

    # ---- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> Transport:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close for good: calls in flight and every later call raise
        :class:`ClientClosedError`, and an owned session is closed. Waits for the calls in
        flight to leave the transport, not for their callers. Calling it again is harmless."""
        self._check_loop()
        self._closed = True
        try:
            current = asyncio.current_task()
            for task in self._inflight:
                if task is not current and task not in self._cancelled_by_close:
                    self._cancelled_by_close.add(task)
                    task.cancel()
            if self._drained is None:
                self._drained = asyncio.Event()
            while any(task is not current for task in self._inflight):
                self._drained.clear()  # one Event for every aclose() waiting at once
                await self._drained.wait()
        finally:
            if self._owns_session and self._session is not None:
                session, self._session = self._session, None
                await session.close()

    def _calling_task(self, method: str, path: str) -> asyncio.Task[Any] | None:
        """The task making a call, once a closed transport and a foreign loop are refused.

        Most calls are answered without ``asyncio.get_running_loop()``, which on Python 3.11
        costs a ``getpid()`` system call (with ``current_task()``, the only two system calls
        the SDK added to a request). When the loop of first use is running a task in the
        thread where the full check last passed, in the same process (no fork since), that
        task is the caller: a thread runs one loop at a time. Anything else takes the full
        check, which refuses a foreign loop. It buys about 2 points of SDK/bare on small
        GETs 50 at a time (1.07 without it, 1.04 with, `make bench` small_gets).
        """
        loop = self._loop
        if (
            not self._closed
            and loop is not None
            and threading.get_ident() == self._thread
            and self._forks_seen == _forks
        ):
            task = asyncio.current_task(loop)
            if task is not None:
                return task
        self._check_open(method, self.url_for(path))
        return asyncio.current_task()

    def _check_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise WrongEventLoopError(
                f"{self._owner} is used from another event loop than the one it was first "
                "used in (its HTTP session belongs to that loop): create one "
                f"{self._owner} per event loop, e.g. inside the coroutine given to "
                "asyncio.run, or one per thread that runs a loop"
            )
        self._thread = threading.get_ident()  # where the loop runs now (see _calling_task)
        self._forks_seen = _forks

    def _check_open(self, method: str = "", url: str = "") -> None:
        """Refuse a closed transport, and a loop other than the one of first use."""
        if self._closed:
            raise ClientClosedError(
                f"{self._owner} is closed; a closed client stays closed: create a new one",
                method=method,
                url=url,
            )
        self._check_loop()

    def __del__(self) -> None:
        session = getattr(self, "_session", None)
        if getattr(self, "_owns_session", False) and session is not None and not session.closed:
            warnings.warn(
                f"{self._owner} was garbage-collected with its HTTP session open: "
                f"use 'async with {self._owner}(...)' or 'await client.aclose()'",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    # ---- the request path -------------------------------------------------------------

    @overload
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = ...,
        json: Any = ...,
        response_type: type[T],
        idempotent: bool | None = ...,
        authenticate: bool = ...,
        sensitive: bool = ...,
    ) -> Coroutine[Any, Any, T]: ...

    @overload
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = ...,
        json: Any = ...,
        response_type: None = ...,
        idempotent: bool | None = ...,
        authenticate: bool = ...,
        sensitive: bool = ...,
    ) -> Coroutine[Any, Any, None]: ...

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        json: Any = None,
        response_type: Any = None,
        idempotent: bool | None = None,
        authenticate: bool = True,
        sensitive: bool = False,
    ) -> Coroutine[Any, Any, Any]:
        """Send one API call, retried as the policy allows, and decode its answer.

        ``path`` is joined to the base URL unless it is an absolute URL. ``json`` is encoded
        with msgspec. The 2xx body is decoded straight into ``response_type`` (``bytes`` keeps
        it raw; ``None`` ignores it). ``idempotent`` overrides the method's default.
        ``sensitive`` (logins): errors keep no body, since the answer may hold a token.
        """
        # A plain function handing back the coroutine that makes the call (awaited just the
        # same): on loopback every coroutine frame a call passes through costs about a
        # microsecond, and a small GET is a hundred.
        call = _Call(
            method.upper(), path, params, json, response_type, idempotent, authenticate, sensitive
        )
        if self.hooks is None:
            return self._request(call)
        return self._observed(self.hooks, call)

    async def _observed(self, hooks: Hooks, call: _Call) -> Any:
        # request() with hooks: the call framed by on_call_start / on_call_end.
        method = call.method
        call.call_id = next(_call_ids)
        call.url = public_url(self.url_for(call.path))
        public_path = urlsplit(call.url).path
        await emit(
            hooks.on_call_start,
            CallRecord(call_id=call.call_id, method=method, url=call.url, path=public_path),
        )
        started = time.perf_counter()
        error: str | None = None
        try:
            return await self._request(call)
        except BaseException as failure:
            error = type(failure).__name__
            raise
        finally:
            end = CallEndRecord(
                call_id=call.call_id,
                method=method,
                url=call.url,
                path=public_path,
                status=call.status,
                error=error,
                attempts=call.attempts,
                elapsed=time.perf_counter() - started,
            )
            await emit(hooks.on_call_end, end)

    async def _request(self, call: _Call) -> Any:
        method, path = call.method, call.path
        self.stats.requests += 1
        task = self._calling_task(method, path)
        if path.startswith(("http://", "https://")):
            validate_base_url(path, allow_insecure=self.allow_insecure, name="url")
        if call.params is not None:
            call.query = _encode_params(call.params)
        if call.json is not None:
            call.body = msgspec.json.encode(call.json)
        if task is not None:
            self._inflight[task] = self._inflight.get(task, 0) + 1
        try:
            attempts = self._attempt(call, 1)
            if not self.deadline:  # entering even asyncio.timeout(None) costs microseconds
                status, data = await attempts
            else:
                async with asyncio.timeout(self.deadline):
                    status, data = await attempts
        except TimeoutError as error:
            timed_out = RequestTimeoutError(
                f"no answer within the deadline of {self.deadline}s",
                method=method,
                url=self.url_for(path),
                request_sent=True,
            )
            timed_out.earlier_attempt_may_have_reached = call.reached
            raise timed_out from error
        except asyncio.CancelledError:
            if task is not None and task in self._cancelled_by_close:
                self._cancelled_by_close.discard(task)
                task.uncancel()
                closed = ClientClosedError(
                    f"{self._owner} was closed while this call was in flight",
                    method=method,
                    url=self.url_for(path),
                    request_sent=True,
                )
                closed.earlier_attempt_may_have_reached = call.reached
                raise closed from None
            raise
        except APIError as error:
            if call.sensitive:
                raise _withheld(error) from None
            raise
        finally:
            if task is not None:
                self._leave(task)
        if call.response_type is bytes:  # most R7 resources decode for themselves
            return data
        try:
            return self.decode(data, call.response_type, method=method, path=path, status=status)
        except DecodeError as error:
            if call.sensitive:
                raise _withheld(error) from None
            raise

    async def _retrying(
        self, call: _Call, attempt: int, wait: float, error: BaseException | None
    ) -> None:
        # Told by the retry loop before each wait.
        self.stats.retries += 1
        if self.hooks is not None:
            url = call.url or public_url(self.url_for(call.path))
            record = RetryRecord(
                call_id=call.call_id,
                method=call.method,
                url=url,
                path=urlsplit(url).path,
                attempt=attempt,
                wait=wait,
                reason=retry_reason(error),
            )
            await emit(self.hooks.on_retry, record)

    async def _retry(
        self, retrying: AsyncRetrying, first: Exception, call: _Call
    ) -> tuple[int, bytes]:
        failed: Exception | None = first
        async for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                if failed is not None:
                    error, failed = failed, None
                    raise error  # attempt 1, already made: tenacity decides what follows
                return await self._attempt(call, number)
        raise AssertionError("unreachable: tenacity stops by raising (reraise=True)")

    def _leave(self, task: asyncio.Task[Any]) -> None:
        depth = self._inflight[task] - 1
        if depth:
            self._inflight[task] = depth
        else:
            del self._inflight[task]
        if self._drained is not None:
            self._drained.set()

    def url_for(self, path: str) -> str:
        """``path`` joined to the base URL (an absolute URL is kept as it is)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self._base_url}/{path.lstrip('/')}"

    async def _attempt(self, call: _Call, number: int) -> tuple[int, bytes]:
        # Attempt ``number`` of a call, with its 401 replays. Attempt 1 runs before any
        # tenacity loop: iterating AsyncRetrying costs tens of microseconds per call (it
        # re-wraps its actions on every step), a third of a small GET on loopback. A failed
        # attempt 1 is handed to a retrying built only then, as its attempt 1, so what is
        # retried, the waits, the log lines and the attempt numbers are the same as when the
        # loop runs every attempt; it makes attempts 2 and on through this method again.
        try:
            auth = self.auth if call.authenticate else None
            if auth is None:
                return await self._exchange(call, self.url_for(call.path), None, number)
            issued = auth.ready()  # a synchronous look first: most calls need no login
            if issued is None:
                fresh = await _login_step(auth.current(self))
                issued = fresh
            # Joined after the login: a login may move the base URL (Pyrus' api_url).
            url = self.url_for(call.path)
            logged_in = False
            for _ in range(_MAX_REPLAYS):
                try:
                    return await self._exchange(call, url, auth.authorization(issued.value), number)
                except AuthenticationError as error:
                    if logged_in or not auth.can_login or auth.is_final(error):
                        raise
                    # A 401 means the server did not act on the request, so replaying it with
                    # a fresh token is safe even for a create. A call logs in again at most
                    # once: a 401 after its own login is final. One whose fresh token came
                    # from another call's login (and was revoked again) may still log in.
                    logger.info("%s %s: token refused, logging in again", call.method, _path(url))
                    renewed = await _login_step(auth.renew(self, stale=issued))
                    issued, logged_in = renewed
                    url = self.url_for(call.path)
            return await self._exchange(call, url, auth.authorization(issued.value), number)
        except Exception as failure:
            if number > 1:
                raise  # the retrying that made this attempt decides what follows
            retrying = build_retrying(
                self.retry,
                idempotent=is_idempotent(call.method, call.idempotent),
                what=f"{call.method} {call.path}",
                on_retry=functools.partial(self._retrying, call),
            )
            return await self._retry(retrying, failure, call)

    async def _exchange(
        self, call: _Call, url: str, authorization: str | None, attempt: int
    ) -> tuple[int, bytes]:
        # One attempt. An error it raises says whether an earlier attempt of the call may have
        # reached the server: a DELETE answered 404 is "already done" only then (r7cal's
        # delete helper reads it).
        method = call.method
        try:
            headers = self._headers_for(authorization, json_body=call.body is not None)
            if self._before_attempt is not None:
                await self._before_attempt()
            if self._closed:  # a retry or a replay after aclose() must not open a new session
                raise ClientClosedError(
                    f"{self._owner} is closed", method=method, url=url, request_sent=False
                )
            session = self._session or self._get_session()
            hooks = self.hooks
            if hooks is not None:
                await self._attempt_starts(hooks, call, url, attempt)
            started = time.perf_counter()
            self.stats.attempts += 1
            call.attempts += 1
            # A body that cannot be sent twice is followed, to know whether any of it left.
            body: bytes | _RequestBody | None = call.body
            if call.body is not None and not is_idempotent(method, call.idempotent):
                body = _RequestBody(call.body)
                await _let_closes_arrive()
            try:
                try:
                    status, data, response_headers = await self._send(
                        session, call, url, headers, body
                    )
                except _CLOSED_IN_POOL as error:
                    if _may_have_left(body) or isinstance(error, _NOT_SENT_ERRORS):
                        raise
                    # The pooled connection it was given had been closed by the server (which
                    # answered the previous request and hung up without saying so): none of
                    # the body went out, so the request goes again at once, on a new
                    # connection (aiohttp drops the dead one), as aiohttp does for a GET.
                    logger.debug(
                        "%s %s: connection closed before sending, again", method, _path(url)
                    )
                    body = _RequestBody(call.body or b"")  # (never empty: it is followed)
                    status, data, response_headers = await self._send(
                        session, call, url, headers, body
                    )
            except _ATTEMPT_FAILURES as error:
                lost = self._attempt_error(error, method, url, left=_may_have_left(body))
                if hooks is not None:
                    elapsed = time.perf_counter() - started
                    await self._attempt_ends(hooks, call, url, attempt, None, elapsed, lost)
                raise lost from error
            except ResponseTooLargeError as error:
                if hooks is not None:
                    elapsed = time.perf_counter() - started
                    await self._attempt_ends(
                        hooks, call, url, attempt, error.status, elapsed, error
                    )
                raise
            elapsed = time.perf_counter() - started
            if self._on_headers is not None:
                self._on_headers(response_headers)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s %s -> %d (attempt %d, %.1f ms)",
                    method,
                    _path(url),
                    status,
                    attempt,
                    elapsed * 1000,
                )
            failure = self._failure(status, data, response_headers, method, url, attempt)
            if hooks is not None:
                call.status = status
                await self._attempt_ends(hooks, call, url, attempt, status, elapsed, failure)
            if failure is None:
                return status, data
            if status == 429 and failure.retry_after is not None:
                await self.note_rate_limit_wait(failure.retry_after, "server 429")
                if self._on_rate_limited is not None:
                    await self._on_rate_limited(failure.retry_after)
            raise failure
        except (APIError, TransportError) as error:
            error.earlier_attempt_may_have_reached = call.reached
            call.reached = call.reached or may_have_reached(error)
            raise

    async def _send(
        self,
        session: aiohttp.ClientSession,
        call: _Call,
        url: str,
        headers: CIMultiDict[str],
        body: bytes | _RequestBody | None,
    ) -> tuple[int, bytes, CIMultiDictProxy[str]]:
        # One request on the wire and its answer read (up to max_response_bytes).
        method = call.method
        async with session.request(
            method,
            url,
            params=call.query,
            data=body,
            headers=headers,
            timeout=self._timeout,
            allow_redirects=False,  # never carry the Authorization header to another host
            raise_for_status=False,
        ) as response:
            length = response.content_length
            # (A compressed body's length is not what it unpacks to: read in steps.)
            if (
                length is not None
                and length <= self.max_response_bytes
                and not _compressed(response)
            ):
                data = await response.read()  # the common case, without a frame more
            else:
                data = await self._read_body(response, method, url)
            return response.status, data, response.headers

    def _failure(
        self,
        status: int,
        data: bytes,
        headers: Mapping[str, str],
        method: str,
        url: str,
        attempt: int,
    ) -> APIError | None:
        # What an answer says went wrong: its status, or an error envelope in a 2xx body.
        if status >= 300:
            return self._api_error(status, data, headers, method, url, attempt)
        if self._error_envelope is not None and data:
            envelope = self._error_envelope(data)
            if envelope is not None:
                return self._envelope_error(status, envelope, data, method, url, attempt)
        return None

    def _headers_for(self, authorization: str | None, *, json_body: bool) -> CIMultiDict[str]:
        # An attempt's headers, built once per token and kind of body rather than per call:
        # aiohttp only reads them (into a request's own copy), so calls can share one set.
        # It buys about 4 points of SDK/bare on small GETs 50 at a time (1.09 without it,
        # 1.04 with, `make bench` small_gets).
        key = (authorization, json_body)
        headers = self._header_sets.get(key)
        if headers is None:
            if len(self._header_sets) >= 4:  # the sets of tokens since replaced
                self._header_sets.clear()
            headers = CIMultiDict(self._headers)
            if json_body:
                headers["Content-Type"] = "application/json"
            if authorization is not None:
                headers["Authorization"] = authorization
            self._header_sets[key] = headers
        return headers

    def _attempt_error(
        self, error: BaseException, method: str, url: str, *, left: bool
    ) -> TransportError:
        # The transport error an aiohttp/ssl failure (or an attempt's timeout) is raised as.
        # ``left``: whether any of the request's body may have gone out (without its body a
        # server cannot act on a create, so one that never left was not sent).
        if isinstance(error, _NOT_SENT_ERRORS):
            return _connection_error(error, method, url, sent=False)
        if isinstance(error, TimeoutError):
            return RequestTimeoutError(
                f"no answer within {self.timeout}s", method=method, url=url, request_sent=left
            )
        return _connection_error(error, method, url, sent=left)

    async def _attempt_starts(self, hooks: Hooks, call: _Call, url: str, attempt: int) -> None:
        shown = public_url(url)
        record = RequestRecord(
            call_id=call.call_id,
            method=call.method,
            url=shown,
            path=urlsplit(shown).path,
            attempt=attempt,
        )
        await emit(hooks.on_request, record)

    async def _attempt_ends(
        self,
        hooks: Hooks,
        call: _Call,
        url: str,
        attempt: int,
        status: int | None,
        elapsed: float,
        error: BaseException | None,
    ) -> None:
        shown = public_url(url)
        record = ResponseRecord(
            call_id=call.call_id,
            method=call.method,
            url=shown,
            path=urlsplit(shown).path,
            attempt=attempt,
            status=status,
            elapsed=elapsed,
            error=None if error is None else type(error).__name__,
        )
        await emit(hooks.on_response, record)

    async def _read_body(self, response: aiohttp.ClientResponse, method: str, url: str) -> bytes:
        # A body of no stated length, or a compressed one, read (unpacked) up to the limit,
        # or one stated to be too large. The limit is on what is decoded, not what crossed.
        limit = self.max_response_bytes
        length = response.content_length
        if length is not None and length > limit and not _compressed(response):
            raise self._too_large(response.status, method, url, f"Content-Length {length}")
        chunks = bytearray()
        async for chunk in response.content.iter_chunked(64 * 1024):
            chunks += chunk
            if len(chunks) > limit:
                raise self._too_large(response.status, method, url, f"over {limit} bytes")
        return bytes(chunks)

    def _too_large(self, status: int, method: str, url: str, size: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"the answer is larger than max_response_bytes={self.max_response_bytes} ({size})",
            status=status,
            method=method,
            url=url,
            body="",
        )

    def _api_error(
        self,
        status: int,
        data: bytes,
        headers: Mapping[str, str],
        method: str,
        url: str,
        attempt: int = 1,
    ) -> APIError:
        data = self._scrubbed(data)
        text = data.decode("utf-8", "replace")
        code, message = _error_fields(data)
        if 300 <= status < 400:
            message = f"redirected to {headers.get('Location', '?')}; not followed"
        return error_class_for_status(status)(
            status=status,
            method=method,
            url=url,
            code=code,
            message=message,
            body=text,
            retry_after=retry_after_from_headers(headers, status),
            attempt=attempt,
        )

    def _envelope_error(
        self, status: int, envelope: ErrorEnvelope, data: bytes, method: str, url: str, attempt: int
    ) -> APIError:
        # An envelope naming an error status is treated as that status (a 401 re-logs in, a
        # 503 is retried); one that names none is its own error, never a DecodeError.
        data = self._scrubbed(data)
        named = envelope.status if envelope.status is not None and envelope.status >= 400 else None
        error_class = error_class_for_status(named) if named else ErrorEnvelopeError
        return error_class(
            status=named or status,
            method=method,
            url=url,
            code=envelope.code,
            message=f"{envelope.message or 'error envelope'} (in an HTTP {status} answer)",
            body=data.decode("utf-8", "replace"),
            attempt=attempt,
        )

    def _scrubbed(self, data: bytes) -> bytes:
        # An error keeps the answer's body; a server that echoes the request's token in it
        # (some do, in a 401) must not put the token into a message or a log line.
        token = self.auth.token if self.auth is not None else None
        if token and len(token) >= 8:
            secret = token.encode("utf-8")
            if secret in data:
                return data.replace(secret, b"***")
        return data

    def _decoder_for(self, response_type: Any) -> msgspec.json.Decoder[Any]:
        # One decoder per type: building one costs more than decoding a small answer.
        decoder = self._decoders.get(response_type)
        if decoder is None:
            decoder = msgspec.json.Decoder(response_type, dec_hook=self._dec_hook)
            self._decoders[response_type] = decoder
        return decoder

    def decode(
        self, data: bytes, response_type: Any, *, method: str, path: str, status: int = 200
    ) -> Any:
        """Decode an answer body into ``response_type`` as :meth:`request` does, for a caller
        that asked for ``bytes`` and decides later what to decode (a :class:`DecodeError`
        names the call)."""
        if response_type is None:
            return None
        if response_type is bytes:
            return data
        decoder = self._decoder_for(response_type)
        try:
            return decoder.decode(data)
        except (msgspec.DecodeError, ValueError) as error:
            failure: Exception = error
            repaired = data if self._repair_body is None else self._repair_body(data)
            if repaired is not data:
                try:
                    return decoder.decode(repaired)
                except (msgspec.DecodeError, ValueError) as still:
                    failure = still  # what is wrong beyond what the repair mends
            raise DecodeError(
                str(failure) if data else "empty body",
                status=status,
                method=method,
                url=self.url_for(path),
                body=data.decode("utf-8", "replace"),
            ) from failure


def _connection_error(error: BaseException, method: str, url: str, *, sent: bool) -> TransportError:
    """The transport error for an aiohttp/ssl failure; TLS and proxy failures get their own
    classes, which are never retried (they happen while connecting: nothing was sent)."""
    final = final_connection_failure(error)
    if final is not None:
        return final(f"{type(error).__name__}: {error}", method=method, url=url, request_sent=False)
    if not sent:
        return TransportError(
            f"could not connect: {error}", method=method, url=url, request_sent=False
        )
    return TransportError(
        f"{type(error).__name__}: {error}", method=method, url=url, request_sent=True
    )


_WITHHELD = "(withheld: this answer may carry credentials)"


def _withheld(error: APIError | DecodeError) -> APIError | DecodeError:
    """The same error without the answer's body (a login answer may hold a live token)."""
    if isinstance(error, DecodeError):
        return type(error)(
            error.detail, status=error.status, method=error.method, url=error.url, body=_WITHHELD
        )
    withheld = type(error)(
        status=error.status,
        method=error.method,
        url=error.url,
        code=error.code,
        message=error.message,
        body=_WITHHELD,
        retry_after=error.retry_after,
        attempt=error.attempt,
    )
    withheld.earlier_attempt_may_have_reached = error.earlier_attempt_may_have_reached
    return withheld


def _path(url: str) -> str:
    return urlsplit(url).path


def _error_fields(data: bytes) -> tuple[str | None, str | None]:
    """The backend's error code and message from a JSON error body, when there is one."""
    if not data or data[:1] not in (b"{", b" ", b"\n", b"\r", b"\t"):
        return None, None
    try:
        payload = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None, None
    if not isinstance(payload, dict):
        return None, None
    code = next((str(payload[k]) for k in _ERROR_CODE_KEYS if payload.get(k)), None)
    message = next((str(payload[k]) for k in _ERROR_MESSAGE_KEYS if payload.get(k)), None)
    return code, message
