"""A sync state on Redis, beside the watches' :class:`~calendar_watch.redis.RedisWatchState`
(same client, same ``prefix``): per sync, its source and target, its status table (one hash
field per source item) and the intents of an unfinished run. Each run's commit is one
MULTI/EXEC transaction, so a crash leaves the last committed run or the new one, never half.

Needs the ``redis`` extra; imported only when :class:`RedisSyncState` is asked for. Redis
going away is a :class:`~calendar_bridge.sync.SyncStateError`: there is no local fallback,
since what was written where must not be forgotten.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar

import msgspec

from calendar_transport.extras import missing_extra

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError, ResponseError
except ImportError as missing:
    raise missing_extra("redis", "the Redis sync state") from missing

from calendar_transport.redis import DEFAULT_PREFIX, check_client, check_prefix
from calendar_watch.replicas import check_watch_name

from .state import Entry, Intent, SyncSnapshot, SyncStateError, stored_operation

__all__ = ["SYNC_SCHEMA", "RedisSyncState"]

T = TypeVar("T")

#: the layout this version writes; a sync stored by a newer one is refused, never rewritten
SYNC_SCHEMA: Final = 1


class _StoredEntry(msgspec.Struct, array_like=True, frozen=True):
    target_id: str
    etag: str | None
    hash: str
    until: datetime | None


class _StoredIntent(msgspec.Struct, array_like=True, frozen=True):
    op: str
    previous: _StoredEntry | None
    payload: bytes


_entry_decoder = msgspec.msgpack.Decoder(_StoredEntry)
_intent_decoder = msgspec.msgpack.Decoder(_StoredIntent)
_msgpack = msgspec.msgpack.Encoder()


def _stored(entry: Entry) -> _StoredEntry:
    return _StoredEntry(entry.target_id, entry.etag, entry.hash, entry.until)


def _entry(stored: _StoredEntry) -> Entry:
    return Entry(stored.target_id, stored.etag, stored.hash, stored.until)


class RedisSyncState:
    """A :class:`~calendar_bridge.sync.SyncState` on Redis: ``RedisSyncState(redis, "team")``
    keeps the syncs given this state under the name ``name``, on one cluster slot. ``redis``
    is a ``redis.asyncio.Redis`` you own (without ``decode_responses``); ``prefix`` as for
    :class:`~calendar_watch.redis.RedisWatchState`, so both can share one Redis."""

    def __init__(self, redis: aioredis.Redis, name: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        check_client(redis, binary=True)
        check_prefix(prefix)
        self.redis = redis
        try:
            self.name = check_watch_name(name)  # the same rule as a watch state's name
        except TypeError:
            raise TypeError(f"name must be a str, not {type(name).__name__}") from None
        except ValueError:
            raise ValueError(
                f"name must be a non-empty str without braces or spaces: {name!r:.60}"
            ) from None
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"RedisSyncState({self.name!r}, prefix={self.prefix!r})"

    def keys(self, sync: str) -> tuple[str, str, str]:
        """The keys of the sync ``sync``: its meta, entries and intents hashes."""
        # The sync's own name may hold anything (URLs, arrows): a digest keeps key names plain.
        tag = hashlib.sha256(sync.encode("utf-8")).hexdigest()[:16]
        base = f"{self.prefix}:{{sync:{self.name}}}:{tag}"
        return f"{base}:meta", f"{base}:entries", f"{base}:intents"

    async def open(self) -> None:
        """Check that Redis answers (a :class:`SyncStateError` before any write)."""
        await self._ask(self.redis.ping())

    async def load(self, sync: str) -> SyncSnapshot:
        """The sync as last committed (empty for a new name)."""
        meta_key, entries_key, intents_key = self.keys(sync)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(meta_key)
            pipe.hgetall(entries_key)
            pipe.hgetall(intents_key)
            meta, entries, intents = await self._ask(pipe.execute())
        schema = int(meta.get(b"schema", SYNC_SCHEMA))
        if schema > SYNC_SCHEMA:
            raise SyncStateError(
                f"sync state {self.name!r} was written by a newer version (layout {schema}, "
                f"this one reads {SYNC_SCHEMA}): upgrade, or use another name; left as it is"
            )
        try:
            loaded = {
                key.decode(): _entry(_entry_decoder.decode(value)) for key, value in entries.items()
            }
            pending = [
                self._intent(key.decode(), _intent_decoder.decode(value))
                for key, value in sorted(intents.items())
            ]
            source = meta.get(b"source", b"").decode()
            target = meta.get(b"target", b"").decode()
        except (msgspec.DecodeError, UnicodeDecodeError) as error:
            raise SyncStateError(f"sync state {self.name!r} is unreadable: {error}") from None
        return SyncSnapshot(source, target, loaded, pending)

    async def begin(self, sync: str, source: str, target: str, intents: Sequence[Intent]) -> None:
        """Record the planned writes (one transaction)."""
        meta_key, _, intents_key = self.keys(sync)
        planned = {
            intent.key: _msgpack.encode(
                _StoredIntent(
                    intent.op,
                    None if intent.previous is None else _stored(intent.previous),
                    intent.payload,
                )
            )
            for intent in intents
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            self._identity(pipe, meta_key, source, target)
            if planned:
                pipe.hset(intents_key, mapping=planned)  # type: ignore[arg-type]
            await self._ask(pipe.execute())

    async def commit(
        self,
        sync: str,
        source: str,
        target: str,
        put: Mapping[str, Entry],
        drop: Sequence[str],
        done: Sequence[str],
    ) -> None:
        """Store one run in one MULTI/EXEC (see :meth:`SyncState.commit`)."""
        meta_key, entries_key, intents_key = self.keys(sync)
        stored = {key: _msgpack.encode(_stored(entry)) for key, entry in put.items()}
        async with self.redis.pipeline(transaction=True) as pipe:
            self._identity(pipe, meta_key, source, target)
            if drop:
                pipe.hdel(entries_key, *drop)
            if stored:
                pipe.hset(entries_key, mapping=stored)  # type: ignore[arg-type]
            if done:
                pipe.hdel(intents_key, *done)
            await self._ask(pipe.execute())

    async def close(self) -> None:
        """Nothing to close: the Redis client is the caller's."""

    # ---- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _identity(pipe: Any, meta_key: str, source: str, target: str) -> None:
        pipe.hset(meta_key, mapping={"source": source, "target": target, "schema": SYNC_SCHEMA})

    def _intent(self, key: str, stored: _StoredIntent) -> Intent:
        op = stored_operation(stored.op, f"sync state {self.name!r}")
        previous = None if stored.previous is None else _entry(stored.previous)
        return Intent(op, key, previous, stored.payload)

    async def _ask(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except ResponseError as error:  # WRONGTYPE: the keys hold something that is not ours
            raise SyncStateError(f"sync state {self.name!r}: {error}") from None
        except (RedisError, OSError) as error:
            # The type only: a message may name the host and port.
            raise SyncStateError(
                f"sync state {self.name!r}: Redis failed ({type(error).__name__})"
            ) from None
