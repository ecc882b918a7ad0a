"""Where a feed keeps what must outlive a restart: the URL's token, the source it publishes,
the version last published, and each item's UID and sequence.

Two states, beside the sync's: :class:`MemoryFeedState` (for tests and a feed whose URL
may change) and :class:`SqliteFeedState`, tables of its own (``feed_*``) in the SQLite file
a watch may use too, the file checked as the watch's state checks it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from calendar_watch import SqliteWatchState, WatchStateError
from calendar_watch.sqlite_thread import SqliteThread, transaction

__all__ = ["FeedBook", "FeedState", "FeedStateError", "MemoryFeedState", "SqliteFeedState"]


class FeedStateError(WatchStateError):
    """The feed's state cannot be used: it holds another source's feed, or its file is not
    one (not SQLite, newer, unreadable)."""


@dataclass(frozen=True, slots=True)
class FeedBook:
    """A feed as last saved: its own record (token, source, version) and each item's."""

    meta: bytes | None = None
    items: dict[str, bytes] = field(default_factory=dict)


@runtime_checkable
class FeedState(Protocol):
    """Storage for one or more feeds, each by its name."""

    async def open(self) -> None:
        """Make it ready (create what is missing); refuse what is not a feed state."""

    async def load(self, feed: str) -> FeedBook:
        """The feed as last saved (empty when it never was)."""

    async def save(
        self, feed: str, *, meta: bytes | None, put: Mapping[str, bytes], drop: Iterable[str]
    ) -> None:
        """Store the feed's record (``None``: keep it) and its items' changes, together."""

    async def close(self) -> None:
        """Release what :meth:`open` took."""


class MemoryFeedState:
    """A :class:`FeedState` in this process: gone when it ends (a new URL on restart)."""

    def __init__(self) -> None:
        self._books: dict[str, FeedBook] = {}

    def __repr__(self) -> str:
        return f"MemoryFeedState({len(self._books)} feeds)"

    async def open(self) -> None:
        """Nothing to open."""

    async def load(self, feed: str) -> FeedBook:
        """The feed as last saved."""
        book = self._books.get(feed, FeedBook())
        return FeedBook(book.meta, dict(book.items))

    async def save(
        self, feed: str, *, meta: bytes | None, put: Mapping[str, bytes], drop: Iterable[str]
    ) -> None:
        """Store the changes."""
        book = self._books.get(feed, FeedBook())
        items = dict(book.items)
        for key in drop:
            items.pop(key, None)
        items.update(put)
        self._books[feed] = FeedBook(book.meta if meta is None else meta, items)

    async def close(self) -> None:
        """Nothing to close."""


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS feed_meta (feed TEXT PRIMARY KEY, meta BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feed_items (
    feed TEXT NOT NULL, key TEXT NOT NULL, item BLOB NOT NULL, PRIMARY KEY (feed, key)
) WITHOUT ROWID;
"""


class SqliteFeedState:
    """A :class:`FeedState` in the SQLite file at ``path`` (the same file a watch or a sync
    may use; created if missing). One transaction per save."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._checker = SqliteWatchState(path)  # checks the argument now
        self.path = Path(path)
        self._thread = SqliteThread(
            "feed-sqlite", owner=self, what="feed state", path=self.path, error=FeedStateError
        )

    def __repr__(self) -> str:
        return f"SqliteFeedState({str(self.path)!r})"

    async def open(self) -> None:
        """Check the file (as a watch state does), then add the feed tables if missing."""
        await self._thread.open_beside(self._checker, _SCHEMA)

    async def load(self, feed: str) -> FeedBook:
        """The feed as last saved."""
        return await self._thread.run(lambda: self._load(feed))

    async def save(
        self, feed: str, *, meta: bytes | None, put: Mapping[str, bytes], drop: Iterable[str]
    ) -> None:
        """Store the changes in one transaction."""
        stored, gone = dict(put), list(drop)
        await self._thread.run(lambda: self._save(feed, meta, stored, gone))

    async def close(self) -> None:
        """Close the file and stop the worker thread."""
        await self._thread.stop()

    # ---- on the worker thread ----------------------------------------------------------------

    def _load(self, feed: str) -> FeedBook:
        db = self._thread.conn()
        row = db.execute("SELECT meta FROM feed_meta WHERE feed = ?", (feed,)).fetchone()
        items = {
            str(key): bytes(item)
            for key, item in db.execute("SELECT key, item FROM feed_items WHERE feed = ?", (feed,))
        }
        return FeedBook(None if row is None else bytes(row[0]), items)

    def _save(self, feed: str, meta: bytes | None, put: dict[str, bytes], drop: list[str]) -> None:
        with transaction(self._thread.conn()) as db:
            if meta is not None:
                db.execute(
                    "INSERT OR REPLACE INTO feed_meta (feed, meta) VALUES (?, ?)", (feed, meta)
                )
            db.executemany(
                "DELETE FROM feed_items WHERE feed = ? AND key = ?", ((feed, k) for k in drop)
            )
            db.executemany(
                "INSERT OR REPLACE INTO feed_items (feed, key, item) VALUES (?, ?, ?)",
                ((feed, key, item) for key, item in put.items()),
            )
