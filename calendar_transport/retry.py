"""What is retried, how long to wait, and the tenacity loop built from that for each call.

The decisions are small pure functions so tests can call them directly.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

import aiohttp
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from .checks import require_finite_positive, require_int
from .errors import APIError, ClientClosedError, ProxyError, TLSError, TransportError

logger = logging.getLogger("calendar_transport")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})

_TLS_FAILURES: tuple[type[BaseException], ...] = (
    aiohttp.ClientSSLError,  # ClientConnectorCertificateError (host name mismatch too)
    aiohttp.ServerFingerprintMismatch,
    ssl.SSLError,  # ssl.SSLCertVerificationError, when it reaches us unwrapped
)
_PROXY_FAILURES: tuple[type[BaseException], ...] = (
    aiohttp.ClientProxyConnectionError,  # the proxy cannot be reached
    aiohttp.ClientHttpProxyError,  # the proxy answered CONNECT with an error (407, 403)
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a call is retried. Pass ``RetryPolicy(attempts=1)`` to turn retries off.

    ``attempts`` counts the first try. Waits grow from ``initial_backoff`` doubling up to
    ``max_backoff`` with full jitter; a server's ``Retry-After`` (or, on a 429,
    ``X-RateLimit-Reset``) wins over the backoff. A server that asks for more than
    ``max_retry_after`` seconds is not retried early: its error (:class:`RateLimitError` for
    a 429) is raised at once with ``retry_after`` set, and the caller decides.
    """

    attempts: int = 4
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = field(default=frozenset({429, 502, 503, 504}))

    def __post_init__(self) -> None:
        require_int(self.attempts, "attempts", low=1)
        for name in ("initial_backoff", "max_backoff", "max_retry_after"):
            require_finite_positive(getattr(self, name), name, allow_zero=True)
        if self.max_backoff < self.initial_backoff:
            raise ValueError("max_backoff must not be smaller than initial_backoff")
        object.__setattr__(self, "retry_statuses", frozenset(self.retry_statuses))


def is_idempotent(method: str, idempotent: bool | None) -> bool:
    """Whether a request may be sent again: explicit flag first, else by HTTP method."""
    if idempotent is not None:
        return idempotent
    return method.upper() in IDEMPOTENT_METHODS


_RETRIES_SPENT: Final = "_calendar_retries_spent"


def retries_spent(error: BaseException) -> None:
    """Mark ``error`` as one whose retries were already made (a login's, inside the call
    that needed it): the call that met it does not retry it again, so a call keeps one retry
    budget, not attempts x attempts."""
    setattr(error, _RETRIES_SPENT, True)


def should_retry(error: BaseException, *, idempotent: bool, policy: RetryPolicy) -> bool:
    """Whether ``error`` from one attempt deserves another attempt.

    Connection failures before the request left this process are always safe to retry;
    everything else only for idempotent requests. Never retried: cancellation, a closed
    client, failures that cannot heal (TLS, proxy), and a server that asks to wait longer
    than ``policy.max_retry_after`` (retrying sooner would only meet another refusal).
    """
    if isinstance(error, ClientClosedError | TLSError | ProxyError):
        return False
    if getattr(error, _RETRIES_SPENT, False):
        return False
    if isinstance(error, TransportError):
        return idempotent or not error.request_sent
    if isinstance(error, APIError):
        if error.retry_after is not None and error.retry_after > policy.max_retry_after:
            return False
        return idempotent and error.status in policy.retry_statuses
    return False


def final_connection_failure(error: BaseException) -> type[TLSError | ProxyError] | None:
    """The error class for an aiohttp/ssl failure that no retry can heal, else ``None``:
    an untrusted certificate, a host name mismatch, a fingerprint mismatch, any other TLS
    failure, or a proxy that cannot be reached or refuses the tunnel."""
    if isinstance(error, _TLS_FAILURES):
        return TLSError
    if isinstance(error, _PROXY_FAILURES):
        return ProxyError
    return None


def may_have_reached(error: BaseException) -> bool:
    """Whether the attempt that failed with ``error`` may have been acted on by the server:
    a request that left and got no answer (a dropped connection, a timeout), or a gateway's
    5xx. A 503 or 429 says the server did nothing; other 4xx answers refuse the request."""
    if isinstance(error, TransportError):
        return error.request_sent and not isinstance(error, TLSError | ProxyError)
    if isinstance(error, APIError):
        return error.status >= 500 and error.status != 503
    return False


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: either delta-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(seconds, 0.0)


def _server_now(headers: Mapping[str, str]) -> datetime | None:
    """The moment the answer was made, by the server's clock (its ``Date``), if it says."""
    value = headers.get("Date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def parse_rate_limit_reset(value: str | None) -> float | None:
    """``X-RateLimit-Reset`` as seconds to wait (Pyrus sends seconds until the window resets)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return max(seconds, 0.0)


def retry_after_from_headers(headers: Mapping[str, str], status: int = 429) -> float | None:
    """The wait a response asks for: ``Retry-After`` first, then, on a 429 only,
    ``X-RateLimit-Reset`` (Pyrus sends that header on every answer; on a 503 it says when the
    rate window resets, not when the server will be back).

    A ``Retry-After`` date is measured against the answer's own ``Date`` when it has one:
    a server whose clock runs ten minutes ahead means "in 2 s", not "in 602 s"."""
    seconds = parse_retry_after(headers.get("Retry-After"), now=_server_now(headers))
    if seconds is None and status == 429:
        seconds = parse_rate_limit_reset(headers.get("X-RateLimit-Reset"))
    return seconds


def backoff_delay(
    policy: RetryPolicy,
    attempt: int,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    if retry_after is not None:
        return min(retry_after, policy.max_retry_after)
    ceiling = min(policy.max_backoff, policy.initial_backoff * 2 ** (attempt - 1))
    return (rng or random).uniform(0, ceiling)


#: told of each retry before its wait: (the failed attempt's number, the wait, its error)
RetryListener = Callable[[int, float, BaseException | None], Awaitable[object]]


def retry_reason(error: BaseException | None) -> str:
    """Why an attempt is retried, in a few words: ``"HTTP 503"`` or the error's class."""
    if isinstance(error, APIError):
        return f"HTTP {error.status}"
    return type(error).__name__ if error is not None else "unknown"


def build_retrying(
    policy: RetryPolicy, *, idempotent: bool, what: str, on_retry: RetryListener | None = None
) -> AsyncRetrying:
    """A fresh tenacity loop for one call; ``what`` names the call in log lines;
    ``on_retry`` is awaited before each wait."""
    # Filled by log_retry (tenacity calls it synchronously) and read by sleep: the one place
    # where an awaited listener can run before the wait, whatever tenacity's version.
    pending: list[tuple[int, float, BaseException | None]] = []

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        return backoff_delay(policy, state.attempt_number, retry_after=retry_after)

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait_s = state.next_action.sleep if state.next_action else 0.0
        logger.info(
            "retrying %s after attempt %d failed (%s); waiting %.2fs",
            what,
            state.attempt_number,
            type(error).__name__,
            wait_s,
        )
        if on_retry is not None:
            pending.append((state.attempt_number, wait_s, error))

    async def sleep(seconds: float) -> None:
        while pending:
            attempt, wait_s, error = pending.pop(0)
            if on_retry is not None:
                await on_retry(attempt, wait_s, error)
        await asyncio.sleep(seconds)

    return AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        retry=retry_if_exception(
            lambda error: should_retry(error, idempotent=idempotent, policy=policy)
        ),
        before_sleep=log_retry,
        sleep=asyncio.sleep if on_retry is None else sleep,
        reraise=True,
    )
