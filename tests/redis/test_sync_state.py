"""RedisSyncState on a real Redis: the SyncState contract (the memory and SQLite states are
the reference), a Pyrus -> R7 sync whose state and watch live in one Redis (a re-run writes
nothing, a crash mid-write is finished from the intents Redis kept), and layouts, keys or
arguments that are not ours refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from calendar_bridge.sync import (
    Entry,
    Intent,
    MemorySyncState,
    R7Target,
    RedisSyncState,
    SqliteSyncState,
    SyncSnapshot,
    SyncState,
    SyncStateError,
)
from calendar_bridge.sync.redis import SYNC_SCHEMA
from calendar_watch.redis import RedisWatchState
from pyrus_calendar.testing import FakePyrusServer
from r7cal import R7Client, RetryPolicy
from r7cal.testing import FakeR7Server
from tests.pyrus_calendar.support import client_for
from tests.sync.support import HOUR, NOW, pyrus_sync, task
from tests.sync.test_r7_sync import CrashAfterCreate

UNTIL = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
FAST = RetryPolicy(attempts=3, initial_backoff=0, max_backoff=0)


class _Seen(list[object]):
    def append(self, snapshot: object) -> None:
        # Intents come in no promised order: compared by key.
        assert isinstance(snapshot, SyncSnapshot)
        intents = sorted(snapshot.intents, key=lambda intent: intent.key)
        super().append(SyncSnapshot(snapshot.source, snapshot.target, snapshot.entries, intents))


async def _exercise(state: SyncState) -> list[object]:
    """The same steps on any state; what it shows at each step."""
    seen = _Seen()
    await state.open()
    seen.append(await state.load("s"))
    old = Entry("/cal/a.ics", '"e1"', "h1", UNTIL)
    await state.begin(
        "s",
        "src",
        "dst",
        [Intent("create", "a", None, b"BEGIN:VCALENDAR"), Intent("create", "b", None, b"x")],
    )
    seen.append(await state.load("s"))
    await state.commit("s", "src", "dst", {"a": old}, (), ["a"])
    seen.append(await state.load("s"))
    await state.begin("s", "src", "dst", [Intent("update", "a", old, b"v2")])
    seen.append(await state.load("s"))
    new = Entry("/cal/a.ics", None, "h2", None)
    await state.commit("s", "src", "dst", {"a": new, "c": old}, ["b"], ["a", "b"])
    seen.append(await state.load("s"))
    await state.commit("s", "src", "dst", {}, ["c", "nope"], [])
    seen.append(await state.load("s"))
    seen.append(await state.load("other"))  # syncs in one state stay apart
    await state.close()
    return seen


async def test_redis_state_behaves_as_the_memory_and_sqlite_states(
    redis: aioredis.Redis, tmp_path: Path
) -> None:
    state = RedisSyncState(redis, "team")
    assert isinstance(state, SyncState)
    expected = await _exercise(MemorySyncState())
    assert await _exercise(SqliteSyncState(tmp_path / "state.db")) == expected
    assert await _exercise(state) == expected
    entries = (await RedisSyncState(redis, "team").load("s")).entries
    assert entries["a"] == Entry("/cal/a.ics", None, "h2", None)


async def test_a_sync_and_its_watch_share_one_redis(redis: aioredis.Redis) -> None:
    async with (
        FakeR7Server(seed=5) as r7_server,
        R7Client(r7_server.url, login="user_test", password="TestPassword", retry=FAST) as r7,
        FakePyrusServer(seed=1) as fake,
        client_for(fake) as pyrus,
    ):
        calendar = await r7.calendars.create(name="From Pyrus")
        for task_id in (1, 2, 3):
            fake.add_task(task(task_id, task_id * HOUR))
        state = RedisSyncState(redis, "team")
        async with pyrus_sync(pyrus, CrashAfterCreate(r7, calendar.id), state) as sync:
            sync._concurrency = 1  # one at a time: the crash stops the run early
            with pytest.raises(ExceptionGroup):
                await sync.run()
        assert [i.key for i in (await state.load(sync.name)).intents]  # kept in Redis
        # a new process: a new client and state object on the same Redis
        again = RedisSyncState(aioredis.Redis(connection_pool=redis.connection_pool), "team")
        async with pyrus_sync(pyrus, R7Target(r7, calendar.id), again) as sync:
            report = await sync.run()
            # The unfinished creates, read from the shared state, are sent again and named
            # (an R7 event cannot be proved the sync's: the one that landed is left alone).
            assert sorted(report.resent) == [f"pyrus-task-{n}@pyrus.com" for n in (1, 2, 3)]
            assert (report.recovered, report.created, report.updated) == (0, 3, 0)
            assert (await sync.run()).writes == 0
            watch = pyrus.watch(
                filters="due",
                state=RedisWatchState(redis, "team"),
                clock=lambda: NOW,
                sleep=_never,
            )
            async with watch as changes:
                follow = await sync.apply([await anext(changes) for _ in range(3)])
        assert follow.writes == 0
        assert (await again.load(sync.name)).intents == []
    names = sorted(r7_server.events[event_id].name or "" for event_id in list(r7_server.events))
    # Each item once as the sync's, plus the copies the crashed run left (named above).
    assert sorted(set(names)) == ["task 1", "task 2", "task 3"]
    assert 3 < len(names) <= 3 + len(report.resent)
    keys = [key.decode() for key in await redis.keys("*")]
    assert any(key.startswith("calendar:{sync:team}:") for key in keys)
    assert any(key.startswith("calendar:{watch:team}:") for key in keys)


async def _never(seconds: float) -> None:
    raise AssertionError("the test takes the first poll's changes only")


async def test_names_and_prefixes_keep_states_apart(redis: aioredis.Redis) -> None:
    entry = Entry("1", None, "h")
    await RedisSyncState(redis, "a").commit("s", "src", "dst", {"k": entry}, (), ())
    assert (await RedisSyncState(redis, "b").load("s")).entries == {}
    assert (await RedisSyncState(redis, "a", prefix="other").load("s")).entries == {}
    loaded = await RedisSyncState(redis, "a").load("s")
    assert (loaded.source, loaded.target, loaded.entries) == ("src", "dst", {"k": entry})
    names = [key.decode() for key in await redis.keys("*")]
    assert names  # every key of a state on one slot: the name's hash tag
    assert all(name.startswith("calendar:{sync:a}:") for name in names)


async def test_a_newer_layout_is_refused_and_left_as_it_is(redis: aioredis.Redis) -> None:
    state = RedisSyncState(redis, "u")
    await state.commit("s", "src", "dst", {"k": Entry("1", None, "h")}, (), ())
    meta = state.keys("s")[0]
    await redis.hset(meta, "schema", SYNC_SCHEMA + 1)
    with pytest.raises(SyncStateError, match="newer version"):
        await state.load("s")
    assert await redis.hget(meta, "schema") == str(SYNC_SCHEMA + 1).encode()


async def test_keys_holding_something_else_are_refused(redis: aioredis.Redis) -> None:
    state = RedisSyncState(redis, "u")
    await redis.set(state.keys("s")[1], "not a hash")
    with pytest.raises(SyncStateError, match="WRONGTYPE"):
        await state.load("s")
    await redis.delete(state.keys("s")[1])
    await redis.hset(state.keys("s")[1], "k", b"\xc1 garbage")
    with pytest.raises(SyncStateError, match="unreadable"):
        await state.load("s")


async def test_redis_away_is_a_state_error(redis: aioredis.Redis) -> None:
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    from .server import free_port

    client = aioredis.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    try:
        with pytest.raises(SyncStateError, match="Redis failed"):
            await RedisSyncState(client, "u").open()
    finally:
        await client.aclose()


def test_bad_arguments_are_refused(redis: aioredis.Redis) -> None:
    with pytest.raises(TypeError, match=r"redis\.asyncio\.Redis"):
        RedisSyncState("redis://x", "u")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="name must be"):
        RedisSyncState(redis, "a b")
    with pytest.raises(TypeError, match="name must be a str"):
        RedisSyncState(redis, 7)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="prefix"):
        RedisSyncState(redis, "u", prefix="x y")
    decoding = aioredis.Redis(decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses"):
        RedisSyncState(decoding, "u")
