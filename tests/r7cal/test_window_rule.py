"""One meaning of ``[start, end)`` for R7 listings, whatever the server's overlap rule and
all-day storage: a bot's "what is on 8 December, in Moscow?" gets that day and nothing else.

Every server rule (``FakeR7Server(overlap_rule=...)``) and storage (``all_day_storage``) in
five zones, on their DST days where they have one; ``list`` and ``iterate`` alike (``iterate``
with parts that end mid-day, so events sit on the edges between its own parts).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from r7cal import R7Client
from r7cal.testing import ALL_DAY_STORAGE, OVERLAP_RULES, AllDayStorage, FakeR7Server, OverlapRule

#: (zone, a day in it): an ordinary day, a 23-hour spring DST day, a 25-hour autumn one
DAYS = [
    (ZoneInfo("Europe/Moscow"), date(2026, 12, 8)),
    (ZoneInfo("Europe/Berlin"), date(2026, 3, 29)),
    (ZoneInfo("America/New_York"), date(2026, 11, 1)),
    (ZoneInfo("Asia/Vladivostok"), date(2026, 12, 8)),
    (ZoneInfo("UTC"), date(2026, 12, 8)),
]
HOUR, MINUTE, DAY = timedelta(hours=1), timedelta(minutes=1), timedelta(days=1)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


async def _seed(r7: R7Client, day: date, zone: tzinfo) -> dict[str, bool]:
    """Events around ``day`` in ``zone``, each named for whether the day holds it."""
    start, end = _midnight(day, zone), _midnight(day + DAY, zone)
    timed = {
        "ended at the first midnight": (start - HOUR, start, False),
        "starts at the next midnight": (end, end + HOUR, False),
        "no length, at the first midnight": (start, start, True),
        "no length, at the next midnight": (end, end, False),
        "no length, mid-day (an iterate part's edge)": (start + 6 * HOUR, start + 6 * HOUR, True),
        "across the first midnight": (start - HOUR, start + HOUR, True),
        "across the next midnight": (end - HOUR, end + HOUR, True),
        "the day's last minute": (end - MINUTE, end, True),
        "the whole day and more": (start - DAY, end + DAY, True),
    }
    expected = {}
    for name, (begins, ends, inside) in timed.items():
        await r7.events.create(begins, ends, name=name)
        expected[name] = inside
    all_day = {
        "all day yesterday": (day - DAY, None, False),
        "all day that day": (day, None, True),
        "all day tomorrow": (day + DAY, None, False),
        "all day, three days to that day": (day - 2 * DAY, day + DAY, True),
        "all day, from the next day on": (day + DAY, day + 3 * DAY, False),
    }
    for name, (first, after, inside) in all_day.items():
        await r7.events.create(first, after, name=name, all_day=True)
        expected[name] = inside
    return expected


@pytest.fixture
async def r7_server() -> AsyncIterator[FakeR7Server]:
    async with FakeR7Server() as server:
        yield server


@pytest.mark.parametrize("rule", OVERLAP_RULES)
@pytest.mark.parametrize("storage", ALL_DAY_STORAGE)
@pytest.mark.parametrize(("zone", "day"), DAYS, ids=[f"{z}-{d}" for z, d in DAYS])
async def test_a_day_holds_that_day_under_every_server_rule(
    r7_server: FakeR7Server, rule: OverlapRule, storage: AllDayStorage, zone: ZoneInfo, day: date
) -> None:
    r7_server.overlap_rule = rule
    r7_server.all_day_storage = storage
    start, end = _midnight(day, zone), _midnight(day + DAY, zone)
    # A server keeping local midnights keeps those of the zone the user saved in.
    r7_server.all_day_offset = int(start.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    async with R7Client(r7_server.url, login="user_test", password="TestPassword") as r7:
        (main,) = await r7.calendars.list()
        expected = await _seed(r7, day, zone)
        listed = [event.name for event in await r7.events.list([main.id], start, end)]
        walked = [
            event.name async for event in r7.events.iterate([main.id], start, end, window=6 * HOUR)
        ]
    wanted = sorted(name for name, inside in expected.items() if inside)
    assert sorted(listed) == wanted  # type: ignore[type-var]
    assert sorted(walked) == wanted  # type: ignore[type-var]
    assert len(walked) == len(set(walked))


async def test_list_stays_one_request(r7_server: FakeR7Server) -> None:
    moscow = ZoneInfo("Europe/Moscow")
    async with R7Client(r7_server.url, login="user_test", password="TestPassword") as r7:
        (main,) = await r7.calendars.list()
        before = len(r7_server.requests_to("/api/v1/events"))
        await r7.events.list([main.id], _midnight(date(2026, 12, 8), moscow), None)
        assert len(r7_server.requests_to("/api/v1/events")) == before + 1


# ---- a property: random windows and zones against a brute-force reading of the rule --------

ZONES = [ZoneInfo(name) for name in ("Europe/Moscow", "Europe/Berlin", "America/New_York")]
ZONES += [ZoneInfo("Asia/Vladivostok"), UTC]
BASE = datetime(2026, 3, 27, tzinfo=UTC)  # Berlin and New York change clocks within a month
#: (start offset in hours from BASE, length in hours) of timed events; (first day, days) all-day
TIMED = [(h, length) for h in range(0, 24 * 12, 7) for length in (0, 1, 24)]
ALL_DAY = [(d, n) for d in range(12) for n in (1, 3)]


def _brute_force(window_start: datetime, window_end: datetime) -> set[str]:
    # The rule written out the long way, from what was created (not from the SDK).
    zone = window_start.tzinfo
    assert zone is not None
    inside = set()
    for h, length in TIMED:
        begins = BASE + timedelta(hours=h)
        ends = begins + timedelta(hours=length)
        hit = (
            window_start <= begins < window_end
            if length == 0
            else begins < window_end and ends > window_start
        )
        if hit:
            inside.add(f"t{h}/{length}")
    first_day = window_start.astimezone(zone).date()
    last_day = (window_end.astimezone(zone) - timedelta(microseconds=1)).date()
    for d, n in ALL_DAY:
        days = {BASE.date() + timedelta(days=d + i) for i in range(n)}
        if any(first_day <= one <= last_day for one in days):
            inside.add(f"a{d}/{n}")
    return inside


@settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    zone=st.sampled_from(ZONES),
    start_hours=st.integers(min_value=0, max_value=24 * 10),
    length_hours=st.integers(min_value=1, max_value=24 * 3),
    rule=st.sampled_from(OVERLAP_RULES),
    storage=st.sampled_from(ALL_DAY_STORAGE),
    part_hours=st.integers(min_value=1, max_value=30),
)
def test_any_window_in_any_zone_holds_exactly_what_the_rule_says(
    zone: ZoneInfo,
    start_hours: int,
    length_hours: int,
    rule: OverlapRule,
    storage: AllDayStorage,
    part_hours: int,
) -> None:
    start = (BASE + timedelta(hours=start_hours)).astimezone(zone)
    end = start + timedelta(hours=length_hours)

    async def run() -> tuple[list[str], list[str]]:
        async with (
            FakeR7Server(overlap_rule=rule, all_day_storage=storage) as server,
            R7Client(server.url, login="user_test", password="TestPassword") as r7,
        ):
            (main,) = await r7.calendars.list()
            for h, length in TIMED:
                begins = BASE + timedelta(hours=h)
                await r7.events.create(
                    begins, begins + timedelta(hours=length), name=f"t{h}/{length}"
                )
            for d, n in ALL_DAY:
                first = BASE.date() + timedelta(days=d)
                await r7.events.create(
                    first, first + timedelta(days=n), name=f"a{d}/{n}", all_day=True
                )
            listed = [e.name or "" for e in await r7.events.list([main.id], start, end)]
            walked = [
                e.name or ""
                async for e in r7.events.iterate(
                    [main.id], start, end, window=timedelta(hours=part_hours)
                )
            ]
            return listed, walked

    listed, walked = asyncio.run(run())
    expected = _brute_force(start, end)
    assert set(listed) == expected
    assert set(walked) == expected
    assert len(walked) == len(set(walked))
