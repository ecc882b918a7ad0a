"""The shared VCALENDAR builder parses back with icalendar and keeps the times."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import icalendar
import pytest

from calendar_bridge.ical import Exportable, build_calendar, build_calendar_async, to_ical
from pyrus_calendar import Meeting, Task
from r7cal import Event

ITEMS: list[Exportable] = [
    Event(
        id=1,
        name="item a",
        start_date=datetime(2026, 11, 21, 9, tzinfo=UTC),
        end_date=datetime(2026, 11, 21, 10, tzinfo=UTC),
    ),
    Task(id=2, subject="item b", due_date=date(2026, 11, 22)),
]
UIDS = ["r7-event-1-20261121T090000Z@r7cal", "pyrus-task-2@pyrus.com"]


def _events(data: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


def test_one_calendar_round_trips_times_and_all_day_dates() -> None:
    data = build_calendar(ITEMS, name="Team")
    assert data.count(b"BEGIN:VCALENDAR") == 1
    events = _events(data)
    assert [str(e["uid"]) for e in events] == UIDS
    assert events[0].decoded("dtstart") == datetime(2026, 11, 21, 9, tzinfo=UTC)
    assert events[0].decoded("dtend") == datetime(2026, 11, 21, 10, tzinfo=UTC)
    assert events[1].decoded("dtstart") == date(2026, 11, 22)  # a date, not a datetime
    assert events[1].decoded("dtend") == date(2026, 11, 23)  # exclusive
    assert str(events[0]["summary"]) == "item a"


async def test_async_iteration_builds_the_same_calendar() -> None:
    async def items() -> AsyncIterator[Exportable]:
        for item in ITEMS:
            yield item

    data = await build_calendar_async(items())
    assert [str(e["uid"]) for e in _events(data)] == UIDS


def test_anything_else_is_refused_by_type() -> None:
    with pytest.raises(TypeError, match="cannot export a str"):
        to_ical("not an item")  # type: ignore[arg-type]


def test_a_deleted_meeting_is_exported_cancelled() -> None:
    start = datetime(2026, 12, 8, 9, tzinfo=UTC)
    kept = to_ical(Meeting(id=1, start_time=start, duration=30))
    gone = to_ical(Meeting(id=2, start_time=start, duration=30, deleted=True))
    assert "STATUS" not in kept
    assert gone["STATUS"] == "CANCELLED"  # calendar apps show it struck out, not as a meeting
