"""RedisWatchState on a real Redis: the WatchState contract (the memory state is the
reference), commits fenced by the lease, and layouts or keys that are not ours refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from calendar_watch import (
    MemoryWatchState,
    WatchConflictError,
    WatchState,
    WatchStateError,
)
from calendar_watch.redis import (
    WATCH_SCHEMA,
    RedisWatchLeases,
    RedisWatchState,
    WatchLeaseLostError,
)
from calendar_watch.state import Mark, Record, SnapshotDelta, StoredChange

SEEN = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def _change(seq: int, kind: str = "added", item_key: str = "1") -> StoredChange:
    return StoredChange(
        seq=seq,
        kind=kind,  # type: ignore[arg-type]
        item_key=item_key,
        key=f"k{seq}",
        seen_at=SEEN,
        item=b'{"id":1,"text":"\\u0416"}',
        previous=None if kind == "added" else b'{"id":1}',
    )


async def _exercise(state: WatchState) -> list[object]:
    """The same steps on any state; what it shows at each step."""
    seen: list[object] = []
    await state.open()
    seen.append(await state.load("tasks"))
    until = SEEN + timedelta(days=1)
    first = SnapshotDelta(
        put={
            "1": Record(Mark("f1", until), b'{"id":1}'),
            "2": Record(Mark("f2", None), b'{"id":2}'),
        }
    )
    await state.commit("tasks", 1, [_change(1), _change(2, item_key="2")], first)
    seen.append(await state.load("tasks"))
    seen.append(await state.items("tasks", ["1", "2", "3"]))
    seen.append(await state.items("tasks", []))
    await state.ack("tasks", 1)
    seen.append((await state.load("tasks")).pending)
    second = SnapshotDelta(put={"1": Record(Mark("f1b", until), b'{"id":1,"v":2}')}, drop=["2"])
    await state.commit("tasks", 2, [_change(3, "changed"), _change(4, "removed", "2")], second)
    seen.append(await state.load("tasks"))
    seen.append(await state.items("tasks", ["1", "2"]))
    with pytest.raises(WatchConflictError, match="does not follow"):
        await state.commit("tasks", 2, [], SnapshotDelta())
    seen.append(await state.load("other"))  # watches in one state stay apart
    await state.ack("tasks", 10)
    seen.append((await state.load("tasks")).pending)
    await state.close()
    return seen


async def test_redis_state_behaves_as_the_memory_state(redis: aioredis.Redis) -> None:
    state = RedisWatchState(redis, "user-42")
    assert isinstance(state, WatchState)
    assert await _exercise(state) == await _exercise(MemoryWatchState())
    # the datetimes come back aware, in UTC
    snapshot = await RedisWatchState(redis, "user-42").load("tasks")
    assert snapshot.marks["1"].until == SEEN + timedelta(days=1)
    assert snapshot.poll_id == 2


async def test_names_and_prefixes_keep_states_apart(redis: aioredis.Redis) -> None:
    await RedisWatchState(redis, "a").commit("w", 1, [_change(1)], SnapshotDelta())
    assert (await RedisWatchState(redis, "b").load("w")).poll_id == 0
    assert (await RedisWatchState(redis, "a", prefix="other").load("w")).poll_id == 0
    assert (await RedisWatchState(redis, "a").load("w")).poll_id == 1
    names = [key.decode() for key in await redis.keys("*")]
    assert names  # every key of a state on one slot: the name's hash tag
    assert all(name.startswith("calendar:{watch:a}:") for name in names)


async def test_a_commit_needs_the_lease_when_one_is_given(redis: aioredis.Redis) -> None:
    mine, theirs = RedisWatchLeases(redis, ttl=5), RedisWatchLeases(redis, ttl=5)
    state = RedisWatchState(redis, "user-1", lease=mine)
    with pytest.raises(WatchLeaseLostError, match="lease lapsed"):
        await state.commit("w", 1, [_change(1)], SnapshotDelta())  # never taken
    assert await mine.acquire("user-1")
    await state.commit("w", 1, [_change(1)], SnapshotDelta())
    await redis.delete(mine.lease_key("user-1"))  # lapsed ...
    assert await theirs.acquire("user-1")  # ... and taken by another replica
    with pytest.raises(WatchLeaseLostError):
        await state.commit("w", 2, [_change(2)], SnapshotDelta())
    await RedisWatchState(redis, "user-1", lease=theirs).commit("w", 2, [], SnapshotDelta())
    snapshot = await state.load("w")
    assert snapshot.poll_id == 2
    assert [c.seq for c in snapshot.pending] == [1]  # the refused poll left nothing behind


async def test_a_newer_layout_is_refused_and_left_as_it_is(redis: aioredis.Redis) -> None:
    state = RedisWatchState(redis, "u")
    await state.commit("w", 1, [_change(1)], SnapshotDelta())
    meta = state._keys("w")[0]
    await redis.hset(meta, "schema", WATCH_SCHEMA + 1)
    with pytest.raises(WatchStateError, match="newer version"):
        await state.load("w")
    with pytest.raises(WatchStateError, match="newer version"):
        await state.commit("w", 2, [], SnapshotDelta())
    assert await redis.hget(meta, "poll_id") == b"1"


async def test_keys_holding_something_else_are_refused(redis: aioredis.Redis) -> None:
    state = RedisWatchState(redis, "u")
    await redis.set(state._keys("w")[1], "not a hash")
    with pytest.raises(WatchStateError, match="WRONGTYPE"):
        await state.load("w")
    await redis.delete(state._keys("w")[1])
    await redis.hset(state._keys("w")[1], "1", b"\xc1 garbage")
    with pytest.raises(WatchStateError, match="unreadable"):
        await state.load("w")


async def test_redis_away_is_a_state_error(redis: aioredis.Redis) -> None:
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    from .server import free_port

    client = aioredis.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    try:
        with pytest.raises(WatchStateError, match="Redis unavailable"):
            await RedisWatchState(client, "u").open()
    finally:
        await client.aclose()


def test_bad_arguments_are_refused(redis: aioredis.Redis) -> None:
    with pytest.raises(TypeError, match=r"redis\.asyncio\.Redis"):
        RedisWatchState("redis://x", "u")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="watch name"):
        RedisWatchState(redis, "a b")
    with pytest.raises(ValueError, match="prefix"):
        RedisWatchState(redis, "u", lease=RedisWatchLeases(redis, prefix="x"))
    with pytest.raises(TypeError, match="RedisWatchLeases"):
        RedisWatchState(redis, "u", lease=object())  # type: ignore[arg-type]
    decoding = aioredis.Redis(decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses"):
        RedisWatchState(decoding, "u")
