"""A bot's day in one call: R7 events and Pyrus tasks and meetings merged, in one zone.

``Agenda(r7=..., pyrus=..., zone=...)``; either client may be ``None``. Both backends are
asked at once, each by the window rule of every listing (``calendar_transport.TimeWindow``):
``[start, end)``, all-day items and Pyrus ``due_date`` by date in the zone of ``start`` (the
agenda's zone for :meth:`Agenda.day` and :meth:`Agenda.free_slots`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

from calendar_transport.checks import require_finite_positive, require_ids
from calendar_transport.errors import CalendarError, RequestTimeoutError
from calendar_transport.window import TimeWindow
from pyrus_calendar import CalendarFilter, Meeting, PyrusClient, Task
from pyrus_calendar.filters import FilterLike
from r7cal import Event, R7Client

__all__ = ["Agenda", "AgendaError", "AgendaItem", "Source", "free_between"]

logger = logging.getLogger(__name__)

#: which backend an item or a failure is from
Source = Literal["r7", "pyrus"]
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """One entry of the agenda.

    ``start`` / ``end`` are aware datetimes in the agenda's zone, or dates for an all-day
    item (``end`` exclusive, as iCalendar's DTEND: a one-day item ends the next day). A task
    with a ``due`` time is a timed item of no length; one with only a ``due_date`` is an
    all-day item. ``item`` is the original model (:class:`r7cal.Event`,
    :class:`pyrus_calendar.Task` or :class:`pyrus_calendar.Meeting`).
    """

    title: str
    start: datetime | date
    end: datetime | date
    all_day: bool
    source: Source
    kind: Literal["event", "task", "meeting"]
    item: Event | Task | Meeting


class AgendaError(CalendarError):
    """Every backend of the agenda failed (or, with ``on_error="raise"``, one did);
    ``errors`` says which and why."""

    def __init__(self, errors: dict[Source, BaseException]) -> None:
        named = "; ".join(
            f"{source}: {type(error).__name__}: {error}" for source, error in errors.items()
        )
        super().__init__(f"the agenda could not be read: {named}")
        self.errors = errors


class Agenda:
    """The merged day of an R7 account and a Pyrus account, in ``zone``.

    ``calendar_ids``: the R7 calendars to read (default: every calendar the user sees).
    ``filters``: the Pyrus tasks to show (default ``"due,due_date"``); meetings are always
    included. ``on_error``: what a call does when one backend fails: ``"partial"`` (the
    default) returns the other's items and names the failure in :attr:`errors` (and a
    warning in the log); ``"raise"`` raises :class:`AgendaError`. When every backend fails,
    :class:`AgendaError` is raised either way. ``timeout``: seconds one call may take in
    all, logins, retries and paging included (default: the smallest ``deadline`` the
    clients were given, which otherwise bounds each of their requests, not the agenda's
    several); a backend still busy then counts as failed with
    :class:`~calendar_transport.RequestTimeoutError`.

    Example::

        agenda = Agenda(r7=r7, pyrus=pyrus, zone=ZoneInfo("Europe/Moscow"), timeout=10)
        for entry in await agenda.day(date(2026, 12, 8)):
            print(entry.start, entry.title)
    """

    def __init__(
        self,
        *,
        r7: R7Client | None = None,
        pyrus: PyrusClient | None = None,
        zone: tzinfo,
        calendar_ids: Iterable[int] | None = None,
        filters: FilterLike = "due,due_date",
        on_error: Literal["partial", "raise"] = "partial",
        timeout: float | None = None,
    ) -> None:
        if r7 is not None and not isinstance(r7, R7Client):
            raise TypeError(f"r7 must be an R7Client or None, not {type(r7).__name__}")
        if pyrus is not None and not isinstance(pyrus, PyrusClient):
            raise TypeError(f"pyrus must be a PyrusClient or None, not {type(pyrus).__name__}")
        if r7 is None and pyrus is None:
            raise ValueError("an agenda needs r7=, pyrus= or both")
        if not isinstance(zone, tzinfo):
            raise TypeError(
                f"zone must be a tzinfo (e.g. ZoneInfo('Europe/Moscow')), not {zone!r:.40}"
            )
        if on_error not in ("partial", "raise"):
            raise ValueError(f"on_error must be 'partial' or 'raise', got {on_error!r:.40}")
        if timeout is not None:
            seconds: float | None = require_finite_positive(timeout, "timeout")
        else:
            given = [c.transport.deadline for c in (r7, pyrus) if c is not None]
            seconds = min((d for d in given if d), default=None)
        try:
            self._mask = CalendarFilter.parse(filters)
        except ValueError as error:
            raise ValueError(f"filters={filters!r:.60}: {error}") from None
        self._r7, self._pyrus, self.zone = r7, pyrus, zone
        self._calendar_ids = (
            None if calendar_ids is None else require_ids(calendar_ids, "calendar_ids")
        )
        self._on_error = on_error
        self._timeout = seconds
        #: the failures of the last call, by backend (empty when both answered)
        self.errors: dict[Source, BaseException] = {}

    def __repr__(self) -> str:
        parts = [name for name, client in (("r7", self._r7), ("pyrus", self._pyrus)) if client]
        return f"Agenda({'+'.join(parts)}, zone={self.zone})"

    async def day(self, day: date) -> list[AgendaItem]:
        """Everything on ``day`` in the agenda's zone: all-day items first, then by start."""
        start = _midnight(_check_day(day), self.zone)
        if day == date.max:  # the calendar's last day ends with the calendar
            return await self.between(start, datetime.max.replace(tzinfo=UTC))
        return await self.between(start, _midnight(day + _DAY, self.zone))

    async def between(self, start: datetime, end: datetime) -> list[AgendaItem]:
        """Everything in ``[start, end)``: all-day items first, then by start. All-day items
        count by date in the zone of ``start`` (pass bounds in the agenda's zone)."""
        window = TimeWindow.of(start, end)
        assert window.start is not None
        assert window.end is not None
        wanted: dict[Source, Any] = {}
        if self._r7 is not None:
            wanted["r7"] = self._r7_items(window.start, window.end)
        if self._pyrus is not None:
            wanted["pyrus"] = self._pyrus_items(window)
        found = await self._gather(wanted)
        return sorted(found, key=_order)

    async def free_slots(
        self,
        day: date,
        *,
        between: tuple[time, time] = (time(9), time(18)),
        min_length: timedelta = timedelta(minutes=30),
    ) -> list[tuple[datetime, datetime]]:
        """The times of ``day`` within ``between`` (local times in the agenda's zone) that no
        R7 timed event and no Pyrus meeting covers, each at least ``min_length`` long.

        Tasks are deadlines and do not block time; neither do all-day items, nor an R7
        event marked free (``IsFree``). Busy spans that overlap or touch merge.
        """
        day = _check_day(day)
        if not (
            isinstance(between, tuple)
            and len(between) == 2
            and all(isinstance(t, time) for t in between)
        ):
            raise TypeError("between must be a (time, time) pair, e.g. (time(9), time(18))")
        if not isinstance(min_length, timedelta) or min_length <= timedelta(0):
            raise ValueError(f"min_length must be a positive timedelta, got {min_length!r:.40}")
        opens = datetime.combine(day, between[0], tzinfo=self.zone)
        closes = datetime.combine(day, between[1], tzinfo=self.zone)
        if closes <= opens:
            raise ValueError(f"between must run forwards, got {between[0]}..{between[1]}")
        busy = [
            (entry.start, entry.end)
            for entry in await self.between(opens, closes)
            if _blocks(entry)
        ]
        return free_between(busy, opens, closes, min_length)  # type: ignore[arg-type]

    # ---- the backends ------------------------------------------------------------------------

    async def _r7_items(self, start: datetime, end: datetime) -> list[AgendaItem]:
        r7 = self._r7
        assert r7 is not None
        ids = self._calendar_ids
        if ids is None:
            ids = [calendar.id for calendar in await r7.calendars.list()]
        if not ids:
            return []
        return [self._from_event(event) async for event in r7.events.iterate(ids, start, end)]

    async def _pyrus_items(self, window: TimeWindow) -> list[AgendaItem]:
        pyrus = self._pyrus
        assert pyrus is not None
        assert window.start is not None
        assert window.end is not None
        found: list[AgendaItem] = []
        async for item in pyrus.walk(window.start, window.end, filters=self._mask):
            if isinstance(item, Meeting):
                if not item.deleted and item.start_time is not None:  # deleted: on no calendar
                    found.append(self._from_meeting(item))
            elif item.due is not None or item.due_date is not None:
                found.append(self._from_task(item, window))
        return found

    async def _gather(self, wanted: dict[Source, Any]) -> list[AgendaItem]:
        # Both at once; the timeout bounds the whole call. A backend that fails or runs out
        # of time is named in self.errors (or raised, with on_error="raise").
        tasks = {source: asyncio.ensure_future(work) for source, work in wanted.items()}
        errors: dict[Source, BaseException] = {}
        try:
            _, pending = await asyncio.wait(tasks.values(), timeout=self._timeout)
        except BaseException:
            for task in tasks.values():
                task.cancel()
            await asyncio.gather(*tasks.values(), return_exceptions=True)
            raise
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        found: list[AgendaItem] = []
        for source, task in tasks.items():
            if task in pending:
                errors[source] = RequestTimeoutError(
                    f"no answer within the agenda's timeout of {self._timeout:g}s",
                    method="",
                    url=source,
                    request_sent=True,
                )
            elif (error := task.exception()) is not None:
                if not isinstance(error, Exception):
                    raise error
                errors[source] = error
            else:
                found.extend(task.result())
        self.errors = errors
        if errors and (self._on_error == "raise" or len(errors) == len(tasks)):
            raise AgendaError(errors)
        for source, error in errors.items():
            logger.warning("agenda: %s left out: %s: %s", source, type(error).__name__, error)
        return found

    # ---- models to entries -------------------------------------------------------------------

    def _from_event(self, event: Event) -> AgendaItem:
        first, after = event.start_day, event.end_day
        if first is not None and after is not None:
            return AgendaItem(
                event.name or f"Event {event.id}", first, after, True, "r7", "event", event
            )
        assert event.start_date is not None  # the listing keeps no event without a start
        start = event.start_date.astimezone(self.zone)
        end = (event.end_date or event.start_date).astimezone(self.zone)
        return AgendaItem(
            event.name or f"Event {event.id}", start, max(start, end), False, "r7", "event", event
        )

    def _from_task(self, task: Task, window: TimeWindow) -> AgendaItem:
        # Shown by what put it in the window: its due time, else its due day (a task with
        # both may be in by its day while its time is another day's).
        title = task.subject or (task.text or "").strip().split("\n", 1)[0] or f"Task {task.id}"
        if task.due is not None and (task.due_date is None or window.holds_instant(task.due)):
            at = task.due.astimezone(self.zone)
            return AgendaItem(title, at, at, False, "pyrus", "task", task)
        assert task.due_date is not None
        after = task.due_date + _DAY if task.due_date < date.max else task.due_date
        return AgendaItem(title, task.due_date, after, True, "pyrus", "task", task)

    def _from_meeting(self, meeting: Meeting) -> AgendaItem:
        assert meeting.start_time is not None
        # Real minutes (in UTC), not the wall clock's: a meeting across a clock change.
        begins = meeting.start_time.astimezone(UTC)
        start = begins.astimezone(self.zone)
        end = _in_zone(_plus(begins, meeting.duration), self.zone)
        kind = f"{meeting.type} meeting" if meeting.type else "Meeting"
        return AgendaItem(kind, start, end, False, "pyrus", "meeting", meeting)


def free_between(
    busy: Sequence[tuple[datetime, datetime]],
    opens: datetime,
    closes: datetime,
    min_length: timedelta,
) -> list[tuple[datetime, datetime]]:
    """The gaps of ``[opens, closes)`` that no span of ``busy`` covers, each at least
    ``min_length`` long (real time: a day the clocks change is measured as it passes);
    overlapping and touching spans merge. The gaps are in the zone of ``opens``."""
    zone = opens.tzinfo
    # In UTC: aware datetimes of one zone compare and subtract as wall times in Python.
    opens, closes = opens.astimezone(UTC), closes.astimezone(UTC)
    busy = [(begins.astimezone(UTC), ends.astimezone(UTC)) for begins, ends in busy]
    gaps: list[tuple[datetime, datetime]] = []
    cursor = opens
    for begins, ends in sorted(busy):
        if ends <= cursor:
            continue
        if begins > cursor and begins - cursor >= min_length:
            gaps.append((cursor, min(begins, closes)))
        cursor = max(cursor, ends)
        if cursor >= closes:
            break
    if closes - cursor >= min_length:
        gaps.append((cursor, closes))
    return [(a.astimezone(zone), b.astimezone(zone)) for a, b in gaps if b - a >= min_length]


def _blocks(entry: AgendaItem) -> bool:
    # Timed R7 events and Pyrus meetings take time; tasks and all-day items do not, nor an
    # event the organizer marked free.
    if entry.all_day or entry.kind == "task":
        return False
    return not (isinstance(entry.item, Event) and entry.item.is_free)


def _order(entry: AgendaItem) -> tuple[int, float, str]:
    # All-day items first (by their first day), then timed ones by start.
    if isinstance(entry.start, datetime):
        return (1, entry.start.timestamp(), entry.title)
    return (0, entry.start.toordinal(), entry.title)


def _plus(moment: datetime, minutes: int | None) -> datetime:
    try:
        return moment + timedelta(minutes=max(minutes or 0, 0))
    except OverflowError:  # past year 9999
        return datetime.max.replace(tzinfo=UTC)


def _in_zone(moment: datetime, zone: tzinfo) -> datetime:
    try:
        return moment.astimezone(zone)
    except OverflowError:  # the end of the calendar, east of UTC
        return moment


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _check_day(day: object) -> date:
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"day must be a date, not {type(day).__name__}")
    return day
