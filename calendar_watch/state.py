"""Where a watch keeps what it saw: the protocol the engine uses, and the in-memory state.

A state holds, per watch name, the last committed poll number, one :class:`Mark` per item
seen in the window (its fingerprint and when it leaves the window) with the item's last
version apart (:meth:`WatchState.items`), and the changes committed but not yet taken by the
consumer (:attr:`Snapshot.pending`). A poll is one :meth:`WatchState.commit`: the marks it
changed and the changes it found go in together or not at all. The consumer's position is
one :meth:`WatchState.ack` per change, made when the consumer asks for the next one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from calendar_transport.errors import CalendarError

from .change import KINDS, ChangeKind

__all__ = [
    "Mark",
    "MemoryWatchState",
    "Record",
    "Snapshot",
    "SnapshotDelta",
    "StoredChange",
    "WatchConflictError",
    "WatchState",
    "WatchStateError",
]


class WatchStateError(CalendarError):
    """A watch state cannot be used: a file that is not ours, from a newer schema version,
    corrupt, or on a path that cannot be written."""


def stored_kind(value: str) -> ChangeKind:
    """A change kind read back from a state (its own type again); anything else is a
    damaged state."""
    for kind in KINDS:
        if kind == value:
            return kind
    raise WatchStateError(f"unknown change kind {value!r:.40} in a stored watch")


class WatchConflictError(WatchStateError):
    """A commit for a poll that is not the next one: another process advanced this watch."""


@dataclass(frozen=True, slots=True)
class Mark:
    """What a state keeps of one item between polls (its data apart): the fingerprint of
    the version last seen, and the moment it falls off the back of the window (``None``:
    not known, so its disappearance is reported as ``removed``)."""

    fingerprint: str
    until: datetime | None


@dataclass(frozen=True, slots=True)
class Record:
    """One item as a poll stores it: its :class:`Mark` and its JSON (the API's field names)."""

    mark: Mark
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredChange:
    """A change as a state keeps it until the consumer has taken it; ``seq`` orders them."""

    seq: int
    kind: ChangeKind
    item_key: str
    key: str
    seen_at: datetime
    item: bytes
    previous: bytes | None


@dataclass(frozen=True, slots=True)
class SnapshotDelta:
    """What one poll changes in a watch's items: records to store, keys to forget."""

    put: Mapping[str, Record] = field(default_factory=dict)
    drop: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A watch as its state holds it: the last committed poll (0: never polled), the marks
    of the items in the window, and the changes the consumer has not taken yet, in order."""

    poll_id: int
    marks: dict[str, Mark]
    pending: list[StoredChange]


@runtime_checkable
class WatchState(Protocol):
    """Storage for watches, each under its own name (one state may hold many)."""

    async def open(self) -> None:
        """Make the state ready (again a no-op once open); raise :class:`WatchStateError`
        if it cannot be used. Called before the first poll."""

    async def load(self, watch: str) -> Snapshot:
        """The watch ``watch`` as last committed (an empty snapshot for a new name)."""

    async def items(self, watch: str, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored JSON of those of ``keys`` the watch knows."""

    async def commit(
        self,
        watch: str,
        poll_id: int,
        changes: Sequence[StoredChange],
        delta: SnapshotDelta,
    ) -> None:
        """Store one poll atomically: ``delta`` applied, ``changes`` queued, the poll number
        set to ``poll_id``. Raise :class:`WatchConflictError` unless the stored poll number
        is ``poll_id - 1``."""

    async def ack(self, watch: str, seq: int) -> None:
        """The consumer has taken every queued change up to ``seq``: drop them."""

    async def close(self) -> None:
        """Release what the state holds (files, connections)."""


@dataclass(slots=True)
class _MemoryWatch:
    poll_id: int = 0
    marks: dict[str, Mark] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)
    pending: list[StoredChange] = field(default_factory=list)


class MemoryWatchState:
    """A state in this process' memory: for tests, and watches that may start afresh."""

    def __init__(self) -> None:
        self._watches: dict[str, _MemoryWatch] = {}

    def __repr__(self) -> str:
        return f"MemoryWatchState(watches={len(self._watches)})"

    async def open(self) -> None:
        """Nothing to open."""

    async def load(self, watch: str) -> Snapshot:
        """A copy of the watch, so the caller's edits do not reach the state."""
        stored = self._watches.get(watch, _MemoryWatch())
        return Snapshot(stored.poll_id, dict(stored.marks), list(stored.pending))

    async def items(self, watch: str, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored JSON of the known ``keys``."""
        data = self._watches.get(watch, _MemoryWatch()).data
        return {key: data[key] for key in keys if key in data}

    async def commit(
        self,
        watch: str,
        poll_id: int,
        changes: Sequence[StoredChange],
        delta: SnapshotDelta,
    ) -> None:
        """Apply one poll (see :meth:`WatchState.commit`)."""
        stored = self._watches.setdefault(watch, _MemoryWatch())
        if stored.poll_id != poll_id - 1:
            raise WatchConflictError(
                f"watch {watch!r}: poll {poll_id} does not follow poll {stored.poll_id}"
            )
        for key in delta.drop:
            stored.marks.pop(key, None)
            stored.data.pop(key, None)
        for key, record in delta.put.items():
            stored.marks[key] = record.mark
            stored.data[key] = record.data
        stored.pending.extend(changes)
        stored.poll_id = poll_id

    async def ack(self, watch: str, seq: int) -> None:
        """Drop the changes up to ``seq``."""
        stored = self._watches.get(watch)
        if stored is not None:
            stored.pending = [change for change in stored.pending if change.seq > seq]

    async def close(self) -> None:
        """Nothing to close (what was stored stays for another watch on this object)."""
