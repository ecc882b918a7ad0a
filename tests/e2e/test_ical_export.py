"""``to_ical()`` of R7 events and Pyrus tasks and meetings: one VCALENDAR that parses back
with icalendar and keeps the times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import msgspec
import pytest

from calendar_bridge.ical import build_calendar, build_calendar_async, to_ical
from pyrus_calendar import Meeting, MeetingJoinParameters, PyrusClient, Task
from pyrus_calendar.testing import FakePyrusServer
from r7cal import Event, R7Client
from r7cal.testing import FakeR7Server

START = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def _events(data: bytes) -> dict[str, icalendar.cal.Component]:
    calendar = icalendar.Calendar.from_ical(data)
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def _r7_event(**fields: object) -> Event:
    return msgspec.json.decode(msgspec.json.encode(fields), type=Event)


def test_r7_event_fields_and_all_day_dates() -> None:
    timed = _r7_event(
        Id=7,
        Name="Standup",
        Description="Daily",
        StartDate="2026-12-01T09:30:00.1234567Z",
        EndDate="2026-12-01T09:45:00Z",
        Place="Room 4",
    )
    all_day = _r7_event(
        Id=8,
        Name="Offsite",
        StartDate="2026-12-03T00:00:00Z",
        EndDate="2026-12-04T23:59:59Z",
        IsAllDay=True,
    )
    events = _events(build_calendar([timed, all_day], name="Team"))
    standup = events["r7-event-7-20261201T093000Z@r7cal"]
    assert standup.decoded("dtstart") == START  # RFC 5545 has whole seconds
    assert standup.decoded("dtend") == START + timedelta(minutes=15)
    assert (str(standup["summary"]), str(standup["description"])) == ("Standup", "Daily")
    assert str(standup["location"]) == "Room 4"
    offsite = events["r7-event-8-20261203T000000Z@r7cal"]
    assert offsite.decoded("dtstart") == date(2026, 12, 3)
    assert offsite.decoded("dtend") == date(2026, 12, 5)  # exclusive: covers the 3rd and 4th


def test_occurrences_of_a_recurring_event_get_distinct_uids() -> None:
    first = _r7_event(Id=9, StartDate="2026-12-01T09:00:00Z", EndDate="2026-12-01T10:00:00Z")
    second = _r7_event(Id=9, StartDate="2026-12-08T09:00:00Z", EndDate="2026-12-08T10:00:00Z")
    assert len(_events(build_calendar([first, second]))) == 2


def test_pyrus_task_due_due_date_and_missing_dates() -> None:
    timed = Task(
        id=1, subject="Call", text="Call the client\nabout the order", due=START, duration=30
    )
    day = Task(id=2, text="Expense claim #2\nsecond line", due_date=date(2026, 12, 2))
    events = _events(build_calendar([timed, day]))
    call = events["pyrus-task-1@pyrus.com"]
    assert call.decoded("dtstart") == START
    assert call.decoded("dtend") == START + timedelta(minutes=30)
    assert str(call["url"]) == "https://pyrus.com/t#id1"
    assert "about the order" in str(call["description"])
    claim = events["pyrus-task-2@pyrus.com"]
    assert str(claim["summary"]) == "Expense claim #2"
    assert (claim.decoded("dtstart"), claim.decoded("dtend")) == (
        date(2026, 12, 2),
        date(2026, 12, 3),
    )
    with pytest.raises(ValueError, match="task 3 has no due"):
        to_ical(Task(id=3, subject="reminder only"))


def test_pyrus_meeting_has_its_join_url_and_length() -> None:
    meeting = Meeting(
        id=5,
        type="Zoom",
        start_time=START,
        duration=45,
        join_parameters=MeetingJoinParameters(url="https://meet.example.com/j/5"),
        task_id=1,
    )
    event = _events(build_calendar([meeting]))["pyrus-meeting-5@pyrus.com"]
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=45)
    assert str(event["url"]) == "https://meet.example.com/j/5"
    assert "https://pyrus.com/t#id1" in str(event["description"])


async def test_a_whole_r7_iteration_is_one_calendar() -> None:
    async with (
        FakeR7Server(users={"alice": "pw"}) as server,
        R7Client(server.url, login="alice", password="pw") as r7,
    ):
        made = [
            await r7.events.create(
                START + timedelta(days=n), START + timedelta(days=n, hours=1), name=f"Event {n}"
            )
            for n in range(3)
        ]
        calendar = server.user("alice").main_calendar_id
        data = await build_calendar_async(
            r7.events.iterate(
                [calendar], START, START + timedelta(days=40), window=timedelta(days=1)
            )
        )
    assert data.count(b"BEGIN:VCALENDAR") == 1
    events = _events(data)
    assert len(events) == 3
    for event in made:
        assert event.start_date is not None
        exported = events[f"r7-event-{event.id}-{event.start_date:%Y%m%dT%H%M%SZ}@r7cal"]
        assert exported.decoded("dtstart") == event.start_date
        assert exported.decoded("dtend") == event.end_date


async def test_a_whole_pyrus_iteration_is_one_calendar() -> None:
    async with FakePyrusServer(order="shuffled", seed=1) as server:
        for number in range(150):
            server.add_task(
                Task(id=number + 1, subject=f"T{number}", due=START + timedelta(hours=number))
            )
        async with PyrusClient(
            base_url=server.api_url,
            login=server.DEFAULT_LOGIN,
            security_key=server.DEFAULT_SECURITY_KEY,
        ) as pyrus:
            data = await build_calendar_async(
                pyrus.iter_calendar(START, START + timedelta(days=10), filters="due")
            )
    events = _events(data)
    assert len(events) == 150
    assert events["pyrus-task-150@pyrus.com"].decoded("dtstart") == START + timedelta(hours=149)
