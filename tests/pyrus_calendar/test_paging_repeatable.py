"""A walk's splits depend on the answers only, not on the order they arrive in: against a
server whose answer to a window is always the same, every arrival order makes the same
requests (so the request counts of ``make bench`` are repeatable)."""

from __future__ import annotations

import asyncio
import bisect
import random
import zlib
from datetime import timedelta

import pytest

from benchmarks.data import SPAN_END, SPAN_START, uneven_due_times
from pyrus_calendar import CalendarFilter, Task
from pyrus_calendar.paging import Answer, CalendarWalk, Skim, Window, _TaskKey

ITEM_COUNT = 100


class ShufflingByWindow:
    """Answers each window with a sample that depends on the window alone (a shuffling
    server with a seed per window), after ``delay(window)`` turns of the event loop."""

    def __init__(self, tasks: int, arrival: random.Random) -> None:
        dues = uneven_due_times(tasks, seed=2)
        self.items = sorted((due, task_id) for task_id, due in enumerate(dues, start=1))
        self.keys = [due for due, _ in self.items]
        self.arrival = arrival
        self.sent: list[Window] = []

    async def fetch(self, window: Window) -> Answer:
        self.sent.append(window)
        for _ in range(self.arrival.randrange(12)):  # answers overtake one another
            await asyncio.sleep(0)
        low = bisect.bisect_left(self.keys, window.start)
        high = bisect.bisect_right(self.keys, window.end)
        selected = self.items[low:high]
        seed = zlib.crc32(f"{window.start.timestamp()} {window.end.timestamp()}".encode())
        page = random.Random(seed).sample(selected, min(ITEM_COUNT, len(selected)))
        skim = Skim(
            has_more=len(selected) > ITEM_COUNT,
            tasks=[_TaskKey(task_id, due) for due, task_id in page],
        )
        return Answer(
            skim, lambda: [Task(id=task_id, due=due) for due, task_id in page], lambda: []
        )


def walk_window() -> Window:
    return Window(SPAN_START, SPAN_END - timedelta(days=20), CalendarFilter.DUE)


async def requests_made(arrival_seed: int) -> list[Window]:
    server = ShufflingByWindow(3000, random.Random(arrival_seed))
    walk: CalendarWalk[Task] = CalendarWalk(
        server.fetch,
        walk_window(),
        tasks=True,
        meetings=False,
        item_count=ITEM_COUNT,
        concurrency=4,
        allow_incomplete=False,
        max_requests=None,
    )
    got = [task.id async for task in walk]
    root = walk_window()
    expected = {task_id for due, task_id in server.items if root.start <= due <= root.end}
    assert len(got) == len(set(got))
    assert set(got) == expected
    assert walk.requests == len(server.sent)
    return server.sent


@pytest.mark.parametrize("arrival_seed", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
async def test_the_same_answers_in_another_arrival_order_make_the_same_requests(
    arrival_seed: int,
) -> None:
    in_order = await requests_made(0)
    assert len(in_order) > 10  # the walk split, and learnt from its answers
    assert await requests_made(arrival_seed) == in_order
