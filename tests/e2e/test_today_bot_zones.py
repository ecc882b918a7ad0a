"""``/today`` for users east and west of UTC: all-day events by their dates, days by the zone's
rules (a DST day is 23 hours long), whatever way the server stores all-day events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from examples import today_bot
from r7cal import R7Client, RetryPolicy
from r7cal.testing import FakeR7Server
from r7cal.testing.fake import ALL_DAY_STORAGE, AllDayStorage


@pytest.mark.parametrize("storage", ALL_DAY_STORAGE)
@pytest.mark.parametrize(
    ("zone", "now"),
    [
        ("Europe/Moscow", datetime(2026, 12, 1, 6, 0, tzinfo=UTC)),
        ("America/New_York", datetime(2026, 12, 1, 15, 0, tzinfo=UTC)),
        # 29 March in Berlin: the clocks go forward, the day ends at 22:00Z
        ("Europe/Berlin", datetime(2026, 3, 29, 20, 0, tzinfo=UTC)),
    ],
)
async def test_only_todays_days_and_times_are_listed(
    storage: AllDayStorage, zone: str, now: datetime
) -> None:
    rules = ZoneInfo(zone)
    today = now.astimezone(rules).date()
    offset = datetime.combine(today, datetime.min.time(), tzinfo=rules).utcoffset()
    assert offset is not None
    login, password = "user_test", "TestPassword"
    async with (
        FakeR7Server(
            all_day_storage=storage, all_day_offset=int(offset.total_seconds() // 60)
        ) as server,
        aiohttp.ClientSession() as session,
    ):
        async with R7Client(server.url, login=login, password=password) as r7:
            for day, name in ((-1, "Yesterday"), (0, "Today"), (1, "Tomorrow")):
                when = date.fromordinal(today.toordinal() + day)
                await r7.events.create(when, all_day=True, name=name)
            # 23:30 local: inside today only on a 23-hour day if the end is the real midnight
            late = datetime.combine(today, datetime.min.time(), tzinfo=rules).replace(hour=23)
            await r7.events.create(late.replace(minute=30), late.replace(minute=45), name="Late")
        settings = today_bot.Settings(
            r7_base_url=server.url, zone=rules, retry=RetryPolicy(attempts=1)
        )
        accounts = {1: today_bot.Account(login, password)}
        service = today_bot.TodayService(settings, accounts, session, clock=lambda: now)
        try:
            answer = await service.today_for(1)
        finally:
            await service.aclose()
    lines = answer.splitlines()
    assert "  all day  Today (R7)" in lines
    assert "  23:30-23:45  Late (R7)" in lines
    assert "Yesterday" not in answer
    assert "Tomorrow" not in answer
