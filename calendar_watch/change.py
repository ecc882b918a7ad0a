"""The change records a watch yields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, Literal, TypeVar

__all__ = ["KINDS", "Change", "ChangeKind"]

T = TypeVar("T")

#: what happened to an item between two polls
ChangeKind = Literal["added", "changed", "removed"]
#: every :data:`ChangeKind`, in the order a poll reports them
KINDS: Final[tuple[ChangeKind, ...]] = ("added", "changed", "removed")


@dataclass(frozen=True, slots=True)
class Change(Generic[T]):
    """One change a watch saw: ``kind``, ``item`` (the new version; for ``removed`` the last
    one known), ``previous`` (the version before, or ``None``), ``key`` (the same on every
    delivery of this change, for consumers that keep their own idempotency) and ``seen_at``
    (when the poll that saw it started, aware UTC)."""

    kind: ChangeKind
    item: T
    previous: T | None
    key: str
    seen_at: datetime
