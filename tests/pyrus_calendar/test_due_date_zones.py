"""``due_date`` tasks are dates: a window typed in Moscow or Berlin selects the same days as the
same window typed in UTC, never the day before (the server reads the dates of the UTC bounds)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pyrus_calendar import Meeting, Task
from pyrus_calendar.testing import FakePyrusServer

from .support import client_for

DAYS = [date(2026, 11, 29) + timedelta(days=n) for n in range(6)]  # 29 Nov .. 4 Dec
ZONES = ["UTC", "Europe/Moscow", "Europe/Berlin", "America/New_York", "Asia/Tokyo"]


def _stock(server: FakePyrusServer) -> None:
    for number, day in enumerate(DAYS, start=1):
        server.add_task(Task(id=number, subject=f"day {day}", due_date=day))


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("filters", ["due_date", "due,due_date"])
async def test_local_days_select_those_days_in_every_zone(
    server: FakePyrusServer, zone: str, filters: str
) -> None:
    _stock(server)
    tz = ZoneInfo(zone)
    start, end = datetime(2026, 12, 1, tzinfo=tz), datetime(2026, 12, 2, tzinfo=tz)
    async with client_for(server) as pyrus:
        found = [task async for task in pyrus.iter_calendar(start, end, filters=filters)]
    # [start, end): midnight to midnight is that one day, whatever the server counts.
    assert sorted(task.due_date for task in found if task.due_date) == [date(2026, 12, 1)]


async def test_meetings_keep_the_callers_instants_while_due_dates_move(
    server: FakePyrusServer,
) -> None:
    _stock(server)
    moscow = ZoneInfo("Europe/Moscow")
    start, end = datetime(2026, 12, 1, tzinfo=moscow), datetime(2026, 12, 2, tzinfo=moscow)
    # 23:30 UTC on 30 Nov is 02:30 on 1 Dec in Moscow: inside the window.
    server.add_meeting(Meeting(id=7, start_time=start + timedelta(hours=2, minutes=30)))
    server.add_meeting(Meeting(id=8, start_time=start - timedelta(hours=1)))  # before it
    async with client_for(server) as pyrus:
        found = [item async for item in pyrus.walk(start, end, filters="due_date")]
    assert {item.id for item in found if isinstance(item, Meeting)} == {7}
    assert sorted(i.due_date for i in found if isinstance(i, Task) and i.due_date) == [
        date(2026, 12, 1)
    ]
