"""Sync into a real Radicale, read back with the caldav client: creates, updates, deletes,
nothing else touched, conflicts, crash recovery, safety, and the write counts."""

from __future__ import annotations

import pytest

from calendar_bridge.sync import (
    TAG,
    CalDAVTarget,
    MemorySyncState,
    SqliteSyncState,
    SyncSafetyError,
    SyncSnapshot,
)
from pyrus_calendar.testing import FakePyrusServer
from tests.pyrus_calendar.support import client_for

from .conftest import PASSWORD, USER, Radicale
from .support import HOUR, pyrus_sync, task


def _target(radicale: Radicale, **options: object) -> CalDAVTarget:
    return CalDAVTarget(
        radicale.calendar_url(),
        username=USER,
        password=PASSWORD,
        **options,  # type: ignore[arg-type]
    )


async def test_mirrors_creates_updates_deletes_and_rereads_nothing(
    radicale: Radicale, tmp_path: object
) -> None:
    url = radicale.make_calendar()
    foreign = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:mine\r\n"
        "DTSTAMP:20240101T000000Z\r\nDTSTART:20240510T150000Z\r\nSUMMARY:my own\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    with radicale.client() as client:
        client.calendar(url=url).save_event(foreign)
    async with FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        for task_id in (1, 2, 3):
            fake.add_task(task(task_id, task_id * HOUR))
        state = SqliteSyncState(tmp_path / "state.db")  # type: ignore[operator]
        target = _target(radicale)
        async with pyrus_sync(pyrus, target, state) as sync:
            first = await sync.run()
            assert (first.created, first.updated, first.deleted) == (3, 0, 0)
            again = await sync.run()
            assert again.writes == 0
            assert again.unchanged == 3
            fake.add_task(task(2, 2 * HOUR, text="renamed", modified=5))
            fake.remove_task(3)
            third = await sync.run()
            assert (third.created, third.updated, third.deleted) == (0, 1, 1)
    stored = radicale.events()
    texts = list(stored.values())
    assert len(stored) == 3  # tasks 1 and 2, and the user's own event
    assert sum("SUMMARY:my own" in text for text in texts) == 1
    ours = [text for text in texts if TAG in text]
    assert len(ours) == 2
    assert any("SUMMARY:renamed" in text for text in ours)
    assert all(
        "UID:sync-pyrus-task-" in text.replace("\r\n ", "").replace("\n ", "") for text in ours
    )


async def test_an_empty_source_deletes_nothing_without_force_delete(radicale: Radicale) -> None:
    radicale.make_calendar()
    state = MemorySyncState()
    async with FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        fake.add_task(task(1))
        fake.add_task(task(2))
        async with pyrus_sync(pyrus, _target(radicale), state) as sync:
            await sync.run()
        fake.remove_task(1)
        fake.remove_task(2)
        async with pyrus_sync(pyrus, _target(radicale), state) as sync:
            with pytest.raises(SyncSafetyError, match="listed nothing"):
                await sync.run()
        assert len(radicale.events()) == 2
        async with pyrus_sync(pyrus, _target(radicale), state, force_delete=True) as sync:
            report = await sync.run()
    assert report.deleted == 2
    assert radicale.events() == {}


async def test_write_counts_first_run_rerun_and_ten_edits(radicale: Radicale) -> None:
    radicale.make_calendar()
    state = MemorySyncState()
    async with FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        for task_id in range(1, 41):
            fake.add_task(task(task_id, task_id * HOUR / 4))
        target = _target(radicale)
        async with pyrus_sync(pyrus, target, state) as sync:
            await sync.run()
            assert target.writes == 40
            await sync.run()
            assert target.writes == 40  # no change: no write
            for task_id in range(1, 11):
                fake.add_task(task(task_id, task_id * HOUR / 4, text="edited", modified=9))
            report = await sync.run()
    assert target.writes == 50  # exactly the ten edits
    assert report.updated == 10
    assert len(radicale.events()) == 40


class _CountingState(MemorySyncState):
    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    async def load(self, sync: str) -> SyncSnapshot:
        self.loads += 1
        return await super().load(sync)


async def test_a_run_and_a_followed_change_read_the_state_once(radicale: Radicale) -> None:
    # A `sync --watch` applies every change: reading all entries again for each would cost
    # a full SQLite read (or an HGETALL) per change.
    radicale.make_calendar()
    state = _CountingState()
    async with FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        fake.add_task(task(1))
        async with pyrus_sync(pyrus, _target(radicale), state) as sync:
            state.loads = 0
            assert (await sync.run()).created == 1
            assert state.loads == 1
            state.loads = 0
            assert (await sync.apply([])).writes == 0
            assert state.loads == 1
