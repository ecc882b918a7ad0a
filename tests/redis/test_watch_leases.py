"""Watch leases on a real Redis: one holder per watch, lapsing after the lease time, and a
runner that takes a fair share of the watches and hands back what it loses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from calendar_watch.redis import RedisWatchLeases
from calendar_watch.replicas import WatchLease, WatchRunner

from .server import free_port


async def test_one_holder_at_a_time_and_release_frees_it(redis: aioredis.Redis) -> None:
    first, second = RedisWatchLeases(redis, ttl=5), RedisWatchLeases(redis, ttl=5)
    assert isinstance(first, WatchLease)
    assert await first.acquire("user-1")
    assert await first.acquire("user-1")  # already its own: renewed, still held
    assert not await second.acquire("user-1")
    assert not await second.renew("user-1")
    assert await first.holds("user-1")
    assert not await second.holds("user-1")
    await second.release("user-1")  # not its lease: nothing happens
    assert await first.renew("user-1")
    await first.release("user-1")
    assert await second.acquire("user-1")
    assert not await first.renew("user-1")


async def test_a_claim_lapses_after_the_lease_time(redis: aioredis.Redis) -> None:
    holder, other = RedisWatchLeases(redis, ttl=5), RedisWatchLeases(redis, ttl=5)
    assert await holder.acquire("w")
    ttl_ms = await redis.pttl(holder.lease_key("w"))
    assert 4000 < ttl_ms <= 5000  # expiry set by Redis, not by a timer in the replica
    await redis.pexpire(holder.lease_key("w"), 1)  # the lease time passes without a renewal
    for _ in range(200):  # Redis expires the key within a millisecond or two
        if not await redis.exists(holder.lease_key("w")):
            break
        await asyncio.sleep(0.005)
    assert await other.acquire("w")
    assert not await holder.renew("w")


async def test_heartbeat_counts_live_replicas_of_the_group(redis: aioredis.Redis) -> None:
    a, b = RedisWatchLeases(redis, ttl=5), RedisWatchLeases(redis, ttl=5)
    other_group = RedisWatchLeases(redis, ttl=5, group="another-service")
    assert await a.heartbeat() == 1
    assert await b.heartbeat() == 2
    assert await a.heartbeat() == 2  # a repeated heartbeat is still one replica
    assert await other_group.heartbeat() == 1


async def test_redis_away_means_not_held(redis: aioredis.Redis) -> None:
    client = aioredis.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    leases = RedisWatchLeases(client, ttl=5)
    try:
        assert not await leases.acquire("w")
        assert not await leases.renew("w")
        assert await leases.heartbeat() == 1
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"ttl": 0}, "ttl must be"),
        ({"ttl": True}, "ttl must be"),
        ({"group": "a b"}, "watch name"),
        ({"prefix": "{x}"}, "prefix"),
    ],
)
def test_bad_lease_options_are_refused(
    redis: aioredis.Redis, kwargs: dict[str, object], words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        RedisWatchLeases(redis, **kwargs)  # type: ignore[arg-type]


def test_bad_watch_names_are_refused(redis: aioredis.Redis) -> None:
    leases = RedisWatchLeases(redis)
    for name in ("", "a{b}", "a b", "x" * 201):
        with pytest.raises(ValueError, match="watch name"):
            leases.lease_key(name)
    with pytest.raises(TypeError, match="must be a str"):
        leases.lease_key(7)  # type: ignore[arg-type]


# ---- the runner ------------------------------------------------------------------------


class _Feed:
    """Stands in for ``client.watch()``: yields the changes put in, one queue per name."""

    def __init__(self) -> None:
        self.queues: dict[str, asyncio.Queue[str]] = {}
        self.opened: list[str] = []
        self.closed: list[str] = []

    def start(self, name: str) -> AsyncGenerator[str, None]:
        self.opened.append(name)
        queue = self.queues.setdefault(name, asyncio.Queue())
        return self._changes(name, queue)

    async def _changes(self, name: str, queue: asyncio.Queue[str]) -> AsyncGenerator[str, None]:
        try:
            while True:
                yield await queue.get()
        finally:
            self.closed.append(name)


async def _no_sleep(_: float) -> None:
    await asyncio.sleep(0)


async def test_replicas_split_the_watches_and_take_over_lost_ones(redis: aioredis.Redis) -> None:
    names = [f"user-{n}" for n in range(20)]
    feed = _Feed()
    seen: list[tuple[str, str]] = []

    async def handle(name: str, change: str) -> None:
        seen.append((name, change))

    a = WatchRunner(names, feed.start, handle, lease=RedisWatchLeases(redis, ttl=5))
    b = WatchRunner(names, feed.start, handle, lease=RedisWatchLeases(redis, ttl=5))
    await a.tick()  # alone: takes every watch
    assert a.held == set(names)
    await b.tick()  # two replicas now, but every watch is held
    assert b.held == set()
    await a.tick()  # a sees two replicas: hands back half
    assert len(a.held) == 10
    await b.tick()
    assert len(b.held) == 10
    assert a.held.isdisjoint(b.held)
    for name in names:
        feed.queues[name].put_nowait(f"{name}:1")
    for _ in range(100):
        await asyncio.sleep(0)
        if len(seen) == 20:
            break
    assert sorted(seen) == sorted((name, f"{name}:1") for name in names)
    # a's leases lapse (as when a replica hangs or dies): b takes them over, a stops them
    lost = set(a.held)
    for name in lost:
        await redis.delete(RedisWatchLeases(redis).lease_key(name))
    await redis.delete("calendar:{watch-replicas:watchers}:alive")
    await b.tick()
    assert b.held == set(names)
    await a.tick()
    assert a.held == set()
    assert set(feed.closed) >= lost  # a's watches were closed, not left running
    b.stop()
    await b.run()
    assert set(feed.closed) == set(names)


async def test_without_a_lease_the_runner_runs_every_watch_until_stopped() -> None:
    feed = _Feed()
    got: list[str] = []
    runner: WatchRunner

    async def handle(name: str, change: str) -> None:
        got.append(change)
        if len(got) == 2:
            runner.stop()

    runner = WatchRunner(["a", "b"], feed.start, handle, renew_every=1, sleep=_no_sleep)
    feed.queues["a"] = asyncio.Queue()
    feed.queues["b"] = asyncio.Queue()
    feed.queues["a"].put_nowait("a1")
    feed.queues["b"].put_nowait("b1")
    await asyncio.wait_for(runner.run(), 10)
    assert sorted(got) == ["a1", "b1"]
    assert sorted(feed.closed) == ["a", "b"]
    assert runner.handled == 2


def test_runner_refuses_bad_options() -> None:
    feed = _Feed()

    async def handle(name: str, change: str) -> None:
        pass

    with pytest.raises(ValueError, match="at least one"):
        WatchRunner([], feed.start, handle)
    with pytest.raises(ValueError, match="renew_every"):
        WatchRunner(["a"], feed.start, handle, renew_every=0)
    with pytest.raises(TypeError, match="WatchLease"):
        WatchRunner(["a"], feed.start, handle, lease=object())  # type: ignore[arg-type]
