"""Times a person types are read by the zone's rules for *that* date, not today's offset."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from calendar_cli.common import format_when, parse_when
from calendar_transport.local_time import local_zone

WINTER = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def use_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """``use_zone("Europe/Berlin")`` sets ``TZ``, and the C library follows (time.tzset)."""

    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("zone", "now", "typed", "utc"),
    [
        # Berlin: +01:00 in winter, +02:00 in summer, whichever side "now" is on
        ("Europe/Berlin", WINTER, "2026-07-01T09:00", datetime(2026, 7, 1, 7, 0)),
        ("Europe/Berlin", SUMMER, "2026-01-10T09:00", datetime(2026, 1, 10, 8, 0)),
        ("Europe/Berlin", WINTER, "2026-01-10T09:00", datetime(2026, 1, 10, 8, 0)),
        ("Europe/Berlin", SUMMER, "2026-07-01", datetime(2026, 6, 30, 22, 0)),
        # the last Sunday of March: 02:00 -> 03:00
        ("Europe/Berlin", WINTER, "2026-03-29T01:30", datetime(2026, 3, 29, 0, 30)),
        ("Europe/Berlin", WINTER, "2026-03-29T03:30", datetime(2026, 3, 29, 1, 30)),
        # Moscow: +03:00 all year, now and in 2010 (when it still had summer time, +04:00)
        ("Europe/Moscow", WINTER, "2026-07-01T09:00", datetime(2026, 7, 1, 6, 0)),
        ("Europe/Moscow", SUMMER, "2026-01-10T09:00", datetime(2026, 1, 10, 6, 0)),
        ("Europe/Moscow", WINTER, "2010-07-01T09:00", datetime(2010, 7, 1, 5, 0)),
        # an explicit offset wins over the zone
        ("Europe/Berlin", WINTER, "2026-07-01T09:00+03:00", datetime(2026, 7, 1, 6, 0)),
    ],
)
def test_a_typed_local_time_uses_the_rules_for_its_date(
    use_zone: Callable[[str], None], zone: str, now: datetime, typed: str, utc: datetime
) -> None:
    use_zone(zone)
    assert parse_when(typed, now=now).astimezone(UTC) == utc.replace(tzinfo=UTC)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Europe/Moscow"])
def test_relative_days_are_calendar_days_across_a_clock_change(
    use_zone: Callable[[str], None], zone: str
) -> None:
    use_zone(zone)
    rules = ZoneInfo(zone)
    before_change = datetime(2026, 3, 20, 10, 0, tzinfo=rules)
    later = parse_when("+14d", now=before_change)
    assert later == datetime(2026, 4, 3, tzinfo=rules)
    assert parse_when("+2w", now=before_change) == later  # weeks are 7 calendar days
    assert parse_when("-1w", now=before_change) == datetime(2026, 3, 13, tzinfo=rules)
    assert later.astimezone(UTC).time() == (
        datetime(2026, 4, 3, tzinfo=rules).astimezone(UTC).time()
    )
    assert parse_when("tomorrow", now=before_change).date() == date(2026, 3, 21)
    # hours are real hours: three of them from 01:00 on the night the clocks go forward
    night = datetime(2026, 3, 29, 1, 0, tzinfo=rules)
    assert parse_when("+3h", now=night) - night.astimezone(UTC) == timedelta(hours=3)


def test_berlin_midnights_on_both_sides_of_summer_time(use_zone: Callable[[str], None]) -> None:
    use_zone("Europe/Berlin")
    assert parse_when("today", now=WINTER).astimezone(UTC) == datetime(2026, 1, 14, 23, tzinfo=UTC)
    assert parse_when("today", now=SUMMER).astimezone(UTC) == datetime(2026, 7, 14, 22, tzinfo=UTC)


def test_local_zone_follows_tz_and_falls_back_for_a_posix_rule(
    use_zone: Callable[[str], None],
) -> None:
    use_zone(":Europe/Berlin")
    assert datetime(2026, 7, 1, tzinfo=local_zone()).utcoffset() == timedelta(hours=2)
    use_zone("XYZ-5")  # no zone of that name: the C library's offset for now
    assert datetime.now(local_zone()).utcoffset() == timedelta(hours=5)


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Europe/Moscow"])
def test_format_when_shows_the_local_time_of_that_date(
    use_zone: Callable[[str], None], zone: str
) -> None:
    use_zone(zone)
    summer = "2026-07-01 09:00" if zone == "Europe/Berlin" else "2026-07-01 10:00"
    assert format_when(datetime(2026, 7, 1, 7, 0, tzinfo=UTC)) == summer
    winter = "2026-01-10 08:00" if zone == "Europe/Berlin" else "2026-01-10 10:00"
    assert format_when(datetime(2026, 1, 10, 7, 0, tzinfo=UTC)) == winter


@pytest.mark.parametrize(
    "typed",
    ["+999999999d", "+3000000d", f"+{'9' * 5000}d", "-99999999h", "0001-01-01T00:00"],
)
def test_out_of_range_input_is_a_usage_error_not_an_overflow(
    use_zone: Callable[[str], None], typed: str
) -> None:
    use_zone("Europe/Moscow")  # east of UTC: year 1's midnight is before UTC's
    with pytest.raises(argparse.ArgumentTypeError, match="outside the dates"):
        parse_when(typed, now=WINTER)


def test_the_ends_of_the_calendar_in_utc_still_parse(use_zone: Callable[[str], None]) -> None:
    use_zone("UTC")
    assert parse_when("0001-01-01", now=WINTER) == datetime(1, 1, 1, tzinfo=ZoneInfo("UTC"))
    assert parse_when("9999-12-31T23:59:59", now=WINTER).year == 9999
    assert format_when(datetime(999, 1, 2, 3, 4, tzinfo=UTC)) == "0999-01-02 03:04"
    # a time with no local equivalent is shown in UTC rather than failing
    use_zone("Europe/Moscow")
    assert format_when(datetime.max.replace(tzinfo=UTC)) == "9999-12-31 23:59Z"


@pytest.mark.parametrize("typed", ["2026-12-08", "20261208", "+3d", "+1w"])
def test_to_a_day_ends_at_the_next_midnight(typed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from calendar_cli.common import until_argument

    monkeypatch.setenv("TZ", "Europe/Moscow")
    end = until_argument(typed)
    assert end.timetz().replace(tzinfo=None) == datetime.min.time()  # a midnight
    assert end > parse_when(typed)  # the day after the one named


def test_to_a_time_is_the_end_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from calendar_cli.common import until_argument

    monkeypatch.setenv("TZ", "Europe/Moscow")
    assert until_argument("2026-12-08T18:00") == parse_when("2026-12-08T18:00")
