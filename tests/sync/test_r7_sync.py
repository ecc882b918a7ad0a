"""Sync into an R7 calendar on FakeR7Server: create, update as create + delete, delete,
a crash between the halves of an update or after a create finished by the next run, and a
calendar that does not exist."""

from __future__ import annotations

import pytest

from calendar_bridge.sync import (
    Entry,
    Item,
    MemorySyncState,
    R7Target,
    Sync,
    SyncTargetError,
    Written,
)
from pyrus_calendar import Meeting
from pyrus_calendar.testing import FakePyrusServer
from r7cal import R7Client, RetryPolicy
from r7cal.testing import FakeR7Server
from tests.pyrus_calendar.support import client_for

from .support import HOUR, NOW, pyrus_sync, task

FAST = RetryPolicy(attempts=3, initial_backoff=0, max_backoff=0)


def _r7(server: FakeR7Server) -> R7Client:
    return R7Client(server.url, login="user_test", password="TestPassword", retry=FAST)


def _names(server: FakeR7Server, calendar_id: int) -> list[str | None]:
    return sorted(e.name for e in server.events.values() if e.calendar_id == calendar_id)


async def test_create_update_delete_in_an_r7_calendar(r7_server: FakeR7Server) -> None:
    state = MemorySyncState()
    async with _r7(r7_server) as r7, FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        calendar = await r7.calendars.create(name="From Pyrus")
        other = await r7.events.create(
            task(9).due, task(9).due + HOUR, name="not ours", calendar_id=calendar.id
        )
        for task_id in (1, 2):
            fake.add_task(task(task_id, task_id * HOUR))
        async with pyrus_sync(pyrus, R7Target(r7, calendar.id), state) as sync:
            first = await sync.run()
            assert first.created == 2
            assert (await sync.run()).writes == 0
            fake.add_task(task(1, HOUR, text="renamed", modified=4))
            fake.remove_task(2)
            target = sync.target
            assert isinstance(target, R7Target)
            before = target.writes
            third = await sync.run()
            assert (third.updated, third.deleted) == (1, 1)
            assert target.writes - before == 3  # create + delete for the update, one delete
    assert _names(r7_server, calendar.id) == ["not ours", "renamed"]
    assert other.id in r7_server.events


class CrashAfterCreate(R7Target):
    """The create lands; the process dies before it hears back (or before the delete)."""

    async def create(self, item: Item) -> Written:
        await super().create(item)
        raise SyncTargetError("killed after the create")

    async def update(self, item: Item, entry: Entry, *, force: bool) -> Written:
        await R7Target.create(self, item)
        raise SyncTargetError("killed between the create and the delete")


@pytest.mark.parametrize("step", ["create", "update"])
async def test_a_crash_mid_write_leaves_a_named_duplicate_never_a_stolen_event(
    r7_server: FakeR7Server, step: str, caplog: pytest.LogCaptureFixture
) -> None:
    # R7 events carry no mark of the sync: the event a lost create left cannot be told from
    # a user's own with the same name and times, so it is not adopted but named.
    state = MemorySyncState()
    async with _r7(r7_server) as r7, FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        calendar = await r7.calendars.create(name="From Pyrus")
        fake.add_task(task(1, HOUR))
        if step == "update":
            async with pyrus_sync(pyrus, R7Target(r7, calendar.id), state) as sync:
                await sync.run()
            fake.add_task(task(1, HOUR, text="renamed", modified=4))
        async with pyrus_sync(pyrus, CrashAfterCreate(r7, calendar.id), state) as sync:
            with pytest.raises(ExceptionGroup):
                await sync.run()
        async with pyrus_sync(pyrus, R7Target(r7, calendar.id), state) as sync:
            report = await sync.run()
            assert (report.recovered, report.resent) == (0, ["pyrus-task-1@pyrus.com"])
            assert "sent again (pyrus-task-1@pyrus.com)" in report.line()
            assert "may be a copy an unfinished run left" in caplog.text
            assert (await sync.run()).writes == 0
    expected = ["renamed", "renamed"] if step == "update" else ["task 1", "task 1"]
    assert _names(r7_server, calendar.id) == expected


async def test_a_users_own_event_like_a_lost_create_is_never_deleted(
    r7_server: FakeR7Server,
) -> None:
    state = MemorySyncState()
    async with _r7(r7_server) as r7, FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        calendar = await r7.calendars.create(name="From Pyrus")
        fake.add_task(task(1, HOUR))
        fake.add_task(task(2, 2 * HOUR))
        # The sync crashes before its create lands; the user has the same event already.
        mine = await r7.events.create(
            task(1).due, task(1).due, name="task 1", calendar_id=calendar.id
        )

        class CrashBeforeCreate(R7Target):
            async def create(self, item: Item) -> Written:
                raise SyncTargetError("killed before the create")

        async with pyrus_sync(pyrus, CrashBeforeCreate(r7, calendar.id), state) as sync:
            with pytest.raises(ExceptionGroup):
                await sync.run()
        async with pyrus_sync(pyrus, R7Target(r7, calendar.id), state) as sync:
            await sync.run()
            fake.remove_task(1)  # the source item goes: the sync deletes its own copy only
            assert (await sync.run()).deleted == 1
    assert mine.id in r7_server.events
    assert _names(r7_server, calendar.id) == ["task 1", "task 2"]


async def test_a_calendar_that_does_not_exist_is_refused(r7_server: FakeR7Server) -> None:
    async with _r7(r7_server) as r7:
        with pytest.raises(SyncTargetError, match="no calendar 999"):
            await R7Target(r7, 999).open()
        with pytest.raises(ValueError, match="calendar_id"):
            R7Target(r7, 0)
    assert not r7_server.creates


async def test_a_meeting_marked_deleted_loses_its_copy(r7_server: FakeR7Server) -> None:
    state = MemorySyncState()
    async with _r7(r7_server) as r7, FakePyrusServer() as fake, client_for(fake) as pyrus:
        calendar = await r7.calendars.create(name="Meetings")
        fake.add_task(task(1))  # (a source that lists nothing is refused, not emptied)
        fake.add_meeting(Meeting(id=5, type="zoom", start_time=NOW + HOUR, duration=30))
        sync = Sync(
            lambda start, end: pyrus.walk(start, end, filters="due"),
            R7Target(r7, calendar.id),
            source="pyrus:test",
            state=state,
            clock=lambda: NOW,
        )
        async with sync:
            assert (await sync.run()).created == 2
            assert "zoom meeting" in _names(r7_server, calendar.id)
            # Still listed (it is data), but on nobody's calendar: its copy goes.
            fake.add_meeting(Meeting(id=5, type="zoom", start_time=NOW + HOUR, deleted=True))
            assert (await sync.run()).deleted == 1
    assert "zoom meeting" not in _names(r7_server, calendar.id)
    assert len(_names(r7_server, calendar.id)) == 1
