"""A real redis-server per test module (never fakeredis), and a client for it per test."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from .server import MISSING, RedisServer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """``redis-server`` on a free loopback port; fails (never skips) when it is not installed."""
    if shutil.which("redis-server") is None:
        pytest.fail(MISSING, pytrace=False)
    with RedisServer() as server:
        yield server


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    """A client of the test Redis, emptied before the test (a restarted server is started)."""
    if not redis_server.running:
        redis_server.start()
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushall()
    yield client
    await client.aclose()
