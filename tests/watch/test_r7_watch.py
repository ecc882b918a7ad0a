"""R7Client.events.watch() against the fake on loopback: every kind of change, what counts
as a change, the rolling window, and server errors."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from r7cal import Event, R7Client, RetryPolicy
from r7cal.testing import FakeR7Server
from r7cal.testing.fake import ALL_DAY_STORAGE, AllDayStorage

from .support import NOW, FakeClock, drain, kinds

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
FAST = RetryPolicy(attempts=3, initial_backoff=0, max_backoff=0)


def _client(server: FakeR7Server) -> R7Client:
    return R7Client(server.url, login="user_test", password="TestPassword", retry=FAST)


async def _main_calendar(r7: R7Client) -> int:
    calendars = await r7.calendars.list()
    return calendars[0].id


async def test_added_changed_removed_and_quiet_when_nothing_moved(
    r7_server: FakeR7Server, clock: FakeClock
) -> None:
    async with _client(r7_server) as r7:
        cal = await _main_calendar(r7)
        one = await r7.events.create(NOW + HOUR, NOW + 2 * HOUR, name="one", calendar_id=cal)
        two = await r7.events.create(NOW + DAY, NOW + DAY + HOUR, name="two", calendar_id=cal)
        async with r7.events.watch([cal], clock=clock, sleep=clock.sleep) as watch:
            first = await drain(watch, clock)
            assert kinds(first) == [("added", f"event:{one.id}"), ("added", f"event:{two.id}")]
            assert all(isinstance(change.item, Event) for change in first)
            assert await drain(watch, clock, waits=3) == []

            r7_server.events[one.id].name = "one, renamed"
            r7_server.events[one.id].modified = datetime.now(UTC)
            three = await r7.events.create(
                NOW + 3 * HOUR, NOW + 4 * HOUR, name="3", calendar_id=cal
            )
            await r7.events.delete(two.id)
            changes = await drain(watch, clock, waits=1)
    assert kinds(changes) == [
        ("changed", f"event:{one.id}"),
        ("added", f"event:{three.id}"),
        ("removed", f"event:{two.id}"),
    ]
    assert changes[0].item.name == "one, renamed"
    assert changes[0].previous is not None
    assert changes[0].previous.name == "one"
    assert changes[2].item.name == "two"


async def test_only_the_fields_users_see_make_a_change(
    r7_server: FakeR7Server, clock: FakeClock
) -> None:
    async with _client(r7_server) as r7:
        cal = await _main_calendar(r7)
        event = await r7.events.create(NOW + HOUR, NOW + 2 * HOUR, name="e", calendar_id=cal)
        async with r7.events.watch([cal], clock=clock, sleep=clock.sleep) as watch:
            await drain(watch, clock)
            r7_server.events[event.id].uid = "a new uid, nobody sees it"
            assert await drain(watch, clock, waits=1) == []
            r7_server.events[event.id].end = NOW + 3 * HOUR  # moved, same modification date
            changes = await drain(watch, clock, waits=1)
    assert kinds(changes) == [("changed", f"event:{event.id}")]
    assert changes[0].item.end_date == NOW + 3 * HOUR


async def test_an_event_that_ends_behind_the_window_is_forgotten_silently(
    r7_server: FakeR7Server, clock: FakeClock
) -> None:
    async with _client(r7_server) as r7:
        cal = await _main_calendar(r7)
        past = await r7.events.create(NOW - 2 * HOUR, NOW - HOUR, name="past", calendar_id=cal)
        watch = r7.events.watch([cal], lookback=DAY, interval=3600, clock=clock, sleep=clock.sleep)
        async with watch:
            assert kinds(await drain(watch, clock)) == [("added", f"event:{past.id}")]
            assert await drain(watch, clock, waits=24) == []
            assert clock.now == NOW + 24 * HOUR
            # a new event, then deleted while inside: that one is a removal
            later = await r7.events.create(
                NOW + 30 * HOUR, NOW + 31 * HOUR, name="later", calendar_id=cal
            )
            assert kinds(await drain(watch, clock, waits=1)) == [("added", f"event:{later.id}")]
            await r7.events.delete(later.id)
            assert kinds(await drain(watch, clock, waits=1)) == [("removed", f"event:{later.id}")]


async def test_time_moving_brings_events_in_at_the_front(
    r7_server: FakeR7Server, clock: FakeClock
) -> None:
    async with _client(r7_server) as r7:
        cal = await _main_calendar(r7)
        # It starts an hour before the horizon's end three days from now ([start, end):
        # an event starting exactly at the end would come in a day later).
        far = await r7.events.create(
            NOW + 10 * DAY - HOUR, NOW + 10 * DAY, name="far", calendar_id=cal
        )
        watch = r7.events.watch(
            [cal], lookback=HOUR, horizon=7 * DAY, interval=86400, clock=clock, sleep=clock.sleep
        )
        async with watch:
            assert await drain(watch, clock) == []
            # three days later the event is inside the horizon
            assert kinds(await drain(watch, clock, waits=3)) == [("added", f"event:{far.id}")]
            assert clock.now == NOW + 3 * DAY


async def test_a_server_error_skips_the_poll(
    r7_server: FakeR7Server, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with _client(r7_server) as r7:
        cal = await _main_calendar(r7)
        event = await r7.events.create(NOW + HOUR, NOW + 2 * HOUR, name="e", calendar_id=cal)
        async with r7.events.watch([cal], clock=clock, sleep=clock.sleep) as watch:
            await drain(watch, clock)
            await r7.events.delete(event.id)
            r7_server.faults.fail_next(20, 502, path="/api/v1/events")
            with caplog.at_level(logging.WARNING):
                assert await drain(watch, clock, waits=1) == []
            assert watch.polls_skipped >= 1
            assert "the watch goes on" in caplog.text
            r7_server.faults.clear()
            assert kinds(await drain(watch, clock, waits=1)) == [("removed", f"event:{event.id}")]


@pytest.mark.parametrize("storage", ALL_DAY_STORAGE)
async def test_an_all_day_event_leaves_silently_however_the_server_stores_it(
    r7_server: FakeR7Server, clock: FakeClock, storage: AllDayStorage
) -> None:
    r7_server.all_day_storage = storage
    async with _client(r7_server) as r7:
        cal = await _main_calendar(r7)
        today = await r7.events.create(NOW.date(), name="today", calendar_id=cal, all_day=True)
        watch = r7.events.watch([cal], lookback=HOUR, interval=3600, clock=clock, sleep=clock.sleep)
        async with watch:
            assert kinds(await drain(watch, clock)) == [("added", f"event:{today.id}")]
            # two days of hourly polls: the day passes behind the window, nobody is told
            assert await drain(watch, clock, waits=48) == []
            assert watch.polls == 49
