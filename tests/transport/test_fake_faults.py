"""The shared fake's fault injection, seen through the transport as a user would see it."""

from __future__ import annotations

import pytest

from calendar_transport import Dialect, RateLimitError, RetryPolicy, Transport, TransportError

from .support import DemoAuth, DemoServer

FAST = RetryPolicy(attempts=3, initial_backoff=0.001, max_backoff=0.002)


async def test_dropped_connection_on_a_create_is_not_sent_again() -> None:
    async with (
        DemoServer() as server,
        Transport(server.url, dialect=Dialect(auth=DemoAuth()), retry=FAST) as t,
    ):
        server.faults.drop_next(1, path="/items")
        with pytest.raises(TransportError) as caught:
            await t.request("POST", "/items", json={"name": "x"})
    assert caught.value.request_sent is True
    assert len(server.requests_to("/items", "POST")) == 1
    assert server.faults.injected["drop"] == 1


async def test_truncated_body_on_a_read_is_retried() -> None:
    async with (
        DemoServer() as server,
        Transport(server.url, dialect=Dialect(auth=DemoAuth()), retry=FAST) as t,
    ):
        server.faults.truncate_next(1, path="/items")
        items = await t.request("GET", "/items", response_type=list[dict[str, object]])
    assert len(items) == 2
    assert server.faults.injected["truncate"] == 1
    assert len(server.requests_to("/items")) == 2


async def test_rate_limit_faults_carry_retry_after() -> None:
    async with DemoServer() as server, Transport(server.url, retry=RetryPolicy(attempts=1)) as t:
        server.faults.rate_limit_next(1, retry_after=7)
        with pytest.raises(RateLimitError) as caught:
            await t.request("GET", "/ping")
    assert caught.value.retry_after == 7.0


async def test_fractional_faults_repeat_with_the_same_seed() -> None:
    outcomes = []
    for _ in range(2):
        async with DemoServer(seed=7) as server:
            server.faults.fail_fraction(0.5, 500)
            async with Transport(server.url, retry=RetryPolicy(attempts=1)) as t:
                seen = []
                for _ in range(20):
                    try:
                        await t.request("GET", "/ping")
                        seen.append(True)
                    except Exception:
                        seen.append(False)
            outcomes.append(seen)
    assert outcomes[0] == outcomes[1]
    assert 3 < outcomes[0].count(False) < 17


async def test_latency_is_added_and_counted() -> None:
    once = RetryPolicy(attempts=1)
    async with DemoServer() as server, Transport(server.url, timeout=0.05, retry=once) as t:
        server.faults.add_latency(0.5, count=1)
        with pytest.raises(TransportError):
            await t.request("GET", "/ping")
        assert server.faults.injected["latency"] == 1
        await t.request("GET", "/ping")  # the counted latency is used up
