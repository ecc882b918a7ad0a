"""The watch's Redis parts (the ``redis`` extra): a state several replicas share, and the
leases that let one replica at a time poll each watch."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar

import msgspec

from calendar_transport.checks import require_seconds
from calendar_transport.extras import missing_extra

try:
    import redis.asyncio as aioredis
    from redis.exceptions import ResponseError
except ImportError as missing:
    raise missing_extra("redis", "calendar_watch.redis") from missing

from calendar_transport.redis import (
    DEFAULT_PREFIX,
    REDIS_UNAVAILABLE,
    check_client,
    check_prefix,
)

from .replicas import check_watch_name
from .state import (
    Mark,
    Snapshot,
    SnapshotDelta,
    StoredChange,
    WatchConflictError,
    WatchStateError,
    stored_kind,
)

__all__ = ["RedisWatchLeases", "RedisWatchState", "WatchLeaseLostError"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


# ---- watches: leases --------------------------------------------------------------------

# A lease is a key holding its holder's random token, expiring ``ttl`` ms after it was taken or
# renewed. Taking one that this replica already holds renews it. KEYS: the lease. ARGV: the
# token, the ttl in ms.
_LEASE_ACQUIRE: Final = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_LEASE_RENEW: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

_LEASE_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

# The live replicas: a sorted set of replica ids scored by when their heartbeat lapses, on
# Redis' clock (the replicas' clocks may disagree). KEYS: the set. ARGV: the id, the ttl ms.
_HEARTBEAT: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('ZCARD', KEYS[1])
"""


def _watch_key(prefix: str, name: str, kind: str) -> str:
    # One hash tag per watch: its state and its lease live on one cluster slot, so a commit
    # can check the lease in the same script.
    return f"{prefix}:{{watch:{name}}}:{kind}"


class RedisWatchLeases:
    """A :class:`~calendar_watch.replicas.WatchLease` on Redis: which replica runs
    which watch, for a :class:`~calendar_watch.replicas.WatchRunner`.

    One object per replica (its id is random). A claim lapses ``ttl`` seconds after it was
    taken or last renewed: a replica that dies loses its watches within that time. ``group``
    names the replicas that share the watches (two services on one Redis use two groups).
    Give the same object to ``RedisWatchState(..., lease=)``: a commit is then refused once
    this replica's claim on the watch has lapsed, so a replica that lost a watch never
    advances it. Unlike the token store there is no local fallback: without Redis nobody can
    say who holds a watch, so a renewal fails and the watch stops until Redis is back.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        group: str = "watchers",
        ttl: float = 30.0,
    ) -> None:
        check_client(redis)
        check_prefix(prefix)
        check_watch_name(group)
        require_seconds(ttl, "ttl", low=0.01)
        self.redis = redis
        self.prefix = prefix
        self.group = group
        self.ttl = float(ttl)
        self.replica = secrets.token_hex(8)  # this replica's token on its leases
        self._ttl_ms = max(round(self.ttl * 1000), 10)
        self._acquire = redis.register_script(_LEASE_ACQUIRE)
        self._renew = redis.register_script(_LEASE_RENEW)
        self._release = redis.register_script(_LEASE_RELEASE)
        self._heartbeat = redis.register_script(_HEARTBEAT)

    def __repr__(self) -> str:
        return f"RedisWatchLeases(prefix={self.prefix!r}, group={self.group!r}, ttl={self.ttl:g})"

    def lease_key(self, name: str) -> str:
        """The key holding the lease on the watch ``name``."""
        return _watch_key(self.prefix, check_watch_name(name), "lease")

    async def acquire(self, name: str) -> bool:
        """Take the watch ``name`` unless another replica holds it."""
        return await self._call(self._acquire, name)

    async def renew(self, name: str) -> bool:
        """Extend this replica's claim; ``False`` (and logged) when Redis cannot be reached."""
        return await self._call(self._renew, name)

    async def release(self, name: str) -> None:
        """Give up the watch ``name`` if this replica still holds it."""
        await self._call(self._release, name)

    async def holds(self, name: str) -> bool:
        """Whether this replica holds the watch ``name`` now."""
        try:
            holder = await self.redis.get(self.lease_key(name))
        except REDIS_UNAVAILABLE:
            return False
        if isinstance(holder, bytes):
            holder = holder.decode()
        return holder == self.replica

    async def heartbeat(self) -> int:
        """Say this replica is alive for ``ttl`` seconds; how many replicas of the group are."""
        key = f"{self.prefix}:{{watch-replicas:{self.group}}}:alive"
        try:
            return int(await self._heartbeat(keys=[key], args=[self.replica, self._ttl_ms]))
        except REDIS_UNAVAILABLE as error:
            logger.warning(
                "Redis unavailable (%s): watch leases cannot be kept", type(error).__name__
            )
            return 1

    async def _call(self, script: Any, name: str) -> bool:
        try:
            done = await script(keys=[self.lease_key(name)], args=[self.replica, self._ttl_ms])
        except REDIS_UNAVAILABLE as error:
            logger.warning("Redis unavailable (%s): watch %s not held", type(error).__name__, name)
            return False
        return bool(done)


# ---- watches: their state ---------------------------------------------------------------

#: the layout this version writes; a watch stored by a newer one is refused, never rewritten
WATCH_SCHEMA: Final = 1

# One poll, all or nothing, and only from the lease holder (when a lease is given) and only
# for the poll that follows the stored one. KEYS: meta, marks, data, pending, lease.
# ARGV: poll id, schema, lease token ('' for none), then counted groups: changes (seq, blob),
# keys to drop, records to put (key, mark, data). Returns {code, stored poll}: 0 done,
# 1 conflict, 2 lease not held, 3 newer schema.
_WATCH_COMMIT: Final = """
local stored = tonumber(redis.call('HGET', KEYS[1], 'poll_id') or '0')
local schema = tonumber(redis.call('HGET', KEYS[1], 'schema') or ARGV[2])
if schema > tonumber(ARGV[2]) then return {3, stored} end
if ARGV[3] ~= '' and redis.call('GET', KEYS[5]) ~= ARGV[3] then return {2, stored} end
if stored ~= tonumber(ARGV[1]) - 1 then return {1, stored} end
local i = 4
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('ZADD', KEYS[4], ARGV[i], ARGV[i + 1]); i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HDEL', KEYS[2], ARGV[i]); redis.call('HDEL', KEYS[3], ARGV[i]); i = i + 1
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 2])
  i = i + 3
end
redis.call('HSET', KEYS[1], 'poll_id', ARGV[1], 'schema', ARGV[2])
return {0, tonumber(ARGV[1])}
"""


class _StoredMark(msgspec.Struct, array_like=True, frozen=True):
    fingerprint: str
    until: datetime | None


class _QueuedChange(msgspec.Struct, array_like=True, frozen=True):
    seq: int
    kind: str
    item_key: str
    key: str
    seen_at: datetime
    item: bytes
    previous: bytes | None


_mark_decoder = msgspec.msgpack.Decoder(_StoredMark)
_change_decoder = msgspec.msgpack.Decoder(_QueuedChange)
_msgpack = msgspec.msgpack.Encoder()


class WatchLeaseLostError(WatchConflictError):
    """A commit from a replica whose lease on the watch lapsed: another one runs it now."""


class RedisWatchState:
    """A :class:`~calendar_watch.WatchState` on Redis, for watches that replicas
    share: ``RedisWatchState(redis, "user-42")`` keeps the watches given this state under the
    name ``name`` (one per chat user, say), all on one cluster slot.

    With ``lease=`` (the replica's :class:`RedisWatchLeases`) a poll is committed only while
    this replica holds the lease on ``name``, in the same script that writes it: a replica
    that lost the watch raises :class:`WatchLeaseLostError` instead of advancing it. Redis
    going away is a :class:`~calendar_watch.WatchStateError` (no local fallback:
    another replica may be running the watch meanwhile). ``prefix`` as for the token store.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        name: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        lease: RedisWatchLeases | None = None,
    ) -> None:
        check_client(redis, binary=True)
        check_prefix(prefix)
        if lease is not None and not isinstance(lease, RedisWatchLeases):
            raise TypeError(f"lease must be a RedisWatchLeases, not {type(lease).__name__}")
        if lease is not None and lease.prefix != prefix:
            raise ValueError(f"lease has prefix {lease.prefix!r}, the state {prefix!r}")
        self.redis = redis
        self.name = check_watch_name(name)
        self.prefix = prefix
        self.lease = lease
        # the lease's key, also with no lease (the script then finds none held); a lease has
        # this state's prefix (checked above), so it is the same key
        self._lease_key = _watch_key(prefix, self.name, "lease")
        self._commit = redis.register_script(_WATCH_COMMIT)

    def __repr__(self) -> str:
        return f"RedisWatchState({self.name!r}, prefix={self.prefix!r})"

    def _keys(self, watch: str) -> list[str]:
        # The watch's own name may hold anything: a digest keeps key names plain.
        tag = hashlib.sha256(watch.encode("utf-8")).hexdigest()[:16]
        base = _watch_key(self.prefix, self.name, tag)
        return [f"{base}:{kind}" for kind in ("meta", "marks", "data", "pending")]

    async def open(self) -> None:
        """Check that Redis answers (a :class:`WatchStateError` before the first poll)."""
        await self._ask(self.redis.ping())

    async def load(self, watch: str) -> Snapshot:
        """The watch as last committed (empty for a new one)."""
        meta_key, marks_key, _, pending_key = self._keys(watch)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(meta_key)
            pipe.hgetall(marks_key)
            pipe.zrange(pending_key, 0, -1)
            meta, marks, pending = await self._ask(pipe.execute())
        schema = int(meta.get(b"schema", WATCH_SCHEMA))
        if schema > WATCH_SCHEMA:
            raise WatchStateError(
                f"watch state {self.name!r} was written by a newer version (layout {schema}, "
                f"this one reads {WATCH_SCHEMA}): upgrade, or use another name; left as it is"
            )
        try:
            loaded = {key.decode(): _mark_decoder.decode(value) for key, value in marks.items()}
            changes = [_change_decoder.decode(blob) for blob in pending]
        except (msgspec.DecodeError, UnicodeDecodeError) as error:
            raise WatchStateError(f"watch state {self.name!r} is unreadable: {error}") from None
        return Snapshot(
            int(meta.get(b"poll_id", 0)),
            {key: Mark(mark.fingerprint, mark.until) for key, mark in loaded.items()},
            [
                StoredChange(
                    c.seq, stored_kind(c.kind), c.item_key, c.key, c.seen_at, c.item, c.previous
                )
                for c in sorted(changes, key=lambda c: c.seq)
            ],
        )

    async def items(self, watch: str, keys: Sequence[str]) -> dict[str, bytes]:
        """The stored JSON of those of ``keys`` the watch knows."""
        if not keys:
            return {}
        wanted = list(keys)
        values = await self._ask(self.redis.hmget(self._keys(watch)[2], wanted))
        found = zip(wanted, values, strict=True)
        return {key: bytes(value) for key, value in found if isinstance(value, bytes)}

    async def commit(
        self,
        watch: str,
        poll_id: int,
        changes: Sequence[StoredChange],
        delta: SnapshotDelta,
    ) -> None:
        """Store one poll in one script (see :meth:`WatchState.commit`)."""
        args: list[Any] = [poll_id, WATCH_SCHEMA, self.lease.replica if self.lease else ""]
        args.append(len(changes))
        for change in changes:
            queued = _QueuedChange(
                change.seq,
                change.kind,
                change.item_key,
                change.key,
                change.seen_at,
                change.item,
                change.previous,
            )
            args += [change.seq, _msgpack.encode(queued)]
        args.append(len(delta.drop))
        args += list(delta.drop)
        args.append(len(delta.put))
        for key, record in delta.put.items():
            mark = _msgpack.encode(_StoredMark(record.mark.fingerprint, record.mark.until))
            args += [key, mark, record.data]
        code, stored = await self._ask(
            self._commit(keys=[*self._keys(watch), self._lease_key], args=args)
        )
        if code == 2:
            raise WatchLeaseLostError(
                f"watch {self.name!r}: this replica's lease lapsed; poll {poll_id} not stored"
            )
        if code == 3:
            raise WatchStateError(f"watch state {self.name!r} was written by a newer version")
        if code == 1:
            raise WatchConflictError(
                f"watch {self.name!r}: poll {poll_id} does not follow poll {stored}"
            )

    async def ack(self, watch: str, seq: int) -> None:
        """Drop the queued changes up to ``seq`` (the consumer has taken them)."""
        await self._ask(self.redis.zremrangebyscore(self._keys(watch)[3], "-inf", seq))

    async def close(self) -> None:
        """Nothing to close: the Redis client is the caller's."""

    async def _ask(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except REDIS_UNAVAILABLE as error:
            raise WatchStateError(
                f"watch state {self.name!r}: Redis unavailable ({type(error).__name__})"
            ) from None
        except ResponseError as error:  # WRONGTYPE: the keys hold something that is not ours
            raise WatchStateError(f"watch state {self.name!r}: {error}") from None
