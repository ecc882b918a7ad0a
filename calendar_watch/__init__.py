"""The change feed both backends' ``watch()`` methods run on: the engine that polls a rolling
window (:class:`Watch`), the changes it reports (:class:`Change`), and where it keeps what
it saw (:class:`WatchState`: in memory, in SQLite, or on Redis in ``calendar_watch.redis``).

What a state stores (``Snapshot``, ``Mark``, ``Record``...) is in ``calendar_watch.state``,
for whoever writes a state of their own; what a backend hands the engine
(``WatchSource``, ``Observed``) is in ``calendar_watch.engine``.
"""

from .change import KINDS, Change, ChangeKind
from .engine import Watch
from .sqlite import SqliteWatchState
from .state import (
    MemoryWatchState,
    WatchConflictError,
    WatchState,
    WatchStateError,
)

__all__ = [
    "KINDS",
    "Change",
    "ChangeKind",
    "MemoryWatchState",
    "SqliteWatchState",
    "Watch",
    "WatchConflictError",
    "WatchState",
    "WatchStateError",
]
