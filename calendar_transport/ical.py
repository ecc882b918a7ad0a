"""RFC 5545 output shared by both backends (the optional ``ics`` extra: icalendar).

A model's ``to_ical()`` returns one component (a VEVENT); :func:`build_calendar` wraps any
number of them, from a list or an async iteration, in a single VCALENDAR.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from . import __version__

if TYPE_CHECKING:
    import icalendar

PRODID = f"-//r7-pyrus-calendar//{__version__}//EN"


class HasIcal(Protocol):
    """Anything with a ``to_ical()`` that returns an icalendar component."""

    def to_ical(self) -> icalendar.Event: ...


def require_icalendar() -> Any:
    """The icalendar module, or an ImportError that says how to install it."""
    try:
        import icalendar
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "iCalendar export needs the 'ics' extra: pip install 'r7-pyrus-calendar[ics]'"
        ) from error
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
) -> icalendar.Event:
    """One VEVENT. Dates (not datetimes) make an all-day event, as RFC 5545 says."""
    ical = require_icalendar()
    event: icalendar.Event = ical.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp or datetime.now().astimezone())
    event.add("dtstart", start)
    if end is not None:
        event.add("dtend", end)
    if summary:
        event.add("summary", summary)
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
    if location:
        event.add("location", location)
    return event


def _calendar(name: str | None) -> Any:
    cal = require_icalendar().Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    if name:
        cal.add("x-wr-calname", name)
    return cal


def build_calendar(items: Iterable[HasIcal], *, name: str | None = None) -> bytes:
    """One VCALENDAR holding every item's component, as bytes ready for a ``.ics`` file."""
    cal = _calendar(name)
    for item in items:
        cal.add_component(item.to_ical())
    return bytes(cal.to_ical())


async def build_calendar_async(items: AsyncIterable[HasIcal], *, name: str | None = None) -> bytes:
    """:func:`build_calendar` for an async iteration (``iterate`` / ``iter_calendar``)."""
    cal = _calendar(name)
    async for item in items:
        cal.add_component(item.to_ical())
    return bytes(cal.to_ical())
