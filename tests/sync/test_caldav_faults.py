"""Faults against a real Radicale: a 412 is a conflict (not overwritten unless forced), an
answer lost after the write landed is finished by the next run without a duplicate, wrong
credentials, a missing calendar and a state from another source fail before any write."""

from __future__ import annotations

import itertools
import socket
import ssl
from pathlib import Path

import pytest

from calendar_bridge.sync import (
    CalDAVTarget,
    Entry,
    Item,
    MemorySyncState,
    SqliteSyncState,
    Sync,
    SyncStateError,
    SyncTargetError,
    Written,
)
from calendar_bridge.sync.caldav import _why_unreachable
from pyrus_calendar.testing import FakePyrusServer
from tests.pyrus_calendar.support import client_for

from .conftest import PASSWORD, USER, Radicale, radicale_running
from .support import HOUR, NOW, pyrus_sync, task


class LostAnswer(CalDAVTarget):
    """Writes land on the server, but the answer of the ``fail_at``-th write is lost."""

    def __init__(self, *args: object, fail_at: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fail_at = fail_at
        self.calls = 0

    async def create(self, item: Item) -> Written:
        self.calls += 1
        written = await super().create(item)
        if self.calls == self.fail_at:
            raise SyncTargetError("connection reset after the PUT was sent")
        return written

    async def update(self, item: Item, entry: Entry, *, force: bool) -> Written:
        self.calls += 1
        written = await super().update(item, entry, force=force)
        if self.calls == self.fail_at:
            raise SyncTargetError("connection reset after the PUT was sent")
        return written


def _target(radicale: Radicale, **options: object) -> CalDAVTarget:
    return CalDAVTarget(radicale.calendar_url(), username=USER, password=PASSWORD, **options)  # type: ignore[arg-type]


async def test_an_edit_on_the_server_is_a_conflict_and_force_overwrites(radicale: Radicale) -> None:
    url = radicale.make_calendar()
    state = MemorySyncState()
    async with FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        fake.add_task(task(1, text="first"))
        async with pyrus_sync(pyrus, _target(radicale), state) as sync:
            await sync.run()
        with radicale.client() as client:  # someone edits our item in their calendar app
            event = client.calendar(url=url).events()[0]
            event.data = event.data.replace("SUMMARY:first", "SUMMARY:edited by hand")
            event.save()
        fake.add_task(task(1, text="second", modified=3))
        async with pyrus_sync(pyrus, _target(radicale), state) as sync:
            report = await sync.run()
        assert report.conflicts == ["pyrus-task-1@pyrus.com"]
        assert report.updated == 0
        assert "SUMMARY:edited by hand" in next(iter(radicale.events().values()))
        async with pyrus_sync(pyrus, _target(radicale), state, force=True) as sync:
            forced = await sync.run()
    assert forced.updated == 1
    assert forced.conflicts == []
    assert "SUMMARY:second" in next(iter(radicale.events().values()))


@pytest.mark.parametrize("fail_at", [1, 3, 5])
async def test_a_write_whose_answer_was_lost_is_finished_without_a_duplicate(
    radicale: Radicale, tmp_path: Path, fail_at: int
) -> None:
    radicale.make_calendar()
    async with FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        for task_id in range(1, 6):
            fake.add_task(task(task_id, task_id * HOUR))
        path = tmp_path / "state.db"
        flaky = LostAnswer(
            radicale.calendar_url(), username=USER, password=PASSWORD, fail_at=fail_at
        )
        async with pyrus_sync(pyrus, flaky, SqliteSyncState(path)) as sync:
            # one at a time, so the failure stops the run half-way
            sync._concurrency = 1
            with pytest.raises(ExceptionGroup) as caught:
                await sync.run()
        assert caught.group_contains(SyncTargetError)
        pending = await _intents(path, sync.name)
        assert pending  # the unfinished write is remembered
        async with pyrus_sync(pyrus, _target(radicale), SqliteSyncState(path)) as sync:
            report = await sync.run()
            assert report.recovered == 1
            # the recovered item keeps the hash of what was written: not written again
            assert (report.created, report.updated) == (5 - fail_at, 0)
            assert (await sync.run()).writes == 0
    stored = radicale.events()
    assert len(stored) == 5  # each task once
    assert await _intents(path, sync.name) == []


class DiesBeforeUpdate(CalDAVTarget):
    """The process dies after the intent was recorded, before the update's PUT is sent."""

    async def update(self, item: Item, entry: Entry, *, force: bool) -> Written:
        raise SyncTargetError("killed before the PUT")


async def test_an_update_that_never_landed_is_written_by_the_next_run(
    radicale: Radicale, tmp_path: Path
) -> None:
    radicale.make_calendar()
    path = tmp_path / "state.db"
    async with FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        fake.add_task(task(1, text="first"))
        async with pyrus_sync(pyrus, _target(radicale), SqliteSyncState(path)) as sync:
            await sync.run()
        fake.add_task(task(1, text="second", modified=3))
        dying = DiesBeforeUpdate(radicale.calendar_url(), username=USER, password=PASSWORD)
        async with pyrus_sync(pyrus, dying, SqliteSyncState(path)) as sync:
            with pytest.raises(ExceptionGroup):
                await sync.run()
        assert await _intents(path, sync.name) == ["pyrus-task-1@pyrus.com"]
        async with pyrus_sync(pyrus, _target(radicale), SqliteSyncState(path)) as sync:
            report = await sync.run()
    # the item there is still the old one (its etag did not move): not taken for the new one
    assert (report.recovered, report.updated) == (0, 1)
    assert "SUMMARY:second" in next(iter(radicale.events().values()))


async def test_items_found_after_a_lost_state_are_adopted_not_created(
    radicale: Radicale,
) -> None:
    radicale.make_calendar()
    async with FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        for task_id in (1, 2, 3):
            fake.add_task(task(task_id, task_id * HOUR))
        async with pyrus_sync(pyrus, _target(radicale), MemorySyncState()) as sync:
            assert (await sync.run()).created == 3
        fake.add_task(task(2, 2 * HOUR, text="renamed", modified=5))
        # the state is gone (a new file): the items already there are ours, taken over
        async with pyrus_sync(pyrus, _target(radicale), MemorySyncState()) as sync:
            report = await sync.run()
            assert (await sync.run()).writes == 0
    assert (report.created, report.adopted, report.updated) == (0, 3, 0)
    assert "3 adopted" in report.line()
    stored = radicale.events()
    assert len(stored) == 3
    assert sum("SUMMARY:renamed" in text for text in stored.values()) == 1


async def _intents(path: Path, name: str) -> list[str]:
    state = SqliteSyncState(path)
    await state.open()
    try:
        return [intent.key for intent in (await state.load(name)).intents]
    finally:
        await state.close()


async def test_wrong_credentials_are_one_clear_error(radicale_auth: Radicale) -> None:
    target = CalDAVTarget(radicale_auth.calendar_url(), username=USER, password="wrong")
    with pytest.raises(SyncTargetError, match="refused the credentials") as caught:
        await target.open()
    assert "wrong" not in str(caught.value)
    assert "wrong" not in repr(target)


async def test_a_missing_calendar_is_refused_unless_asked_to_create_it(
    radicale_auth: Radicale,
) -> None:
    radicale_auth.make_calendar("other")  # the user's home exists, "work" does not
    with pytest.raises(SyncTargetError, match="--create-calendar"):
        await _target(radicale_auth).open()
    made = _target(radicale_auth, create_calendar=True)
    await made.open()
    await made.close()
    with radicale_auth.client() as client:
        names = [str(c.url) for c in client.principal().calendars()]
    assert radicale_auth.calendar_url() in names


async def test_a_wrong_url_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="http"):
        CalDAVTarget("ftp://example.invalid/cal/")
    with pytest.raises(ValueError, match="credentials"):
        CalDAVTarget("http://bob:pw@127.0.0.1:1/cal/")
    target = CalDAVTarget("http://127.0.0.1:9/cal/")  # nothing listens on the discard port
    with pytest.raises(SyncTargetError) as caught:
        await target.open()
    # the reason in a few words, not the HTTP library's pools and object addresses
    assert str(caught.value) == "cannot reach http://127.0.0.1:9/cal/: connection refused"


def _chain(*errors: BaseException) -> BaseException:
    for outer, inner in itertools.pairwise(errors):
        outer.__cause__ = inner
    return errors[0]


@pytest.mark.parametrize(
    ("root", "reason"),
    [
        (socket.gaierror(-2, "Name or service not known"), "host name not found"),
        (ConnectionRefusedError(111, "Connect call failed"), "connection refused"),
        (TimeoutError(), "no answer in time"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "TLS failed"),
        (OSError(113, "No route to host"), "No route to host"),
    ],
)
def test_an_unreachable_server_is_named_by_its_root_cause(root: OSError, reason: str) -> None:
    wrapped = _chain(OSError("AsyncHTTPConnectionPool(...) object at 0x7f00"), ValueError(), root)
    assert _why_unreachable(wrapped).startswith(reason)


async def test_a_calendar_in_a_missing_folder_gets_a_hint(tmp_path: Path) -> None:
    # Any signed-in user may write anywhere, but another user's home does not exist yet:
    # the collection that would hold the calendar is missing, and Radicale answers 409.
    with radicale_running(tmp_path, auth=False, rights="authenticated") as radicale:
        url = f"{radicale.base}/someone-else/work/"
        made = CalDAVTarget(url, username=USER, password=PASSWORD, create_calendar=True)
        with pytest.raises(SyncTargetError, match=r"HTTP 409 \(the collection that would hold"):
            await made.open()


async def test_a_url_the_account_may_not_use_is_not_called_wrong_credentials(
    radicale_auth: Radicale,
) -> None:
    url = radicale_auth.calendar_url("no-such-folder/work")  # deeper than Radicale allows
    made = CalDAVTarget(url, username=USER, password=PASSWORD, create_calendar=True)
    with pytest.raises(SyncTargetError, match="HTTP 403, not allowed for this account"):
        await made.open()


async def test_a_state_from_another_source_is_refused(radicale: Radicale, tmp_path: Path) -> None:
    radicale.make_calendar()
    path = tmp_path / "state.db"
    async with FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        fake.add_task(task(1))
        sync = pyrus_sync(pyrus, _target(radicale), SqliteSyncState(path))
        sync.name = "one"
        async with sync:
            await sync.run()
        other = pyrus_sync(pyrus, _target(radicale), SqliteSyncState(path))
        other.name, other.source = "one", "pyrus:someone-else"
        with pytest.raises(SyncStateError, match="mirrors 'pyrus:test'"):
            await other.open()
        await other.close()
    assert len(radicale.events()) == 1


async def test_a_file_that_is_not_a_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n", encoding="utf-8")
    state = SqliteSyncState(path)
    with pytest.raises(SyncStateError, match="not an SQLite file"):
        await state.open()
    assert path.read_text(encoding="utf-8") == "my notes\n"


async def test_a_target_that_cannot_open_leaves_the_state_file_closed(
    tmp_path: Path, unused_tcp_port: int
) -> None:
    # `async with sync` does not exit what failed to enter: open() closes the state itself
    # (an SQLite file left open was a ResourceWarning on Python 3.13, and a held file).
    state = SqliteSyncState(tmp_path / "state.db")
    target = CalDAVTarget(f"http://127.0.0.1:{unused_tcp_port}/cal/")
    async with FakePyrusServer() as server, client_for(server) as pyrus:
        with pytest.raises(SyncTargetError):
            async with pyrus_sync(pyrus, target, state):
                pass
    assert state._thread.db is None
    assert not state._thread.running


async def test_an_item_another_sync_wrote_is_not_adopted(radicale: Radicale) -> None:
    # Same UID (the same source item), but another sync's tag: not provably this sync's.
    radicale.make_calendar()
    async with FakePyrusServer(seed=1) as fake, client_for(fake) as pyrus:
        fake.add_task(task(1, HOUR))
        async with pyrus_sync(pyrus, _target(radicale), MemorySyncState()) as sync:
            assert (await sync.run()).created == 1
        other = Sync(
            lambda start, end: pyrus.iter_calendar(start, end, filters="due"),
            _target(radicale),
            source="pyrus:test",
            name="another sync",
            state=MemorySyncState(),
            clock=lambda: NOW,
        )
        async with other:
            report = await other.run()
    assert (report.adopted, report.conflicts) == (0, ["pyrus-task-1@pyrus.com"])
    (stored,) = radicale.events().values()
    assert "X-R7-PYRUS-SYNC:another sync" not in stored  # left as the first sync wrote it
