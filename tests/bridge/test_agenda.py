"""calendar_bridge.Agenda: a bot's day from both fakes, in one call, in the user's zone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from calendar_bridge import Agenda, AgendaError, AgendaItem, free_between
from calendar_transport import RequestTimeoutError
from pyrus_calendar import Meeting, PyrusClient, Task
from pyrus_calendar.testing import FakePyrusServer
from r7cal import Event, R7Client, RetryPolicy
from r7cal.testing import FakeR7Server

MOSCOW = ZoneInfo("Europe/Moscow")
DAY = date(2026, 12, 8)
START = datetime(2026, 12, 8, tzinfo=MOSCOW)
HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)
NO_RETRY = RetryPolicy(attempts=1)


@dataclass
class Both:
    r7_server: FakeR7Server
    pyrus_server: FakePyrusServer
    r7: R7Client
    pyrus: PyrusClient


@pytest.fixture
async def both() -> AsyncIterator[Both]:
    async with FakeR7Server() as r7_server, FakePyrusServer() as pyrus_server:
        r7 = R7Client(r7_server.url, login="user_test", password="TestPassword", retry=NO_RETRY)
        pyrus = PyrusClient(
            base_url=pyrus_server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
            retry=NO_RETRY,
        )
        async with r7, pyrus:
            yield Both(r7_server, pyrus_server, r7, pyrus)


async def _stock(both: Both) -> None:
    r7, pyrus_server = both.r7, both.pyrus_server
    await r7.events.create(START + 10 * HOUR, START + 11 * HOUR, name="Standup")
    await r7.events.create(DAY, name="Offsite", all_day=True)
    await r7.events.create(DAY - timedelta(days=1), name="Yesterday", all_day=True)
    await r7.events.create(START - HOUR, START, name="Ended at midnight")
    pyrus_server.add_task(Task(id=1, subject="Report", due=START + 15 * HOUR))
    pyrus_server.add_task(Task(id=2, subject="Invoices", due_date=DAY))
    pyrus_server.add_task(Task(id=3, subject="Tomorrow's", due_date=DAY + timedelta(days=1)))
    pyrus_server.add_meeting(Meeting(id=7, type="zoom", start_time=START + 12 * HOUR, duration=60))
    pyrus_server.add_meeting(
        Meeting(id=8, type="zoom", start_time=START + 13 * HOUR, duration=60, deleted=True)
    )


async def test_the_day_merges_both_backends_all_day_first_then_by_start(both: Both) -> None:
    await _stock(both)
    agenda = Agenda(r7=both.r7, pyrus=both.pyrus, zone=MOSCOW)
    items = await agenda.day(DAY)
    assert [(i.title, i.source, i.kind, i.all_day) for i in items] == [
        ("Invoices", "pyrus", "task", True),
        ("Offsite", "r7", "event", True),
        ("Standup", "r7", "event", False),
        ("zoom meeting", "pyrus", "meeting", False),
        ("Report", "pyrus", "task", False),
    ]
    assert agenda.errors == {}
    standup, meeting, report = items[2], items[3], items[4]
    assert standup.start == START + 10 * HOUR
    assert standup.start.tzinfo is MOSCOW  # type: ignore[union-attr]
    assert meeting.end == START + 13 * HOUR
    assert report.start == report.end == START + 15 * HOUR  # a deadline: no length
    assert (items[0].start, items[0].end) == (DAY, DAY + timedelta(days=1))
    assert isinstance(items[1].item, Event)
    assert isinstance(items[4].item, Task)


async def test_free_slots_skip_busy_time_and_ignore_tasks_and_all_day_items(both: Both) -> None:
    await _stock(both)
    # Two overlapping meetings 14:00-15:00 and 14:30-16:00 and one touching at 16:00-16:30.
    for event_id, (begins, minutes) in enumerate([(14 * 60, 60), (14 * 60 + 30, 90)], start=20):
        both.pyrus_server.add_meeting(
            Meeting(id=event_id, start_time=START + begins * MINUTE, duration=minutes)
        )
    await both.r7.events.create(START + 16 * HOUR, START + 16.5 * HOUR, name="Touching")
    agenda = Agenda(r7=both.r7, pyrus=both.pyrus, zone=MOSCOW)
    slots = await agenda.free_slots(DAY, between=(time(9), time(18)), min_length=30 * MINUTE)
    assert slots == [
        (START + 9 * HOUR, START + 10 * HOUR),
        (START + 11 * HOUR, START + 12 * HOUR),
        (START + 13 * HOUR, START + 14 * HOUR),  # the deleted meeting at 13:00 blocks nothing
        (START + 16.5 * HOUR, START + 18 * HOUR),
    ]
    assert all(a.tzinfo is MOSCOW for a, _ in slots)


def test_free_between_merges_touching_spans_and_drops_short_gaps() -> None:
    opens = datetime(2026, 12, 8, 9, tzinfo=UTC)
    closes = opens + 9 * HOUR
    busy = [
        (opens + HOUR, opens + 2 * HOUR),
        (opens + 2 * HOUR, opens + 3 * HOUR),  # touches the first
        (opens + 3 * HOUR + 10 * MINUTE, opens + 4 * HOUR),  # leaves a 10-minute gap
        (opens - HOUR, opens + 30 * MINUTE),  # starts before the span
        (closes - 10 * MINUTE, closes + HOUR),  # ends after it
    ]
    assert free_between(busy, opens, closes, 30 * MINUTE) == [
        (opens + 30 * MINUTE, opens + HOUR),
        (opens + 4 * HOUR, closes - 10 * MINUTE),
    ]
    assert free_between([], opens, closes, 30 * MINUTE) == [(opens, closes)]


def test_an_event_marked_free_blocks_no_time() -> None:
    from calendar_bridge.agenda import _blocks

    base = {"Id": 1, "StartDate": "2026-12-08T09:00:00Z", "EndDate": "2026-12-08T10:00:00Z"}
    busy = msgspec.json.decode(msgspec.json.encode(base), type=Event)
    free = msgspec.json.decode(msgspec.json.encode({**base, "IsFree": True}), type=Event)
    at = datetime(2026, 12, 8, 9, tzinfo=UTC)
    assert _blocks(AgendaItem("b", at, at + HOUR, False, "r7", "event", busy))
    assert not _blocks(AgendaItem("f", at, at + HOUR, False, "r7", "event", free))


async def test_one_backend_failing_gives_the_others_items_and_names_the_failure(
    both: Both,
) -> None:
    await _stock(both)
    both.r7_server.faults.fail_next(50, 503, path="/api/v1/events")
    partial = Agenda(r7=both.r7, pyrus=both.pyrus, zone=MOSCOW)
    items = await partial.day(DAY)
    assert {i.source for i in items} == {"pyrus"}
    assert set(partial.errors) == {"r7"}
    assert "503" in str(partial.errors["r7"])
    strict = Agenda(r7=both.r7, pyrus=both.pyrus, zone=MOSCOW, on_error="raise")
    with pytest.raises(AgendaError, match="r7: ServerError") as caught:
        await strict.day(DAY)
    assert set(caught.value.errors) == {"r7"}


async def test_every_backend_failing_raises_either_way(both: Both) -> None:
    both.r7_server.faults.fail_next(50, 503)
    both.pyrus_server.faults.fail_next(50, 503)
    with pytest.raises(AgendaError, match=r"r7: .*; pyrus: "):
        await Agenda(r7=both.r7, pyrus=both.pyrus, zone=MOSCOW).day(DAY)


async def test_the_timeout_bounds_the_whole_call(both: Both) -> None:
    await _stock(both)
    both.pyrus_server.faults.add_latency(3.0)  # every Pyrus answer (the login too) is late
    agenda = Agenda(r7=both.r7, pyrus=both.pyrus, zone=MOSCOW, timeout=0.5)
    items = await agenda.day(DAY)
    assert {i.source for i in items} == {"r7"}
    assert isinstance(agenda.errors["pyrus"], RequestTimeoutError)
    assert "0.5s" in str(agenda.errors["pyrus"])


async def test_either_client_may_be_none(both: Both) -> None:
    await _stock(both)
    only_pyrus = await Agenda(pyrus=both.pyrus, zone=MOSCOW).day(DAY)
    assert {i.source for i in only_pyrus} == {"pyrus"}
    (main,) = await both.r7.calendars.list()
    only_r7 = await Agenda(r7=both.r7, zone=MOSCOW, calendar_ids=[main.id]).day(DAY)
    assert {i.source for i in only_r7} == {"r7"}


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"r7": None}, "needs r7=, pyrus= or both"),
        ({"pyrus": object()}, "PyrusClient"),
        ({"on_error": "ignore"}, "on_error"),
        ({"timeout": 0}, "timeout"),
        ({"filters": "nope"}, "filters="),
        ({"zone": "Europe/Moscow"}, "tzinfo"),
        ({"calendar_ids": [0]}, "calendar_ids"),
    ],
)
async def test_bad_options_are_refused_before_any_request(
    both: Both, options: dict[str, object], error: str
) -> None:
    before = len(both.r7_server.requests)
    with pytest.raises((TypeError, ValueError), match=error):
        Agenda(**{"r7": both.r7, "zone": MOSCOW, **options})  # type: ignore[arg-type]
    assert len(both.r7_server.requests) == before


async def test_without_a_timeout_the_clients_deadline_bounds_the_whole_call(both: Both) -> None:
    # A deadline bounds each request of a client; the agenda makes several (calendars,
    # events, pages): it takes the smallest deadline for the whole call.
    await _stock(both)
    both.pyrus_server.faults.add_latency(0.3)  # the login and each page: 0.6 s in all
    pyrus = PyrusClient(
        base_url=both.pyrus_server.api_url,
        login=FakePyrusServer.DEFAULT_LOGIN,
        security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
        retry=NO_RETRY,
        deadline=0.5,
    )
    async with pyrus:
        agenda = Agenda(r7=both.r7, pyrus=pyrus, zone=MOSCOW)
        items = await agenda.day(DAY)
    assert {i.source for i in items} == {"r7"}
    assert isinstance(agenda.errors["pyrus"], RequestTimeoutError)


def test_free_time_is_real_time_on_a_day_the_clocks_go_back() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 25 Oct 2026: 02:00 CEST is 00:00Z, 04:00 CET is 03:00Z (three real hours).
    opens = datetime(2026, 10, 25, 2, tzinfo=berlin)
    closes = datetime(2026, 10, 25, 4, tzinfo=berlin)
    z = datetime(2026, 10, 25, tzinfo=UTC)
    busy = [(z + 30 * MINUTE, z + HOUR), (z + 65 * MINUTE, z + 75 * MINUTE)]
    slots = [
        (a.astimezone(UTC), b.astimezone(UTC)) for a, b in free_between(busy, opens, closes, MINUTE)
    ]
    assert slots == [
        (z, z + 30 * MINUTE),
        (z + HOUR, z + 65 * MINUTE),
        (z + 75 * MINUTE, z + 3 * HOUR),
    ]
    assert free_between([], opens, closes, 3 * HOUR) == [(opens, closes)]  # 3 real hours
    assert free_between([], opens, closes, 3 * HOUR + MINUTE) == []


async def test_meetings_last_real_minutes_and_tasks_show_what_put_them_in(both: Both) -> None:
    new_york = ZoneInfo("America/New_York")
    # 1 Nov 2026, 01:30 EDT (05:30Z): an hour later it is 01:30 EST (06:30Z).
    both.pyrus_server.add_meeting(
        Meeting(id=1, start_time=datetime(2026, 11, 1, 5, 30, tzinfo=UTC), duration=60)
    )
    # Due the next morning, but its due day is 1 Nov: it is on 1 Nov by its day.
    both.pyrus_server.add_task(
        Task(
            id=2,
            subject="Both",
            due=datetime(2026, 11, 2, 15, tzinfo=UTC),
            due_date=date(2026, 11, 1),
        )
    )
    agenda = Agenda(pyrus=both.pyrus, zone=new_york)
    meeting, task_entry = sorted(await agenda.day(date(2026, 11, 1)), key=lambda e: e.kind)
    assert isinstance(meeting.end, datetime)
    assert isinstance(meeting.start, datetime)
    assert meeting.end.astimezone(UTC) - meeting.start.astimezone(UTC) == HOUR
    assert (task_entry.all_day, task_entry.start) == (True, date(2026, 11, 1))


async def test_leaving_a_slow_fake_cancels_what_it_holds() -> None:
    # An injected latency held a request to its end while the server shut down (up to
    # 25 s); now leaving `async with` cancels it. Bounded by the loop's clock, not a sleep.
    loop = asyncio.get_running_loop()
    async with FakePyrusServer() as server:
        server.faults.add_latency(60.0)
        pyrus = PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
            retry=NO_RETRY,
        )
        waiting = asyncio.ensure_future(pyrus.login())
        for _ in range(500):  # polls (bounded) until the login is held by the latency
            if server.requests:
                break
            await asyncio.sleep(0.01)
        assert server.requests  # the request is in, held: leaving now must cancel it
        started = loop.time()
    assert loop.time() - started < 30  # not the 60 s the latency asked for
    with pytest.raises(Exception):  # noqa: B017,PT011 - the connection was cut: any error
        await waiting
    await pyrus.aclose()
