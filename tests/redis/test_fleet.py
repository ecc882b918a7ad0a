"""Several worker processes, one account: one login, one re-login, one budget, Redis outages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pyrus_calendar.testing import FakePyrusServer

from .fleet import WatchedPyrusServer, run_fleet
from .server import RedisServer

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def fake() -> AsyncIterator[WatchedPyrusServer]:
    """A Pyrus fake that keeps one token per user: a new login revokes the previous one."""
    async with WatchedPyrusServer(max_tokens=1, rate_limit=None, seed=14) as server:
        yield server


@pytest.fixture
def fresh_redis(redis_server: RedisServer) -> RedisServer:
    # Emptied by restarting: each fleet test starts with no token and no budget stored.
    redis_server.stop()
    redis_server.start()
    return redis_server


async def test_eight_processes_make_one_login(
    fake: FakePyrusServer, fresh_redis: RedisServer
) -> None:
    result = await run_fleet(fake, redis_url=fresh_redis.url, workers=8, calls=400, shared=True)
    assert result.errors == []
    assert result.ok == 400
    assert result.logins == 1
    assert result.unauthorized == 0
    assert sorted(result.client_logins) == [0] * 7 + [1]


async def test_a_revoked_token_costs_the_fleet_one_login(
    fake: FakePyrusServer, fresh_redis: RedisServer
) -> None:
    fake.revoke_after(150)  # every token is revoked after the 150th call
    result = await run_fleet(fake, redis_url=fresh_redis.url, workers=8, calls=400, shared=True)
    assert result.errors == []
    assert result.logins == 2
    assert 1 <= result.unauthorized <= 8 * 2  # each worker's in-flight calls on the old token


async def test_a_shared_budget_keeps_four_processes_under_the_limit(
    fresh_redis: RedisServer,
) -> None:
    async with FakePyrusServer(max_tokens=1, rate_limit=100, rate_period=2.0) as server:
        result = await run_fleet(
            server,
            redis_url=fresh_redis.url,
            workers=4,
            calls=240,
            shared=True,
            rate=(100, 2.0),
        )
    assert result.errors == []
    assert result.rate_limited == 0
    assert result.logins == 1
    # 240 calls at 100 per 2 s need more than two windows: the budget was really enforced
    assert result.elapsed >= 4.0


async def test_redis_stopped_mid_run_fails_no_call(
    fake: WatchedPyrusServer, fresh_redis: RedisServer
) -> None:
    async def outage() -> None:
        await fake.served(100).wait()
        fresh_redis.stop(kill=True)
        await fake.served(100).wait()
        fresh_redis.start()

    result = await run_fleet(
        fake,
        redis_url=fresh_redis.url,
        workers=4,
        calls=600,
        shared=True,
        rate=(1000, 1.0),
        during=outage,
        warm=True,  # a worker that had no token yet when Redis went would log in on its own
    )
    assert result.errors == []
    assert result.ok == 600
    assert result.logins == 1  # the workers kept their token through the outage
    assert result.outages >= 1  # it really was noticed


async def test_without_the_store_processes_evict_each_other(
    fake: FakePyrusServer, redis_server: RedisServer
) -> None:
    # Today's behaviour, for contrast: every process logs in for itself.
    result = await run_fleet(fake, redis_url=redis_server.url, workers=4, calls=80, shared=False)
    assert result.logins >= 4
    assert result.unauthorized > 0
