"""PyrusClient.watch() against the fake on loopback: every kind of change, the rolling
window, incomplete walks and server errors."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from calendar_watch import MemoryWatchState
from pyrus_calendar import Meeting, Task
from pyrus_calendar.testing import FakePyrusServer
from pyrus_calendar.testing.fake import BOUNDS, Bounds
from tests.pyrus_calendar.support import client_for

from .support import NOW, FakeClock, drain, kinds

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _task(task_id: int, due_in: timedelta, text: str = "", modified: int = 0) -> Task:
    return Task(
        id=task_id,
        due=NOW + due_in,
        text=text or f"task {task_id}",
        last_modified_date=NOW - DAY + timedelta(minutes=modified),
    )


async def test_added_changed_removed_and_quiet_when_nothing_moved(
    pyrus_server: FakePyrusServer, clock: FakeClock
) -> None:
    for task_id in (1, 2, 3):
        pyrus_server.add_task(_task(task_id, task_id * HOUR))
    async with (
        client_for(pyrus_server) as pyrus,
        pyrus.watch(filters="due", clock=clock, sleep=clock.sleep) as watch,
    ):
        first = await drain(watch, clock)
        assert kinds(first) == [("added", "task:1"), ("added", "task:2"), ("added", "task:3")]
        assert all(isinstance(change.item, Task) for change in first)
        assert first[0].previous is None
        assert first[0].seen_at == NOW
        # unchanged: three more polls, nothing reported
        assert await drain(watch, clock, waits=3) == []
        assert watch.polls == 4

        pyrus_server.add_task(_task(2, 2 * HOUR, text="renamed", modified=5))
        pyrus_server.add_task(_task(4, 5 * HOUR))
        pyrus_server.remove_task(3)
        changes = await drain(watch, clock, waits=1)
    assert kinds(changes) == [("changed", "task:2"), ("added", "task:4"), ("removed", "task:3")]
    changed, _, removed = changes
    assert changed.item.text == "renamed"
    assert changed.previous is not None
    assert changed.previous.text == "task 2"
    assert removed.item.id == 3
    assert removed.previous is None
    assert len({change.key for change in first + changes}) == 6


async def test_a_content_change_without_a_newer_date_is_a_change(
    pyrus_server: FakePyrusServer, clock: FakeClock
) -> None:
    pyrus_server.add_task(_task(1, HOUR))
    async with (
        client_for(pyrus_server) as pyrus,
        pyrus.watch(filters="due", clock=clock, sleep=clock.sleep) as watch,
    ):
        await drain(watch, clock)
        pyrus_server.add_task(_task(1, HOUR, text="edited, same last_modified_date"))
        changes = await drain(watch, clock, waits=1)
    assert kinds(changes) == [("changed", "task:1")]


async def test_a_moved_deadline_is_a_change_and_moving_out_is_a_removal(
    pyrus_server: FakePyrusServer, clock: FakeClock
) -> None:
    pyrus_server.add_task(_task(1, HOUR))
    pyrus_server.add_task(_task(2, HOUR))
    async with client_for(pyrus_server) as pyrus:
        watch = pyrus.watch(filters="due", horizon=DAY * 2, clock=clock, sleep=clock.sleep)
        async with watch:
            await drain(watch, clock)
            pyrus_server.move_task(1, due=NOW + 3 * HOUR)
            pyrus_server.move_task(2, due=NOW + 30 * DAY)  # beyond the horizon: gone from view
            changes = await drain(watch, clock, waits=1)
    assert kinds(changes) == [("changed", "task:1"), ("removed", "task:2")]
    assert changes[0].item.due == NOW + 3 * HOUR


async def test_an_item_falling_off_the_back_is_forgotten_silently(
    pyrus_server: FakePyrusServer, clock: FakeClock
) -> None:
    pyrus_server.add_task(_task(1, -HOUR))  # an hour ago: inside a day's lookback
    pyrus_server.add_task(_task(2, 3 * DAY))
    state = MemoryWatchState()
    async with client_for(pyrus_server) as pyrus:
        watch = pyrus.watch(
            filters="due", lookback=DAY, interval=3600, state=state, clock=clock, sleep=clock.sleep
        )
        async with watch:
            assert kinds(await drain(watch, clock)) == [("added", "task:1"), ("added", "task:2")]
            # 24 polls an hour apart: task 1 leaves the back of the window, nobody is told
            assert await drain(watch, clock, waits=24) == []
            assert clock.now == NOW + 24 * HOUR
            snapshot = await state.load(watch.name)
            assert set(snapshot.marks) == {"task:2"}
            # deleting the task still inside is a removal
            pyrus_server.remove_task(2)
            assert kinds(await drain(watch, clock, waits=1)) == [("removed", "task:2")]


@pytest.mark.parametrize("bounds", BOUNDS)
async def test_falling_off_the_back_is_silent_under_each_boundary_rule(
    pyrus_server: FakePyrusServer, clock: FakeClock, bounds: Bounds
) -> None:
    pyrus_server.time_bounds = bounds
    pyrus_server.add_task(_task(1, -HOUR + timedelta(seconds=1)))
    async with client_for(pyrus_server) as pyrus:
        watch = pyrus.watch(
            filters="due", lookback=HOUR, interval=1.0, clock=clock, sleep=clock.sleep
        )
        async with watch:
            assert kinds(await drain(watch, clock)) == [("added", "task:1")]
            # one-second steps across the back edge: whichever second the server drops it
            assert await drain(watch, clock, waits=3) == []


async def test_an_incomplete_walk_reports_no_removals(
    pyrus_server: FakePyrusServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    for task_id in range(1, 251):
        pyrus_server.add_task(_task(task_id, timedelta(minutes=task_id)))
    state = MemoryWatchState()
    async with client_for(pyrus_server) as pyrus:
        complete = pyrus.watch(filters="due", name="w", state=state, clock=clock, sleep=clock.sleep)
        async with complete:
            assert len(await drain(complete, clock)) == 250
        # The same watch, now with a request budget too small for the window's 250 tasks.
        pyrus_server.remove_task(250)
        pyrus_server.add_task(_task(1, timedelta(minutes=1), text="edited"))
        cut = pyrus.watch(
            filters="due", name="w", state=state, max_requests=3, clock=clock, sleep=clock.sleep
        )
        async with cut:
            with caplog.at_level(logging.WARNING):
                later = await drain(cut, clock)
            assert cut.polls_incomplete == 1
    # what the walk did bring is reported; what it did not is not believed gone
    assert kinds(later) == [("changed", "task:1")]
    assert "reports nothing removed" in caplog.text
    assert "max_requests=3" in caplog.text
    assert len((await state.load("w")).marks) == 250


async def test_a_server_error_skips_the_poll_and_the_watch_goes_on(
    pyrus_server: FakePyrusServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    pyrus_server.add_task(_task(1, HOUR))
    async with (
        client_for(pyrus_server) as pyrus,
        pyrus.watch(filters="due", clock=clock, sleep=clock.sleep) as watch,
    ):
        await drain(watch, clock)
        pyrus_server.faults.fail_next(10, 503, path="/v4/calendar")  # more than the retries
        pyrus_server.remove_task(1)
        with caplog.at_level(logging.WARNING):
            skipped = await drain(watch, clock, waits=1)
        assert skipped == []
        assert watch.polls_skipped == 1
        assert "skipped after ServerError" in caplog.text
        assert kinds(await drain(watch, clock, waits=3)) == [("removed", "task:1")]


async def test_meetings_are_watched_with_include_meetings(
    pyrus_server: FakePyrusServer, clock: FakeClock
) -> None:
    pyrus_server.add_task(_task(1, HOUR))
    pyrus_server.add_meeting(Meeting(id=70, type="zoom", start_time=NOW + HOUR, duration=30))
    async with client_for(pyrus_server) as pyrus:
        watch = pyrus.watch(filters="due", include_meetings=True, clock=clock, sleep=clock.sleep)
        async with watch:
            first = await drain(watch, clock)
            assert sorted(kinds(first)) == [("added", "meeting:70"), ("added", "task:1")]
            pyrus_server.add_meeting(
                Meeting(id=70, type="zoom", start_time=NOW + 2 * HOUR, duration=30)
            )
            changes = await drain(watch, clock, waits=1)
    assert kinds(changes) == [("changed", "meeting:70")]
    assert isinstance(changes[0].item, Meeting)
    assert changes[0].previous is not None
    assert changes[0].previous.start_time == NOW + HOUR


async def test_a_meeting_marked_deleted_is_reported_removed(
    pyrus_server: FakePyrusServer, clock: FakeClock
) -> None:
    pyrus_server.add_meeting(Meeting(id=70, start_time=NOW + HOUR, duration=30))
    pyrus_server.add_meeting(Meeting(id=71, start_time=NOW + HOUR, duration=30, deleted=True))
    async with client_for(pyrus_server) as pyrus:
        watch = pyrus.watch(filters="due", include_meetings=True, clock=clock, sleep=clock.sleep)
        async with watch:
            assert kinds(await drain(watch, clock)) == [("added", "meeting:70")]  # not 71
            pyrus_server.add_meeting(
                Meeting(id=70, start_time=NOW + HOUR, duration=30, deleted=True)
            )
            changes = await drain(watch, clock, waits=1)
    assert kinds(changes) == [("removed", "meeting:70")]
    assert isinstance(changes[0].item, Meeting)


async def test_kinds_filters_what_is_reported_not_what_is_remembered(
    pyrus_server: FakePyrusServer, clock: FakeClock
) -> None:
    pyrus_server.add_task(_task(1, HOUR))
    async with client_for(pyrus_server) as pyrus:
        watch = pyrus.watch(filters="due", kinds={"removed"}, clock=clock, sleep=clock.sleep)
        async with watch:
            assert await drain(watch, clock) == []
            pyrus_server.remove_task(1)
            assert kinds(await drain(watch, clock, waits=1)) == [("removed", "task:1")]


@pytest.mark.parametrize("bounds", BOUNDS)
async def test_a_due_date_leaves_silently_under_each_date_rule(
    pyrus_server: FakePyrusServer, clock: FakeClock, bounds: Bounds
) -> None:
    pyrus_server.due_date_bounds = bounds
    pyrus_server.add_task(Task(id=1, text="today", due_date=NOW.date()))
    async with client_for(pyrus_server) as pyrus:
        watch = pyrus.watch(
            filters="due_date",
            lookback=HOUR,
            horizon=3 * DAY,
            interval=3600,
            clock=clock,
            sleep=clock.sleep,
        )
        async with watch:
            first = await drain(watch, clock)
            # The window's dates hold today under every server rule (the SDK's, not its).
            assert kinds(first) == [("added", "task:1")]
            assert await drain(watch, clock, waits=48) == []


async def test_a_poll_longer_than_the_interval_still_passes_through_the_sleep(
    pyrus_server: FakePyrusServer, clock: FakeClock
) -> None:
    # A sleep that ends the run after N polls (the CLI's --polls) must see every poll, also
    # when each poll outlasts the interval and there is nothing left to wait.
    pyrus_server.add_task(_task(1, HOUR))
    async with (
        client_for(pyrus_server) as pyrus,
        pyrus.watch(filters="due", interval=60, clock=clock, sleep=clock.sleep) as watch,
    ):
        await drain(watch, clock)
        clock.move(timedelta(minutes=5))  # the last poll took five intervals
        assert await drain(watch, clock, waits=1) == []
    assert clock.slept == [0.0]
    assert watch.polls == 2
