"""The watch engine: poll a rolling window, diff it against the state, hand out changes.

Each poll covers ``[now - lookback, now + horizon)``. An item seen for the first time is
``added``; one whose fingerprint moved is ``changed``; one that was in the window and is not
any more is ``removed``, unless it only fell off the back because time passed (its
:attr:`Mark.until` is at or before the window's start): that one is forgotten silently. A
poll whose walk is incomplete reports no ``removed`` at all (absence proves nothing then).

Delivery is at-least-once. A poll and the changes it found are committed together, then
handed out one by one; the change handed out last is acknowledged (dropped from the state)
when the consumer asks for the next one, calls :meth:`Watch.aclose`, or leaves
``async with`` without an exception. A crash while a change is being handled therefore
delivers that change again after a restart, and nothing is lost; changes made while no
watcher ran are found by the first poll after the restart.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Generic, Protocol, TypeVar
from urllib.parse import urlsplit

from calendar_transport.checks import require_seconds
from calendar_transport.clocks import Now, Sleep
from calendar_transport.errors import (
    ClientClosedError,
    DecodeError,
    IncompleteResultsError,
    ProxyError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TLSError,
    TransportError,
)

from .change import KINDS, Change, ChangeKind
from .sqlite import SqliteWatchState
from .state import Mark, MemoryWatchState, Record, SnapshotDelta, StoredChange, WatchState

__all__ = [
    "Now",
    "Observed",
    "Sleep",
    "Watch",
    "WatchSource",
    "check_watch",
    "content_hash",
    "default_name",
    "make_state",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: the current time, aware
#: waits that many seconds
#: what ``state=`` takes: a path (an SQLite file), a state, or ``None`` (memory)
StateLike = WatchState | str | os.PathLike[str] | None


@dataclass(frozen=True, slots=True)
class Observed:
    """What a backend says of one fetched item: its stable ``key``, a ``fingerprint`` of
    what users see, when it falls off the back of a window (``until``; ``None``: unknown),
    and its JSON in the API's field names (``data``)."""

    key: str
    fingerprint: str
    until: datetime | None
    data: bytes


class WatchSource(Protocol[T]):
    """What a backend gives the engine: how to list a window and how to read an item."""

    def fetch(self, start: datetime, end: datetime) -> AsyncIterator[T]:
        """Every item in ``[start, end)``; raises ``IncompleteResultsError`` at the end
        (after yielding what it found) if some could not be listed."""

    def observe(self, item: T) -> Observed:
        """The item's key, fingerprint, place in time and JSON."""

    def decode(self, key: str, data: bytes) -> T:
        """An item back from the JSON :meth:`observe` gave for ``key``."""


def content_hash(data: bytes) -> str:
    """A short hash of ``data`` for fingerprints (not for security)."""
    # SHA-1, cut to 96 bits: about twice as fast as BLAKE2 here, and a fingerprint only has
    # to tell two versions of one item apart (a poll hashes every item in the window).
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()[:24]


def default_name(backend: str, base_url: str, login: str | None, query: str) -> str:
    """A watch's name when none is given: the backend, server, login and what it lists
    (no secret: a token never names a watch). Long ones end in a hash."""
    host = urlsplit(base_url).netloc or base_url
    name = "/".join((backend, host, login or "token", query))
    name = "".join("_" if char in "{} \t\r\n" else char for char in name)
    if len(name) > 120:
        name = f"{name[:96]}~{content_hash(name.encode())}"
    return name


def _utcnow() -> datetime:
    return datetime.now(UTC)


# Failures a later poll may not meet (the transport has retried them already): the poll is
# skipped with a warning. Everything else (bad credentials, a bad certificate, a closed
# client) cannot heal by waiting and ends the watch.
def _skippable(error: BaseException) -> bool:
    if isinstance(error, ServerError | RateLimitError | RequestTimeoutError | DecodeError):
        return True
    return isinstance(error, TransportError) and not isinstance(
        error, TLSError | ProxyError | ClientClosedError
    )


def check_watch(
    lookback: object,
    horizon: object,
    interval: object,
    kinds: object = None,
) -> tuple[timedelta, timedelta, float, frozenset[ChangeKind]]:
    """The checked window, interval and kinds of a watch; ``ValueError``/``TypeError``
    naming the argument otherwise."""
    lookback = _span(lookback, "lookback")
    horizon = _span(horizon, "horizon")
    if horizon < lookback:
        raise ValueError(
            f"horizon ({_spoken(horizon)}) must not be shorter than lookback ({_spoken(lookback)})"
        )
    if horizon == timedelta(0):
        raise ValueError("horizon must be positive: the window would be empty")
    seconds = require_seconds(interval, "interval", above=True)
    if kinds is None:
        chosen = frozenset(KINDS)
    else:
        if isinstance(kinds, str) or not isinstance(kinds, Iterable):
            raise TypeError(f"kinds must be a collection of {', '.join(KINDS)}, not {kinds!r:.40}")
        chosen_list: list[ChangeKind] = []
        for kind in kinds:
            match = next((known for known in KINDS if known == kind), None)
            if match is None:
                raise ValueError(f"kinds: unknown kind {kind!r}; use {', '.join(KINDS)}")
            chosen_list.append(match)
        if not chosen_list:
            raise ValueError(f"kinds must name at least one of {', '.join(KINDS)}")
        chosen = frozenset(chosen_list)
    return lookback, horizon, seconds, chosen


def _span(value: object, name: str) -> timedelta:
    if not isinstance(value, timedelta):
        raise TypeError(f"{name} must be a timedelta, not {type(value).__name__}")
    if value < timedelta(0):
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def make_state(state: object) -> tuple[WatchState, bool]:
    """The state ``state=`` names, and whether the watch owns (and closes) it."""
    if state is None:
        return MemoryWatchState(), True
    if isinstance(state, str | os.PathLike):
        return SqliteWatchState(state), True
    if isinstance(state, WatchState):
        return state, False
    raise TypeError(f"state must be a path, a WatchState or None, not {type(state).__name__}")


class Watch(Generic[T]):
    """An async iterator of :class:`Change` records for one named watch (see the module
    docstring for what is reported and when it is committed).

    Use it as ``async with client.watch(...) as changes: async for change in changes:``:
    leaving the block normally commits the change handed out last; an exception leaves it
    to be delivered again. ``polls``, ``polls_skipped`` and ``polls_incomplete`` count what
    it did.
    """

    def __init__(
        self,
        source: WatchSource[T],
        *,
        name: str,
        lookback: timedelta,
        horizon: timedelta,
        interval: float,
        state: StateLike = None,
        kinds: Iterable[str] | None = None,
        clock: Now | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.lookback, self.horizon, self.interval, self.kinds = check_watch(
            lookback, horizon, interval, kinds
        )
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty str, got {name!r:.60}")
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be callable, not {type(clock).__name__}")
        if sleep is not None and not callable(sleep):
            raise TypeError(f"sleep must be callable, not {type(sleep).__name__}")
        self.name = name
        self._source = source
        self._state, self._owns_state = make_state(state)
        self._clock: Now = clock or _utcnow
        self._sleep: Sleep = sleep or asyncio.sleep
        self._loaded = False
        self._closed = False
        self._poll_id = 0
        self._marks: dict[str, Mark] = {}
        self._pending: collections.deque[StoredChange] = collections.deque()
        self._in_flight: StoredChange | None = None
        self._last_poll: datetime | None = None
        self._next_seq = 1
        #: polls committed
        self.polls = 0
        #: polls skipped after a server error (the watch went on)
        self.polls_skipped = 0
        #: polls whose walk was incomplete (no ``removed`` reported for them)
        self.polls_incomplete = 0

    def __repr__(self) -> str:
        return (
            f"Watch({self.name!r}, lookback={self.lookback}, horizon={self.horizon}, "
            f"interval={self.interval}, state={self._state!r}, polls={self.polls})"
        )

    @property
    def state(self) -> WatchState:
        """Where this watch keeps what it saw."""
        return self._state

    def knows(self, key: str) -> bool:
        """Whether ``key`` is among the items of the window this watch last committed (seen,
        and neither removed nor left behind by the window since)."""
        return key in self._marks

    # ---- iteration -------------------------------------------------------------------------

    def __aiter__(self) -> Watch[T]:
        return self

    async def __anext__(self) -> Change[T]:
        if self._closed:
            raise StopAsyncIteration
        await self._load()
        await self._guarded(self._ack())
        while not self._pending:  # one round per poll; ends when a poll finds a change
            await self._wait()  # interrupted here, nothing is half done
            await self._guarded(self._poll())
        stored = self._pending.popleft()
        self._in_flight = stored
        return self._change(stored)

    async def _guarded(self, step: Awaitable[None]) -> None:
        try:
            await step
        except BaseException:
            # Cancelled or failed half-way (a commit may or may not have landed): the next
            # call starts again from what the state holds.
            self._loaded = False
            raise

    async def aclose(self) -> None:
        """Commit the change handed out last and close the state (if the watch made it)."""
        if self._closed:
            return
        try:
            # Also after a cancelled __anext__ (a stop while it was acking): the change was
            # handled, and a repeated ack is harmless.
            await self._ack()
        finally:
            await self._shut()

    async def __aenter__(self) -> Watch[T]:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            await self.aclose()
        else:
            # The change being handled is left in the state: it is delivered again.
            await self._shut()

    # ---- steps -----------------------------------------------------------------------------

    async def _shut(self) -> None:
        self._closed = True
        self._in_flight = None
        if self._owns_state:
            await self._state.close()

    async def _load(self) -> None:
        if self._loaded:
            return
        await self._state.open()
        snapshot = await self._state.load(self.name)
        self._poll_id = snapshot.poll_id
        self._marks = snapshot.marks
        self._pending = collections.deque(snapshot.pending)
        self._in_flight = None
        last = max((change.seq for change in snapshot.pending), default=0)
        self._next_seq = max(self._next_seq, last + 1)
        self._loaded = True

    async def _ack(self) -> None:
        stored = self._in_flight
        if stored is not None:
            await self._state.ack(self.name, stored.seq)
            self._in_flight = None  # only once stored: a cancelled ack is made again on exit

    async def _wait(self) -> None:
        if self._last_poll is None:
            return  # the first poll of this process runs at once
        due = self._last_poll + timedelta(seconds=self.interval)
        left = (due - self._clock()).total_seconds()
        # Always through the sleep, also when a poll outlasted the interval (a zero wait): a
        # sleep that ends the run after N polls sees every poll. Capped: a clock set back
        # must not stall the watch for longer than one interval.
        await self._sleep(max(0.0, min(left, self.interval)))

    async def _poll(self) -> None:
        now = self._clock()
        if now.utcoffset() is None:
            raise ValueError("clock must return aware datetimes")
        now = now.astimezone(UTC)
        self._last_poll = now
        start, end = now - self.lookback, now + self.horizon
        poll_id = self._poll_id + 1
        seen: set[str] = set()
        found: list[tuple[ChangeKind, Observed]] = []
        complete = True
        items = self._source.fetch(start, end)
        try:
            async for item in items:
                observed = self._source.observe(item)
                if observed.key in seen:
                    continue
                seen.add(observed.key)
                mark = self._marks.get(observed.key)
                if mark is None:
                    found.append(("added", observed))
                elif mark.fingerprint != observed.fingerprint or mark.until != observed.until:
                    found.append(("changed", observed))
        except IncompleteResultsError as error:
            complete = False
            self.polls_incomplete += 1
            logger.warning(
                "watch %s: poll %d was incomplete, so it reports nothing removed: %s",
                self.name,
                poll_id,
                error,
            )
        except Exception as error:
            if not _skippable(error):
                raise
            self.polls_skipped += 1
            logger.warning(
                "watch %s: poll %d skipped after %s: %s (the watch goes on)",
                self.name,
                poll_id,
                type(error).__name__,
                error,
            )
            return
        finally:
            closing = getattr(items, "aclose", None)
            if closing is not None:
                await closing()
        await self._commit(poll_id, now, start, found, seen, complete)

    async def _commit(
        self,
        poll_id: int,
        now: datetime,
        start: datetime,
        found: list[tuple[ChangeKind, Observed]],
        seen: set[str],
        complete: bool,
    ) -> None:
        gone: list[str] = []
        forgotten: list[str] = []
        for key, mark in self._marks.items():
            if key in seen:
                continue
            if mark.until is not None and mark.until <= start:
                forgotten.append(key)  # fell off the back: time passed, nothing happened
            elif complete:
                gone.append(key)
        gone.sort()
        # The stored versions, for ``previous`` of a change and ``item`` of a removal.
        wanted = [observed.key for kind, observed in found if kind == "changed"] + gone
        before = await self._state.items(self.name, wanted) if wanted else {}
        changes: list[StoredChange] = []
        seq = self._next_seq
        put: dict[str, Record] = {}
        for kind, observed in found:
            put[observed.key] = Record(Mark(observed.fingerprint, observed.until), observed.data)
            # Only the place in time moved (the window's reading of the same content): the
            # mark is updated, nobody is told.
            if kind == "changed" and self._marks[observed.key].fingerprint == observed.fingerprint:
                continue
            if kind in self.kinds:
                previous = before.get(observed.key) if kind == "changed" else None
                changes.append(
                    self._stored(seq, kind, observed.key, poll_id, now, observed.data, previous)
                )
                seq += 1
        for key in gone:
            last = before.get(key)
            if last is None:
                continue  # not stored: nothing to report it with
            if "removed" in self.kinds:
                changes.append(self._stored(seq, "removed", key, poll_id, now, last, None))
                seq += 1
        delta = SnapshotDelta(put=put, drop=forgotten + gone)
        await self._state.commit(self.name, poll_id, changes, delta)
        for key in delta.drop:
            del self._marks[key]
        for key, record in put.items():
            self._marks[key] = record.mark
        self._poll_id = poll_id
        self._next_seq = seq
        self._pending.extend(changes)
        self.polls += 1
        if forgotten:
            logger.debug(
                "watch %s: %d item(s) fell off the back of the window", self.name, len(forgotten)
            )

    @staticmethod
    def _stored(
        seq: int,
        kind: ChangeKind,
        item_key: str,
        poll_id: int,
        now: datetime,
        data: bytes,
        previous: bytes | None,
    ) -> StoredChange:
        # Unique in a state (an item changes at most once per poll) and the same on every
        # delivery: it is stored with the change.
        return StoredChange(seq, kind, item_key, f"{item_key}@{poll_id}", now, data, previous)

    def _change(self, stored: StoredChange) -> Change[T]:
        decode = self._source.decode
        previous = None if stored.previous is None else decode(stored.item_key, stored.previous)
        return Change(
            kind=stored.kind,
            item=decode(stored.item_key, stored.item),
            previous=previous,
            key=stored.key,
            seen_at=stored.seen_at,
        )


def _spoken(span: timedelta) -> str:
    # "2d", "12h", "1d12h": as a person types a duration, not timedelta's "2 days, 0:00:00".
    seconds = int(span.total_seconds())
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h"), (seconds % 3600 // 60, "m")]
    text = "".join(f"{count}{unit}" for count, unit in parts if count)
    return text or f"{seconds}s"
