"""Dates at the ends of the calendar (years 1 and 9999, datetime.min/max as open ends) work or
raise ValueError naming the argument, never OverflowError; years below 1000 go out padded."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calendar_bridge.ical import to_ical
from calendar_cli import pyrus as pyrus_cli
from calendar_cli import r7 as r7_cli
from pyrus_calendar import CalendarFilter, PyrusClient, Task
from pyrus_calendar.fields import raw_value
from pyrus_calendar.paging import Window
from pyrus_calendar.testing import FakePyrusServer
from r7cal import R7Client
from r7cal.testing import FakeR7Server

MOSCOW = ZoneInfo("Europe/Moscow")  # east of UTC: its datetime.min is before year 1 in UTC
NEW_YORK = ZoneInfo("America/New_York")  # west: its datetime.max is after 9999 in UTC
BEGINNING = datetime.min.replace(tzinfo=UTC)
END = datetime.max.replace(tzinfo=UTC)


@pytest.fixture
async def r7() -> AsyncIterator[tuple[FakeR7Server, R7Client]]:
    async with (
        FakeR7Server() as server,
        R7Client(server.url, login="user_test", password="TestPassword") as client,
    ):
        yield server, client


@pytest.fixture
async def pyrus() -> AsyncIterator[tuple[FakePyrusServer, PyrusClient]]:
    async with FakePyrusServer() as server:
        client = PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
        )
        async with client:
            yield server, client


# ---- R7 -------------------------------------------------------------------------------------


async def test_r7_open_ends_list_and_iterate(r7: tuple[FakeR7Server, R7Client]) -> None:
    server, client = r7
    main = server.user("user_test").main_calendar_id
    await client.events.create(date(2026, 12, 1), all_day=True, name="Day")
    # datetime.max east of UTC is still inside year 9999 in UTC
    millennium = timedelta(days=366 * 1000)
    for end in (END, datetime.max.replace(tzinfo=MOSCOW)):
        assert [e.name for e in await client.events.list([main], BEGINNING, end)] == ["Day"]
        walk = client.events.iterate([main], BEGINNING, end, window=millennium)
        assert [e.name async for e in walk] == ["Day"]
    with pytest.raises(ValueError, match=r"^window .* more than 10000 requests"):
        client.events.iterate([main], BEGINNING, END)  # 117,000 months: refused
    # a huge window next to the end does not overflow either
    walk = client.events.iterate([main], END - timedelta(days=40), END, window=timedelta(days=31))
    assert [e async for e in walk] == []


async def test_r7_years_below_1000_are_padded_on_the_wire(
    r7: tuple[FakeR7Server, R7Client],
) -> None:
    server, client = r7
    main = server.user("user_test").main_calendar_id
    await client.events.list([main], datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), END)
    body = server.requests_to("/api/v1/events")[-1].json()
    assert body["StartDate"] == "0999-01-01T03:04:05Z"  # asked a day wider, padded
    assert body["EndDate"] == "9999-12-31T23:59:59.999999Z"
    await client.events.create(date(999, 3, 1), all_day=True)
    assert server.requests_to("/api/v1/events/save")[-1].json()["StartDate"] == (
        "0999-03-01T00:00:00Z"
    )


R7Call = Callable[[R7Client, int], Awaitable[Any]]
_BEFORE_YEAR_1 = datetime.min.replace(tzinfo=MOSCOW)  # 0000-12-31T21:00Z: not a datetime


async def _iterate_all(client: R7Client, main: int) -> list[Any]:
    window = timedelta(days=366 * 1000)
    return [e async for e in client.events.iterate([main], _BEFORE_YEAR_1, END, window=window)]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda c, m: c.events.list([m], _BEFORE_YEAR_1, END), "start"),
        (lambda c, m: c.events.list([m], BEGINNING, datetime.max.replace(tzinfo=MOSCOW)), None),
        (lambda c, m: c.events.list([m], BEGINNING, datetime.max.replace(tzinfo=NEW_YORK)), "end"),
        (_iterate_all, "start"),
        (lambda c, m: c.events.create(_BEFORE_YEAR_1, END), "start"),
        (lambda c, m: c.events.create(BEGINNING, datetime.max.replace(tzinfo=MOSCOW)), None),
        (lambda c, m: c.events.create(datetime.max.replace(tzinfo=NEW_YORK), END), "start"),
        (lambda c, m: c.events.create(date.max, date.max, all_day=True), "end"),
    ],
)
async def test_r7_values_past_the_ends_raise_value_error_naming_the_argument(
    r7: tuple[FakeR7Server, R7Client], call: R7Call, name: str | None
) -> None:
    server, client = r7
    main = server.user("user_test").main_calendar_id
    if name is None:  # representable in UTC: it works
        await call(client, main)
        return
    before = len(server.requests)
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        await call(client, main)
    assert len(server.requests) == before  # refused before any request


# ---- Pyrus ----------------------------------------------------------------------------------


async def test_pyrus_open_ends_work_and_are_padded(
    pyrus: tuple[FakePyrusServer, PyrusClient],
) -> None:
    server, client = pyrus
    server.add_task(Task(id=1, text="far", due=datetime(999, 6, 1, 12, tzinfo=UTC)))
    page = await client.calendar(BEGINNING, END)
    assert [t.id for t in page.tasks] == [1]
    assert [t.id async for t in client.iter_calendar(BEGINNING, END)] == [1]
    assert [m async for m in client.iter_meetings(BEGINNING, END)] == []
    query = server.requests_to("/v4/calendar")[0].query
    assert query["start_date_utc"] == "0001-01-01T00:00:00Z"
    assert query["end_date_utc"] == "9999-12-31T23:59:59Z"  # datetime.max, not rounded up
    await client.calendar(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), END)
    assert server.requests_to("/v4/calendar")[-1].query["start_date_utc"] == (
        "0999-01-02T03:04:05Z"
    )


async def test_pyrus_calendar_past_the_beginning_raises_value_error(
    pyrus: tuple[FakePyrusServer, PyrusClient],
) -> None:
    server, client = pyrus
    before = len(server.requests)
    with pytest.raises(ValueError, match=r"^start\b.*years 1\.\.9999"):
        await client.calendar(_BEFORE_YEAR_1, END)
    assert len(server.requests) == before


@pytest.mark.parametrize("method", ["iter_calendar", "iter_meetings"])
async def test_pyrus_values_past_the_ends_raise_value_error(
    pyrus: tuple[FakePyrusServer, PyrusClient], method: str
) -> None:
    server, client = pyrus
    before = len(server.requests)
    with pytest.raises(ValueError, match=r"^start\b.*years 1\.\.9999"):
        # (the iterators check their arguments on the call, before any iteration)
        getattr(client, method)(_BEFORE_YEAR_1, END)
    assert len(server.requests) == before


def test_pyrus_day_tasks_export_as_dates_with_an_exclusive_end() -> None:
    import icalendar

    def dates(task: Task) -> tuple[object, object]:
        event = icalendar.Event.from_ical(to_ical(task).to_ical())
        return event.decoded("dtstart"), event.get("dtend") and event.decoded("dtend")

    assert dates(Task(id=1, due_date=date(2026, 12, 1))) == (date(2026, 12, 1), date(2026, 12, 2))
    assert dates(Task(id=2, due_date=date.max)) == (date.max, None)  # one day, no overflow
    assert dates(Task(id=3, due=END, duration=60)) == (END.replace(microsecond=0), None)


# ---- the command lines ----------------------------------------------------------------------


@pytest.mark.parametrize("main", [r7_cli.main, pyrus_cli.main], ids=["r7cal", "pyrus-calendar"])
@pytest.mark.parametrize("when", ["+999999999d", "+3000000d", f"+{'9' * 5000}d", "9999-12-31x"])
def test_the_clis_refuse_far_dates_with_one_line(
    main: Callable[..., int], when: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    args = ["events", "list"] if main is r7_cli.main else ["tasks"]
    out, err = io.StringIO(), io.StringIO()
    code = main([*args, "--demo", "--from", "today", "--to", when], stdout=out, stderr=err)
    assert code == 2
    assert "Traceback" not in err.getvalue()
    last = err.getvalue().splitlines()[-1]
    assert "argument --to:" in last
    assert "outside the dates" in last or "is not a date" in last


def test_pyrus_window_texts_and_field_values_pad_years_below_1000() -> None:
    # One formatter for every Pyrus UTC text: requests, window names in errors, field values.
    start, end = datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(999, 1, 3, tzinfo=UTC)
    window = Window(start, end, CalendarFilter.DUE)
    assert str(window).startswith("0999-01-02T03:04:05Z..0999-01-03T00:00:00Z")
    assert raw_value("due_date_time", start) == "0999-01-02T03:04:05Z"
