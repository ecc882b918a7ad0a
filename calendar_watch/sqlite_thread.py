"""One SQLite connection on one worker thread, for the states that keep their data in a file.

sqlite3 objects must stay on the thread that made them, and a query must not block the event
loop: every piece of work on the file runs on this thread, one after another.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

from .state import WatchStateError

__all__ = ["FileCheck", "SqliteThread", "explain", "transaction"]

R = TypeVar("R")


class FileCheck(Protocol):
    """What checks a file before a state keeps tables of its own in it (a
    :class:`~calendar_watch.SqliteWatchState` of the same path)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...


class SqliteThread:
    """The worker thread a file state runs its work on, and the connection it made there.

    ``owner`` (the state, for messages), ``what`` it is (``"watch state"``) and ``error``, the
    class its failures are raised as: an SQLite error names the file and says what is wrong.
    """

    def __init__(
        self, name: str, *, owner: object, what: str, path: Path, error: type[Exception]
    ) -> None:
        self._name = name
        self._owner = owner
        self._what = what
        self._path = path
        self._error = error
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

    async def open(self, opening: Callable[[], object]) -> None:
        """Start the thread and run ``opening`` on it (it connects and sets :attr:`db`);
        when that fails, the connection is closed and the thread stopped again."""
        if self.running:
            return
        self.start()
        try:
            await self.run(opening)
        except BaseException:
            await self.stop()
            raise

    async def open_beside(self, checker: FileCheck, schema: str) -> None:
        """Open the file for a state that keeps tables of its own (``schema``, made if
        missing) beside a watch's: ``checker`` first checks the file as a watch state does
        (ours, not newer, not corrupt, writable); its refusal is raised as this thread's
        error, naming this state's kind."""
        if self.running:
            return
        try:
            await checker.open()
        except WatchStateError as error:
            raise self._error(str(error).replace("watch state", self._what)) from None
        finally:
            await checker.close()
        await self.open(lambda: self._connect(schema))

    def _connect(self, schema: str) -> None:
        db = sqlite3.connect(self._path, isolation_level=None)
        self.db = db
        db.execute("PRAGMA busy_timeout = 5000")
        db.execute("PRAGMA synchronous = NORMAL")
        db.executescript(f"BEGIN IMMEDIATE; {schema} COMMIT;")

    async def run(self, work: Callable[[], R]) -> R:
        """Run ``work`` on the thread; an SQLite error is raised as the owner's error."""
        executor = self._executor
        if executor is None:
            raise self._error(f"{self._owner!r} is not open (call open() first)")
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, work)
        except sqlite3.DatabaseError as error:
            raise self._error(explain(self._what, self._path, error)) from None

    def conn(self) -> sqlite3.Connection:
        """The open connection (for work running on the thread)."""
        if self.db is None:
            raise self._error(f"{self._owner!r} is not open (call open() first)")
        return self.db

    async def stop(self) -> None:
        """Close the connection on its thread, then stop the thread."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        db, self.db = self.db, None
        if db is not None:
            await asyncio.get_running_loop().run_in_executor(executor, db.close)
        executor.shutdown(wait=False)


@contextlib.contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` (the write lock at once), then ``COMMIT``, or ``ROLLBACK`` when
    the work inside raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def explain(what: str, path: Path, error: sqlite3.DatabaseError) -> str:
    """What an SQLite error on the file ``path`` of a ``what`` ("watch state") means."""
    text = str(error)
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return f"{what} {str(path)!r} cannot be written: {text}"
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return f"{what} {str(path)!r} is corrupt ({text}); move it away to start afresh"
    return f"{what} {str(path)!r}: {text}"
