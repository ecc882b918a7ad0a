"""The R7 target: one R7 calendar written through :class:`~r7cal.R7Client`.

R7 events hold a name, a start, an end and whether they are all-day, and R7 has create and
delete only: an update is a create of the new version followed by a delete of the old one
(in that order, so the calendar is never without the item). The engine records the write
before it is made; after a crash between the two halves, :meth:`R7Target.recover` finds
the event that was created (same name and times, an id the state does not know) and deletes
the old one, so a re-run never creates it twice.

R7 events carry nothing the sync could mark its own (a create takes a name, times and a
calendar only), so an event found after an unfinished create cannot be proved the sync's:
a user's own event may have the same name and times. It is never adopted (the sync would
later delete it); the create is sent again and the run names the item as re-sent, and the
log names the event that may be a copy. One duplicate is better than a user's event lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from calendar_transport.checks import require_id
from calendar_transport.errors import NotFoundError
from r7cal import R7Client

from ..ical import require_icalendar
from .engine import Item, SyncTargetError, Written
from .state import Entry, Intent

__all__ = ["R7Target"]

logger = logging.getLogger(__name__)

_Times = tuple[str, datetime | date, datetime | date | None, bool]


def _times(event: Any) -> _Times:
    start = event["DTSTART"].dt
    end = event["DTEND"].dt if "DTEND" in event else None
    all_day = not isinstance(start, datetime)
    if end is None and not all_day:
        end = start  # RFC 5545: a timed VEVENT without DTEND lasts no time
    return str(event.get("SUMMARY", "")), start, end, all_day


class R7Target:
    """The R7 calendar ``calendar_id``, written with the caller's open ``client``."""

    def __init__(self, client: R7Client, calendar_id: int) -> None:
        if not isinstance(client, R7Client):
            raise TypeError(f"client must be an R7Client, not {type(client).__name__}")
        require_id(calendar_id, "calendar_id")
        self._client = client
        self.calendar_id = calendar_id
        self.identity = f"r7:{client.transport.base_url}/calendar/{calendar_id}"
        #: creates and deletes sent, for the figures
        self.writes = 0

    def __repr__(self) -> str:
        return f"R7Target(calendar_id={self.calendar_id})"

    async def open(self) -> None:
        """Check the calendar exists for this user."""
        calendars = await self._client.calendars.list()
        if not any(calendar.id == self.calendar_id for calendar in calendars):
            raise SyncTargetError(
                f"R7 has no calendar {self.calendar_id} for this user (see `r7cal calendars list`)"
            )

    def fingerprint(self, item: Item) -> str:
        """The hash of what R7 keeps: name, times, all-day."""
        name, start, end, all_day = _times(item.event)
        text = f"{name}\n{start.isoformat()}\n{end.isoformat() if end else '-'}\n{all_day}"
        return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()

    async def create(self, item: Item) -> Written:
        """One ``events.create`` (never retried by the transport)."""
        name, start, end, all_day = _times(item.event)
        self.writes += 1
        created = await self._client.events.create(
            start, end, name=name or None, calendar_id=self.calendar_id, all_day=all_day
        )
        return Written(str(created.id), None)

    async def update(self, item: Item, entry: Entry, *, force: bool) -> Written:
        """Create the new version, then delete the old one."""
        written = await self.create(item)
        await self.delete(entry, force=force)
        return written

    async def delete(self, entry: Entry, *, force: bool) -> None:
        """``events.delete``; an event already gone is fine."""
        self.writes += 1
        with contextlib.suppress(NotFoundError):
            await self._client.events.delete(int(entry.target_id))

    async def recover(self, intent: Intent, known: Iterable[str]) -> Written | None:
        """Nothing is adopted (see the module): ``None``, after logging the events an
        unfinished create may have left, so that the run sends it again."""
        if not intent.payload:
            return None
        calendar = require_icalendar().Calendar.from_ical(intent.payload)
        event = next(iter(calendar.walk("VEVENT")))
        name, start, end, all_day = _times(event)
        low = _moment(start) - timedelta(days=1)
        high = _moment(end or start) + timedelta(days=1)
        taken = set(known)
        if intent.previous is not None:
            taken.add(intent.previous.target_id)
        for candidate in await self._client.events.list([self.calendar_id], low, high):
            if str(candidate.id) in taken or (candidate.name or "") != name:
                continue
            same = (all_day and candidate.is_all_day and candidate.start_day == start) or (
                not all_day and candidate.start_date == start
            )
            if same:
                logger.warning(
                    "R7 calendar %s: event %s (%r) may be a copy an unfinished run left of "
                    "%s; it is left alone (it may be a user's own) and the item written again",
                    self.calendar_id,
                    candidate.id,
                    name,
                    intent.key,
                )
        return None

    async def close(self) -> None:
        """The client is the caller's: nothing to close."""


def _moment(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)
