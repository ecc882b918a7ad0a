"""``client.stats`` on both clients, and Pyrus'
``rate_limit_status`` read from the ``X-RateLimit-*`` headers after each call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from calendar_transport import ClientStats, RateLimitStatus
from pyrus_calendar import PyrusClient, RetryPolicy
from pyrus_calendar.testing import FakePyrusServer
from r7cal import R7Client
from r7cal.testing import FakeR7Server

FAST = RetryPolicy(attempts=3, initial_backoff=0, max_backoff=0, max_retry_after=1.0)
DAY = datetime(2024, 5, 1, tzinfo=UTC)
NEXT_DAY = DAY + timedelta(days=1)


def _pyrus(server: FakePyrusServer) -> PyrusClient:
    return PyrusClient(
        base_url=server.api_url,
        login=FakePyrusServer.DEFAULT_LOGIN,
        security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
        retry=FAST,
    )


async def test_pyrus_stats_count_what_the_client_did() -> None:
    async with FakePyrusServer() as server, _pyrus(server) as pyrus:
        assert pyrus.stats == ClientStats()
        await pyrus.calendar(DAY, NEXT_DAY)
        server.faults.fail_next(1, 503, path="/v4/calendar")
        await pyrus.calendar(DAY, NEXT_DAY)
        server.revoke_tokens()
        await pyrus.calendar(DAY, NEXT_DAY)
    stats = pyrus.stats
    # 3 calendar calls, 2 logins; attempts: 2 logins + 1 + 2 (a 503, then 200) + 2 (401, replay)
    assert (stats.calendar_requests, stats.logins, stats.retries) == (3, 2, 1)
    assert stats.requests == 5
    assert stats.attempts == 7 == len(server.requests)
    assert stats.as_dict()["attempts"] == 7


async def test_r7_stats_count_attempts_and_logins() -> None:
    async with (
        FakeR7Server(users={"alice": "pw-alice"}) as server,
        R7Client(server.url, login="alice", password="pw-alice", retry=FAST) as r7,
    ):
        await r7.calendars.list()
        server.faults.fail_next(2, 502, path="/api/v1/email/Calendars")
        await r7.calendars.list()
    assert (r7.stats.requests, r7.stats.attempts, r7.stats.retries) == (3, 5, 2)
    assert (r7.stats.logins, r7.stats.calendar_requests) == (1, 0)


async def test_the_counters_live_in_stats_only() -> None:
    async with FakePyrusServer() as server, _pyrus(server) as pyrus:
        await pyrus.calendar(DAY, NEXT_DAY)
        assert (pyrus.stats.attempts, pyrus.stats.logins, pyrus.stats.calendar_requests) == (
            2,
            1,
            1,
        )
        for name in ("attempts", "logins", "calendar_requests"):
            assert not hasattr(pyrus, name), name  # the pre-release aliases are gone
        assert not hasattr(pyrus.transport, "attempts")


async def test_rate_limit_status_follows_each_answer() -> None:
    async with FakePyrusServer(rate_limit=10, rate_period=60.0) as server, _pyrus(server) as pyrus:
        assert pyrus.rate_limit_status is None
        before = datetime.now(UTC)
        await pyrus.calendar(DAY, NEXT_DAY)
        first = pyrus.rate_limit_status
        await pyrus.calendar(DAY, NEXT_DAY)
        second = pyrus.rate_limit_status
    assert first is not None
    assert second is not None
    assert (first.limit, second.limit) == (10, 10)
    assert first.remaining is not None
    assert second.remaining == first.remaining - 1
    assert first.reset is not None
    assert 0 < first.reset <= 60
    assert first.observed_at >= before - timedelta(seconds=1)
    assert first.resets_at == first.observed_at + timedelta(seconds=first.reset)


async def _odd_headers(request: web.Request) -> web.Response:
    # An independent stub: headers the fake never sends (unreadable values, some missing).
    if request.path.endswith("/auth"):
        return web.json_response({"access_token": "tok"})
    headers = {"X-RateLimit-Remaining": "12", "X-RateLimit-Limit": "lots"}
    return web.json_response({"tasks": [], "has_more": False}, headers=headers)


async def test_rate_limit_status_keeps_what_it_can_read() -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _odd_headers)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with PyrusClient(
            base_url=f"http://127.0.0.1:{port}/v4/", login="bot", security_key="k"
        ) as pyrus:
            await pyrus.calendar(DAY, NEXT_DAY)
            status = pyrus.rate_limit_status
    finally:
        await runner.cleanup()
    assert status is not None
    assert (status.limit, status.remaining, status.reset) == (None, 12, None)
    assert status.resets_at is None
    assert RateLimitStatus.from_headers({}) is None
