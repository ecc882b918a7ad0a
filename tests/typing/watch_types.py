"""Checked by `make lint` (mypy --strict), never run: what the public API's types promise."""

from __future__ import annotations

from typing import assert_type

from calendar_watch import Watch
from pyrus_calendar import Meeting, PyrusClient, Task


async def a_watch_without_meetings_reports_tasks(pyrus: PyrusClient) -> None:
    watch = pyrus.watch(filters="due")
    assert_type(watch, Watch[Task])
    async with watch:
        async for change in watch:
            print(change.item.subject)  # a Task's field: no isinstance needed


async def a_watch_with_meetings_reports_both(pyrus: PyrusClient, meetings: bool) -> None:
    assert_type(pyrus.watch(include_meetings=True), Watch[Task | Meeting])
    assert_type(pyrus.watch(include_meetings=meetings), Watch[Task | Meeting])
