"""Pyrus' request budget as the transport keeps it: every attempt (retries and logins
included) waits for the client's limiter, one local to this process or one shared by
processes (a 429 then pauses them all), and every answer's ``X-RateLimit-*`` headers are
kept for :attr:`PyrusClient.rate_limit_status <pyrus_calendar.PyrusClient.rate_limit_status>`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from aiolimiter import AsyncLimiter

from calendar_transport.dialect import Rating
from calendar_transport.rate_limit import RateLimit, RateLimitStatus, SharedRateLimit
from calendar_transport.token_store import StoreKey

__all__ = ["PyrusRating"]

#: told of each wait for the budget: its seconds and which budget
Waited = Callable[[float, str], Awaitable[None]]


class PyrusRating:
    """The budget of one client: ``rate_limit`` (``None``: none kept here, the server's
    429s still are) for the account ``account``; ``waited`` is told of every wait."""

    def __init__(
        self,
        rate_limit: RateLimit | AsyncLimiter | SharedRateLimit | None,
        account: StoreKey,
        waited: Waited,
    ) -> None:
        self._waited = waited
        # The headers of the last answer that carried X-RateLimit-*, and when it came.
        self._headers: tuple[Mapping[str, str], float] | None = None
        if isinstance(rate_limit, RateLimit):
            rate_limit = AsyncLimiter(rate_limit.requests, rate_limit.period)
        before: Callable[[], Awaitable[object]] | None = None
        paused: Callable[[float], Awaitable[object]] | None = None
        if isinstance(rate_limit, AsyncLimiter):
            self._local = rate_limit
            before = self._acquire_local
        elif isinstance(rate_limit, SharedRateLimit):
            self._shared = rate_limit.limiter_for(account)
            before, paused = self._acquire_shared, self._shared.pause
        elif rate_limit is not None:
            raise TypeError(
                f"rate_limit must be a RateLimit, an aiolimiter.AsyncLimiter or a shared budget "
                f"(e.g. RedisRateLimit), not {type(rate_limit).__name__}"
            )
        #: what the transport calls
        self.rating = Rating(before_attempt=before, rate_limited=paused, saw_headers=self._saw)

    @property
    def status(self) -> RateLimitStatus | None:
        """The server's budget as its last answer with ``X-RateLimit-*`` told it."""
        if self._headers is None:
            return None
        headers, observed = self._headers
        return RateLimitStatus.from_headers(headers, datetime.fromtimestamp(observed, UTC))

    def _saw(self, headers: Mapping[str, str]) -> None:
        # Kept raw and parsed only when read: every answer passes here.
        if "X-RateLimit-Remaining" in headers or "X-RateLimit-Limit" in headers:
            self._headers = (headers, time.time())

    async def _acquire_local(self) -> None:
        local = self._local
        if local.has_capacity():
            await local.acquire()  # no wait: acquire takes the room without yielding
            return
        started = time.perf_counter()
        await local.acquire()
        await self._waited(time.perf_counter() - started, "client budget")

    async def _acquire_shared(self) -> None:
        seconds = await self._shared.acquire()
        if seconds:
            await self._waited(seconds, "shared budget")
