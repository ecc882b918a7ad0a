"""Helpers of the sync tests: tasks at fixed times and a Sync over a Pyrus client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from calendar_bridge.sync import Sync, SyncState, SyncTarget
from pyrus_calendar import PyrusClient, Task

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


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
