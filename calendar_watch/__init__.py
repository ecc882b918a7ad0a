"""The change feed both backends' ``watch()`` methods run on: change records, the state
protocol with its memory and SQLite states, and the engine that polls a rolling window."""

from .change import KINDS, Change, ChangeKind
from .engine import Observed, Watch, WatchSource
from .sqlite import SqliteWatchState
from .state import (
    Mark,
    MemoryWatchState,
    Record,
    Snapshot,
    SnapshotDelta,
    StoredChange,
    WatchConflictError,
    WatchState,
    WatchStateError,
)

__all__ = [
    "KINDS",
    "Change",
    "ChangeKind",
    "Mark",
    "MemoryWatchState",
    "Observed",
    "Record",
    "Snapshot",
    "SnapshotDelta",
    "SqliteWatchState",
    "StoredChange",
    "Watch",
    "WatchConflictError",
    "WatchSource",
    "WatchState",
    "WatchStateError",
]
