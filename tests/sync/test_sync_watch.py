"""``sync --watch``: the loop both commands share (:func:`calendar_cli.syncing.follow`) writes
what changes on R7 between polls into a real Radicale, bounded by the polls it is given; and
SIGTERM stops a real ``r7cal sync caldav --watch`` process after it committed."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calendar_bridge.sync import CalDAVTarget, SqliteSyncState, Sync, SyncReport
from calendar_bridge.sync.state import SyncStateError, stored_operation
from calendar_cli import r7 as r7_cli
from calendar_cli.syncing import follow
from calendar_cli.watching import PollLimit
from r7cal import R7Client
from r7cal.testing import FakeR7Server
from tests.e2e.support import Background

from .conftest import Radicale
from .support import R7_LOGIN, R7_PASSWORD, seed_r7, summaries

ROOT = Path(__file__).resolve().parents[2]

Edit = Callable[[], Awaitable[None]]


class EditsBetweenPolls(PollLimit):
    """The watch's sleep: makes the edit planned after poll N, then lets the next one run
    (no real wait); ends the watch after ``limit`` polls like ``--polls``."""

    def __init__(self, limit: int, stopping: asyncio.Event, edits: dict[int, Edit]) -> None:
        super().__init__(limit, stopping)
        self.edits = edits

    async def __call__(self, seconds: float) -> None:
        done = self.watch.polls if self.watch is not None else 0
        edit = self.edits.pop(done, None)
        if edit is not None:
            await edit()
        await super().__call__(0)


def _at(hours: float) -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)


async def test_changes_between_polls_reach_the_calendar(
    r7_server: FakeR7Server, radicale: Radicale, tmp_path: Path
) -> None:
    url = radicale.make_calendar()
    async with R7Client(r7_server.url, login=R7_LOGIN, password=R7_PASSWORD) as r7:
        calendar = await r7.calendars.create(name="Team")
        first = await r7.events.create(_at(2), _at(3), name="first", calendar_id=calendar.id)
        await r7.events.create(_at(4), _at(5), name="second", calendar_id=calendar.id)

        async def replace_first() -> None:
            await r7.events.delete(first.id)
            await r7.events.create(_at(6), _at(7), name="third", calendar_id=calendar.id)

        async def add_fourth() -> None:
            await r7.events.create(_at(8), _at(9), name="fourth", calendar_id=calendar.id)

        stopping = asyncio.Event()
        polls = EditsBetweenPolls(3, stopping, {1: replace_first, 2: add_fourth})
        changes = r7.events.watch([calendar.id], state=tmp_path / "state.db", sleep=polls)
        polls.watch = changes
        target = CalDAVTarget(url)
        async with Sync(
            lambda start, end: r7.events.iterate([calendar.id], start, end),
            target,
            source="r7:test",
            state=SqliteSyncState(tmp_path / "state.db"),
        ) as sync:
            assert (await sync.run()).created == 2
            err = io.StringIO()
            total = await follow(sync, changes, stopping, err=err, program="r7cal")
            # the watch ended on its bound with nothing left to do
            assert (await sync.run()).writes == 0
    assert changes.polls == 3
    assert polls.edits == {}
    assert (total.created, total.updated, total.deleted) == (2, 0, 1)
    assert err.getvalue().count("r7cal: ") == 3  # one line per change that wrote
    assert summaries(radicale) == ["fourth", "second", "third"]
    assert target.writes == 2 + 3


def test_sigterm_stops_a_watching_sync_after_it_committed(
    served_r7: tuple[FakeR7Server, Background], radicale_auth: Radicale, tmp_path: Path
) -> None:
    fake, background = served_r7
    background.call(seed_r7(fake.url))
    url = radicale_auth.make_calendar()
    state = str(tmp_path / "state.db")
    command = [sys.executable, "-m", "r7cal", "sync", "caldav", url, "--state", state]
    process = subprocess.Popen(
        [*command, "--watch", "--interval", "30"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()  # the run is committed: the process watches now
        assert "4 created" in first
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0, rest
    assert "stopped after" in rest
    assert "Traceback" not in rest
    again = io.StringIO()
    assert r7_cli.main(command[3:], stdout=io.StringIO(), stderr=again) == 0
    assert "0 created, 0 updated, 0 deleted, 4 unchanged" in again.getvalue()
    assert len(radicale_auth.events()) == 4


def test_a_running_total_counts_every_part_of_each_report() -> None:
    total = SyncReport(created=1, conflicts=["a"])
    total.add(
        SyncReport(
            created=2,
            updated=3,
            deleted=4,
            adopted=5,
            unchanged=6,
            recovered=7,
            withheld=8,
            conflicts=["b"],
        )
    )
    assert total == SyncReport(
        created=3,
        updated=3,
        deleted=4,
        adopted=5,
        unchanged=6,
        recovered=7,
        withheld=8,
        conflicts=["a", "b"],
    )


def test_a_stored_operation_is_read_back_or_named_as_damage() -> None:
    assert stored_operation("delete", "sync state 's'") == "delete"
    with pytest.raises(SyncStateError, match="unknown operation 'drop' in sync state 's'"):
        stored_operation("drop", "sync state 's'")
