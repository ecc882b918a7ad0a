"""All-day events are sets of dates: what create sends, and how each storage style reads back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import msgspec
import pytest

from calendar_bridge.ical import to_ical
from r7cal import Event, R7Client
from r7cal.testing import FakeR7Server
from r7cal.testing.fake import ALL_DAY_STORAGE, AllDayStorage

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ZONES = [MOSCOW, BERLIN, NEW_YORK]


def _decode(**fields: object) -> Event:
    return msgspec.json.decode(msgspec.json.encode({"Id": 1, **fields}), type=Event)


def _ical_dates(event: Event) -> tuple[object, object]:
    vevent = icalendar.Event.from_ical(to_ical(event).to_ical())
    return vevent.decoded("dtstart"), vevent.get("dtend") and vevent.decoded("dtend")


# ---- create: what goes on the wire ---------------------------------------------------------


async def _saved_body(server: FakeR7Server, alice: R7Client, *args: object) -> object:
    await alice.events.create(*args, name="Offsite", all_day=True)  # type: ignore[arg-type]
    return server.requests_to("/api/v1/events/save")[-1].json()


@pytest.mark.parametrize("zone", ZONES, ids=str)
async def test_an_aware_midnight_is_its_own_date_on_the_wire(
    server: FakeR7Server, alice: R7Client, zone: ZoneInfo
) -> None:
    body = await _saved_body(server, alice, datetime(2026, 12, 1, tzinfo=zone))
    # Not 2026-11-30T21:00:00Z for Moscow: the day is the one in the zone it was given in.
    assert body == {"Name": "Offsite", "StartDate": "2026-12-01T00:00:00Z", "IsAllDay": True}


@pytest.mark.parametrize(
    ("start", "end", "wire_end"),
    [
        (date(2026, 12, 1), date(2026, 12, 3), "2026-12-03T00:00:00Z"),  # exclusive: 1-2 Dec
        (date(2026, 12, 1), date(2026, 12, 1), "2026-12-02T00:00:00Z"),  # equal: one day
        # a datetime end within a day includes that day, a midnight one does not
        (
            datetime(2026, 12, 1, tzinfo=MOSCOW),
            datetime(2026, 12, 2, 18, 0, tzinfo=MOSCOW),
            "2026-12-03T00:00:00Z",
        ),
        (
            datetime(2026, 12, 1, tzinfo=MOSCOW),
            datetime(2026, 12, 3, tzinfo=MOSCOW),
            "2026-12-03T00:00:00Z",
        ),
    ],
)
async def test_the_end_is_exclusive_and_sent_as_a_midnight_utc(
    server: FakeR7Server, alice: R7Client, start: object, end: object, wire_end: str
) -> None:
    body = await _saved_body(server, alice, start, end)
    assert body == {
        "Name": "Offsite",
        "StartDate": "2026-12-01T00:00:00Z",
        "EndDate": wire_end,
        "IsAllDay": True,
    }


@pytest.mark.parametrize(
    ("start", "end", "error", "words"),
    [
        (date(2026, 12, 2), date(2026, 12, 1), ValueError, "end must not be before start"),
        (datetime(2026, 12, 1), None, ValueError, "start must be timezone-aware"),
        (date(2026, 12, 1), datetime(2026, 12, 2), ValueError, "end must be timezone-aware"),
        ("2026-12-01", None, TypeError, "start must be a date"),
        (date.max, date.max, ValueError, "end: an all-day event cannot end after 9999-12-31"),
    ],
)
async def test_bad_all_day_input_fails_before_any_request(
    server: FakeR7Server, alice: R7Client, start: object, end: object, error: type, words: str
) -> None:
    with pytest.raises(error, match=words):
        await alice.events.create(start, end, all_day=True)  # type: ignore[arg-type]
    assert server.requests_to("/api/v1/events/save") == []


async def test_a_timed_event_still_takes_only_datetimes(alice: R7Client) -> None:
    with pytest.raises(TypeError, match="start must be a datetime"):
        await alice.events.create(date(2026, 12, 1), date(2026, 12, 2))  # type: ignore[arg-type]


# ---- decode: every storage style reads as the same dates ------------------------------------

ONE_DAY = (date(2026, 12, 1), date(2026, 12, 2))


@pytest.mark.parametrize(
    "fields",
    [
        {"StartDate": "2026-12-01T00:00:00Z", "EndDate": "2026-12-02T00:00:00Z"},
        {"StartDate": "2026-12-01T00:00:00Z", "EndDate": "2026-12-01T23:59:59Z"},
        {"StartDate": "2026-12-01T00:00:00Z", "EndDate": "2026-12-01T23:59:59.9999999"},
        {"StartDate": "2026-12-01T00:00:00Z", "EndDate": "2026-12-01T00:00:00Z"},  # end = start
        {"StartDate": "2026-12-01T00:00:00Z"},  # no end: one day
        # Moscow midnights, with the offsets beside them, and without
        {
            "StartDate": "2026-11-30T21:00:00Z",
            "EndDate": "2026-12-01T21:00:00Z",
            "StartTimeZoneOffset": 180,
            "EndTimeZoneOffset": 180,
        },
        {"StartDate": "2026-11-30T21:00:00Z", "EndDate": "2026-12-01T21:00:00Z"},
        {
            "StartDate": "2026-11-30T21:00:00Z",
            "EndDate": "2026-12-01T20:59:59Z",
            "StartTimeZoneOffset": 180,
            "EndTimeZoneOffset": 180,
        },
        # New York midnights (UTC-5), and Kiritimati's (UTC+14), known only by the offset
        {
            "StartDate": "2026-12-01T05:00:00Z",
            "EndDate": "2026-12-02T05:00:00Z",
            "StartTimeZoneOffset": -300,
            "EndTimeZoneOffset": -300,
        },
        {
            "StartDate": "2026-11-30T10:00:00Z",
            "EndDate": "2026-12-01T10:00:00Z",
            "StartTimeZoneOffset": 840,
            "EndTimeZoneOffset": 840,
        },
        # a naive local midnight (no Z) with its offset
        {"StartDate": "2026-11-30T21:00:00", "StartTimeZoneOffset": 180},
    ],
    ids=[
        "utc-midnight",
        "inclusive-end",
        "inclusive-end-7-digits",
        "end-equals-start",
        "no-end",
        "moscow-midnights",
        "moscow-midnights-no-offsets",
        "moscow-inclusive-end",
        "new-york-midnights",
        "utc+14-midnights",
        "naive-local-midnight",
    ],
)
def test_one_day_reads_as_one_date_however_it_is_stored(fields: dict[str, object]) -> None:
    event = _decode(IsAllDay=True, **fields)
    assert (event.start_day, event.end_day) == ONE_DAY
    assert event.last_day == date(2026, 12, 1)
    assert _ical_dates(event) == ONE_DAY


def test_a_two_day_event_in_moscow() -> None:
    event = _decode(
        IsAllDay=True,
        StartDate="2026-11-30T21:00:00Z",
        EndDate="2026-12-02T20:59:59Z",
        StartTimeZoneOffset=180,
        EndTimeZoneOffset=180,
    )
    assert (event.start_day, event.last_day, event.end_day) == (
        date(2026, 12, 1),
        date(2026, 12, 2),
        date(2026, 12, 3),
    )


def test_a_timed_event_has_no_days() -> None:
    event = _decode(StartDate="2026-12-01T09:00:00Z", EndDate="2026-12-01T10:00:00Z")
    assert (event.start_day, event.end_day, event.last_day) == (None, None, None)
    assert _ical_dates(event) == (
        datetime(2026, 12, 1, 9, tzinfo=UTC),
        datetime(2026, 12, 1, 10, tzinfo=UTC),
    )


def test_days_next_to_the_ends_of_the_calendar_do_not_overflow() -> None:
    last = _decode(IsAllDay=True, StartDate="9999-12-31T00:00:00Z", EndDate="9999-12-31T23:59:59Z")
    assert (last.start_day, last.end_day, last.last_day) == (date.max, date.max, date.max)
    assert _ical_dates(last) == (date.max, None)  # no exclusive end exists: one day
    late = _decode(IsAllDay=True, StartDate="9999-12-31T23:00:00Z", StartTimeZoneOffset=180)
    assert (late.start_day, late.end_day) == (date.max, date.max)


def test_an_offset_beyond_a_day_is_not_trusted() -> None:
    event = _decode(IsAllDay=True, StartDate="2026-12-01T00:00:00Z", StartTimeZoneOffset=10**6)
    assert event.start_day == date(2026, 12, 1)


# ---- create -> list -> ics against each storage style and zone ------------------------------


@pytest.mark.parametrize("storage", ALL_DAY_STORAGE)
@pytest.mark.parametrize("zone", ZONES, ids=str)
async def test_created_days_come_back_as_the_same_days(
    storage: AllDayStorage, zone: ZoneInfo
) -> None:
    offset = int((datetime(2026, 12, 1, tzinfo=zone).utcoffset() or timedelta()).total_seconds())
    async with (
        FakeR7Server(all_day_storage=storage, all_day_offset=offset // 60) as server,
        R7Client(server.url, login="user_test", password="TestPassword") as r7,
    ):
        main = server.user("user_test").main_calendar_id
        await r7.events.create(datetime(2026, 12, 1, tzinfo=zone), all_day=True, name="One")
        await r7.events.create(
            datetime(2026, 12, 3, tzinfo=zone), date(2026, 12, 5), all_day=True, name="Two"
        )
        # The user's own days, from their midnight to their midnight.
        window = (datetime(2026, 12, 1, tzinfo=zone), datetime(2026, 12, 6, tzinfo=zone))
        events = {e.name: e for e in await r7.events.list([main], *window)}
    assert (events["One"].start_day, events["One"].end_day) == ONE_DAY
    assert (events["Two"].start_day, events["Two"].last_day) == (
        date(2026, 12, 3),
        date(2026, 12, 4),
    )
    assert _ical_dates(events["Two"]) == (date(2026, 12, 3), date(2026, 12, 5))
    ics = to_ical(events["One"]).to_ical()
    assert b"DTSTART;VALUE=DATE:20261201" in ics
    assert b"DTEND;VALUE=DATE:20261202" in ics


def test_the_fake_refuses_an_unknown_storage_style() -> None:
    with pytest.raises(ValueError, match="all_day_storage must be one of"):
        FakeR7Server(all_day_storage="noon")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="all_day_offset must be within a day"):
        FakeR7Server(all_day_offset=1440)
