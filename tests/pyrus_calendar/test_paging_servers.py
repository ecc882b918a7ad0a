"""Walks over a real socket against servers that count bounds, order answers and report
``has_more`` in each of the ways the API leaves open: nothing lost, nothing twice, no runaway."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from pyrus_calendar import (
    CalendarFilter,
    ClientClosedError,
    IncompleteResultsError,
    Meeting,
    PyrusClient,
    Task,
)
from pyrus_calendar.testing import FakePyrusServer
from pyrus_calendar.testing.fake import BOUNDS, ORDERS, Bounds, Order

from .support import DAY, FAST, NEXT_DAY, client_for, held, task_due

F = CalendarFilter


def crowded_hours(count: int, *, per_second: int = 3) -> list[Task]:
    """``count`` tasks, ``per_second`` of them on each of a run of seconds spread over two
    hours: whatever the split points, tasks sit on them."""
    seconds = count // per_second
    step = 7200 // seconds
    return [
        task_due(i, DAY + timedelta(hours=1, seconds=step * ((i - 1) // per_second)))
        for i in range(1, count + 1)
    ]


async def ids_of(items: AsyncIterator[Task]) -> list[int]:
    return [item.id async for item in items]


async def collect(items: AsyncIterator[Task], into: list[int]) -> None:
    """Read ``items`` into ``into`` (ids), so what came before an error can be checked."""
    async for item in items:
        into.append(item.id)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("rule", BOUNDS)
async def test_nothing_is_lost_whatever_the_time_rule_and_order(rule: Bounds, order: Order) -> None:
    async with FakePyrusServer(seed=3, time_bounds=rule, order=order) as server:
        server.add_tasks(crowded_hours(900))
        end = DAY + timedelta(hours=4)
        async with client_for(server) as client:
            walk = client.iter_calendar(DAY, end, filters="due")
            got = await ids_of(walk)
        assert len(got) == len(set(got))
        assert set(got) == held(server, DAY, end, int(F.DUE))
        assert walk.requests == server.counters.calendar_requests
        assert walk.incomplete == []


@pytest.mark.parametrize("rule", BOUNDS)
async def test_due_date_tasks_are_complete_whatever_the_date_rule(rule: Bounds) -> None:
    # 45 a day: a window of three days is cut, one (or two sharing a date) is not
    async with FakePyrusServer(seed=4, due_date_bounds=rule, order="shuffled") as server:
        for i in range(1, 12 * 45 + 1):
            server.add_task(Task(id=i, due_date=date(2024, 5, 1) + timedelta(days=i % 12)))
        end = DAY + timedelta(days=11, hours=12)
        async with client_for(server) as client:
            walk = client.iter_calendar(DAY, end, filters="due_date")
            got = await ids_of(walk)
        assert len(got) == len(set(got))
        assert set(got) == held(server, DAY, end, int(F.DUE_DATE))
        assert walk.windows_split >= 1


@pytest.mark.parametrize("rule", BOUNDS)
async def test_mixed_filters_lose_nothing_under_either_rule(rule: Bounds) -> None:
    async with FakePyrusServer(
        seed=5, time_bounds=rule, due_date_bounds=rule, order="shuffled"
    ) as server:
        server.add_tasks(crowded_hours(300))
        for i in range(1001, 1001 + 150):
            server.add_task(Task(id=i, due_date=date(2024, 5, 1) + timedelta(days=i % 3)))
        end = DAY + timedelta(days=2)
        async with client_for(server) as client:
            got = await ids_of(client.iter_calendar(DAY, end, filters="due,due_date"))
        assert len(got) == len(set(got))
        assert set(got) == held(server, DAY, end, int(F.DUE | F.DUE_DATE))


async def test_has_more_counting_hidden_tasks_stops_the_split_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakePyrusServer(seed=6, has_more="before_access") as server:
        server.add_tasks(task_due(i, DAY + timedelta(minutes=2 * i)) for i in range(1, 61))
        for i in range(1000, 1500):  # tasks the user is not involved in
            server.add_task(task_due(i, DAY + timedelta(seconds=150 * (i - 1000))), involved=False)
        async with client_for(server) as client:
            walk = client.iter_calendar(DAY, NEXT_DAY, filters="due")
            got: list[int] = []
            with pytest.raises(IncompleteResultsError, match="has_more with a short page of 60"):
                await collect(walk, got)
            assert sorted(got) == list(range(1, 61))  # what it held was yielded
            assert walk.requests == 1  # not 7,199
            caplog.set_level(logging.WARNING, logger="pyrus_calendar")
            walk = client.iter_calendar(DAY, NEXT_DAY, filters="due", allow_incomplete=True)
            assert len(await ids_of(walk)) == 60
        assert any("short page" in record.getMessage() for record in caplog.records)
        assert [item.reason for item in walk.incomplete] == ["has_more with a short page of 60"]


async def test_a_server_that_ignores_the_window_is_caught() -> None:
    # An independent stub: always the same 100 tasks and has_more, whatever is asked.
    tasks = [
        {"id": i, "due": (DAY + timedelta(minutes=10 * i)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        for i in range(1, 101)
    ]
    requests = 0

    async def calendar(request: web.Request) -> web.Response:
        nonlocal requests
        requests += 1
        return web.json_response({"tasks": tasks, "has_more": True})

    app = web.Application()
    app.router.add_get("/v4/calendar", calendar)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with PyrusClient(token="t0k", base_url=f"http://127.0.0.1:{port}/v4/") as client:
            walk = client.iter_calendar(DAY, NEXT_DAY, filters="due")
            got: list[int] = []
            with pytest.raises(IncompleteResultsError, match="same tasks") as info:
                await collect(walk, got)
    finally:
        await runner.cleanup()
    assert sorted(got) == list(range(1, 101))
    assert requests == walk.requests < 40
    assert len(str(info.value)) < 600  # counts and the first few windows, not every one


async def test_max_requests_ends_the_walk_with_a_clear_error(server: FakePyrusServer) -> None:
    server.order = "shuffled"
    server.add_tasks(crowded_hours(3000))
    async with client_for(server) as client:
        walk = client.iter_calendar(DAY, NEXT_DAY, filters="due", max_requests=5)
        with pytest.raises(IncompleteResultsError, match="max_requests=5 reached"):
            await ids_of(walk)
    assert walk.requests == server.counters.calendar_requests == 5
    assert walk.not_fetched > 0
    with pytest.raises(ValueError, match="max_requests"):
        client.iter_calendar(DAY, NEXT_DAY, max_requests=0)
    with pytest.raises(TypeError, match="max_requests"):
        client.iter_calendar(DAY, NEXT_DAY, max_requests=2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("order", ["shuffled", "due"])
async def test_a_task_whose_due_moves_during_the_walk(order: Order) -> None:
    async with FakePyrusServer(seed=8, order=order) as server:
        server.add_tasks(crowded_hours(900))
        late, early = 880, 5
        # one moves back into what was already walked, one forward into what is still ahead
        server.move_task(late, due=DAY + timedelta(minutes=61), after_requests=4)
        server.move_task(early, due=DAY + timedelta(hours=3, minutes=30), after_requests=4)
        async with client_for(server) as client:
            got = await ids_of(client.iter_calendar(DAY, DAY + timedelta(hours=4), filters="due"))
    assert len(got) == len(set(got))  # never twice, though it was seen in two places
    assert set(range(1, 901)) - {late, early} <= set(got)


async def test_meetings_walk_makes_one_request_when_only_tasks_overflow(
    server: FakePyrusServer,
) -> None:
    server.add_tasks(crowded_hours(600))
    for i in range(1, 41):
        server.add_meeting(Meeting(id=i, start_time=DAY + timedelta(minutes=30 * i)))
    async with client_for(server) as client:
        walk = client.iter_meetings(DAY, NEXT_DAY)
        meetings = [m.id async for m in walk]
    assert meetings == list(range(1, 41))
    assert walk.requests == 1
    assert walk.incomplete == []


@pytest.mark.parametrize("capped", [False, True])
async def test_meetings_over_a_page_are_all_read_whether_or_not_capped(capped: bool) -> None:
    async with FakePyrusServer(seed=9, meetings_capped=capped, time_bounds="open") as server:
        for i in range(1, 251):  # some on the last second of a day
            start = DAY + timedelta(seconds=345 * i) if i % 10 else NEXT_DAY - timedelta(seconds=1)
            server.add_meeting(Meeting(id=i, start_time=start + timedelta(seconds=i % 10)))
        end = DAY + timedelta(days=2)
        async with client_for(server) as client:
            walk = client.iter_meetings(DAY, end, filters="due_date")
            meetings = [m.id async for m in walk]
        assert sorted(meetings) == sorted(server.selects_meetings(DAY, end))
        assert len(meetings) == len(set(meetings))
        # split only when it must: a full list may have been cut, a short one was not
        assert (walk.requests > 1) is capped


async def test_one_walk_yields_tasks_and_meetings_and_says_what_it_did(
    server: FakePyrusServer,
) -> None:
    server.order = "shuffled"
    server.add_tasks(crowded_hours(450))
    for i in range(1, 11):
        server.add_meeting(Meeting(id=i, start_time=DAY + timedelta(hours=i)))
    async with client_for(server) as client:
        walk = client.walk(DAY, NEXT_DAY, filters="due")
        found = [item async for item in walk]
    tasks = [item.id for item in found if isinstance(item, Task)]
    meetings = [item.id for item in found if isinstance(item, Meeting)]
    assert sorted(tasks) == list(range(1, 451))
    assert sorted(meetings) == list(range(1, 11))
    assert (walk.tasks_yielded, walk.meetings_yielded) == (450, 10)
    assert walk.requests == server.counters.calendar_requests
    assert walk.windows_split >= 1
    assert walk.incomplete == []
    assert f"requests={walk.requests}," in repr(walk)
    # the first page held every meeting (a short list is never cut): no part asks again
    sent = server.requests_to("/v4/calendar")
    assert [r.query["include_meetings"] for r in sent].count("true") == 1
    assert len(sent) > 1


def fetches_left() -> list[asyncio.Task[Any]]:
    return [
        task
        for task in asyncio.all_tasks()
        if "PyrusClient._walk" in getattr(task.get_coro(), "__qualname__", "")
    ]


async def test_async_with_stops_the_look_ahead(server: FakePyrusServer) -> None:
    server.add_tasks(crowded_hours(3000))
    server.faults.add_latency(0.02)
    async with client_for(server) as client:
        async with client.iter_calendar(DAY, NEXT_DAY, concurrency=4) as walk:
            async for _ in walk:
                assert fetches_left()
                break
        assert fetches_left() == []
        with pytest.raises(StopAsyncIteration):
            await walk.__anext__()  # a closed walk stays closed


async def test_closing_the_client_ends_a_walk_in_progress(server: FakePyrusServer) -> None:
    server.add_tasks(crowded_hours(3000))
    server.faults.add_latency(0.01)
    client = client_for(server, retry=FAST)
    walk = client.iter_calendar(DAY, NEXT_DAY)
    await walk.__anext__()
    sent = server.counters.calendar_requests
    await client.aclose()
    with pytest.raises(ClientClosedError):
        async for _ in walk:
            pass
    assert fetches_left() == []
    assert server.counters.calendar_requests <= sent + 4  # at most what was in flight


def test_bad_walk_arguments_fail_before_any_request() -> None:
    client = PyrusClient(token="t0k", base_url="http://127.0.0.1:9/v4/")
    start = datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="concurrency"):
        client.walk(start, start + timedelta(days=1), concurrency=0)
    with pytest.raises(TypeError, match="item_count"):
        client.iter_meetings(start, start + timedelta(days=1), item_count="5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="end"):
        client.walk(start, start)


# ---- a broken has_more: a passing glitch, a server that ignores the window ----------------


@pytest.mark.parametrize("after", [0, 1, 3])
async def test_an_empty_page_with_has_more_once_is_asked_again_and_nothing_is_lost(
    after: int,
) -> None:
    """One answer of ``tasks: []`` with ``has_more`` (the first, or a part's), then the
    server behaves: the walk asks that window once more and finds everything."""
    async with FakePyrusServer(seed=11) as server:
        server.add_tasks(crowded_hours(450))
        async with client_for(server) as client:
            honest = client.iter_calendar(DAY, NEXT_DAY, filters="due")
            expected = sorted(await ids_of(honest))
            server.glitch_next(1, after=after)
            walk = client.iter_calendar(DAY, NEXT_DAY, filters="due")
            got = await ids_of(walk)
    assert expected == list(range(1, 451))
    assert sorted(got) == expected
    assert walk.incomplete == []
    assert walk.requests == honest.requests + 1  # one more try, no more


async def test_an_empty_page_with_has_more_that_stays_is_reported_not_retried_forever() -> None:
    async with FakePyrusServer(seed=12) as server:
        server.add_tasks(crowded_hours(60))
        server.glitch_next(50)
        async with client_for(server) as client:
            walk = client.iter_calendar(DAY, NEXT_DAY, filters="due")
            with pytest.raises(IncompleteResultsError, match="short page of 0"):
                await ids_of(walk)
    assert walk.requests == 2


async def test_a_glitch_in_a_meetings_window_loses_no_meeting() -> None:
    async with FakePyrusServer(seed=13) as server:
        for i in range(1, 31):
            server.add_meeting(Meeting(id=i, start_time=DAY + timedelta(minutes=40 * i)))
        server.glitch_next(1)
        async with client_for(server) as client:
            walk = client.iter_meetings(DAY, NEXT_DAY)
            meetings = [m.id async for m in walk]
    assert meetings == list(range(1, 31))
    assert walk.requests == 2


@pytest.mark.parametrize(
    ("filters", "with_due"),
    [("reminded", False), ("due", True), ("due_for_current_step", False), (None, False)],
)
async def test_a_server_that_ignores_the_window_stops_within_a_few_dozen_requests(
    filters: str | None, with_due: bool
) -> None:
    """The same 100 tasks with has_more for every window (the fake, ``honours_window=False``),
    tasks with or without a ``due`` to place them: the loss is raised, soon."""
    start = DAY + timedelta(hours=9)
    async with FakePyrusServer(seed=14, honours_window=False) as server:
        for i in range(1, 301):
            moment = start + timedelta(seconds=11 * i)
            task = task_due(i, moment) if with_due else Task(id=i)
            server.add_task(task, step_due=moment, reminders=[moment])
        async with client_for(server) as client:
            chosen: dict[str, Any] = {} if filters is None else {"filters": filters}
            walk = client.iter_calendar(start, start + timedelta(hours=1), **chosen)
            got: list[int] = []
            with pytest.raises(IncompleteResultsError, match="same tasks"):
                await collect(walk, got)
    assert len(got) == len(set(got)) >= 100  # what the pages held was yielded, once
    assert walk.requests == server.counters.calendar_requests <= 40
