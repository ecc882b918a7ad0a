"""A wait for the budget shared on Redis reaches ``hooks.on_rate_limit_wait`` and ``stats``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from calendar_transport import Hooks, RateLimitWaitRecord
from calendar_transport.redis import RedisRateLimit
from pyrus_calendar import PyrusClient, RateLimit
from pyrus_calendar.testing import FakePyrusServer

DAY = datetime(2024, 5, 1, tzinfo=UTC)


async def test_a_wait_for_the_shared_budget_is_told(redis: aioredis.Redis) -> None:
    waits: list[RateLimitWaitRecord] = []
    # One request per 100 ms: the calendar call after the login waits for room.
    budget = RedisRateLimit(redis, RateLimit(1, 0.1), margin=0)
    async with (
        FakePyrusServer() as server,
        PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
            rate_limit=budget,
            hooks=Hooks(on_rate_limit_wait=waits.append),
        ) as pyrus,
    ):
        await pyrus.calendar(DAY, DAY + timedelta(days=1))
    assert [w.reason for w in waits] == ["shared budget"]
    assert 0 < waits[0].wait <= 0.1
    assert pyrus.stats.rate_limit_waits == 1
