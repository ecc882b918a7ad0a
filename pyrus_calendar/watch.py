"""What ``PyrusClient.watch()`` tells the core's watch engine about the Pyrus calendar.

Tasks are keyed ``task:<id>``, meetings ``meeting:<id>``. A task's fingerprint is its
``last_modified_date`` plus a hash of its content (a comment or a field can change without a
newer date on some servers); a meeting's, a hash of its content. A task falls off the back of
the window once every deadline the filters select it by and it carries (``due`` for ``Due``,
``due_date`` for ``DueDate``) is behind the window's start; ``DueForCurrentStep`` and
``Reminded`` select by moments the task does not carry, so a task seen only through them has
no known place (its disappearance is reported as ``removed``). A meeting falls off the back
once its start is behind the window's start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

import msgspec

from calendar_watch.engine import Observed, content_hash

from .filters import CalendarFilter
from .models import Meeting, Task

if TYPE_CHECKING:
    from .paging import CalendarWalk

__all__ = ["PyrusWatchSource"]

_encoder = msgspec.json.Encoder()
_task_decoder = msgspec.json.Decoder(Task)
_meeting_decoder = msgspec.json.Decoder(Meeting)


class PyrusWatchSource:
    """Lists a window with one walk and reads tasks and meetings for the engine."""

    def __init__(
        self,
        walk: Callable[[datetime, datetime], CalendarWalk[Task | Meeting] | CalendarWalk[Task]],
        mask: CalendarFilter,
    ) -> None:
        self._walk = walk
        self._by_due = bool(mask & CalendarFilter.DUE)
        self._by_day = bool(mask & CalendarFilter.DUE_DATE)

    def fetch(self, start: datetime, end: datetime) -> AsyncIterator[Task | Meeting]:
        """One walk of ``[start, end)`` (it raises ``IncompleteResultsError`` if cut short),
        without meetings marked ``deleted``: on nobody's calendar, they are reported removed."""
        return _without_deleted(self._walk(start, end))

    def observe(self, item: Task | Meeting) -> Observed:
        """Key, fingerprint, place in time and JSON of a task or meeting."""
        data = _encoder.encode(item)
        if isinstance(item, Meeting):
            return Observed(f"meeting:{item.id}", content_hash(data), item.start_time, data)
        # Every task of the window passes here on every poll: kept to one encoding and a hash.
        fingerprint = f"{item.last_modified_date}/{content_hash(data)}"
        return Observed(f"task:{item.id}", fingerprint, self._until(item), data)

    def decode(self, key: str, data: bytes) -> Task | Meeting:
        """A task or meeting back from its stored JSON."""
        if key.startswith("meeting:"):
            return _meeting_decoder.decode(data)
        return _task_decoder.decode(data)

    def _until(self, task: Task) -> datetime | None:
        moments: list[datetime] = []
        if self._by_due and task.due is not None:
            moments.append(task.due)
        if self._by_day and task.due_date is not None:
            # The earliest a day can leave the window, whichever way the server counts its
            # start date: the day's first moment in UTC (the filter compares UTC dates).
            moments.append(datetime.combine(task.due_date, time(), tzinfo=UTC))
        return max(moments, default=None)


async def _without_deleted(
    walk: CalendarWalk[Task | Meeting] | CalendarWalk[Task],
) -> AsyncIterator[Task | Meeting]:
    try:
        async for item in walk:
            if not (isinstance(item, Meeting) and item.deleted):
                yield item
    finally:
        await walk.aclose()  # a watch stopped mid-poll stops the walk's requests at once
