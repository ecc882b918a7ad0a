"""A sync state in the watch state's SQLite file: tables of its own (``sync_*``) beside the
watch's, the file checked by :class:`~calendar_watch.SqliteWatchState` (ours, not
newer, not corrupt, writable) before this state touches it. One transaction per run."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final, TypeVar

from calendar_watch import SqliteWatchState
from calendar_watch.sqlite_thread import SqliteThread, transaction

from .state import Entry, Intent, SyncSnapshot, SyncStateError, stored_operation

__all__ = ["SqliteSyncState"]

R = TypeVar("R")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS sync_runs (
    sync TEXT PRIMARY KEY, source TEXT NOT NULL, target TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_items (
    sync TEXT NOT NULL, key TEXT NOT NULL, target_id TEXT NOT NULL, etag TEXT,
    hash TEXT NOT NULL, until TEXT, PRIMARY KEY (sync, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_intents (
    sync TEXT NOT NULL, key TEXT NOT NULL, op TEXT NOT NULL, target_id TEXT, etag TEXT,
    hash TEXT, until TEXT, payload BLOB NOT NULL, PRIMARY KEY (sync, key)
) WITHOUT ROWID;
"""


class SqliteSyncState:
    """A :class:`~calendar_bridge.sync.SyncState` in the SQLite file at ``path`` (the same
    file a watch may use; created if missing)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._checker = SqliteWatchState(path)  # checks the argument now
        self.path = Path(path)
        self._thread = SqliteThread(
            "sync-sqlite", owner=self, what="sync state", path=self.path, error=SyncStateError
        )

    def __repr__(self) -> str:
        return f"SqliteSyncState({str(self.path)!r})"

    async def open(self) -> None:
        """Check the file (as a watch state does), then add the sync tables if missing."""
        await self._thread.open_beside(self._checker, _SCHEMA)

    async def load(self, sync: str) -> SyncSnapshot:
        """The sync as last committed."""
        return await self._thread.run(lambda: self._load(sync))

    async def begin(self, sync: str, source: str, target: str, intents: Sequence[Intent]) -> None:
        """Record the planned writes (one transaction)."""
        planned = list(intents)
        await self._thread.run(lambda: self._begin(sync, source, target, planned))

    async def commit(
        self,
        sync: str,
        source: str,
        target: str,
        put: Mapping[str, Entry],
        drop: Sequence[str],
        done: Sequence[str],
    ) -> None:
        """Store one run in one transaction."""
        stored, gone, finished = dict(put), list(drop), list(done)
        await self._thread.run(lambda: self._commit(sync, source, target, stored, gone, finished))

    async def close(self) -> None:
        """Close the file and stop the worker thread."""
        await self._thread.stop()

    # ---- on the worker thread ----------------------------------------------------------------

    def _load(self, sync: str) -> SyncSnapshot:
        db = self._thread.conn()
        row = db.execute("SELECT source, target FROM sync_runs WHERE sync = ?", (sync,)).fetchone()
        entries = {
            key: Entry(target_id, etag, digest, _when(until))
            for key, target_id, etag, digest, until in db.execute(
                "SELECT key, target_id, etag, hash, until FROM sync_items WHERE sync = ?", (sync,)
            )
        }
        intents = [
            Intent(
                stored_operation(op, "a sync state"),
                key,
                None if target_id is None else Entry(target_id, etag, digest or "", _when(until)),
                bytes(payload),
            )
            for key, op, target_id, etag, digest, until, payload in db.execute(
                "SELECT key, op, target_id, etag, hash, until, payload FROM sync_intents "
                "WHERE sync = ? ORDER BY key",
                (sync,),
            )
        ]
        source, target = ("", "") if row is None else (str(row[0]), str(row[1]))
        return SyncSnapshot(source, target, entries, intents)

    def _begin(self, sync: str, source: str, target: str, intents: list[Intent]) -> None:
        with transaction(self._thread.conn()) as db:
            self._identity(db, sync, source, target)
            db.executemany(
                "INSERT OR REPLACE INTO sync_intents "
                "(sync, key, op, target_id, etag, hash, until, payload) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        sync,
                        intent.key,
                        intent.op,
                        *_entry_row(intent.previous),
                        intent.payload,
                    )
                    for intent in intents
                ),
            )

    def _commit(
        self,
        sync: str,
        source: str,
        target: str,
        put: dict[str, Entry],
        drop: list[str],
        done: list[str],
    ) -> None:
        with transaction(self._thread.conn()) as db:
            self._identity(db, sync, source, target)
            db.executemany(
                "DELETE FROM sync_items WHERE sync = ? AND key = ?", ((sync, k) for k in drop)
            )
            db.executemany(
                "INSERT OR REPLACE INTO sync_items (sync, key, target_id, etag, hash, until) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                ((sync, key, *_entry_row(entry)) for key, entry in put.items()),
            )
            db.executemany(
                "DELETE FROM sync_intents WHERE sync = ? AND key = ?", ((sync, k) for k in done)
            )

    @staticmethod
    def _identity(db: sqlite3.Connection, sync: str, source: str, target: str) -> None:
        db.execute(
            "INSERT OR REPLACE INTO sync_runs (sync, source, target) VALUES (?, ?, ?)",
            (sync, source, target),
        )


def _entry_row(entry: Entry | None) -> tuple[str | None, str | None, str | None, str | None]:
    if entry is None:
        return None, None, None, None
    until = None if entry.until is None else entry.until.isoformat()
    return entry.target_id, entry.etag, entry.hash, until


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
