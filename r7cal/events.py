"""``r7.events``: create, list, walk a long range window by window, delete."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Final

from calendar_transport import Transport
from calendar_transport.checks import (
    require_aware,
    require_bool,
    require_id,
    require_ids,
    require_range,
    require_text,
)
from calendar_transport.clocks import Now, Sleep
from calendar_transport.window import TimeWindow
from calendar_watch.engine import StateLike, Watch, default_name

from ._wire import MAX_TEXT, decode_listing, delete_expecting_true, format_datetime
from .models import Event
from .watch import R7WatchSource

DEFAULT_WINDOW: Final = timedelta(days=31)
#: the most windows one ``iterate`` walks (about 850 years of the default window)
MAX_WINDOWS: Final = 10_000

_EARLIEST: Final = datetime.min.replace(tzinfo=UTC)
_LISTING: Any = list[Event] | Event | None


def _day_of(value: object, name: str) -> date:
    # A date, or an aware datetime's date in the zone it was given in: midnight in Moscow
    # is that day in Moscow, never the evening before in UTC.
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            require_aware(value, name)  # raises, naming the argument
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"{name} must be a date or an aware datetime, not {type(value).__name__}")


def _next_day(day: date, name: str) -> date:
    if day == date.max:
        raise ValueError(f"{name}: an all-day event cannot end after 9999-12-31")
    return day + timedelta(days=1)


def _all_day_span(start: object, end: object) -> tuple[date, date | None]:
    # The days covered, the end exclusive (``None``: one day, the server's default).
    first = _day_of(start, "start")
    if end is None:
        return first, None
    after = _day_of(end, "end")
    if isinstance(end, datetime) and end.time() != time():
        after = _next_day(after, "end")  # an end within a day includes that day
    if after < first:
        raise ValueError(f"end must not be before start (got {first} .. {after})")
    return first, after if after > first else _next_day(first, "end")


def _midnight_utc(day: date) -> str:
    return format_datetime(datetime.combine(day, time(), tzinfo=UTC))


def _order(event: Event) -> tuple[datetime, int]:
    return (event.start_date or _EARLIEST, event.id)


def _in_window(event: Event, window: TimeWindow) -> bool:
    # The SDK's rule, not the server's (calendar_transport.window): an all-day event by its
    # dates in the window's zone, a timed one by overlap, a zero-length one as an instant.
    first, last = event.start_day, event.last_day
    if first is not None and last is not None:
        return window.holds_days(first, last)
    if event.start_date is None:
        return True  # nothing to place it by: kept rather than dropped unseen
    return window.holds_span(event.start_date, event.end_date)


class Events:
    """The event endpoints. Reached as ``R7Client.events``."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def create(
        self,
        start: datetime | date,
        end: datetime | date | None = None,
        *,
        name: str | None = None,
        calendar_id: int | None = None,
        all_day: bool = False,
    ) -> Event:
        """Create an event (``POST /api/v1/events/save``).

        ``end`` may be left out only when ``all_day`` is true. Without ``calendar_id`` the
        event goes to the user's main calendar. Dates in the past are allowed.

        An all-day event is a set of days. ``start`` and ``end`` may be dates or aware
        datetimes; a datetime stands for its date in its own zone (midnight of 1 Dec in
        Moscow is 1 Dec). ``end`` is exclusive, as iCalendar's DTEND: a date (or a midnight)
        is the day after the last day, an end later in a day includes that day, and an end
        equal to the start makes a one-day event. Without ``end`` the event lasts one day.
        On the wire each day is its midnight UTC: 1-2 Dec is ``StartDate
        2026-12-01T00:00:00Z``, ``EndDate 2026-12-03T00:00:00Z``.
        """
        require_bool(all_day, "all_day")
        if all_day:
            first, after = _all_day_span(start, end)
            begins_text = _midnight_utc(first)
            ends_text = None if after is None else _midnight_utc(after)
        elif end is None:
            require_aware(start, "start")
            raise ValueError("end is required unless all_day=True")
        else:
            begins, ends = require_aware(start, "start"), require_aware(end, "end")
            require_range(begins, ends, strict=False)
            begins_text, ends_text = format_datetime(begins), format_datetime(ends)
        fields = {
            "Name": require_text(name, "name", max_length=MAX_TEXT),
            "CalendarId": None if calendar_id is None else require_id(calendar_id, "calendar_id"),
            "StartDate": begins_text,
            "EndDate": ends_text,
            "IsAllDay": all_day,
        }
        body = {key: value for key, value in fields.items() if value is not None}
        # A save is not idempotent: sent twice it makes two events, so it is never re-sent.
        return await self._transport.request(
            "POST", "/api/v1/events/save", json=body, response_type=Event, idempotent=False
        )

    async def list(
        self,
        calendar_ids: Iterable[int],
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> builtins.list[Event]:
        """Events of ``calendar_ids`` in the window ``[start, end)`` (``POST /api/v1/events``).

        One request. A timed event is in when it overlaps the window (one of no length when
        ``start <= its start < end``); an all-day event when its days meet the window's
        dates in ``start``'s zone, so a window from one midnight to the next holds that one
        day. The server is asked a day wider and the answer kept by this rule, so its own
        boundary rule and all-day storage do not change what comes back. Either bound may
        be ``None`` (open).
        """
        ids = require_ids(calendar_ids, "calendar_ids")
        window = TimeWindow.of(start, end)
        events = await self._list(ids, *window.asked())
        return [event for event in events if _in_window(event, window)]

    def iterate(
        self,
        calendar_ids: Iterable[int],
        start: datetime,
        end: datetime,
        *,
        window: timedelta = DEFAULT_WINDOW,
    ) -> AsyncIterator[Event]:
        """Every event in ``[start, end)``, by the rule of :meth:`list`, fetched ``window``
        by ``window``.

        At most :data:`MAX_WINDOWS` windows are walked (a longer range raises
        ``ValueError``: pass a larger ``window``). An event that spans several windows is
        yielded once; occurrences of a recurring
        event (same id, different start) are all yielded. Windows come in order; within a
        window events are ordered by start. The arguments are checked on this call, before
        any request. The client's ``deadline`` bounds each request of the walk, not the
        walk: bound it with ``asyncio.timeout()``.
        """
        ids = require_ids(calendar_ids, "calendar_ids")
        begins = require_aware(start, "start")
        ends = require_aware(end, "end")
        require_range(begins, ends, strict=False)
        if not isinstance(window, timedelta):
            raise TypeError(f"window must be a timedelta, not {type(window).__name__}")
        if window <= timedelta(0):
            raise ValueError(f"window must be positive, got {window}")
        if (ends - begins) / window > MAX_WINDOWS:
            # datetime.min..datetime.max in months would be 117,000 requests.
            raise ValueError(
                f"window {window} cuts {begins:%Y-%m-%d}..{ends:%Y-%m-%d} into more than "
                f"{MAX_WINDOWS} requests; pass a larger window (or a narrower range)"
            )
        return self._walk(ids, TimeWindow.of(start, end).zone, begins, ends, window)

    def watch(
        self,
        calendar_ids: Iterable[int],
        *,
        lookback: timedelta = timedelta(days=1),
        horizon: timedelta = timedelta(days=30),
        interval: float = 60.0,
        state: StateLike = None,
        kinds: Iterable[str] | None = None,
        name: str | None = None,
        window: timedelta = DEFAULT_WINDOW,
        clock: Now | None = None,
        sleep: Sleep | None = None,
    ) -> Watch[Event]:
        """The changes of ``calendar_ids``' events in a rolling window, every ``interval`` s.

        Returns a :class:`~calendar_watch.Watch`: an async iterator of
        :class:`~calendar_watch.Change` records (``added``, ``changed``,
        ``removed``) for ``[now - lookback, now + horizon)``, listed ``window`` by ``window``;
        use it in ``async with``. ``state``: a path (an SQLite file, kept across restarts), a
        :class:`~calendar_watch.WatchState`, or ``None`` (memory). ``kinds``,
        ``name``, ``clock``, ``sleep``: as for ``PyrusClient.watch``. Delivery is
        at-least-once: see the README's "Watching for changes". Checked on this call.
        """
        ids = require_ids(calendar_ids, "calendar_ids")
        if not isinstance(window, timedelta):
            raise TypeError(f"window must be a timedelta, not {type(window).__name__}")
        if window <= timedelta(0):
            raise ValueError(f"window must be positive, got {window}")

        def iterate(start: datetime, end: datetime) -> AsyncIterator[Event]:
            return self.iterate(ids, start, end, window=window)

        if name is None:
            login = getattr(self._transport.auth, "login_name", None)
            query = "calendars=" + ",".join(str(i) for i in sorted(set(ids)))
            name = default_name("r7", self._transport.base_url, login, query)
        return Watch(
            R7WatchSource(iterate),
            name=name,
            lookback=lookback,
            horizon=horizon,
            interval=interval,
            state=state,
            kinds=kinds,
            clock=clock,
            sleep=sleep,
        )

    async def delete(self, event_id: int) -> None:
        """Delete an event; only the user who created it may (``DELETE /api/v1/events``)."""
        event_id = require_id(event_id, "event_id")
        await delete_expecting_true(self._transport, "/api/v1/events", params={"id": event_id})

    # ---- internals -----------------------------------------------------------------------

    async def _list(
        self, ids: builtins.list[int], start: datetime | None, end: datetime | None
    ) -> builtins.list[Event]:
        # The bounds as the server is asked them: the callers widen them first.
        body: dict[str, Any] = {"CalendarIds": ids}
        if start is not None:
            body["StartDate"] = format_datetime(start)
        if end is not None:
            body["EndDate"] = format_datetime(end)
        # This POST only reads, so it is retried like a GET.
        raw = await self._transport.request(
            "POST", "/api/v1/events", json=body, response_type=bytes, idempotent=True
        )
        return decode_listing(
            self._transport, raw, Event, _LISTING, method="POST", path="/api/v1/events"
        )

    async def _walk(
        self,
        ids: builtins.list[int],
        zone: tzinfo,
        start: datetime,
        end: datetime,
        window: timedelta,
    ) -> AsyncIterator[Event]:
        # Each part is asked a day wider and keeps what the rule puts in that part (the
        # parts tile the range, dates counted in its zone): an event on the edge between two
        # parts, even one of no length, is found by both and yielded with the first that
        # holds it. (id, start) identifies one occurrence; nothing is forgotten early.
        seen: set[tuple[int, datetime | None]] = set()
        window_start = start
        while True:
            # Compared this way round so a huge window cannot overflow datetime.max.
            window_end = end if end - window_start <= window else window_start + window
            part = TimeWindow(window_start, window_end, zone)
            events = await self._list(ids, *part.asked())
            for event in sorted(events, key=_order):
                key = (event.id, event.start_date)
                if key not in seen and _in_window(event, part):
                    seen.add(key)
                    yield event
            if window_end >= end:
                return
            window_start = window_end
