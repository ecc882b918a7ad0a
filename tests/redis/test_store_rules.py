"""The rules of a TokenStore: compare-and-set, the lock's timeout, namespacing, fallback."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from calendar_transport import MemoryTokenStore, RateLimit, TokenStore
from calendar_transport.redis import RedisRateLimit, RedisTokenStore
from calendar_transport.token_store import TokenRecord, store_key
from pyrus_calendar import PyrusClient, RetryPolicy
from pyrus_calendar.testing import FakePyrusServer
from r7cal import R7Client

from .server import RedisServer

KEY = store_key("pyrus", "https://api.pyrus.com/v4/", "bot@example.com")
ISSUED = datetime(2025, 6, 20, 12, 0, tzinfo=UTC)
DAY = datetime(2025, 6, 20, tzinfo=UTC)
NEXT_DAY = DAY + timedelta(days=1)
FAST = RetryPolicy(attempts=2, initial_backoff=0.0, max_backoff=0.0)


def record(value: str, **fields: object) -> TokenRecord:
    return TokenRecord(value, ISSUED, **fields)  # type: ignore[arg-type]


async def _fleet_token(redis_server: RedisServer) -> str | None:
    """The token another worker's store finds in Redis (``None``: none)."""
    other = RedisTokenStore.from_url(redis_server.url)
    try:
        shared = await other.get(KEY)
    finally:
        await other.redis.aclose()
    return None if shared is None else shared.value


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, redis_server: RedisServer
) -> AsyncIterator[TokenStore]:
    """Each rule holds for the in-process store and for the Redis one."""
    if request.param == "memory":
        yield MemoryTokenStore()
        return
    if not redis_server.running:
        redis_server.start()
    client = aioredis.Redis.from_url(redis_server.url)
    await client.flushall()
    yield RedisTokenStore(client)
    await client.aclose()


async def test_invalidate_is_compare_and_set(store: TokenStore) -> None:
    await store.put(KEY, record("new-token"))
    assert await store.invalidate(KEY, "old-token") is False  # someone already replaced it
    kept = await store.get(KEY)
    assert kept is not None
    assert kept.value == "new-token"
    assert await store.invalidate(KEY, "new-token") is True
    assert await store.get(KEY) is None
    assert await store.invalidate(KEY, "new-token") is False


async def test_a_record_keeps_its_hosts_and_expiry(store: TokenStore) -> None:
    expires = datetime.now(UTC) + timedelta(hours=1)
    await store.put(
        KEY, record("t", expires_at=expires, api_url="https://x/v4/", files_url="https://f/")
    )
    back = await store.get(KEY)
    assert back is not None
    assert (back.value, back.expires_at, back.issued_at) == ("t", expires, ISSUED)
    assert (back.api_url, back.files_url) == ("https://x/v4/", "https://f/")
    assert "t'" not in repr(back)


async def test_keys_never_mix_accounts(store: TokenStore) -> None:
    server = "https://api.pyrus.com/v4/"
    keys = {
        store_key("pyrus", server, "a@x.ru"),
        store_key("pyrus", server, "b@x.ru"),
        store_key("pyrus", server, "a@x.ru", person_id=5),
        store_key("pyrus", "https://pyrus.example.ru/api/v4/", "a@x.ru"),
        store_key("r7", server, "a@x.ru"),
    }
    assert len({key.name for key in keys}) == 5
    for number, key in enumerate(keys):
        await store.put(key, record(f"token-{number}"))
    for number, key in enumerate(keys):
        got = await store.get(key)
        assert got is not None
        assert got.value == f"token-{number}"


def test_key_names_hold_no_login_or_server() -> None:
    key = store_key("pyrus", "https://pyrus.example.ru/api/v4/", "bot@example.ru", person_id=7)
    assert key.name.startswith("pyrus:")
    assert "bot" not in key.name
    assert "example" not in key.name
    assert store_key("pyrus", "https://h/v4/", "x") == store_key("pyrus", "https://h/v4", "x")


async def test_redis_keys_carry_no_secret(redis: aioredis.Redis) -> None:
    store = RedisTokenStore(redis, prefix="bots")
    await store.put(KEY, record("very-secret-token"))
    async with store.lock(KEY):
        names = [name.decode() for name in await redis.keys("*")]
    assert names
    assert all(name.startswith(f"bots:{{{KEY.name}}}:") for name in names)
    assert not any("secret" in name for name in names)


async def test_two_prefixes_on_one_redis_do_not_mix(redis: aioredis.Redis) -> None:
    await RedisTokenStore(redis, prefix="one").put(KEY, record("a"))
    assert await RedisTokenStore(redis, prefix="two").get(KEY) is None


async def test_a_crashed_holder_blocks_the_lock_only_until_its_timeout(
    redis: aioredis.Redis,
) -> None:
    store = RedisTokenStore(redis, lock_timeout=0.3)
    name = f"calendar:{{{KEY.name}}}:lock"
    # A holder that took the lock and died: nobody will release it; its expiry frees it.
    await redis.set(name, "crashed-holder", px=300)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(5), store.lock(KEY):
        held_by = await redis.get(name)
    assert held_by not in (None, b"crashed-holder")
    assert loop.time() - started >= 0.2  # it did wait for the holder's lock to expire
    assert await redis.get(name) is None  # released after use


async def test_the_lock_is_exclusive_between_stores(redis: aioredis.Redis) -> None:
    first, second = RedisTokenStore(redis), RedisTokenStore(redis)  # two "processes"
    order: list[str] = []
    async with first.lock(KEY):
        waiter = asyncio.create_task(_take(second, order))
        await asyncio.sleep(0.1)  # the second store polls every 20 ms meanwhile
        order.append("first done")
    await waiter
    assert order == ["first done", "second in"]


async def _take(store: RedisTokenStore, order: list[str]) -> None:
    async with store.lock(KEY):
        order.append("second in")


async def test_two_clients_one_login_and_a_stale_401_does_not_log_in() -> None:
    store = MemoryTokenStore()
    async with FakePyrusServer(max_tokens=1) as server:
        first = _client(server, store)
        second = _client(server, store)
        async with first, second:
            await asyncio.gather(first.calendar(DAY, NEXT_DAY), second.calendar(DAY, NEXT_DAY))
            assert server.counters.logins == 1
            server.revoke_tokens()
            await first.calendar(DAY, NEXT_DAY)  # 401, logs in again
            # The second client's 401 carries the old token: the store has a newer one.
            await second.calendar(DAY, NEXT_DAY)
        assert server.counters.logins == 2
        assert (first.stats.logins, second.stats.logins) == (2, 0)


async def test_the_stored_api_url_is_followed() -> None:
    store = MemoryTokenStore()
    async with FakePyrusServer() as server:
        # Logs in at the cloud-style auth URL, whose answer names the API host.
        first = _client(server, store, base_url=server.api_url)
        async with first:
            await first.login()
        key = first.auth._store_key
        assert key is not None
        stored = await store.get(key)
        assert stored is not None
        assert stored.api_url == server.api_url
        assert stored.files_url == f"{server.url}/files/"


async def test_token_store_needs_credentials_and_a_store() -> None:
    with pytest.raises(ValueError, match="token_store needs login"):
        PyrusClient(token="t", token_store=MemoryTokenStore())
    with pytest.raises(TypeError, match="token_store must be a TokenStore"):
        PyrusClient(login="a", security_key="k", token_store=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="token_store needs login"):
        R7Client("https://r7.example.ru", token="t", token_store=MemoryTokenStore())


async def test_redis_away_falls_back_with_one_warning_and_comes_back(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    if not redis_server.running:
        redis_server.start()
    clock = Clock()
    client = RedisTokenStore.from_url(redis_server.url, retry_interval=5.0, clock=clock)
    try:
        await client.put(KEY, record("before-the-outage"))
        redis_server.stop(kill=True)
        with caplog.at_level(logging.WARNING, logger="calendar_transport.redis"):
            await client.put(KEY, record("during-the-outage"))
            got = await client.get(KEY)
            assert await client.invalidate(KEY, "someone-elses") is False
        assert got is not None
        assert got.value == "during-the-outage"
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "during-the-outage" not in caplog.text
        assert client.health.outages == 1
        redis_server.start()  # empty, as a Redis without persistence after a crash
        clock.now += 5.0
        got = await client.get(KEY)
        assert got is not None
        assert got.value == "during-the-outage"
        # What this process got while Redis was away is now the fleet's.
        assert await _fleet_token(redis_server) == "during-the-outage"
    finally:
        await client.redis.aclose()


async def test_a_token_got_while_redis_was_away_reaches_the_next_worker(
    redis_server: RedisServer,
) -> None:
    """Worker A logs in while Redis is down; Redis comes back empty; A makes no call more,
    and worker B, started after, finds A's token instead of logging in (on Pyrus a second
    login may push out the first token)."""
    redis_server.stop(kill=True)
    first_store = RedisTokenStore.from_url(redis_server.url, retry_interval=0.05)
    second_store = RedisTokenStore.from_url(redis_server.url)
    try:
        async with FakePyrusServer(max_tokens=1) as server:
            async with _client(server, first_store) as first:
                await first.calendar(DAY, NEXT_DAY)
                assert server.counters.logins == 1
                redis_server.start()  # empty, as a Redis without persistence after a crash
                await asyncio.wait_for(first_store.written_back(), timeout=30)
                async with _client(server, second_store) as second:
                    await second.calendar(DAY, NEXT_DAY)
                await first.calendar(DAY, NEXT_DAY)  # its token still works: nobody pushed it
            assert server.counters.logins == 1
            assert (first.stats.logins, second.stats.logins) == (1, 0)
    finally:
        await first_store.redis.aclose()
        await second_store.redis.aclose()


async def test_flush_writes_back_at_once_and_never_over_a_newer_token(
    redis_server: RedisServer,
) -> None:
    if redis_server.running:
        redis_server.stop(kill=True)
    clock = Clock()
    store = RedisTokenStore.from_url(redis_server.url, retry_interval=5.0, clock=clock)
    try:
        await store.put(KEY, record("got-while-away"))
        assert await store.flush() is False  # still away
        redis_server.start()
        clock.now += 5.0
        other = RedisTokenStore.from_url(redis_server.url)
        try:
            await other.put(KEY, record("a-newer-one"))  # another worker stored one meanwhile
            assert await store.flush() is True
            shared = await other.get(KEY)
        finally:
            await other.redis.aclose()
        assert shared is not None
        assert shared.value == "a-newer-one"
        await store.written_back()  # nothing waits any more: returns at once
        assert store._writer is not None
        assert store._writer.cancelling() or store._writer.done()  # not left asleep
    finally:
        await store.redis.aclose()


async def test_a_429_pauses_every_limiter_of_the_account(redis: aioredis.Redis) -> None:
    budget = RateLimit(1000, 1.0)
    one = RedisRateLimit(redis, budget).limiter_for(KEY)
    other = RedisRateLimit(redis, budget).limiter_for(KEY)  # another process
    unrelated = RedisRateLimit(redis, budget).limiter_for(store_key("pyrus", "https://h/", "z"))
    await one.pause(0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await unrelated.acquire()
    assert loop.time() - started < 0.2  # another account is not paused
    await other.acquire()
    assert loop.time() - started >= 0.25


async def test_the_budget_is_shared_on_redis(redis: aioredis.Redis) -> None:
    budget = RateLimit(5, 0.5)
    limiters = [RedisRateLimit(redis, budget, margin=0).limiter_for(KEY) for _ in range(2)]
    loop = asyncio.get_running_loop()
    started = loop.time()
    for number in range(6):
        await limiters[number % 2].acquire()
    # five fit in the first period; the sixth waits for the oldest to leave it
    assert loop.time() - started >= 0.4


def _client(server: FakePyrusServer, store: TokenStore, **options: object) -> PyrusClient:
    options.setdefault("base_url", server.api_url)
    return PyrusClient(
        login=FakePyrusServer.DEFAULT_LOGIN,
        security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
        token_store=store,
        retry=FAST,
        **options,  # type: ignore[arg-type]
    )


async def test_a_slow_write_back_is_not_taken_for_done(redis_server: RedisServer) -> None:
    """A Redis that swallows packets (stopped, not gone): while the write of a token got
    meanwhile is in flight, nothing says it was written back."""
    if not redis_server.running:
        redis_server.start()
    assert redis_server._process is not None
    pid = redis_server._process.pid
    slow = aioredis.Redis.from_url(redis_server.url, socket_timeout=0.5)
    store = RedisTokenStore(slow, retry_interval=60.0)  # its own writer stays out of the way
    os.kill(pid, signal.SIGSTOP)
    try:
        await store.put(KEY, record("got-while-slow"))  # times out: kept to write back
        flushing = asyncio.create_task(store.flush())
        waiting = asyncio.create_task(store.written_back())
        done, _ = await asyncio.wait({flushing, waiting}, return_when=asyncio.FIRST_COMPLETED)
        assert done == {flushing}  # the write timed out; the waiter still waits
        assert flushing.result() is False
        assert not waiting.done()
    finally:
        os.kill(pid, signal.SIGCONT)
    try:
        assert await store.flush() is True
        await asyncio.wait_for(waiting, timeout=10)
        assert await _fleet_token(redis_server) == "got-while-slow"
    finally:
        await slow.aclose()
