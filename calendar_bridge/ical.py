"""RFC 5545 export of both backends' items (the optional ``ics`` extra: icalendar).

:func:`to_ical` turns an R7 event, a Pyrus task or a Pyrus meeting into one VEVENT;
:func:`build_calendar` wraps any number of them, from a list or an async iteration, in a single
VCALENDAR. The models know nothing of iCalendar: the mapping lives here, above both backends.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from calendar_transport import __version__
from calendar_transport.extras import missing_extra
from pyrus_calendar.models import Meeting, Task
from r7cal.models import Event

if TYPE_CHECKING:
    import icalendar

__all__ = [
    "PRODID",
    "Exportable",
    "assemble_calendar",
    "build_calendar",
    "build_calendar_async",
    "export_calendar",
    "make_event",
    "require_icalendar",
    "to_ical",
]

#: The PRODID every exported VCALENDAR carries.
PRODID = f"-//r7-pyrus-calendar//{__version__}//EN"
#: What can be exported: an R7 event, a Pyrus task or a Pyrus meeting.
Exportable: TypeAlias = Event | Task | Meeting

_TASK_URL = "https://pyrus.com/t#id{id}"
_D = TypeVar("_D", date, datetime)


def require_icalendar() -> Any:
    """The icalendar module, or an ImportError that says how to install it."""
    try:
        import icalendar
    except ImportError as error:
        raise missing_extra("ics", "iCalendar export") from error
    return icalendar


def make_event(
    *,
    uid: str,
    start: datetime | date,
    end: datetime | date | None,
    summary: str | None,
    description: str | None = None,
    url: str | None = None,
    location: str | None = None,
    stamp: datetime | None = None,
    sequence: int | None = None,
) -> icalendar.Event:
    """One VEVENT. Dates (not datetimes) make an all-day event, as RFC 5545 says; times are
    written in UTC."""
    ical = require_icalendar()
    event: icalendar.Event = ical.Event()
    event.add("uid", uid)
    event.add("dtstamp", _utc(stamp or datetime.now(UTC)))
    event.add("dtstart", _utc(start))
    if end is not None:
        event.add("dtend", _utc(end))
    if sequence is not None:
        event.add("sequence", sequence)
    if summary:
        event.add("summary", summary)
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
    if location:
        event.add("location", location)
    return event


def to_ical(
    item: Exportable,
    *,
    uid: str | None = None,
    sequence: int | None = None,
    stamp: datetime | None = None,
) -> icalendar.Event:
    """``item`` as an iCalendar VEVENT (``uid``, ``sequence``, ``stamp``: replace the UID,
    SEQUENCE and DTSTAMP the item alone would give, as a live feed keeps them).

    An R7 all-day event gets DTSTART/DTEND as dates (``start_day``, ``end_day``: DTEND
    exclusive). A Pyrus task starts at ``due`` (DTEND after ``duration`` minutes when set),
    else at ``due_date`` as an all-day event, else at its scheduled date; a meeting carries its
    join link as URL. Raises ``ValueError`` for an item without the dates a VEVENT needs, and
    ``TypeError`` for anything else.
    """
    if isinstance(item, Event):
        event = _r7_event(item)
    elif isinstance(item, Task):
        event = _pyrus_task(item)
    elif isinstance(item, Meeting):
        event = _pyrus_meeting(item)
    else:
        raise TypeError(f"cannot export a {type(item).__name__} to iCalendar")
    if uid is not None:
        event.pop("uid")
        event.add("uid", uid)
    if stamp is not None:
        event.pop("dtstamp")
        event.add("dtstamp", _utc(stamp))
    if sequence is not None:
        event.add("sequence", sequence)
    return event


def _r7_event(event: Event) -> icalendar.Event:
    if event.start_date is None:
        raise ValueError(f"event {event.id} has no start date to export")
    # Occurrences of a recurring event share an id, so the start is part of the UID.
    uid = f"r7-event-{event.id}-{event.start_date:%Y%m%dT%H%M%SZ}@r7cal"
    start: datetime | date = event.start_date
    end: datetime | date | None = event.end_date
    first, after = event.start_day, event.end_day
    if first is not None:
        # (no DTEND only for a day on 9999-12-31: no exclusive end exists for it)
        start, end = first, (after if after != first else None)
    return make_event(
        uid=uid,
        start=start,
        end=end,
        summary=event.name,
        description=event.description,
        location=", ".join(part for part in (event.place, event.address) if part) or None,
        stamp=event.last_modification_date,
    )


def _pyrus_task(task: Task) -> icalendar.Event:
    start = task.due or task.due_date or task.scheduled_datetime_utc or task.scheduled_date
    if start is None:
        raise ValueError(f"task {task.id} has no due or scheduled date to export")
    summary = task.subject or (task.text or "").strip().split("\n", 1)[0] or f"Task {task.id}"
    end: datetime | date | None
    # (No DTEND where it would fall after 9999-12-31: RFC 5545 then reads one day.)
    if isinstance(start, datetime):
        end = _plus(start, timedelta(minutes=task.duration)) if task.duration else None
    else:
        end = _plus(start, timedelta(days=1))  # all day: DTEND is the next day, exclusive
    return make_event(
        uid=f"pyrus-task-{task.id}@pyrus.com",
        start=start,
        end=end,
        summary=summary,
        description=task.text if task.text and task.text.strip() != summary else None,
        url=_TASK_URL.format(id=task.id),
        stamp=task.last_modified_date,
    )


def _pyrus_meeting(meeting: Meeting) -> icalendar.Event:
    if meeting.start_time is None:
        raise ValueError(f"meeting {meeting.id} has no start_time to export")
    kind = f"{meeting.type} meeting" if meeting.type else "Meeting"
    about = f" for task {meeting.task_id}" if meeting.task_id is not None else ""
    join_url = meeting.join_parameters.url if meeting.join_parameters is not None else None
    duration = meeting.duration
    end = _plus(meeting.start_time, timedelta(minutes=duration)) if duration else None
    lines = [f"Join: {join_url}"] if join_url else []
    if meeting.task_id is not None:
        lines.append(f"Task: {_TASK_URL.format(id=meeting.task_id)}")
    event = make_event(
        uid=f"pyrus-meeting-{meeting.id}@pyrus.com",
        start=meeting.start_time,
        end=end,
        summary=f"{kind}{about}",
        description="\n".join(lines) or None,
        url=join_url,
    )
    if meeting.deleted:  # still data, but on nobody's calendar: calendar apps grey it out
        event.add("status", "CANCELLED")
    return event


def _utc(value: _D) -> _D:
    # A TZID needs its VTIMEZONE beside it; UTC needs none and every client reads it.
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value.astimezone(UTC)
    return value


def _plus(value: _D, step: timedelta) -> _D | None:
    try:
        return value + step
    except OverflowError:
        return None


def _calendar(name: str | None) -> Any:
    cal = require_icalendar().Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if name:
        cal.add("x-wr-calname", name)
    return cal


def assemble_calendar(
    events: Iterable[bytes], *, name: str | None = None, refresh: timedelta | None = None
) -> bytes:
    """One VCALENDAR around VEVENTs already rendered (each ``to_ical(...).to_ical()``).

    ``refresh``: how often subscribers should fetch it again, as ``REFRESH-INTERVAL``
    (RFC 7986) and ``X-PUBLISHED-TTL`` (the older clients' name), whole seconds.
    """
    cal = _calendar(name)
    if refresh is not None:
        every = timedelta(seconds=max(1, math.ceil(refresh.total_seconds())))
        # A vDuration, not the timedelta: icalendar before 6.3 knows no type for this
        # property and wrote str(timedelta), "0:05:00".
        duration = require_icalendar().vDuration
        cal.add("refresh-interval", duration(every), parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", duration(every))
    head = bytes(cal.to_ical())
    cut = head.rindex(b"END:VCALENDAR")
    return head[:cut] + b"".join(events) + head[cut:]


def build_calendar(items: Iterable[Exportable], *, name: str | None = None) -> bytes:
    """One VCALENDAR holding every item's VEVENT, as bytes ready for a ``.ics`` file."""
    cal = _calendar(name)
    for item in items:
        cal.add_component(to_ical(item))
    return bytes(cal.to_ical())


async def build_calendar_async(
    items: AsyncIterable[Exportable], *, name: str | None = None
) -> bytes:
    """:func:`build_calendar` for an async iteration (``iterate`` / ``iter_calendar``)."""
    cal = _calendar(name)
    async for item in items:
        cal.add_component(to_ical(item))
    return bytes(cal.to_ical())


async def export_calendar(
    items: AsyncIterable[Exportable], *, name: str | None = None
) -> tuple[bytes, list[str]]:
    """A VCALENDAR of every item that can be exported, and why each other one cannot.

    An item without the dates a VEVENT needs is left out (its reason kept) instead of failing
    the whole export.
    """
    cal = _calendar(name)
    reasons: list[str] = []
    async for item in items:
        try:
            component = to_ical(item)
        except (ValueError, OverflowError) as error:
            reasons.append(str(error) or type(error).__name__)
        else:
            cal.add_component(component)
    return bytes(cal.to_ical()), reasons
