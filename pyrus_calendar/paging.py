"""Follow ``has_more`` to the end of a calendar window, whatever the server's boundary rule.

``GET /calendar`` has no cursor and no documented order: a cut page (``has_more``) says only
that the window holds more than ``item_count`` tasks. A cut window is therefore split and
its parts fetched again, until every part answers ``has_more=False``; ids already yielded
are skipped (a task can match several filter bits and show up in several parts).

Coverage. The API does not say whether ``start_date_utc``/``end_date_utc`` count, nor, for
``DueDate``, whether the end date counts. Parts therefore overlap by one unit (a second, or a
day for ``DueDate``): ``[s, m+1]`` and ``[m, e]`` select together what ``[s, e]`` selects
under each rule, closed, half-open either way or open. A task seen exactly on a window's
start or end proves that end inclusive; once an end is known to count, parts only share
their boundary (one unit narrower), and once both do (``DueDate`` only), parts are disjoint
whole days. A window that cannot be split under what is known (two seconds, or three
dates for ``DueDate``, until an end is seen to count) and is still cut is a real loss: its
entries are yielded and the loss is reported.

Load. A cut page's tasks are a sample of its window: their ``due`` (or ``due_date``) says
where the load is. Parts are cut at the sample's quantiles, as many as the estimated count
needs; the count is learnt from the walk itself (pages that were not cut, and, for a server
that shuffles, how much a part's page overlaps its parent's). A page whose deadlines come in
order is a prefix: its window is cut just before the last deadline it holds, one part of the
same density is laid after that, and the rest is left to a last part. The order is only a
hint for where to cut: every window whose tasks are yielded as complete was answered
``has_more=False``.

No runaway. A page with fewer than ``item_count`` tasks that still says ``has_more``, or a
part that brings back exactly the ids of the page it was cut from although it leaves out some
of their deadlines, or twice in a row (a server ignoring the window), is not split further;
a walk makes at most ``max_requests`` requests. A page with nothing in it that says
``has_more`` is asked once more first: a passing glitch is no reason to give up a window.

Windows are fetched ``concurrency`` at a time, a bounded look-ahead in window order, and
entries come out in window order (by window start). What grows with the result is the set
of yielded ids.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import math
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, Literal, TypeVar

import msgspec

from calendar_transport.errors import IncompleteResultsError

from ._base import format_utc, to_utc
from .filters import CalendarFilter
from .models import Meeting, Task

__all__ = [
    "DEFAULT_MAX_REQUESTS",
    "Answer",
    "CalendarWalk",
    "Fetch",
    "Incomplete",
    "Keep",
    "Mode",
    "Skim",
    "Window",
    "ceil_second",
    "floor_second",
    "format_utc",
    "split_window",
]

logger = logging.getLogger("pyrus_calendar")

#: requests one walk may make unless told otherwise: a fifth of Pyrus cloud's 5,000 per 10 min
DEFAULT_MAX_REQUESTS = 1000

#: how a split's parts meet: overlapping by one unit (no end known to count), sharing their
#: boundary unit (one end counts), or disjoint (both ends count)
Mode = Literal["overlap", "shared", "disjoint"]

T = TypeVar("T")

_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_SECOND = time(23, 59, 59)
_ONE_DAY = timedelta(days=1)
# Parts are sized for this share of a page (tuned on `make bench`: fuller parts are cut
# more often, emptier ones cost more requests).
_FILL = 0.9
_MAX_PARTS = 32
# What a cut page is taken to hold, in pages, when the count is estimated from the walk.
_CUT_WEIGHT = 1.3
# A prefix (ordered) page: parts of the same density laid ahead of the known part.
_PREFIX_AHEAD = 1
# Failure reasons, short: they end up in messages.
_NARROW = "cannot be narrowed"
_SHORT = "has_more with a short page"
_SAME = "split brought back the same tasks"


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
    #: the caller's own first and last dates, where they differ from the UTC dates of
    #: ``start`` / ``end``: ``DueDate`` selects by date, and "today" in Moscow is not the UTC
    #: date of its first instant
    days: tuple[date, date] | None = None
    #: where meetings are asked for from, apart from the tasks, when that is earlier than
    #: ``start`` (a meeting that runs into the window began before it)
    meetings_from: datetime | None = None

    def __str__(self) -> str:
        return f"{format_utc(self.start)}..{format_utc(self.end)} filter_mask={int(self.mask)}"

    @property
    def by_day(self) -> bool:
        """Whether this window selects by calendar day only (the ``DueDate`` bit alone)."""
        return self.mask == CalendarFilter.DUE_DATE

    @property
    def mixed(self) -> bool:
        """Whether the mask mixes ``DueDate`` (whole days) with time-based bits."""
        return bool(self.mask & CalendarFilter.DUE_DATE) and not self.by_day

    def day_part(self) -> Window:
        """The ``DueDate`` request for this window's dates: the caller's own dates, asked for
        as the UTC days they name (the server reads the dates of the UTC bounds), a day
        wider on each side so that no rule for counting the end dates leaves one out."""
        if self.days is None:
            return Window(self.start, self.end, CalendarFilter.DUE_DATE, False)
        first, last = self.days
        before = first - _ONE_DAY if first > date.min else first
        after = last + _ONE_DAY if last < date.max else last
        start = datetime.combine(before, time(), tzinfo=UTC)
        end = datetime.combine(after, _LAST_SECOND, tzinfo=UTC)
        return Window(start, end, CalendarFilter.DUE_DATE, False)

    def roots(self) -> list[tuple[Window, bool]]:
        """The windows a walk starts from, each with whether it is asked for tasks: the window
        itself, or, when the caller's dates are not the UTC dates, its time-based part (with
        the meetings) and its ``DueDate`` part apart; with ``meetings_from``, the meetings
        apart from the tasks."""
        if self.meetings and self.meetings_from is not None:
            meetings = Window(self.meetings_from, self.end, CalendarFilter.DUE, True)
            tasks = replace(self, meetings=False, meetings_from=None)
            return [(meetings, False), *((w, t) for w, t in tasks.roots() if t)]
        if self.days is None or not self.mask & CalendarFilter.DUE_DATE:
            return [(self, True)]
        roots = [(self.day_part(), True)]
        if self.mixed:
            time_bits = CalendarFilter(self.mask & ~CalendarFilter.DUE_DATE)
            roots.insert(0, (Window(self.start, self.end, time_bits, self.meetings), True))
        elif self.meetings:  # meetings are selected by time: the caller's instants, no tasks
            roots.insert(0, (Window(self.start, self.end, CalendarFilter.DUE, True), False))
        return roots


# ---- the skim: what a cut page tells, decoded without building models ---------------------


class _TaskKey(msgspec.Struct, gc=False):
    id: int
    due: datetime | None = None
    due_date: date | None = None


class _MeetingKey(msgspec.Struct, gc=False):
    id: int
    start_time: datetime | None = None


class Skim(msgspec.Struct, gc=False):
    """A ``/calendar`` answer skimmed for paging: ``has_more``, ids and deadlines only."""

    has_more: bool = False
    tasks: list[_TaskKey] = msgspec.field(default_factory=list)
    meetings: list[_MeetingKey] = msgspec.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Answer:
    """One fetched page: its skim, and how to decode its tasks and meetings when needed."""

    skim: Skim
    tasks: Callable[[], list[Task]]
    meetings: Callable[[], list[Meeting]]


#: fetches one window
Fetch = Callable[[Window], Awaitable[Answer]]
#: whether an entry an answer to a window brought is the caller's (the SDK's window rule)
Keep = Callable[[Window, "Task | Meeting"], bool]


@dataclass(frozen=True, slots=True)
class Incomplete:
    """A window the walk could not read completely, and why."""

    window: Window
    reason: str

    def __str__(self) -> str:
        return f"{self.window} ({self.reason})"


# ---- splitting (pure) ------------------------------------------------------------------------


def _seconds(value: datetime) -> int:
    return int((value - _EPOCH).total_seconds())


def _moment(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _bounds_of(window: Window) -> tuple[int, int]:
    if window.by_day:
        return window.start.date().toordinal(), window.end.date().toordinal()
    return _seconds(window.start), _seconds(window.end)


def _allowed(low: int, high: int, mode: Mode) -> tuple[int, int]:
    """The range cut points may take for parts strictly narrower than ``[low, high]``."""
    if mode == "overlap":  # parts [low, m+1] .. [m, high]
        return low + 1, high - 2
    if mode == "shared":  # parts [low, m] .. [m, high]
        return low + 1, high - 1
    return low, high - 1  # parts [low, m] .. [m+1, high]


def _quantile_cuts(low: int, high: int, positions: Sequence[int], parts: int) -> list[int]:
    ordered = sorted(positions)
    if not ordered:  # nothing says where the load is: equal lengths
        return [low + (high - low) * i // parts for i in range(1, parts)]
    cuts = []
    for i in range(1, parts):
        index = min(max(round(i * len(ordered) / parts), 1), len(ordered) - 1)
        # between two sampled deadlines, so few tasks sit on the shared boundary
        cuts.append((ordered[index - 1] + ordered[index]) // 2)
    return cuts


def _prefix_cuts(low: int, high: int, positions: Sequence[int], target: float) -> list[int]:
    # The page holds the first tasks of its window: everything before its last deadline is
    # known, so the first part ends just before it; the rest is laid out at that density.
    last = max(positions)
    step = max(math.ceil(target * (last - low + 1) / len(positions)), 1)
    cuts = [last - 2]
    while len(cuts) <= _PREFIX_AHEAD and cuts[-1] + step < high - 2:
        cuts.append(cuts[-1] + step)
    return cuts


def _clean(cuts: Sequence[int], low: int, high: int) -> list[int]:
    return sorted({min(max(cut, low), high) for cut in cuts})


def split_window(
    window: Window,
    positions: Sequence[int] = (),
    *,
    parts: int = 2,
    mode: Mode = "overlap",
    prefix: bool = False,
    target: float = 75.0,
) -> list[Window] | None:
    """The parts to fetch instead of a cut ``window``, or ``None`` when it cannot shrink.

    A window mixing ``DueDate`` with time-based bits is first separated into the two. Else
    it is cut into ``parts`` at the quantiles of ``positions`` (sampled deadlines: epoch
    seconds, or date ordinals for ``DueDate``), or, with ``prefix``, after the known part
    (see the module's docstring); ``mode`` says how parts meet. Together the parts select
    what ``window`` selects under the boundary rules ``mode`` allows for.
    """
    if window.mixed:
        # Meetings do not depend on the mask: the time-based stream brings them.
        time_bits = CalendarFilter(window.mask & ~CalendarFilter.DUE_DATE)
        return [
            Window(window.start, window.end, time_bits, window.meetings),
            window.day_part(),
        ]
    if window.by_day and window.meetings and mode == "disjoint":
        mode = "shared"  # disjoint days would leave the second between them to no part
    low, high = _bounds_of(window)
    first, last = _allowed(low, high, mode)
    if first > last:
        return None
    inside = [p for p in positions if low <= p <= high]
    if prefix and inside:
        cuts = _prefix_cuts(low, high, inside, target)
    else:
        cuts = _quantile_cuts(low, high, inside, max(parts, 2))
    cuts = _clean(cuts, first, last)
    up = 1 if mode == "overlap" else 0
    on = 1 if mode == "disjoint" else 0
    edges = [(low, cuts[0] + up)]
    edges += [(before + on, cut + up) for before, cut in itertools.pairwise(cuts)]
    edges.append((cuts[-1] + on, high))
    return [
        _part(window, a, b, i == 0, i == len(edges) - 1, mode) for i, (a, b) in enumerate(edges)
    ]


def _part(window: Window, low: int, high: int, first: bool, last: bool, mode: Mode) -> Window:
    if not window.by_day:
        return Window(_moment(low), _moment(high), window.mask, window.meetings)
    # DueDate looks at dates only; the times are chosen so that parts carrying meetings
    # still overlap in time (a meeting is selected by its start time).
    start_day, end_day = date.fromordinal(low), date.fromordinal(high)
    if first:
        start = window.start
    elif mode == "overlap":
        start = datetime.combine(start_day, _LAST_SECOND, tzinfo=UTC)
    else:
        start = datetime.combine(start_day, time(), tzinfo=UTC)
    if last:
        end = window.end
    elif mode == "overlap":
        end = datetime.combine(end_day, time(), tzinfo=UTC)
    else:
        end = datetime.combine(end_day, _LAST_SECOND, tzinfo=UTC)
    return Window(start, max(end, start), window.mask, window.meetings)


# ---- the walk --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Evidence:
    """What the answers proved about a dimension's boundary rule."""

    start_counts: bool = False
    end_counts: bool = False

    def mode(self, *, days: bool) -> Mode:
        if self.start_counts and self.end_counts and days:
            return "disjoint"  # a zero-length time window is not something to send
        if self.start_counts or self.end_counts:
            return "shared"
        return "overlap"


@dataclass(slots=True)
class _Scale:
    """The estimated number of tasks in a stream, learnt while walking it.

    Every window has a mass: its share of the stream's first window, from the sample of the
    page it was cut from. Pages that were not cut give exact counts for their mass; a cut
    page from a shuffling server overlaps its parent's sample by about
    ``parent_sample * page / count`` tasks (capture-recapture); a cut page proves a floor.
    """

    floor: float = 0.0
    exact_count: float = 0.0
    exact_mass: float = 0.0
    exact_pages: int = 0
    recapture_count: float = 0.0
    recapture_mass: float = 0.0

    def total(self) -> float:
        if self.exact_pages >= 4 and self.exact_mass > 0:
            # (a floor from one window's mass would be as noisy as that mass: not used here)
            return self.exact_count / self.exact_mass
        if self.recapture_mass > 0:
            return max(self.recapture_count / self.recapture_mass, self.floor)
        return self.floor * 2


@dataclass(slots=True)
class _Family:
    """The parts one window was split into: how many of them brought back exactly that
    window's tasks (two disjoint parts cannot both hold a whole page of an honest answer,
    unless its tasks sit on their shared boundary)."""

    parent: _Family | None
    #: the split window's own page held exactly the tasks of its parent's page
    window_repeated: bool = False
    repeats: int = 0

    def proved(self) -> bool:
        # Once two parts repeated their window, so did the server everywhere below it.
        family: _Family | None = self
        while family is not None:
            if family.repeats >= 2:
                return True
            family = family.parent
        return False


@dataclass(slots=True)
class _Node:
    window: Window
    order: tuple[datetime, bool, int]
    scale: _Scale
    mass: float | None
    tasks: bool
    parent_ids: frozenset[int] = frozenset()
    parent_meetings: frozenset[int] = frozenset()
    parent_sample: frozenset[int] = frozenset()
    #: the part left out deadlines its parent's page held: an honest server cannot answer
    #: it with the same tasks
    ignored: bool = False
    #: this node and its siblings (None for a root)
    family: _Family | None = None
    #: this window is asked again after an empty page that said has_more
    retried: bool = False
    answer: Answer | None = None
    give_tasks: bool = False
    give_meetings: bool = False
    fetching: bool = False
    #: the answer, once it arrived and until its turn to be settled
    arrived: Answer | None = None
    settled: bool = False


_sequence = itertools.count()


def _node(window: Window, scale: _Scale, mass: float | None, tasks: bool, **kw: Any) -> _Node:
    # Window order: by start; the day-based stream after the time-based one on ties.
    order = (window.start, window.by_day, next(_sequence))
    return _Node(window, order, scale, mass, tasks, **kw)


class CalendarWalk(Generic[T]):
    """A walk over a calendar window: ``async for`` it for the entries, each once.

    It also says what it did: :attr:`requests`, :attr:`windows_split`,
    :attr:`incomplete` (windows it could not read completely, with the reason),
    :attr:`not_fetched` (windows left when ``max_requests`` was reached),
    :attr:`tasks_yielded` and :attr:`meetings_yielded`. ``await walk.aclose()`` or
    ``async with walk:`` stops its look-ahead requests at once.
    """

    def __init__(
        self,
        fetch: Fetch,
        first: Window,
        *,
        tasks: bool,
        meetings: bool,
        item_count: int,
        concurrency: int,
        allow_incomplete: bool,
        max_requests: int | None,
        keep: Keep | None = None,
        needed_days: tuple[date, date] | None = None,
    ) -> None:
        self._fetch = fetch
        self._first = first
        self._keep = keep
        # The caller's DueDate dates: a window asked wider than them may be left incomplete
        # where it holds only other dates (see _needed).
        self._needed_days = needed_days
        self._complete_days: list[tuple[int, int]] = []
        self._want_tasks = tasks
        self._want_meetings = meetings
        self._item_count = item_count
        self._concurrency = concurrency
        self._allow_incomplete = allow_incomplete
        self._max_requests = max_requests
        self._run: AsyncGenerator[Any, None] | None = None
        self._time = _Evidence()
        self._days = _Evidence()
        #: ``GET /calendar`` requests this walk made
        self.requests = 0
        #: cut windows split into parts
        self.windows_split = 0
        #: windows that could not be read completely, with the reason
        self.incomplete: list[Incomplete] = []
        #: windows not fetched because ``max_requests`` was reached
        self.not_fetched = 0
        #: tasks yielded so far
        self.tasks_yielded = 0
        #: meetings yielded so far
        self.meetings_yielded = 0

    def __repr__(self) -> str:
        return (
            f"CalendarWalk({self._first}, requests={self.requests}, "
            f"windows_split={self.windows_split}, incomplete={len(self.incomplete)}, "
            f"tasks_yielded={self.tasks_yielded}, meetings_yielded={self.meetings_yielded})"
        )

    def __aiter__(self) -> CalendarWalk[T]:
        return self

    async def __anext__(self) -> T:
        if self._run is None:
            self._run = self._walk()
        item: T = await self._run.__anext__()
        return item

    async def aclose(self) -> None:
        """Stop the walk: cancel its requests in flight and wait until they are gone."""
        if self._run is None:
            self._run = self._walk()  # so that a later iteration ends at once
        await self._run.aclose()

    async def __aenter__(self) -> CalendarWalk[T]:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # ---- the loop --------------------------------------------------------------------------

    async def _walk(self) -> AsyncGenerator[Any, None]:
        nodes = [
            _node(root, _Scale(), 1.0, self._want_tasks and tasks)
            for root, tasks in self._first.roots()
            if root.meetings or (self._want_tasks and tasks)  # a root asking for nothing: none
        ]
        lookahead = max(2 * self._concurrency, 2)
        running: dict[asyncio.Task[Answer], _Node] = {}
        # Answers are settled in the order their requests were sent, whatever order they
        # arrive in, so the splits (which learn from every answer so far) do not depend on
        # which answer came first; a slot is freed on arrival, so a slow answer does not
        # hold back the requests after it.
        sent: deque[_Node] = deque()
        seen_tasks: set[int] = set()
        seen_meetings: set[int] = set()
        try:
            while nodes:
                # The look-ahead counts the windows not answered yet: which windows are
                # sent next does not depend on how fast the entries are consumed.
                for node in itertools.islice((n for n in nodes if not n.settled), lookahead):
                    if len(running) >= self._concurrency:
                        break
                    if not node.fetching:
                        if self._max_requests is not None and self.requests >= self._max_requests:
                            break
                        node.fetching = True
                        self.requests += 1
                        sent.append(node)
                        running[asyncio.ensure_future(self._fetch(node.window))] = node
                if sent and (answer := sent[0].arrived) is not None:
                    node = sent.popleft()
                    node.arrived = None
                    node.fetching = False
                    self._settle(node, answer, nodes)
                    continue
                head = nodes[0]
                if head.settled:
                    del nodes[0]
                    for item in self._items(head, seen_tasks, seen_meetings):
                        yield item
                    continue
                if not sent:  # the budget is spent: nothing more will be fetched
                    self.not_fetched = sum(1 for node in nodes if not node.settled)
                    nodes = [node for node in nodes if node.settled]
                    for node in nodes:
                        for item in self._items(node, seen_tasks, seen_meetings):
                            yield item
                    break
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    running.pop(task).arrived = task.result()
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        self._finish()

    def _items(
        self, node: _Node, seen_tasks: set[int], seen_meetings: set[int]
    ) -> list[Task | Meeting]:
        answer = node.answer
        assert answer is not None
        items: list[Task | Meeting] = []
        keep, asked = self._keep, node.window
        if node.give_tasks:
            for task in answer.tasks():
                if task.id not in seen_tasks and (keep is None or keep(asked, task)):
                    seen_tasks.add(task.id)
                    items.append(task)
            self.tasks_yielded += len(items)
        if node.give_meetings:
            found = 0
            for meeting in answer.meetings():
                if meeting.id not in seen_meetings and (keep is None or keep(asked, meeting)):
                    seen_meetings.add(meeting.id)
                    items.append(meeting)
                    found += 1
            self.meetings_yielded += found
        node.answer = None  # the page's bytes are not needed any more
        return items

    def _finish(self) -> None:
        if self.not_fetched:
            raise IncompleteResultsError(
                f"max_requests={self._max_requests} reached: {self.not_fetched} calendar "
                f"window(s) were not fetched; {self._summary()}"
                "pass a larger max_requests= or a shorter range"
            )
        self.incomplete = [item for item in self.incomplete if self._needed(item.window)]
        if not self.incomplete:
            return
        message = f"some entries were not returned: {self._summary()}"
        if not self._allow_incomplete:
            raise IncompleteResultsError(message)
        logger.warning(message)

    def _needed(self, window: Window) -> bool:
        """Whether an incomplete ``window`` may lack an entry the caller keeps: a DueDate
        window does not when every date of it the caller wants is held by a complete window
        (one whose end dates count only where the answers proved they do)."""
        if self._needed_days is None or not window.by_day:
            return True
        low, high = _bounds_of(window)
        first = max(low, self._needed_days[0].toordinal())
        last = min(high, self._needed_days[1].toordinal())
        if last - first > 366:  # not a window a split left: no day-by-day proof for it
            return True
        return any(not self._held(day) for day in range(first, last + 1))

    def _held(self, day: int) -> bool:
        counts = self._days
        return any(
            low < day < high
            or (day == low and counts.start_counts)
            or (day == high and counts.end_counts)
            for low, high in self._complete_days
        )

    def _report(self, window: Window, reason: str) -> None:
        # Two cut windows can leave the same part: it is one loss, reported once.
        if not any(item.window == window for item in self.incomplete[-8:]):
            self.incomplete.append(Incomplete(window, reason))

    def _summary(self) -> str:
        if not self.incomplete:
            return ""
        shown = "; ".join(str(item) for item in self.incomplete[:3])
        more = len(self.incomplete) - 3
        return (
            f"{len(self.incomplete)} window(s) incomplete: {shown}"
            + (f" and {more} more" if more > 0 else "")
            + f" ({self.requests} requests); "
        )

    # ---- one answer ------------------------------------------------------------------------

    def _settle(self, node: _Node, answer: Answer, nodes: list[_Node]) -> None:
        skim, window, full = answer.skim, node.window, self._item_count
        if skim.has_more and not skim.tasks and not skim.meetings and not node.retried:
            # Nothing at all, yet more: a passing glitch more likely than any rule of the
            # server. The window is asked once more before anything is made of it.
            again = replace(node, retried=True, answer=None, arrived=None, settled=False)
            nodes[nodes.index(node)] = again
            return
        self._learn(window, skim)
        task_ids = frozenset(task.id for task in skim.tasks)
        meeting_ids = frozenset(meeting.id for meeting in skim.meetings)
        tasks_full = skim.has_more and len(skim.tasks) >= full
        meetings_full = skim.has_more and window.meetings and len(skim.meetings) >= full
        tasks_cut = node.tasks and tasks_full
        # A short list of meetings is every meeting of the window, whether or not item_count
        # caps them: only a full one may have been cut.
        meetings_cut = window.meetings and self._want_meetings and meetings_full
        node.answer = answer
        node.settled = True
        node.give_tasks = node.tasks
        node.give_meetings = window.meetings and self._want_meetings
        if node.mass is not None and node.tasks:
            self._calibrate(node, skim, tasks_cut)
        if node.tasks and skim.has_more and not tasks_full and not meetings_full:
            self._report(window, f"{_SHORT} of {len(skim.tasks)}")
        if not (tasks_cut or meetings_cut):
            if window.by_day and node.tasks and not skim.has_more:
                self._complete_days.append(_bounds_of(window))
            return
        # The same tasks as the parent's page, from a part that cannot hold them all (known
        # from their deadlines), or (without deadlines to tell) twice in a row and from two
        # parts of one window: the server is not narrowing by the window, and splitting
        # further would only spend requests. (Either alone an honest server can give: a
        # page of tasks on one second holds through a chain of parts, and on a boundary
        # through two siblings, but not both.)
        repeated = tasks_cut and task_ids == node.parent_ids
        family = node.family
        if repeated and family is not None:
            family.repeats += 1
        ignoring = family is not None and family.window_repeated and family.proved()
        if (repeated and (node.ignored or ignoring)) or (
            meetings_cut and not tasks_cut and node.parent_meetings == meeting_ids
        ):
            self._report(window, _SAME)
            return
        parts = self._parts(node, skim, tasks_cut)
        if parts is None:
            self._report(window, _NARROW)
            return
        self.windows_split += 1
        # What this page holds completely is given now; the parts fetch only the rest.
        node.give_tasks = node.tasks and not tasks_cut
        node.give_meetings = node.give_meetings and not meetings_cut
        if not (node.give_tasks or node.give_meetings):
            nodes.remove(node)
        for part in parts:
            bisect.insort(nodes, part, key=lambda n: n.order)

    def _learn(self, window: Window, skim: Skim) -> None:
        # A task exactly on an end proves that end counts (only where the one bit selecting
        # it is known).
        if window.mask == CalendarFilter.DUE:
            for key in skim.tasks:
                if key.due is not None:
                    due = to_utc(key.due)
                    self._time.start_counts |= due == window.start
                    self._time.end_counts |= due == window.end
        elif window.by_day:
            first, last = window.start.date(), window.end.date()
            for key in skim.tasks:
                self._days.start_counts |= key.due_date == first
                self._days.end_counts |= key.due_date == last

    def _calibrate(self, node: _Node, skim: Skim, cut: bool) -> None:
        scale, mass = node.scale, node.mass
        assert mass is not None
        # A cut page counts as a little over a page: leaving it out would bias the ratio
        # low (the windows whose mass was underestimated are the ones that were cut). Only
        # the cut windows the estimate put near one page count: a big one says nothing.
        if not cut or (scale.exact_pages and mass * scale.total() < 1.5 * self._item_count):
            scale.exact_count += _CUT_WEIGHT * self._item_count if cut else len(skim.tasks)
            scale.exact_mass += mass
            scale.exact_pages += not cut
        if not cut:
            return
        scale.floor = max(scale.floor, (self._item_count + 1) / mass)
        if node.parent_sample and _looks_shuffled(skim):
            ids = {task.id for task in skim.tasks}
            caught = len(node.parent_sample & ids)
            marked = len(node.parent_sample)
            # Chapman's estimator of the window's count, from two independent samples
            estimate = (marked + 1) * (len(ids) + 1) / (caught + 1) - 1
            scale.recapture_count += estimate
            scale.recapture_mass += mass

    def _parts(self, node: _Node, skim: Skim, tasks_cut: bool) -> list[_Node] | None:
        window = node.window
        # Only what was cut is fetched again: meetings ride along only if they were cut.
        meetings = (
            window.meetings
            and self._want_meetings
            and skim.has_more
            and len(skim.meetings) >= self._item_count
        )
        if window.mixed and tasks_cut:
            time_part, day_part = split_window(window) or []
            return [
                _node(_with(time_part, meetings), _Scale(), 1.0, True),
                _node(day_part, _Scale(), 1.0, True),
            ]
        if not tasks_cut:
            # Meetings alone were cut: split in time, by where the meetings are.
            as_time = Window(window.start, window.end, CalendarFilter.DUE, True)
            moments = _meeting_positions(skim)
            windows = split_window(as_time, moments, mode=self._time.mode(days=False))
            if windows is None:
                return None
            ids = frozenset(meeting.id for meeting in skim.meetings)
            return [
                _node(
                    Window(w.start, w.end, window.mask, True),
                    node.scale,
                    None,
                    False,
                    parent_meetings=ids,
                )
                for w in windows
            ]
        mode = (self._days if window.by_day else self._time).mode(days=window.by_day)
        target = _FILL * self._item_count
        located = _located(window, skim)
        keys = [at for _, at in located]
        prefix = (
            len(keys) >= 2
            and all(a <= b for a, b in itertools.pairwise(keys))
            and max(keys) < _bounds_of(window)[1]
        )
        count = 2.0 * self._item_count if prefix else self._estimate(node)
        parts = min(max(math.ceil(count / target), 2), _MAX_PARTS)
        windows = split_window(
            _with(window, meetings), keys, parts=parts, mode=mode, prefix=prefix, target=target
        )
        if windows is None:
            return None
        ids = frozenset(task.id for task in skim.tasks)
        repeated = bool(node.parent_ids) and ids == node.parent_ids
        family = _Family(node.family, window_repeated=repeated)
        shuffled = _looks_shuffled(skim)
        # Only where one bit selects do deadlines say for sure which tasks a part can hold.
        pure = window.mask in (CalendarFilter.DUE, CalendarFilter.DUE_DATE) and len(located) == len(
            skim.tasks
        )
        result = []
        for part in windows:
            inside = [task_id for task_id, at in located if _inside(part, at)]
            mass = None
            if not prefix and node.mass is not None:
                mass = node.mass * max(len(inside), 0.5) / max(len(keys), 1)
            result.append(
                _node(
                    part,
                    node.scale,
                    mass,
                    True,
                    parent_ids=ids,
                    parent_sample=frozenset(inside) if shuffled else frozenset(),
                    ignored=pure and len(inside) < len(located),
                    family=family,
                )
            )
        return result

    def _estimate(self, node: _Node) -> float:
        if node.mass is None:
            return 2.0 * self._item_count
        return max(node.mass * node.scale.total(), self._item_count + 1.0)


def _with(window: Window, meetings: bool) -> Window:
    return Window(window.start, window.end, window.mask, meetings)


def _located(window: Window, skim: Skim) -> list[tuple[int, int]]:
    """``(task id, position)`` in page order for the tasks whose selecting deadline is known:
    ``due`` in epoch seconds (when ``Due`` is asked for), or ``due_date`` as a date ordinal."""
    low, high = _bounds_of(window)
    found = []
    for key in skim.tasks:
        at: int | None = None
        if window.by_day:
            if key.due_date is not None:
                at = key.due_date.toordinal()
        elif key.due is not None and window.mask & CalendarFilter.DUE:
            at = _seconds(to_utc(key.due))
        if at is not None and low <= at <= high:
            found.append((key.id, at))
    return found


def _meeting_positions(skim: Skim) -> list[int]:
    return [_seconds(to_utc(m.start_time)) for m in skim.meetings if m.start_time is not None]


def _inside(part: Window, at: int) -> bool:
    low, high = _bounds_of(part)
    return low <= at <= high


def _looks_shuffled(skim: Skim) -> bool:
    # A page in id order (or its reverse) is no random sample of its window: capture-
    # recapture would read its overlap with the parent as a tiny count.
    ids = [task.id for task in skim.tasks]
    if len(ids) < 3:
        return False
    rising = all(a < b for a, b in itertools.pairwise(ids))
    falling = all(a > b for a, b in itertools.pairwise(ids))
    return not (rising or falling)
