"""One-way sync of a source window into a target calendar (CalDAV or R7): the engine, its
state (memory, tables of their own in the watch's SQLite file, or Redis beside the watches'
state) and the targets.

The CalDAV target needs the ``caldav`` extra and the Redis state the ``redis`` extra; each is
imported only when used. ``RedisSyncState`` is imported by name
(``from calendar_bridge.sync import RedisSyncState``): it is left out of ``__all__`` so that
``import *`` works without the extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .engine import (
    TAG,
    Item,
    Plan,
    Step,
    Sync,
    SyncConflictError,
    SyncReport,
    SyncSafetyError,
    SyncTarget,
    SyncTargetError,
    Written,
    render,
)
from .r7 import R7Target
from .sqlite import SqliteSyncState
from .state import Entry, Intent, MemorySyncState, SyncSnapshot, SyncState, SyncStateError

if TYPE_CHECKING:
    from .caldav import CalDAVTarget
    from .redis import RedisSyncState as RedisSyncState

__all__ = [
    "TAG",
    "CalDAVTarget",
    "Entry",
    "Intent",
    "Item",
    "MemorySyncState",
    "Plan",
    "R7Target",
    "SqliteSyncState",
    "Step",
    "Sync",
    "SyncConflictError",
    "SyncReport",
    "SyncSafetyError",
    "SyncSnapshot",
    "SyncState",
    "SyncStateError",
    "SyncTarget",
    "SyncTargetError",
    "Written",
    "render",
]


def __getattr__(name: str) -> Any:
    # The CalDAV target and the Redis state load their libraries only when asked for.
    if name == "CalDAVTarget":
        from .caldav import CalDAVTarget

        return CalDAVTarget
    if name == "RedisSyncState":
        from .redis import RedisSyncState

        return RedisSyncState
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
