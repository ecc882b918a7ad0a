"""Property tests of the paging engine, against an in-memory server written here (not the
fake), so the rules checked are not the fake's own assumptions.

- For random windows, masks, task sets and each boundary rule, the leaves of any split tree
  the engine may build select together exactly what their root selects.
- A walk terminates within its budget, yields nothing twice, and either yields everything
  the root selects or raises saying it did not.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyrus_calendar import CalendarFilter, IncompleteResultsError, Meeting, Task
from pyrus_calendar.models import CalendarPage
from pyrus_calendar.paging import Answer, CalendarWalk, Mode, Skim, Window, split_window

F = CalendarFilter
BASE = datetime(2024, 5, 1, tzinfo=UTC)
RULES = ("closed", "half_open", "open_closed", "open")
_WITHIN: dict[str, Callable[[Any, Any, Any], bool]] = {
    "closed": lambda low, value, high: low <= value <= high,
    "half_open": lambda low, value, high: low <= value < high,
    "open_closed": lambda low, value, high: low < value <= high,
    "open": lambda low, value, high: low < value < high,
}


@dataclass(frozen=True)
class Item:
    id: int
    due: datetime | None
    due_date: date | None


@dataclass(frozen=True)
class Rules:
    time: str
    days: str

    def tasks(self, items: Sequence[Item], window: Window) -> set[int]:
        within_time, within_days = _WITHIN[self.time], _WITHIN[self.days]
        first, last = window.start.date(), window.end.date()
        found = set()
        for item in items:
            if (
                window.mask & F.DUE
                and item.due is not None
                and within_time(window.start, item.due, window.end)
            ) or (
                window.mask & F.DUE_DATE
                and item.due_date is not None
                and within_days(first, item.due_date, last)
            ):
                found.add(item.id)
        return found

    def meetings(self, items: Sequence[Item], window: Window) -> set[int]:
        # A meeting is selected by its start time; `due` stands for it here.
        within = _WITHIN[self.time]
        return {
            i.id for i in items if i.due is not None and within(window.start, i.due, window.end)
        }


def modes_for(rules: Rules, window: Window) -> list[Mode]:
    """The modes the engine may use once it has proved what the rule allows."""
    rule = rules.days if window.by_day else rules.time
    modes: list[Mode] = ["overlap"]
    if rule != "open":
        modes.append("shared")
    if rule == "closed" and window.by_day:
        modes.append("disjoint")
    return modes


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Window, list[Item], Rules]:
    by_days = draw(st.booleans())
    length = draw(st.integers(3, 6 * 86400 if by_days else 600))
    start = BASE + timedelta(seconds=draw(st.integers(0, 86400 * 2)))
    end = start + timedelta(seconds=length)
    mask = draw(st.sampled_from([F.DUE, F.DUE_DATE, F.DUE | F.DUE_DATE, F.DUE | F.REMINDED]))
    days = (end.date() - start.date()).days
    items = []
    for task_id in range(1, draw(st.integers(0, 40)) + 1):
        due = draw(st.none() | st.integers(-2, length + 2))
        day = draw(st.none() | st.integers(-1, days + 1))
        items.append(
            Item(
                task_id,
                None if due is None else start + timedelta(seconds=due),
                None if day is None else start.date() + timedelta(days=day),
            )
        )
    rules = Rules(draw(st.sampled_from(RULES)), draw(st.sampled_from(RULES)))
    return Window(start, end, mask, meetings=draw(st.booleans())), items, rules


@given(scenarios(), st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_leaves_select_exactly_what_their_root_selects(
    scenario: tuple[Window, list[Item], Rules], rng: random.Random
) -> None:
    root, items, rules = scenario
    leaves = []
    stack = [(root, 0)]
    while stack:  # bounded: every part is strictly narrower, and the depth is capped
        window, depth = stack.pop()
        positions = _positions(window, items, rng)
        parts = split_window(
            window,
            positions,
            parts=rng.randint(2, 4),
            mode=rng.choice(modes_for(rules, window)),
            prefix=rng.random() < 0.3,
            target=rng.uniform(1, 10),
        )
        if parts is None or depth >= 3:
            leaves.append(window)
            continue
        for part in parts:
            assert part.start <= part.end
            assert (part.start, part.end) != (window.start, window.end) or part.mask != window.mask
            stack.append((part, depth + 1))
    selected: set[int] = set()
    for leaf in leaves:
        found = rules.tasks(items, leaf)
        assert found <= rules.tasks(items, root)  # a part never selects more
        selected |= found
    assert selected == rules.tasks(items, root)
    if root.meetings:
        meetings = set().union(*(rules.meetings(items, leaf) for leaf in leaves if leaf.meetings))
        assert meetings == rules.meetings(items, root)


def _positions(window: Window, items: Sequence[Item], rng: random.Random) -> list[int]:
    if window.by_day:
        found = [i.due_date.toordinal() for i in items if i.due_date is not None]
    else:
        found = [int(i.due.timestamp()) for i in items if i.due is not None]
    rng.shuffle(found)
    return found[: rng.randint(0, len(found))]


# ---- whole walks against an in-memory server ----------------------------------------------


@dataclass
class MemoryServer:
    """Answers windows from ``items`` under ``rules``: ``order`` before the cut, and
    ``lying``: has_more also counts ``hidden`` tasks the user may not see."""

    items: list[Item]
    rules: Rules
    item_count: int
    order: str
    rng: random.Random
    hidden: int = 0
    requests: int = 0

    async def fetch(self, window: Window) -> Answer:
        self.requests += 1
        ids = sorted(self.rules.tasks(self.items, window))
        by_id = {item.id: item for item in self.items}
        if self.order == "reverse":
            ids.reverse()
        elif self.order == "due":
            ids.sort(key=lambda i: (by_id[i].due_date or date.max, by_id[i].due or BASE, i))
        elif self.order == "shuffled":
            self.rng.shuffle(ids)
        meetings = sorted(self.rules.meetings(self.items, window)) if window.meetings else []
        page = {
            "tasks": [_task_json(by_id[i]) for i in ids[: self.item_count]],
            "has_more": len(ids) + self.hidden > self.item_count,
            "meetings": [
                {"id": i, "start_time": _stamp(by_id[i].due)} for i in meetings if by_id[i].due
            ],
        }
        raw = msgspec.json.encode(page)
        skim = msgspec.json.decode(raw, type=Skim)

        def tasks() -> list[Task]:
            return msgspec.json.decode(raw, type=CalendarPage).tasks

        def found() -> list[Meeting]:
            return msgspec.json.decode(raw, type=CalendarPage).meetings

        return Answer(skim, tasks, found)


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _task_json(item: Item) -> dict[str, Any]:
    task: dict[str, Any] = {"id": item.id}
    if item.due is not None:
        task["due"] = _stamp(item.due)
    if item.due_date is not None:
        task["due_date"] = item.due_date.isoformat()
    return task


@given(
    scenarios(),
    st.sampled_from(["id", "reverse", "due", "shuffled"]),
    st.integers(1, 6),
    st.sampled_from([0, 0, 3]),
    st.sampled_from([None, 5, 40]),
    st.randoms(use_true_random=False),
)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
async def test_a_walk_ends_within_its_budget_and_never_loses_silently(
    scenario: tuple[Window, list[Item], Rules],
    order: str,
    item_count: int,
    hidden: int,
    max_requests: int | None,
    rng: random.Random,
) -> None:
    root, items, rules = scenario
    server = MemoryServer(items, rules, item_count, order, rng, hidden=hidden)
    walk: CalendarWalk[Task] = CalendarWalk(
        server.fetch,
        Window(root.start, root.end, root.mask),
        tasks=True,
        meetings=False,
        item_count=item_count,
        concurrency=rng.randint(1, 4),
        allow_incomplete=False,
        max_requests=max_requests,
    )
    got: list[int] = []
    complete = True
    try:
        async for task in walk:
            got.append(task.id)
    except IncompleteResultsError:
        complete = False
    expected = rules.tasks(items, root)
    assert len(got) == len(set(got))  # nothing twice
    assert set(got) <= expected
    assert walk.requests == server.requests
    # without a budget a walk still ends: each split narrows, and the windows are finite
    assert walk.requests <= (max_requests or 10_000)
    if complete:
        assert set(got) == expected
    else:
        assert walk.incomplete or walk.not_fetched
    assert walk.tasks_yielded == len(got)


@pytest.mark.parametrize("rule", RULES)
async def test_tasks_on_every_second_of_a_short_window_all_come_back(rule: str) -> None:
    # two tasks per second: each cut point's second holds tasks, whatever the rule
    start = BASE + timedelta(hours=1)
    items = [Item(i, start + timedelta(seconds=i // 2), None) for i in range(2, 200)]
    rules = Rules(rule, "closed")
    server = MemoryServer(items, rules, 10, "id", random.Random(1))
    root = Window(start, start + timedelta(seconds=101), F.DUE)
    walk: CalendarWalk[Task] = CalendarWalk(
        server.fetch,
        root,
        tasks=True,
        meetings=False,
        item_count=10,
        concurrency=2,
        allow_incomplete=False,
        max_requests=None,
    )
    got = [task.id async for task in walk]
    assert sorted(got) == sorted(rules.tasks(items, root))
