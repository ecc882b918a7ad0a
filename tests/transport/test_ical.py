"""The shared VCALENDAR builder parses back with icalendar and keeps the times."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import icalendar

from calendar_transport.ical import build_calendar, build_calendar_async, make_event


class _Item:
    def __init__(self, uid: str, start: datetime | date, end: datetime | date) -> None:
        self.uid, self.start, self.end = uid, start, end

    def to_ical(self) -> icalendar.Event:
        return make_event(
            uid=self.uid,
            start=self.start,
            end=self.end,
            summary=f"item {self.uid}",
            url="https://x",
        )


ITEMS = [
    _Item("a@test", datetime(2026, 11, 21, 9, tzinfo=UTC), datetime(2026, 11, 21, 10, tzinfo=UTC)),
    _Item("b@test", date(2026, 11, 22), date(2026, 11, 23)),
]


def _events(data: bytes) -> list[icalendar.Event]:
    return list(icalendar.Calendar.from_ical(data).walk("VEVENT"))


def test_one_calendar_round_trips_times_and_all_day_dates() -> None:
    data = build_calendar(ITEMS, name="Team")
    assert data.count(b"BEGIN:VCALENDAR") == 1
    events = _events(data)
    assert [str(e["uid"]) for e in events] == ["a@test", "b@test"]
    assert events[0].decoded("dtstart") == ITEMS[0].start
    assert events[0].decoded("dtend") == ITEMS[0].end
    assert events[1].decoded("dtstart") == date(2026, 11, 22)  # a date, not a datetime
    assert str(events[0]["summary"]) == "item a@test"


async def test_async_iteration_builds_the_same_calendar() -> None:
    async def items() -> AsyncIterator[_Item]:
        for item in ITEMS:
            yield item

    data = await build_calendar_async(items())
    assert [str(e["uid"]) for e in _events(data)] == ["a@test", "b@test"]
