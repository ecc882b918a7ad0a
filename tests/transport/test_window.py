"""calendar_transport.TimeWindow: the rule every listing keeps, at its edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from calendar_transport import TimeWindow

BERLIN = ZoneInfo("Europe/Berlin")
MOSCOW = ZoneInfo("Europe/Moscow")


def _day(zone: ZoneInfo, day: date) -> TimeWindow:
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    return TimeWindow.of(start, start + timedelta(days=1))


def test_a_midnight_end_adds_no_day_even_on_a_23_hour_day() -> None:
    window = _day(BERLIN, date(2026, 3, 29))
    assert window.end is not None
    assert window.start is not None
    # Aware datetimes of one tzinfo subtract as wall times: compare in UTC.
    assert window.end.astimezone(UTC) - window.start.astimezone(UTC) == timedelta(hours=23)
    assert window.days == (date(2026, 3, 29), date(2026, 3, 29))


def test_the_dates_are_counted_in_the_zone_of_start() -> None:
    # 21:00 UTC on 7 Dec is midnight of 8 Dec in Moscow: the end's zone does not count.
    window = TimeWindow.of(
        datetime(2026, 12, 8, tzinfo=MOSCOW), datetime(2026, 12, 8, 21, tzinfo=UTC)
    )
    assert window.days == (date(2026, 12, 8), date(2026, 12, 8))
    assert window.holds_days(date(2026, 12, 8), date(2026, 12, 8))
    assert not window.holds_days(date(2026, 12, 7), date(2026, 12, 7))
    assert not window.holds_days(date(2026, 12, 9), date(2026, 12, 10))


def test_instants_and_spans_at_the_edges() -> None:
    window = _day(MOSCOW, date(2026, 12, 8))
    start, end = window.start, window.end
    assert start is not None
    assert end is not None
    assert window.holds_instant(start)
    assert not window.holds_instant(end)
    assert window.holds_span(start, start)  # no length, at the start: in
    assert not window.holds_span(end, end)
    assert not window.holds_span(start - timedelta(hours=1), start)  # touches from before
    assert not window.holds_span(end, end + timedelta(hours=1))  # touches from after
    assert window.holds_span(start - timedelta(hours=1), start + timedelta(seconds=1))
    assert window.holds_span(start + timedelta(hours=1), None)  # no end: an instant


def test_an_empty_window_holds_nothing() -> None:
    at = datetime(2026, 12, 8, 12, tzinfo=UTC)
    window = TimeWindow.of(at, at)
    assert window.days is None
    assert not window.holds_instant(at)
    assert not window.holds_days(date(2026, 12, 8), date(2026, 12, 8))


def test_open_sides_and_the_ends_of_the_calendar() -> None:
    window = TimeWindow.of(None, datetime(2026, 12, 8, tzinfo=MOSCOW))
    assert window.zone is MOSCOW
    assert window.days == (date.min, date(2026, 12, 7))
    assert window.asked()[0] is None
    everything = TimeWindow.of(datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
    assert everything.asked() == (
        datetime.min.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
    )
    east = timezone(timedelta(hours=14))
    far = TimeWindow.of(datetime(9999, 12, 31, 12, tzinfo=east), datetime.max.replace(tzinfo=UTC))
    assert far.days == (date(9999, 12, 31), date.max)


def test_asked_is_a_day_wider_on_each_side_in_utc() -> None:
    window = _day(MOSCOW, date(2026, 12, 8))
    assert window.asked() == (
        datetime(2026, 12, 6, 21, tzinfo=UTC),  # the day before 8 Dec in Moscow
        datetime(2026, 12, 9, 21, tzinfo=UTC),  # the end of 9 Dec in Moscow
    )


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        (datetime(2026, 12, 8), None, "timezone-aware"),
        (datetime(2026, 12, 9, tzinfo=UTC), datetime(2026, 12, 8, tzinfo=UTC), "before"),
        ("2026-12-08", None, "must be a datetime"),
    ],
)
def test_bad_bounds_are_refused_by_name(start: object, end: object, error: str) -> None:
    with pytest.raises((ValueError, TypeError), match=error):
        TimeWindow.of(start, end)  # type: ignore[arg-type]


def test_an_empty_window_holds_nothing_that_runs_across_it() -> None:
    at = datetime(2026, 12, 8, 12, tzinfo=UTC)
    window = TimeWindow.of(at, at)
    assert not window.holds_span(at - timedelta(hours=1), at + timedelta(hours=1))
    assert not window.holds_span(at, at)
