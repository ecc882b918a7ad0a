"""Server rate limits (429, X-RateLimit-*) and the optional client-side limiter."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiolimiter import AsyncLimiter

from pyrus_calendar import PyrusClient, RateLimit, RateLimitError, RetryPolicy
from pyrus_calendar.testing import FakePyrusServer

from .support import DAY, NEXT_DAY, client_for


async def test_429_waits_for_x_ratelimit_reset_and_succeeds(server: FakePyrusServer) -> None:
    server.set_rate_limit(2, period=0.05)
    # One retry, with no backoff of its own: only waiting for X-RateLimit-Reset can succeed.
    policy = RetryPolicy(attempts=2, initial_backoff=0.0, max_backoff=0.0)
    async with client_for(server, retry=policy) as client:
        for _ in range(5):
            await client.calendar(DAY, NEXT_DAY)
    assert server.counters.rate_limited >= 1
    assert server.counters.calendar_requests == 5


async def test_429_without_retries_says_how_long_to_wait(server: FakePyrusServer) -> None:
    server.set_rate_limit(1, period=30)
    async with client_for(server, retry=RetryPolicy(attempts=1)) as client:
        await client.calendar(DAY, NEXT_DAY)
        with pytest.raises(RateLimitError) as info:
            await client.calendar(DAY, NEXT_DAY)
    assert info.value.code == "too_many_requests"
    assert info.value.retry_after is not None
    assert 25 <= info.value.retry_after <= 30


async def test_retry_after_from_fault_injection_is_honoured(server: FakePyrusServer) -> None:
    server.faults.rate_limit_next(1, retry_after=0.05, path="/v4/calendar")
    policy = RetryPolicy(attempts=2, initial_backoff=0.0, max_backoff=0.0)
    async with client_for(server, retry=policy) as client:
        page = await client.calendar(DAY, NEXT_DAY)
    assert page.has_more is False
    assert client.stats.calendar_requests == 1
    assert len(server.requests_to("/v4/calendar")) == 2


async def test_client_side_limiter_spaces_requests(server: FakePyrusServer) -> None:
    async with client_for(server, rate_limit=RateLimit(2, 0.2)) as client:
        await client.login()
        started = time.monotonic()
        await asyncio.gather(*(client.calendar(DAY, NEXT_DAY) for _ in range(4)))
        elapsed = time.monotonic() - started
    # two at once, then one per 0.1 s: the fourth cannot leave before ~0.2 s
    assert elapsed >= 0.15


async def test_a_shared_limiter_covers_two_clients(server: FakePyrusServer) -> None:
    limiter = AsyncLimiter(2, 0.2)
    async with (
        client_for(server, rate_limit=limiter) as a,
        client_for(server, rate_limit=limiter) as b,
    ):
        await a.login()
        await b.login()
        started = time.monotonic()
        await asyncio.gather(*(c.calendar(DAY, NEXT_DAY) for c in (a, b, a, b)))
        assert time.monotonic() - started >= 0.15


def test_cloud_rate_limit_constant() -> None:
    assert RateLimit(5000, 600.0) == PyrusClient.CLOUD_RATE_LIMIT
    with pytest.raises(ValueError, match="at least 1"):
        RateLimit(0, 1.0)
    with pytest.raises(ValueError, match="positive"):
        RateLimit(1, 0)
    for never in (float("nan"), float("inf")):  # a budget that would never refill
        with pytest.raises(ValueError, match="finite"):
            RateLimit(5, never)
    with pytest.raises(TypeError, match="int"):
        RateLimit(True, 1.0)
