"""One meaning of a time window for every listing of both backends, whatever the server's
own boundary rule or all-day storage.

A window is half-open, ``[start, end)``:

- a timed item is in it when it overlaps it: ``item.start < end and item.end > start``;
- a zero-length item (a Pyrus ``due``, a meeting of no duration) when
  ``start <= item.start < end``;
- an all-day item (and a Pyrus ``due_date``) counts by date in the window's own zone, the
  zone of ``start``: the window's dates run from ``start``'s date to the date of its last
  instant before ``end`` (a midnight ``end`` never adds a day), and the item is in when its
  dates meet those.

The backends ask the server for :meth:`TimeWindow.asked` (a day wider on each side, so no
boundary rule, storage offset or inclusive 23:59:59 end can leave an item out) and keep what
this module says is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final

from .checks import require_aware, require_range

__all__ = ["TimeWindow"]

_EARLIEST: Final = datetime.min.replace(tzinfo=UTC)
_LATEST: Final = datetime.max.replace(tzinfo=UTC)
_INSTANT: Final = timedelta(microseconds=1)
#: how much wider than the window the server is asked: a day covers every boundary rule,
#: every UTC offset an all-day item may be stored with (-12..+14 h) and 23:59:59 ends
MARGIN: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """``[start, end)`` with the zone its dates are counted in; ``None`` is an open side.

    Make one with :meth:`of`, which checks the arguments as every listing does.
    """

    start: datetime | None
    end: datetime | None
    zone: tzinfo

    @classmethod
    def of(
        cls,
        start: datetime | None,
        end: datetime | None,
        *,
        strict: bool = False,
        names: tuple[str, str] = ("start", "end"),
    ) -> TimeWindow:
        """The window ``[start, end)``: aware datetimes, ``start`` not after ``end`` (not
        equal either, when ``strict``). Its dates are counted in ``start``'s zone (``end``'s
        when ``start`` is open, UTC when both are)."""
        if start is not None:
            require_aware(start, names[0])
        if end is not None:
            require_aware(end, names[1])
        if start is not None and end is not None:
            require_range(start, end, names=names, strict=strict)
        given = start if start is not None else end
        zone = given.tzinfo if given is not None and given.tzinfo is not None else UTC
        return cls(start, end, zone)

    @property
    def days(self) -> tuple[date, date] | None:
        """The window's first and last date in its zone, both inclusive (``None``: empty)."""
        if self.start is not None and self.end is not None and self.end <= self.start:
            return None
        first = date.min if self.start is None else self._date(self.start)
        last = date.max if self.end is None else self._date(self.end - _INSTANT)
        return first, last

    def holds_instant(self, at: datetime) -> bool:
        """A deadline or a zero-length item: ``start <= at < end``."""
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)

    def holds_span(self, begins: datetime, ends: datetime | None) -> bool:
        """A timed item ``[begins, ends)``: it overlaps the window; one of no length (or no
        end) is an instant."""
        if ends is None or ends <= begins:
            return self.holds_instant(begins)
        if self.start is not None and self.end is not None and self.end <= self.start:
            return False  # [t, t) holds nothing, not even what runs across t
        return (self.end is None or begins < self.end) and (self.start is None or ends > self.start)

    def holds_days(self, first: date, last: date) -> bool:
        """An all-day item on the dates ``first..last`` (inclusive) meets the window's dates."""
        days = self.days
        return days is not None and first <= days[1] and last >= days[0]

    def asked(self) -> tuple[datetime | None, datetime | None]:
        """The bounds to send the server: a :data:`MARGIN` wider on each side, so that no
        server rule leaves out an item this window holds (open sides stay open)."""
        return (
            None if self.start is None else _shift(self.start, -MARGIN),
            None if self.end is None else _shift(self.end, MARGIN),
        )

    def _date(self, moment: datetime) -> date:
        # The date in the window's zone, by that zone's rules for that date (zoneinfo).
        try:
            return moment.astimezone(self.zone).date()
        except OverflowError:  # datetime.min/max moved past year 1 or 9999
            return date.min if moment.astimezone(UTC) < _EARLIEST + MARGIN else date.max


def _shift(moment: datetime, by: timedelta) -> datetime:
    """``moment + by`` in UTC, held at the ends of the calendar instead of overflowing."""
    utc = moment.astimezone(UTC)
    if by < timedelta(0):
        return _EARLIEST if utc - _EARLIEST <= -by else utc + by
    return _LATEST if _LATEST - utc <= by else utc + by
