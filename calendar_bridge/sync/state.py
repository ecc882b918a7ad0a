"""Where a sync keeps what it wrote: per source item, the target's id, etag and content hash
(vdirsyncer's status table), and the writes of a run that had not finished (intents).

A run is one :meth:`SyncState.commit`: what it wrote and what it removed go in together. The
writes it plans are recorded first (:meth:`SyncState.begin`), so a run killed half-way
leaves their intents behind and the next run can find what they did on the target before
writing again: nothing is created twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, Protocol, runtime_checkable

from calendar_transport.errors import CalendarError

__all__ = [
    "Entry",
    "Intent",
    "MemorySyncState",
    "SyncSnapshot",
    "SyncState",
    "SyncStateError",
]

#: what a planned write does on the target
Operation = Literal["create", "update", "delete"]
OPERATIONS: Final[tuple[Operation, ...]] = ("create", "update", "delete")


class SyncStateError(CalendarError):
    """A sync state cannot be used: from another source or target, not ours, or corrupt."""


def stored_operation(value: object, where: str) -> Operation:
    """An operation read back from the state ``where`` (its own type again); anything else
    is a damaged state."""
    for op in OPERATIONS:
        if op == value:
            return op
    raise SyncStateError(f"unknown operation {value!r:.40} in {where}")


@dataclass(frozen=True, slots=True)
class Entry:
    """One source item as the target holds it: ``target_id`` (a CalDAV href, an R7 event
    id), its ``etag`` (``None`` where the target has none), the ``hash`` of what was written
    and when it falls off the back of the window (``until``)."""

    target_id: str
    etag: str | None
    hash: str
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Intent:
    """A write a run planned and may not have finished: its operation, the item's key, the
    entry it replaces (``None`` for a create) and what it writes (``payload``: the
    iCalendar text, empty for a delete)."""

    op: Operation
    key: str
    previous: Entry | None
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class SyncSnapshot:
    """A sync as last committed: what it mirrors (``source``, ``target``; empty for a new
    one), its entries by source key, and the intents of a run that did not finish."""

    source: str
    target: str
    entries: dict[str, Entry]
    intents: list[Intent] = field(default_factory=list)


@runtime_checkable
class SyncState(Protocol):
    """Storage for syncs, each under its own name."""

    async def open(self) -> None:
        """Make the state ready; raise :class:`SyncStateError` if it cannot be used."""

    async def load(self, sync: str) -> SyncSnapshot:
        """The sync ``sync`` as last committed (empty for a new name)."""

    async def begin(self, sync: str, source: str, target: str, intents: Sequence[Intent]) -> None:
        """Record the writes a run is about to make (added to those still pending)."""

    async def commit(
        self,
        sync: str,
        source: str,
        target: str,
        put: Mapping[str, Entry],
        drop: Sequence[str],
        done: Sequence[str],
    ) -> None:
        """Store one run atomically: ``put`` entries stored, ``drop`` keys forgotten, the
        intents of the ``done`` keys cleared, the source and target recorded."""

    async def close(self) -> None:
        """Release what the state holds."""


@dataclass(slots=True)
class _MemorySync:
    source: str = ""
    target: str = ""
    entries: dict[str, Entry] = field(default_factory=dict)
    intents: dict[str, Intent] = field(default_factory=dict)


class MemorySyncState:
    """A state in this process' memory: for tests and dry runs."""

    def __init__(self) -> None:
        self._syncs: dict[str, _MemorySync] = {}

    def __repr__(self) -> str:
        return f"MemorySyncState(syncs={len(self._syncs)})"

    async def open(self) -> None:
        """Nothing to open."""

    async def load(self, sync: str) -> SyncSnapshot:
        """A copy of the sync, so the caller's edits do not reach the state."""
        stored = self._syncs.get(sync, _MemorySync())
        return SyncSnapshot(
            stored.source, stored.target, dict(stored.entries), list(stored.intents.values())
        )

    async def begin(self, sync: str, source: str, target: str, intents: Sequence[Intent]) -> None:
        """Record the planned writes."""
        stored = self._syncs.setdefault(sync, _MemorySync())
        stored.source, stored.target = source, target
        stored.intents.update((intent.key, intent) for intent in intents)

    async def commit(
        self,
        sync: str,
        source: str,
        target: str,
        put: Mapping[str, Entry],
        drop: Sequence[str],
        done: Sequence[str],
    ) -> None:
        """Apply one run (see :meth:`SyncState.commit`)."""
        stored = self._syncs.setdefault(sync, _MemorySync())
        stored.source, stored.target = source, target
        for key in drop:
            stored.entries.pop(key, None)
        stored.entries.update(put)
        for key in done:
            stored.intents.pop(key, None)

    async def close(self) -> None:
        """Nothing to close."""
