"""One SQLite connection on one worker thread, for the states that keep their data in a file.

sqlite3 objects must stay on the thread that made them, and a query must not block the event
loop: every piece of work on the file runs on this thread, one after another.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["SqliteThread"]

R = TypeVar("R")


class SqliteThread:
    """The worker thread a file state runs its work on, and the connection it made there."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._executor: ThreadPoolExecutor | None = None
        #: the connection, set by the work that opens the file (on the thread)
        self.db: sqlite3.Connection | None = None

    @property
    def running(self) -> bool:
        """Whether the thread was started and not stopped."""
        return self._executor is not None

    def start(self) -> None:
        """Start the thread (the caller then opens the file on it)."""
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=self._name)

    async def run(self, work: Callable[[], R]) -> R:
        """Run ``work`` on the thread (it must have been started)."""
        if self._executor is None:
            raise RuntimeError(f"{self._name} is not running")
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def stop(self) -> None:
        """Close the connection on its thread, then stop the thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        db, self.db = self.db, None
        if db is not None:
            await asyncio.get_running_loop().run_in_executor(executor, db.close)
        executor.shutdown(wait=False)
