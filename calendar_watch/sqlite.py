"""A watch state in an SQLite file: stdlib ``sqlite3`` on one worker thread, WAL, one
transaction per poll and one per change taken. Items' JSON is stored zlib-compressed (a
task's JSON shrinks to about a fifth).

The file is marked as ours (``PRAGMA application_id``) with its schema version
(``PRAGMA user_version``, and a ``watch_schema`` table that says which program wrote it). A
file that is not ours, or from a newer version, is refused and left as it is; a corrupt one
is reported, never recreated; a path that cannot be written fails on :meth:`open`, before
any poll.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TypeVar, cast

from .sqlite_thread import SqliteThread, explain, transaction
from .state import (
    Mark,
    Snapshot,
    SnapshotDelta,
    StoredChange,
    WatchConflictError,
    WatchStateError,
    stored_kind,
)

__all__ = ["SCHEMA_VERSION", "SqliteWatchState"]

logger = logging.getLogger(__name__)

#: the schema this version writes; a file with a higher one is refused
SCHEMA_VERSION: Final = 1
# "r7pw" in ASCII: says the file is a watch state of this SDK.
_APPLICATION_ID: Final = 0x72377077
_HEADER: Final = b"SQLite format 3\x00"
_PROGRAM: Final = "r7-pyrus-calendar watch state"

# Rowid tables for the items and changes: their rows hold kilobytes of JSON, which a
# WITHOUT ROWID table would spill into overflow pages (three times the file size).
_SCHEMA: Final = """
CREATE TABLE watch_schema (program TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE watches (
    watch TEXT PRIMARY KEY,
    poll_id INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE items (
    watch TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    until TEXT,
    data BLOB NOT NULL,
    UNIQUE (watch, key)
);
CREATE TABLE changes (
    watch TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    item_key TEXT NOT NULL,
    key TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    item BLOB NOT NULL,
    previous BLOB,
    UNIQUE (watch, seq)
);
"""

R = TypeVar("R")


class SqliteWatchState:
    """A :class:`~calendar_watch.WatchState` in the SQLite file at ``path``
    (created if missing; several watches may share one file)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"path must be a str or a path, not {type(path).__name__}")
        self.path = Path(path)
        if not str(self.path) or self.path.is_dir():
            raise ValueError(f"path must name a file, not a directory: {str(self.path)!r}")
        self._thread = SqliteThread(
            "watch-sqlite", owner=self, what="watch state", path=self.path, error=WatchStateError
        )

    def __repr__(self) -> str:
        return f"SqliteWatchState({str(self.path)!r})"

    # ---- the protocol ----------------------------------------------------------------------

    async def open(self) -> None:
        """Open the file (creating it with the schema if missing or empty), check it is ours
        and writable; raise :class:`WatchStateError` otherwise."""
        await self._thread.open(self._open)

    async def load(self, watch: str) -> Snapshot:
        """The watch as last committed."""
        return await self._thread.run(lambda: self._load(watch))

    async def items(self, watch: str, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored JSON of the known ``keys``."""
        wanted = list(keys)
        return await self._thread.run(lambda: self._items(watch, wanted))

    async def commit(
        self,
        watch: str,
        poll_id: int,
        changes: Sequence[StoredChange],
        delta: SnapshotDelta,
    ) -> None:
        """Store one poll in one transaction (see the protocol)."""
        queued = list(changes)
        await self._thread.run(lambda: self._commit(watch, poll_id, queued, delta))

    async def ack(self, watch: str, seq: int) -> None:
        """Drop the changes up to ``seq`` (one small transaction)."""
        await self._thread.run(lambda: self._ack(watch, seq))

    async def close(self) -> None:
        """Close the file and stop the worker thread."""
        await self._thread.stop()

    # ---- on the worker thread ----------------------------------------------------------------

    def _open(self) -> None:
        path = self.path
        _refuse_foreign(path)
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=True)
        except sqlite3.Error as error:
            raise WatchStateError(f"cannot open watch state {str(path)!r}: {error}") from None
        self._thread.db = db
        try:
            db.execute("PRAGMA busy_timeout = 5000")
            application_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if application_id == 0 and tables == 0:
                self._create(db)
            elif application_id != _APPLICATION_ID:
                raise WatchStateError(
                    f"{str(path)!r} is an SQLite file of another program (application_id "
                    f"{application_id:#x}); refusing to use it as a watch state"
                )
            elif version > SCHEMA_VERSION:
                raise WatchStateError(
                    f"watch state {str(path)!r} has schema version {version}, newer than this "
                    f"SDK's {SCHEMA_VERSION}: upgrade the SDK (the file is left as it is)"
                )
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise WatchStateError(f"watch state {str(path)!r} is corrupt: {check}")
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise WatchStateError(f"watch state {str(path)!r}: cannot use WAL ({mode})")
            # WAL with NORMAL: a commit survives the process being killed; only a power cut
            # can lose the last ones, which at-least-once delivery then repeats.
            db.execute("PRAGMA synchronous = NORMAL")
            # A write now, so a read-only file or directory fails here, before any poll.
            db.execute("BEGIN IMMEDIATE")
            db.execute("COMMIT")
        except sqlite3.DatabaseError as error:
            raise WatchStateError(explain("watch state", path, error)) from None

    def _create(self, db: sqlite3.Connection) -> None:
        # One script, one transaction; IF NOT EXISTS: another process may be creating it too.
        schema = _SCHEMA.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS")
        db.executescript(
            f"BEGIN IMMEDIATE; {schema}"
            f"INSERT INTO watch_schema SELECT '{_PROGRAM}', {SCHEMA_VERSION} "
            "WHERE NOT EXISTS (SELECT 1 FROM watch_schema);"
            f"PRAGMA application_id = {_APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
            "COMMIT;"
        )

    def _load(self, watch: str) -> Snapshot:
        db = self._thread.conn()
        row = db.execute("SELECT poll_id FROM watches WHERE watch = ?", (watch,)).fetchone()
        marks = {
            key: Mark(fingerprint, _when(until))
            for key, fingerprint, until in db.execute(
                "SELECT key, fingerprint, until FROM items WHERE watch = ?", (watch,)
            )
        }
        pending = [
            StoredChange(
                seq=seq,
                kind=stored_kind(kind),
                item_key=item_key,
                key=key,
                seen_at=cast(datetime, _when(seen_at)),
                item=_unpack(item),
                previous=None if previous is None else _unpack(previous),
            )
            for seq, kind, item_key, key, seen_at, item, previous in db.execute(
                "SELECT seq, kind, item_key, key, seen_at, item, previous FROM changes "
                "WHERE watch = ? ORDER BY seq",
                (watch,),
            )
        ]
        return Snapshot(0 if row is None else int(row[0]), marks, pending)

    def _items(self, watch: str, keys: list[str]) -> dict[str, bytes]:
        db = self._thread.conn()
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), 500):  # SQLite's limit on bound parameters
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = db.execute(
                f"SELECT key, data FROM items WHERE watch = ? AND key IN ({marks})",
                (watch, *chunk),
            )
            found.update((key, _unpack(data)) for key, data in rows)
        return found

    def _commit(
        self, watch: str, poll_id: int, changes: list[StoredChange], delta: SnapshotDelta
    ) -> None:
        with transaction(self._thread.conn()) as db:
            row = db.execute("SELECT poll_id FROM watches WHERE watch = ?", (watch,)).fetchone()
            stored = 0 if row is None else int(row[0])
            if stored != poll_id - 1:
                raise WatchConflictError(
                    f"watch {watch!r}: poll {poll_id} does not follow poll {stored}"
                )
            db.executemany(
                "DELETE FROM items WHERE watch = ? AND key = ?",
                ((watch, key) for key in delta.drop),
            )
            db.executemany(
                "INSERT OR REPLACE INTO items (watch, key, fingerprint, until, data) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    (
                        watch,
                        key,
                        record.mark.fingerprint,
                        _text(record.mark.until),
                        _pack(record.data),
                    )
                    for key, record in delta.put.items()
                ),
            )
            db.executemany(
                "INSERT INTO changes (watch, seq, kind, item_key, key, seen_at, item, previous) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        watch,
                        change.seq,
                        change.kind,
                        change.item_key,
                        change.key,
                        _text(change.seen_at),
                        _pack(change.item),
                        None if change.previous is None else _pack(change.previous),
                    )
                    for change in changes
                ),
            )
            db.execute(
                "INSERT OR REPLACE INTO watches (watch, poll_id) VALUES (?, ?)", (watch, poll_id)
            )

    def _ack(self, watch: str, seq: int) -> None:
        self._thread.conn().execute(
            "DELETE FROM changes WHERE watch = ? AND seq <= ?", (watch, seq)
        )


def _refuse_foreign(path: Path) -> None:
    # sqlite3 would happily treat some files as empty databases and write over them: a file
    # that does not start with SQLite's header is refused before sqlite3 sees it.
    try:
        with path.open("rb") as file:
            head = file.read(len(_HEADER))
    except FileNotFoundError:
        parent = path.parent
        if not parent.is_dir():
            raise WatchStateError(
                f"cannot create watch state {str(path)!r}: {str(parent)!r} is not a directory"
            ) from None
        return
    except OSError as error:
        raise WatchStateError(f"cannot read watch state {str(path)!r}: {error}") from None
    if head and head != _HEADER:
        raise WatchStateError(
            f"{str(path)!r} is not an SQLite file (not a watch state); refusing to overwrite it"
        )


def _pack(data: bytes) -> bytes:
    # Level 1: most of the size gone for a fraction of level 6's time.
    return zlib.compress(data, 1)


def _unpack(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error as error:
        raise WatchStateError(f"a stored item cannot be read (corrupt state?): {error}") from None


def _text(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
