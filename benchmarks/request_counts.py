"""How many requests ``iter_calendar`` needs for 10,000 unevenly loaded tasks over 30 days
(:func:`benchmarks.data.uneven_due_times`), against servers that shuffle every answer,
sort by due and sort by id, next to the minimum ``ceil(tasks / item_count)``.

The count depends on where the deadlines are and on the server's order, not on what a task
holds, so the tasks here carry only an id and a deadline, and the fake runs in this process
without latency: the whole comparison takes a few seconds. ``tests/pyrus_calendar/
test_bench_request_counts.py`` runs the same walks with the same seed in ``make test``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pyrus_calendar import PyrusClient, Task
from pyrus_calendar.testing import FakePyrusServer
from pyrus_calendar.testing.fake import Order

from .data import SPAN_END, SPAN_START, uneven_due_times
from .report import Row

ITEM_COUNT = 100
SEED = 1
#: the orders compared, with the target for each (None: reported, no target)
TARGETS: dict[Order, float | None] = {"shuffled": 1.5, "due": 1.2, "id": None}
_SERVERS = {
    "shuffled": "shuffling server",
    "due": "server sorting by due",
    "id": "server sorting by id",
}


@dataclass(frozen=True)
class Walk:
    """What one ``iter_calendar`` over the span cost."""

    order: Order
    tasks: int
    yielded: int
    requests: int

    @property
    def minimum(self) -> int:
        """The fewest requests any walk could make: ``ceil(tasks / item_count)``."""
        return -(-self.tasks // ITEM_COUNT)

    @property
    def ratio(self) -> float:
        """Requests made over the minimum."""
        return self.requests / self.minimum


def server_with(order: Order, tasks: int, *, seed: int = SEED) -> FakePyrusServer:
    """A fake holding ``tasks`` id-and-deadline tasks on the uneven load, in ``order``."""
    server = FakePyrusServer(order=order, rate_limit=None, record_requests=False, seed=seed)
    for task_id, due in enumerate(uneven_due_times(tasks, seed=seed), start=1):
        server.add_task(Task(id=task_id, due=due))
    return server


async def walk(order: Order, tasks: int = 10_000, *, seed: int = SEED) -> Walk:
    """One ``iter_calendar`` over the span (``filters="due"``, default concurrency)."""
    async with server_with(order, tasks, seed=seed) as server:
        async with PyrusClient(
            base_url=server.api_url,
            login=server.DEFAULT_LOGIN,
            security_key=server.DEFAULT_SECURITY_KEY,
        ) as pyrus:
            seen: set[int] = set()
            async for task in pyrus.iter_calendar(
                SPAN_START, SPAN_END, filters="due", item_count=ITEM_COUNT
            ):
                seen.add(task.id)
        return Walk(order, tasks, len(seen), server.counters.calendar_requests)


async def walks(tasks: int = 10_000, *, seed: int = SEED) -> list[Walk]:
    """One walk per order of :data:`TARGETS`, one after the other."""
    return [await walk(order, tasks, seed=seed) for order in TARGETS]


def run(*, quick: bool = False) -> list[Row]:
    """The request-count rows, one per server order."""
    tasks = 2_000 if quick else 10_000
    rows = []
    for result in asyncio.run(walks(tasks)):
        assert result.yielded == tasks, f"{result.order}: {result.yielded} of {tasks} tasks"
        target = TARGETS[result.order]
        server = _SERVERS[result.order]
        rows.append(
            Row(
                measure=f"iter_calendar requests, {tasks:,} uneven tasks, {server}"
                if not rows
                else f"  same, {server}",
                sdk=f"{result.requests}",
                baseline=f"{result.minimum} (the minimum, {tasks:,} / {ITEM_COUNT})",
                result=f"{result.ratio:.2f}x the minimum",
                target="(informational)" if target is None else f"<= {target}x",
                ok=None if target is None else result.ratio <= target,
            )
        )
    rows[0].notes.append(
        f"{tasks:,} tasks: 15 % in a 3-hour burst on one afternoon, most of the rest in"
        " working hours Mon-Fri Moscow time (benchmarks/data.py, seed"
        f" {SEED}); filters='due', item_count={ITEM_COUNT}, default concurrency; counted"
        " by the fake"
    )
    return rows


def profile(*, quick: bool = False) -> None:
    """The counts, printed (nothing here is worth a cProfile)."""
    for result in asyncio.run(walks(2_000 if quick else 10_000)):
        print(result)
