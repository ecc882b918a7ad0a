"""Following has_more: window splitting, deduplication, order, incompleteness, cleanup."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from pyrus_calendar import (
    CalendarFilter,
    IncompleteResultsError,
    Meeting,
    RetryPolicy,
    ServerError,
    Task,
)
from pyrus_calendar.paging import Window, split_window
from pyrus_calendar.testing import FakePyrusServer

from .support import DAY, NEXT_DAY, client_for, task_due

F = CalendarFilter


# ---- splitting (pure) -----------------------------------------------------------------------


def test_time_window_parts_overlap_by_one_second() -> None:
    # [s, m+1] and [m, e]: together they select what [s, e] does even if both ends are open
    left, right = split_window(Window(DAY, DAY + timedelta(seconds=5), F.DUE)) or []
    assert (left.start, left.end) == (DAY, DAY + timedelta(seconds=3))
    assert (right.start, right.end) == (DAY + timedelta(seconds=2), DAY + timedelta(seconds=5))
    assert split_window(Window(DAY, DAY + timedelta(seconds=2), F.DUE)) is None
    # once one end is known to count, parts only share their boundary second
    shared = split_window(Window(DAY, DAY + timedelta(seconds=2), F.DUE), mode="shared") or []
    assert [(p.start, p.end) for p in shared] == [
        (DAY, DAY + timedelta(seconds=1)),
        (DAY + timedelta(seconds=1), DAY + timedelta(seconds=2)),
    ]


def test_mixed_mask_is_separated_into_time_bits_and_due_date() -> None:
    window = Window(DAY, NEXT_DAY, F.DEFAULT, meetings=True)
    times, days = split_window(window) or []
    assert (times.mask, times.meetings) == (F.DUE | F.DUE_FOR_CURRENT_STEP, True)
    # DueDate brings no meetings the time-based bits do not already bring
    assert (days.mask, days.meetings) == (F.DUE_DATE, False)
    assert (times.start, times.end) == (days.start, days.end) == (DAY, NEXT_DAY)


def test_due_date_window_is_split_by_whole_days() -> None:
    start = DAY + timedelta(hours=10)
    window = Window(start, start + timedelta(days=3), F.DUE_DATE)
    left, right = split_window(window) or []
    # nothing known: the parts share two dates, so an end date that does not count loses none
    assert (left.start, left.end) == (start, datetime(2024, 5, 3, tzinfo=UTC))
    assert (right.start, right.end) == (datetime(2024, 5, 2, 23, 59, 59, tzinfo=UTC), window.end)
    # both ends known to count: disjoint days, and a single day cannot be narrowed
    left, right = split_window(window, mode="disjoint") or []
    assert left.end.date() < right.start.date()
    one_day = Window(DAY, DAY + timedelta(hours=23), F.DUE_DATE)
    assert split_window(one_day, mode="disjoint") is None


def test_parts_are_cut_where_the_sample_is() -> None:
    end = DAY + timedelta(days=10)
    busy = [int((DAY + timedelta(days=9, seconds=i * 60)).timestamp()) for i in range(100)]
    parts = split_window(Window(DAY, end, F.DUE), busy, parts=4) or []
    assert len(parts) == 4
    # halving would put three quarters of the window around an empty stretch
    assert all(part.end - part.start < timedelta(hours=2) for part in parts[1:-1])
    assert parts[0].end > DAY + timedelta(days=9)


# ---- against the fake --------------------------------------------------------------------


async def collect(tasks: AsyncIterator[Task], into: list[int]) -> None:
    """Read ``tasks`` into ``into`` (ids), so what came before an error can be checked."""
    async for task in tasks:
        into.append(task.id)


def spread_over_day(count: int, seed: int = 1) -> list[Task]:
    rng = random.Random(seed)
    return [task_due(i, DAY + timedelta(seconds=rng.randrange(86400))) for i in range(1, count + 1)]


async def test_thousand_shuffled_tasks_come_back_exactly_once(server: FakePyrusServer) -> None:
    server.order = "shuffled"
    tasks = spread_over_day(1000)
    server.add_tasks(tasks)
    async with client_for(server) as client:
        page = await client.calendar(DAY, NEXT_DAY, filters="due")
        assert len(page.tasks) == 100
        assert page.has_more
        got = [task async for task in client.iter_calendar(DAY, NEXT_DAY, filters="due")]
    assert sorted(task.id for task in got) == list(range(1, 1001))
    assert got[0] == next(t for t in tasks if t.id == got[0].id)
    # window order: a task never comes after one due much later (a window is a few hours)
    latest = DAY
    for task in got:
        assert task.due is not None
        assert task.due > latest - timedelta(hours=6)
        latest = max(latest, task.due)
    assert client.stats.calendar_requests < 60


async def test_same_result_with_one_request_at_a_time(server: FakePyrusServer) -> None:
    server.order = "reverse"
    server.add_tasks(spread_over_day(300, seed=2))
    async with client_for(server) as client:
        got = [t.id async for t in client.iter_calendar(DAY, NEXT_DAY, concurrency=1)]
    assert sorted(got) == list(range(1, 301))


async def test_task_matching_several_bits_is_counted_once(server: FakePyrusServer) -> None:
    at = DAY + timedelta(hours=9)
    for i in range(1, 41):  # every bit matches these, spread over three days
        day = timedelta(days=i % 3)
        server.add_task(
            Task(id=i, due=at + day + timedelta(minutes=i), due_date=(DAY + day).date()),
            step_due=at + day + timedelta(minutes=2 * i),
            reminders=[at + day - timedelta(minutes=i), at + day + timedelta(hours=1, seconds=i)],
        )
    server.add_task(Task(id=100, due_date=DAY.date()))  # DueDate only
    server.add_task(Task(id=101), reminders=[at])  # Reminded only
    server.add_task(Task(id=102), step_due=at)  # DueForCurrentStep only
    server.add_task(Task(id=103, due=DAY + timedelta(days=3, hours=1)))  # outside
    end = DAY + timedelta(days=3)
    async with client_for(server) as client:
        got = [t.id async for t in client.iter_calendar(DAY, end, filters=F.ALL, item_count=20)]
    assert len(got) == len(set(got))
    assert set(got) == set(range(1, 41)) | {100, 101, 102}
    # the cut window was separated into the time-based bits and DueDate alone
    assert server.counters.per_mask.get(int(F.DUE_DATE), 0) >= 1
    assert server.counters.per_mask.get(int(F.ALL & ~F.DUE_DATE), 0) >= 1


async def test_too_many_due_date_tasks_on_one_day_raise_after_yielding(
    server: FakePyrusServer,
) -> None:
    server.add_tasks(Task(id=i, due_date=date(2024, 5, 1)) for i in range(1, 151))
    # time-based tasks on the same day still come back in full: they split finely
    for task in spread_over_day(120, seed=3):
        server.add_task(Task(id=task.id + 1000, due=task.due))
    got: list[int] = []
    async with client_for(server) as client:
        tasks = client.iter_calendar(DAY, DAY + timedelta(hours=20), filters=F.DUE | F.DUE_DATE)
        # Asked from the last second of 30 April to 2 May: the UTC dates reach past 1 May
        # on both sides, so no date rule of the server leaves it out.
        day_part = r"2024-04-30T23:59:59Z\.\.2024-05-02T00:00:00Z"
        with pytest.raises(IncompleteResultsError, match=day_part) as info:
            await collect(tasks, got)
    assert "filter_mask=2" in str(info.value)
    assert len(got) == len(set(got))
    in_window = {
        task.id + 1000
        for task in spread_over_day(120, seed=3)
        if task.due is not None and task.due < DAY + timedelta(hours=20)
    }
    assert in_window <= set(got)
    assert len([i for i in got if i <= 150]) == 100  # one page of the DueDate day


async def test_allow_incomplete_warns_instead(
    server: FakePyrusServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.add_tasks(Task(id=i, due_date=date(2024, 5, 1)) for i in range(1, 131))
    caplog.set_level(logging.WARNING, logger="pyrus_calendar")
    async with client_for(server) as client:
        got = [
            t.id
            async for t in client.iter_calendar(
                DAY, DAY + timedelta(hours=1), filters="due_date", allow_incomplete=True
            )
        ]
    assert len(got) == 100
    assert any("cannot be narrowed" in r.getMessage() for r in caplog.records)


async def test_more_tasks_in_one_second_than_a_page_holds(server: FakePyrusServer) -> None:
    moment = DAY + timedelta(hours=3)
    server.add_tasks(task_due(i, moment) for i in range(1, 121))
    got: list[int] = []
    async with client_for(server) as client:
        tasks = client.iter_calendar(DAY, NEXT_DAY, filters="due")
        # the smallest window that still covers the second under every rule it could prove
        leaf = r"T0(2:59:59|3:00:00)Z\.\.2024-05-01T03:00:01Z"
        with pytest.raises(IncompleteResultsError, match=leaf):
            await collect(tasks, got)
    assert len(got) == 100


async def test_meetings_are_paged_and_deduplicated(server: FakePyrusServer) -> None:
    server.add_tasks(spread_over_day(250, seed=4))
    for i in range(1, 21):
        server.add_meeting(Meeting(id=i, start_time=DAY + timedelta(hours=i), duration=30))
    server.add_meeting(Meeting(id=99, start_time=NEXT_DAY + timedelta(hours=1)))
    async with client_for(server) as client:
        meetings = [m.id async for m in client.iter_meetings(DAY, NEXT_DAY)]
        tasks = [t.id async for t in client.iter_calendar(DAY, NEXT_DAY, include_meetings=True)]
    assert meetings == list(range(1, 21))  # in window order, each once
    assert sorted(tasks) == list(range(1, 251))


async def test_all_accessed_tasks_is_passed_on(server: FakePyrusServer) -> None:
    server.add_task(task_due(1, DAY + timedelta(hours=1)))
    server.add_task(task_due(2, DAY + timedelta(hours=2)), involved=False)
    async with client_for(server) as client:
        mine = [t.id async for t in client.iter_calendar(DAY, NEXT_DAY)]
        everything = [
            t.id async for t in client.iter_calendar(DAY, NEXT_DAY, all_accessed_tasks=True)
        ]
    assert (mine, sorted(everything)) == ([1], [1, 2])


def fetch_tasks_left() -> list[asyncio.Task[object]]:
    return [
        task
        for task in asyncio.all_tasks()
        if "PyrusClient._walk" in getattr(task.get_coro(), "__qualname__", "")
    ]


async def test_stopping_early_leaves_no_request_running(server: FakePyrusServer) -> None:
    server.add_tasks(spread_over_day(1000, seed=5))
    server.faults.add_latency(0.02)
    async with client_for(server) as client:
        iterator = client.iter_calendar(DAY, NEXT_DAY, concurrency=4)
        async for _ in iterator:
            assert fetch_tasks_left()  # look-ahead requests are in flight
            break
        await iterator.aclose()
        assert fetch_tasks_left() == []


async def test_an_error_stops_the_iteration_and_its_requests(server: FakePyrusServer) -> None:
    server.add_tasks(spread_over_day(2000, seed=6))
    server.faults.add_latency(0.01, path="/v4/calendar")
    async with client_for(server, retry=RetryPolicy(attempts=1)) as client:
        await client.login()
        # the whole day and its two halves are cut: the fourth request fails while the
        # other look-ahead requests are in flight
        server.faults.fail_next(1, 500, path="/v4/calendar", after=3)
        with pytest.raises(ServerError):
            async for _ in client.iter_calendar(DAY, NEXT_DAY, concurrency=4):
                pass
        assert len(server.requests_to("/v4/calendar")) > 4  # look-ahead had been started
        assert fetch_tasks_left() == []


async def test_meetings_walk_is_complete_when_only_tasks_overflow(
    server: FakePyrusServer,
) -> None:
    crowded = DAY + timedelta(hours=9)
    server.add_tasks(task_due(i, crowded) for i in range(1, 151))  # 150 tasks in one second
    server.add_meeting(Meeting(id=7, start_time=crowded, duration=30))
    async with client_for(server) as client:
        # item_count limits tasks, not meetings: the cut second still carried the meeting
        meetings = [m.id async for m in client.iter_meetings(DAY, NEXT_DAY)]
        with pytest.raises(IncompleteResultsError):
            async for _ in client.iter_calendar(DAY, NEXT_DAY):
                pass
    assert meetings == [7]
