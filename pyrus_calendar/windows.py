"""The request a walk makes for ``[start, end)``, and the rule what comes back is kept by.

The API's window is whole seconds and its boundary rules are not documented; a request is
asked a little wider than the caller's window so it holds that window under every rule,
and what comes back is kept by the caller's ``[start, end)`` (README "Time windows").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

from calendar_transport.checks import require_bool
from calendar_transport.window import TimeWindow

from .filters import CalendarFilter, FilterLike
from .models import Meeting, Task
from .paging import Keep, Window, ceil_second, floor_second

__all__ = ["MEETING_LOOKBACK", "calendar_window", "keeper"]


def calendar_window(
    start: datetime,
    end: datetime,
    filters: FilterLike,
    meetings: bool,
    *,
    margin: bool = True,
    tasks: bool = True,
) -> tuple[Window, TimeWindow]:
    """The request for ``[start, end)`` and the window (the rule) what comes back is kept by.
    Checked on the call, before any request.

    The wire has whole seconds only: the bounds are rounded outwards and, with ``margin``, a
    second wider on each side, so the request holds ``[start, end)`` under every boundary
    rule (closed, half-open, open); a walk keeps what comes back by the rule (:func:`keeper`).
    """
    rule = TimeWindow.of(start, end, strict=True)
    require_bool(meetings, "include_meetings")
    try:
        mask = CalendarFilter.parse(filters)
    except ValueError as error:
        raise ValueError(f"filters={filters!r:.60}: {error}") from None
    assert rule.start is not None
    assert rule.end is not None
    days = rule.days
    assert days is not None  # strict: the window is not empty
    # Only Due and DueDate select by what a task carries; a task that may have come for
    # another bit cannot be judged, so such a request is not widened further than a second.
    readable = not mask & ~(CalendarFilter.DUE | CalendarFilter.DUE_DATE)
    step = _SECOND if margin else timedelta(0)
    # The server selects meetings by their start: one that began before the window and runs
    # into it is in by the rule, so they are asked for from MEETING_LOOKBACK earlier.
    # (With a bit no task field shows, only the meetings are asked for from that earlier.)
    lookback = margin and meetings
    back = step + (MEETING_LOOKBACK if lookback and (readable or not tasks) else timedelta(0))
    first = floor_second(rule.start)
    asked_start = _earlier(first, back)
    meetings_from = None
    if lookback and tasks and not readable:
        meetings_from = _earlier(first, step + MEETING_LOOKBACK)
    asked_end = ceil_second(min(rule.end, _LAST_SECOND))
    asked_end = asked_end + step if _LAST_SECOND - asked_end >= step else _LAST_SECOND
    by_day = None
    if margin and mask & CalendarFilter.DUE_DATE:
        # DueDate selects by the dates of the UTC bounds, counting the end dates or not: a
        # request whose UTC dates reach a day past the caller's on each side holds them
        # under every rule, and its extra days are left out by the rule. Widened so, in one
        # request, when all it brings can be judged; else the DueDate tasks are asked for
        # apart (Window.day_part), so that the other bits' part adds no day to them.
        if readable:
            if days[0] > date.min:
                asked_start = min(asked_start, _utc_midnight(days[0]) - _SECOND)
            if days[1] < _LAST_DAY:
                asked_end = max(asked_end, _utc_midnight(days[1]) + _DAY)
        else:
            by_day = days
    return Window(asked_start, asked_end, mask, meetings, by_day, meetings_from), rule


def _earlier(moment: datetime, by: timedelta) -> datetime:
    return moment - by if moment - _FIRST_SECOND >= by else _FIRST_SECOND


def _utc_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def keeper(rule: TimeWindow) -> Keep:
    """What of an answer is in ``rule``'s window: a task by its ``due`` (``Due``) or
    ``due_date`` (``DueDate``), a meeting by its time. A task that came for a bit whose
    moment a task does not carry (``DueForCurrentStep``, ``Reminded``), or without the
    field its bits read, is kept: it cannot be placed, and nothing is dropped unseen."""

    def keep(asked: Window, item: Task | Meeting) -> bool:
        if isinstance(item, Meeting):
            if item.start_time is None:
                return True
            ends = item.start_time + timedelta(minutes=max(item.duration or 0, 0))
            return rule.holds_span(item.start_time, ends)
        mask = asked.mask
        if mask & ~(CalendarFilter.DUE | CalendarFilter.DUE_DATE):
            return True
        placed = False
        if mask & CalendarFilter.DUE and item.due is not None:
            if rule.holds_instant(item.due):
                return True
            placed = True
        if mask & CalendarFilter.DUE_DATE and item.due_date is not None:
            if rule.holds_days(item.due_date, item.due_date):
                return True
            placed = True
        return not placed

    return keep


#: how long before a window a meeting that runs into it may have begun and still be found
MEETING_LOOKBACK: Final = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_DAY = timedelta(days=1)
_LAST_DAY = date(9999, 12, 30)
_FIRST_SECOND = datetime.min.replace(tzinfo=UTC)
_LAST_SECOND = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
