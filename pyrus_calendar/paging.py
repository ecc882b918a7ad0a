"""Follow ``has_more`` to the end of a calendar window.

``GET /calendar`` has no cursor and no documented order: a cut page (``has_more``) says only
that the window holds more than ``item_count`` entries. So a cut window is split and its
parts fetched again, until every part answers ``has_more=False``; ids already yielded are
skipped (a task can match several filter bits and show up in several parts).

The ``DueDate`` bit selects by calendar *day* and ignores the time, so halving a window
in time cannot narrow it below a day. When a window that mixes ``DueDate`` with the
time-based bits is cut, it is therefore separated into two streams: the time-based bits,
split down to one second, and ``DueDate`` alone, split by whole days. Only a one-second
window (time bits) or a one-day window (``DueDate``) that is still cut is a real loss; its
entries are yielded and :class:`IncompleteResultsError` is raised at the end (or a warning
logged, with ``allow_incomplete``).

Windows are fetched ``concurrency`` at a time, a bounded look-ahead in window order, and
entries come out in window order (by window start). The only state that grows with the
result is the set of yielded ids.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from calendar_transport.errors import IncompleteResultsError

from .filters import CalendarFilter
from .models import CalendarPage

__all__ = [
    "Fetch",
    "Window",
    "ceil_second",
    "floor_second",
    "format_utc",
    "paginate",
    "split_window",
]

logger = logging.getLogger("pyrus_calendar")

T = TypeVar("T")
#: fetches one window; the flag says whether a cut page's entries are needed (they are not
#: when the window will be split: its parts bring the same entries again)
Fetch = Callable[["Window", bool], Coroutine[Any, Any, CalendarPage]]

_SECOND = timedelta(seconds=1)
_LAST_SECOND = time(23, 59, 59)


def format_utc(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC, the format ``/calendar`` takes."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def floor_second(value: datetime) -> datetime:
    """``value`` in UTC without its fraction of a second."""
    return value.astimezone(UTC).replace(microsecond=0)


def ceil_second(value: datetime) -> datetime:
    """``value`` in UTC rounded up to a whole second (the wire has no fractions)."""
    floored = floor_second(value)
    return floored if floored == value else floored + _SECOND


@dataclass(frozen=True, slots=True)
class Window:
    """One ``/calendar`` request: a UTC time range (whole seconds), a mask, and whether the
    request asks for meetings."""

    start: datetime
    end: datetime
    mask: CalendarFilter
    meetings: bool = False

    def __str__(self) -> str:
        return f"{format_utc(self.start)}..{format_utc(self.end)} filter_mask={int(self.mask)}"

    @property
    def by_day(self) -> bool:
        """Whether this window selects by calendar day only (the ``DueDate`` bit alone)."""
        return self.mask == CalendarFilter.DUE_DATE


def split_window(window: Window) -> list[Window] | None:
    """The parts to fetch instead of a cut ``window``, or ``None`` when it cannot shrink."""
    time_bits = CalendarFilter(window.mask & ~CalendarFilter.DUE_DATE)
    if window.mask & CalendarFilter.DUE_DATE and time_bits:
        # Meetings do not depend on the mask: the time-based stream brings them.
        return [
            Window(window.start, window.end, time_bits, window.meetings),
            Window(window.start, window.end, CalendarFilter.DUE_DATE, False),
        ]
    if window.by_day:
        return _split_days(window)
    return _split_time(window)


def _split_time(window: Window) -> list[Window] | None:
    seconds = int((window.end - window.start).total_seconds())
    if seconds <= 1:
        return None
    middle = window.start + timedelta(seconds=seconds // 2)
    return [
        Window(window.start, middle, window.mask, window.meetings),
        Window(middle, window.end, window.mask, window.meetings),
    ]


def _split_days(window: Window) -> list[Window] | None:
    # DueDate covers every calendar date from start's to end's, both included, so the
    # parts end at 23:59:59 and start at midnight to share no date.
    first, last = window.start.date(), window.end.date()
    if first == last:
        return None
    middle = first + timedelta(days=(last - first).days // 2)
    left_end = min(window.end, datetime.combine(middle, _LAST_SECOND, tzinfo=UTC))
    right_start = datetime.combine(middle + timedelta(days=1), time(), tzinfo=UTC)
    # Known limit: a meeting is selected by its start time, so if the server treats
    # end_date_utc as exclusive, one starting in the last second of ``middle`` falls between
    # the parts. Sharing that second cannot be done without a part that never narrows; the
    # API does not say which way it counts, and only a DueDate-only walk with meetings
    # splits by day.
    right_end = max(window.end, right_start + _SECOND)
    return [
        Window(window.start, left_end, window.mask, window.meetings),
        Window(right_start, right_end, window.mask, window.meetings),
    ]


_sequence = itertools.count()


class _Node:
    __slots__ = ("order", "page", "task", "window")

    def __init__(self, window: Window) -> None:
        self.window = window
        # Window order: by start; the day-based stream after the time-based one on ties.
        self.order = (window.start, window.by_day, next(_sequence))
        self.page: CalendarPage | None = None
        self.task: asyncio.Task[CalendarPage] | None = None


async def paginate(
    fetch: Fetch,
    first: Window,
    *,
    pick: Callable[[CalendarPage], Sequence[T]],
    key: Callable[[T], int],
    concurrency: int,
    allow_incomplete: bool,
    want_tasks: bool = True,
    on_window: Callable[[Window, bool], Awaitable[object]] | None = None,
) -> AsyncGenerator[T, None]:
    """Yield every entry ``pick`` takes from the pages of ``first`` and its parts, once each.

    ``want_tasks=False`` (meetings only) skips the day-based parts, which carry no meetings.
    ``on_window`` is awaited with each window whose answer arrived and whether it was cut.
    """
    lookahead = max(2 * concurrency, 2)
    nodes = [_Node(first)]
    running: dict[asyncio.Task[CalendarPage], _Node] = {}
    seen: set[int] = set()
    incomplete: list[Window] = []
    try:
        while nodes:
            for node in nodes[:lookahead]:
                if len(running) >= concurrency:
                    break
                if node.task is None and node.page is None:
                    keep_cut = split_window(node.window) is None
                    node.task = asyncio.create_task(fetch(node.window, keep_cut))
                    running[node.task] = node
            head = nodes[0]
            if head.page is not None:
                del nodes[0]
                for item in pick(head.page):
                    item_key = key(item)
                    if item_key not in seen:
                        seen.add(item_key)
                        yield item
                continue
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                node = running.pop(task)
                node.task = None
                page = task.result()
                if on_window is not None:  # the hooks' call point (on_window)
                    await on_window(node.window, page.has_more)
                parts = split_window(node.window) if page.has_more else None
                if parts is None:
                    if page.has_more:
                        incomplete.append(node.window)
                    node.page = page
                    continue
                # A cut page is dropped: its parts will bring the same entries again.
                nodes.remove(node)
                for part in parts:
                    if want_tasks or part.meetings:
                        bisect.insort(nodes, _Node(part), key=lambda n: n.order)
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    if incomplete and want_tasks:
        # (item_count limits tasks, not meetings: a cut page still carries all its meetings,
        # so a meetings-only walk loses nothing to a window that stays cut.)
        windows = ", ".join(str(window) for window in incomplete)
        message = (
            f"{len(incomplete)} calendar window(s) still had more entries than one page "
            f"holds and cannot be split further (one second, or one day for DueDate): "
            f"{windows}; some entries were not returned"
        )
        if not allow_incomplete:
            raise IncompleteResultsError(message)
        logger.warning(message)
