"""What ``R7Client.events.watch()`` tells the core's watch engine about R7 events.

An event is keyed ``event:<id>`` (an occurrence of a recurring event ``event:<id>@<start>``:
the occurrences share an id). Its fingerprint is ``LastModificationDate`` plus a hash of the
fields users see (name, description, times, place, status, participants...), not of
everything the server sends. It falls off the back of the window once its end is behind the
window's start (the listing selects events that overlap the window).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

import msgspec

from calendar_watch.engine import Observed, content_hash

from .models import Event

__all__ = ["R7WatchSource"]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)

# What users see of an event: a change elsewhere (a server's bookkeeping) is no change.
_SEEN_FIELDS = (
    "name",
    "description",
    "start_date",
    "end_date",
    "is_all_day",
    "calendar_id",
    "category_id",
    "status",
    "address",
    "place",
    "is_private",
    "is_free",
    "recurring",
    "exceptions",
    "participants",
    "organizer",
    "organizer_id",
    "start_time_zone_offset",
    "end_time_zone_offset",
)


class R7WatchSource:
    """Lists a window with ``events.iterate`` and reads events for the engine."""

    def __init__(self, iterate: Callable[[datetime, datetime], AsyncIterator[Event]]) -> None:
        self._iterate = iterate

    def fetch(self, start: datetime, end: datetime) -> AsyncIterator[Event]:
        """Every event in ``[start, end)`` (``events.iterate``'s rule)."""
        return self._iterate(start, end)

    def observe(self, item: Event) -> Observed:
        """Key, fingerprint, place in time and JSON of an event."""
        data = _encoder.encode(item)
        seen = _encoder.encode([getattr(item, name) for name in _SEEN_FIELDS])
        fingerprint = f"{item.last_modification_date}/{content_hash(seen)}"
        key = f"event:{item.id}"
        if item.recurring and item.start_date is not None:
            key = f"{key}@{item.start_date.isoformat()}"
        return Observed(key, fingerprint, item.end_date or item.start_date, data)

    def decode(self, key: str, data: bytes) -> Event:
        """An event back from its stored JSON."""
        return _decoder.decode(data)
