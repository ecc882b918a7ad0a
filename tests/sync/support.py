"""Helpers of the sync tests: tasks at fixed times and a Sync over a Pyrus client."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from calendar_bridge.sync import Sync, SyncState, SyncTarget
from pyrus_calendar import PyrusClient, Task
from r7cal import R7Client

if TYPE_CHECKING:
    from .conftest import Radicale

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
R7_LOGIN, R7_PASSWORD = "user_test", "TestPassword"


def task(task_id: int, due_in: timedelta = HOUR, text: str = "", modified: int = 0) -> Task:
    """A task due ``due_in`` after NOW."""
    return Task(
        id=task_id,
        due=NOW + due_in,
        text=text or f"task {task_id}",
        last_modified_date=NOW - DAY + timedelta(minutes=modified),
    )


def pyrus_sync(
    pyrus: PyrusClient,
    target: SyncTarget,
    state: SyncState | None = None,
    *,
    now: datetime = NOW,
    force_delete: bool = False,
    force: bool = False,
) -> Sync:
    """A sync of the Pyrus ``due`` window around ``now`` into ``target``."""
    return Sync(
        lambda start, end: pyrus.iter_calendar(start, end, filters="due"),
        target,
        source="pyrus:test",
        state=state,
        clock=lambda: now,
        force_delete=force_delete,
        force=force,
    )


def soon(hours: float) -> datetime:
    # The command syncs around the real clock: events sit well inside [now - 1d, now + 30d].
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)


async def seed_r7(url: str) -> tuple[int, list[int]]:
    """A calendar on the fake at ``url`` with three timed events and an all-day one."""
    async with R7Client(url, login=R7_LOGIN, password=R7_PASSWORD) as r7:
        calendar = await r7.calendars.create(name="Team")
        ids = []
        for number in range(3):
            start = soon(2 + number)
            made = await r7.events.create(
                start, start + timedelta(hours=1), name=f"meeting {number}", calendar_id=calendar.id
            )
            ids.append(made.id)
        day = date.today() + timedelta(days=2)
        holiday = await r7.events.create(
            day, day + timedelta(days=1), name="holiday", calendar_id=calendar.id, all_day=True
        )
        ids.append(holiday.id)
        return calendar.id, ids


async def edit_r7(url: str, calendar_id: int, gone: int) -> None:
    """Delete the event ``gone`` and add one named "new one"."""
    async with R7Client(url, login=R7_LOGIN, password=R7_PASSWORD) as r7:
        await r7.events.delete(gone)
        start = soon(8)
        await r7.events.create(
            start, start + timedelta(hours=1), name="new one", calendar_id=calendar_id
        )


def summaries(radicale: Radicale) -> list[str]:
    """The sorted SUMMARY of every item in the calendar."""
    found = []
    for text in radicale.events().values():
        line = next(line for line in text.splitlines() if line.startswith("SUMMARY:"))
        found.append(line.removeprefix("SUMMARY:"))
    return sorted(found)
