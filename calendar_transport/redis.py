"""Shared state on Redis for a fleet of workers: one token and one rate budget per account,
and watches (their state and who runs them) shared by replicas.

Needs the ``redis`` extra (``pip install 'r7-pyrus-calendar[redis]'``); the rest of the SDK
never imports this module. Both classes take a ``redis.asyncio.Redis`` you own (and close).

Redis going away does not take the clients down: each object falls back to process-local
state with one warning, tries Redis again every ``retry_interval`` seconds, and uses it again
once it answers. Stored tokens are secrets: the Redis must be one you trust (its own network,
a password, TLS where it crosses hosts). Tokens never appear in key names or in log lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Final, TypeVar

import msgspec
from aiolimiter import AsyncLimiter

from .extras import missing_extra

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import LockError, ReadOnlyError, ResponseError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as missing:
    raise missing_extra("redis", "calendar_transport.redis") from missing

from .rate_limit import AccountLimiter, RateLimit
from .token_store import MemoryTokenStore, StoreKey, TokenRecord
from .watch.replicas import check_watch_name
from .watch.state import (
    Mark,
    Snapshot,
    SnapshotDelta,
    StoredChange,
    WatchConflictError,
    WatchStateError,
    stored_kind,
)

__all__ = [
    "RedisRateLimit",
    "RedisTokenStore",
    "RedisWatchLeases",
    "RedisWatchState",
    "WatchLeaseLostError",
]

logger = logging.getLogger(__name__)

DEFAULT_PREFIX: Final = "calendar"

# What "Redis is not there" looks like; other errors (a wrong command, a script bug) are bugs
# and are raised. A replica left read-only by a failover counts as away.
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError)

Clock = Callable[[], float]
T = TypeVar("T")


class _Health:
    """Whether to ask Redis now: after a failure, not again for ``retry_interval`` seconds."""

    def __init__(self, what: str, retry_interval: float, clock: Clock) -> None:
        if isinstance(retry_interval, bool) or not isinstance(retry_interval, int | float):
            raise TypeError("retry_interval must be a number of seconds")
        if retry_interval < 0:
            raise ValueError(f"retry_interval must be >= 0, got {retry_interval}")
        self.what = what
        self.retry_interval = float(retry_interval)
        self.clock = clock
        self.down_since: float | None = None
        self.outages = 0  # how many times Redis went away; tests and the soak read it

    def usable(self) -> bool:
        return self.down_since is None or self.clock() - self.down_since >= self.retry_interval

    def failed(self, error: BaseException) -> None:
        if self.down_since is None:
            self.outages += 1
            # The type only: a message may name the host; nothing here ever holds a token.
            logger.warning(
                "Redis unavailable (%s): %s fall back to this process until it is back",
                type(error).__name__,
                self.what,
            )
        self.down_since = self.clock()

    def worked(self) -> None:
        if self.down_since is not None:
            logger.info("Redis is back: %s shared again", self.what)
            self.down_since = None


def _key(prefix: str, key: StoreKey, kind: str) -> str:
    # The braces are a cluster hash tag: an account's keys live on one slot.
    return f"{prefix}:{{{key.name}}}:{kind}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class _Stored(msgspec.Struct, frozen=True):
    value: str
    issued_at: datetime
    expires_at: datetime | None = None
    api_url: str | None = None
    files_url: str | None = None


_decoder = msgspec.json.Decoder(_Stored)

# Compare-and-set on the token's digest: the token itself is never an argument of a command
# (MONITOR and slow logs show arguments).
_INVALIDATE: Final = """
if redis.call('HGET', KEYS[1], 'digest') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


class RedisTokenStore:
    """A :class:`~calendar_transport.TokenStore` on Redis, shared by every process of a fleet.

    ``prefix`` starts every key name (two fleets on one Redis use two prefixes; accounts are
    told apart anyway). ``lock_timeout``: a login lock expires after this many seconds, so a
    crashed holder does not block the others; ``lock_wait``: how long a client waits for the
    lock before it logs in without it. ``retry_interval``: after a failure, Redis is asked
    again this much later; meanwhile tokens are kept in the process.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        lock_timeout: float = 10.0,
        lock_wait: float | None = None,
        retry_interval: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> None:
        check_client(redis)
        check_prefix(prefix)
        for name, value in (("lock_timeout", lock_timeout), ("lock_wait", lock_wait)):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        self.redis = redis
        self.prefix = prefix
        self.lock_timeout = float(lock_timeout)
        self.lock_wait = float(lock_wait) if lock_wait is not None else self.lock_timeout + 1
        self.health = _Health("tokens", retry_interval, clock)
        self._local = MemoryTokenStore()
        # Written here while Redis was away: copied to it (if it has none) once it is back,
        # by a task that asks again every retry_interval while one is waiting.
        self._pending: dict[StoreKey, TokenRecord] = {}
        self._writer: asyncio.Task[None] | None = None
        self._invalidate = redis.register_script(_INVALIDATE)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = DEFAULT_PREFIX, **options: Any) -> RedisTokenStore:
        """A store with its own client for ``url`` (``redis://host:6379/0``); close it with
        ``await store.redis.aclose()``. ``options`` go to :class:`RedisTokenStore`."""
        return cls(_client_for(url), prefix=prefix, **options)

    def __repr__(self) -> str:
        # No URL: it may carry the Redis password.
        state = "up" if self.health.down_since is None else "down"
        return f"RedisTokenStore(prefix={self.prefix!r}, redis {state})"

    async def get(self, key: StoreKey) -> TokenRecord | None:
        """The token Redis holds for ``key`` (while Redis is away: the process' own)."""
        if not self.health.usable():
            return await self._local.get(key)
        name = _key(self.prefix, key, "token")
        try:
            await self._flush_pending(key)
            raw = await self.redis.hget(name, "record")
        except _UNAVAILABLE as error:
            self.health.failed(error)
            return await self._local.get(key)
        self.health.worked()
        if raw is None:
            mirrored = await self._local.get(key)
            if mirrored is not None:  # invalidated by another process: not a fallback any more
                await self._local.invalidate(key, mirrored.value)
            return None
        try:
            stored = _decoder.decode(raw)
        except msgspec.DecodeError:
            logger.warning("unreadable token record under %s: ignored", name)
            return None
        record = TokenRecord(
            stored.value, stored.issued_at, stored.expires_at, stored.api_url, stored.files_url
        )
        await self._local.put(key, record)
        return record

    async def put(self, key: StoreKey, record: TokenRecord) -> None:
        """Store ``record`` for the fleet (expiring with the token when its expiry is known)."""
        await self._local.put(key, record)
        if not self.health.usable():
            self._write_back_later(key, record)
            return
        try:
            await self._write(key, record, only_if_absent=False)
        except _UNAVAILABLE as error:
            self.health.failed(error)
            self._write_back_later(key, record)
            return
        self.health.worked()
        self._pending.pop(key, None)

    async def flush(self) -> bool:
        """Write back now the tokens this process got while Redis was away (each only to a
        Redis that holds none for its account). Returns whether none is left waiting. Done
        by itself every ``retry_interval`` while one waits; see :meth:`written_back`."""
        for key in list(self._pending):
            try:
                await self._flush_pending(key)
            except _UNAVAILABLE as error:
                self.health.failed(error)
                return False
            self.health.worked()
        writer = self._writer
        if not self._pending and writer is not None and writer is not asyncio.current_task():
            writer.cancel()  # nothing left for it (it may be waiting out retry_interval)
        return not self._pending

    async def written_back(self) -> None:
        """Wait until the tokens this process got while Redis was away are in Redis (at once
        when none waits; or until Redis refuses them): a worker about to stop leaves its
        token to the fleet."""
        writer = self._writer
        if self._pending and writer is not None and not writer.done():
            await asyncio.wait({writer})  # (not cancelled with its waiter, nor raising)

    def _write_back_later(self, key: StoreKey, record: TokenRecord) -> None:
        self._pending[key] = record
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_back(), name="calendar_transport: token write-back"
            )

    async def _write_back(self) -> None:
        # A worker holding a token keeps logging no one in: without this, the token would
        # reach Redis only at its next login, and a worker started meanwhile would log in
        # again (on Pyrus, pushing out the oldest token).
        wait = max(self.health.retry_interval, _MIN_WRITE_BACK_WAIT)
        while self._pending:
            await asyncio.sleep(wait)
            if not self.health.usable():
                continue
            try:
                await self.flush()
            except Exception as error:  # a Redis that refuses, not one that is away
                logger.warning(
                    "token write-back to Redis failed (%s): left to the next login",
                    type(error).__name__,
                )
                return

    async def invalidate(self, key: StoreKey, token: str) -> bool:
        """Remove the stored token if it is still ``token``; ``False`` if it was replaced."""
        removed_here = await self._local.invalidate(key, token)
        pending = self._pending.get(key)
        if pending is not None and pending.value == token:
            del self._pending[key]
        if not self.health.usable():
            return removed_here
        try:
            removed = await self._invalidate(
                keys=[_key(self.prefix, key, "token")], args=[_digest(token)]
            )
        except _UNAVAILABLE as error:
            self.health.failed(error)
            return removed_here
        self.health.worked()
        return bool(removed)

    @contextlib.asynccontextmanager
    async def lock(self, key: StoreKey) -> AsyncIterator[None]:
        """The fleet's login lock for ``key``: expires after ``lock_timeout``; while Redis is
        away, a lock of this process."""
        async with self._local.lock(key):  # this process' clients queue here, not on Redis
            lock = None
            if self.health.usable():
                lock = self.redis.lock(
                    _key(self.prefix, key, "lock"),
                    timeout=self.lock_timeout,
                    blocking_timeout=self.lock_wait,
                    sleep=0.02,
                )
                try:
                    if not await lock.acquire():
                        logger.warning(
                            "login lock still held after %.1fs: logging in without it",
                            self.lock_wait,
                        )
                        lock = None
                except _UNAVAILABLE as error:
                    self.health.failed(error)
                    lock = None
            try:
                yield
            finally:
                if lock is not None:
                    # Expired meanwhile (a login slower than lock_timeout) or Redis gone: the
                    # lock is no longer this process' to release, and nothing else is wrong.
                    with contextlib.suppress(LockError, *_UNAVAILABLE):
                        await lock.release()

    async def _write(self, key: StoreKey, record: TokenRecord, *, only_if_absent: bool) -> None:
        name = _key(self.prefix, key, "token")
        data = msgspec.json.encode(
            _Stored(
                record.value,
                record.issued_at,
                record.expires_at,
                record.api_url,
                record.files_url,
            )
        )
        if only_if_absent and await self.redis.exists(name):
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(name)
            pipe.hset(name, mapping={"digest": _digest(record.value), "record": data})
            if record.expires_at is not None:
                pipe.expireat(name, record.expires_at)
            await pipe.execute()

    async def _flush_pending(self, key: StoreKey) -> None:
        # A token this process got while Redis was away: a restarted Redis is empty, and the
        # fleet can go on with this token instead of logging in again.
        record = self._pending.pop(key, None)
        if record is not None:
            try:
                await self._write(key, record, only_if_absent=True)
            except BaseException:
                self._pending[key] = record
                raise


# The write-back task never asks Redis more often than this (retry_interval may be 0).
_MIN_WRITE_BACK_WAIT: Final = 0.05

# A sliding log of the requests of the last period, on Redis' clock: at most ``limit``
# entries in any window of ``period`` ms, whatever window the server counts in. Returns 0
# (go) or how many ms to wait. KEYS: the log, the pause flag. ARGV: limit, period ms, member.
_ACQUIRE: Final = """
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return pause end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - period)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], period)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(tonumber(oldest[2]) + period - now, 1)
"""

# Only ever lengthens a pause: a short Retry-After must not cut a long X-RateLimit-Reset.
_PAUSE: Final = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
"""

_MAX_WAITS: Final = 10_000


class RedisRateLimit:
    """One request budget for every process of an account, kept on Redis.

    Give it to ``PyrusClient(rate_limit=...)``; the client asks for its account's share
    (:meth:`limiter_for`). ``margin`` seconds are added to the period, so that the server,
    which counts arrivals, never sees more than the budget in its window. A 429 seen by any
    process pauses them all until the time the server named. ``fallback``: the budget each
    process keeps to while Redis is away (default: the whole budget; pass a share, e.g.
    ``RateLimit(5000 // workers, 600)``, for a fleet of ``workers``).
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        rate: RateLimit,
        *,
        prefix: str = DEFAULT_PREFIX,
        margin: float = 0.1,
        fallback: RateLimit | None = None,
        retry_interval: float = 1.0,
        clock: Clock = time.monotonic,
    ) -> None:
        check_client(redis)
        if not isinstance(rate, RateLimit):
            raise TypeError(f"rate must be a RateLimit, not {type(rate).__name__}")
        if fallback is not None and not isinstance(fallback, RateLimit):
            raise TypeError(f"fallback must be a RateLimit, not {type(fallback).__name__}")
        if isinstance(margin, bool) or not isinstance(margin, int | float) or margin < 0:
            raise ValueError(f"margin must be a number of seconds >= 0, got {margin!r}")
        check_prefix(prefix)
        self.redis = redis
        self.rate = rate
        self.prefix = prefix
        self.margin = float(margin)
        self.fallback = fallback or rate
        self.health = _Health("rate budgets", retry_interval, clock)
        self._acquire = redis.register_script(_ACQUIRE)
        self._pause = redis.register_script(_PAUSE)
        self._limiters: dict[StoreKey, _AccountLimiter] = {}

    @classmethod
    def from_url(
        cls, url: str, rate: RateLimit, *, prefix: str = DEFAULT_PREFIX, **options: Any
    ) -> RedisRateLimit:
        """A budget with its own client for ``url``; close it with ``await .redis.aclose()``."""
        return cls(_client_for(url), rate, prefix=prefix, **options)

    def __repr__(self) -> str:
        return f"RedisRateLimit({self.rate!r}, prefix={self.prefix!r})"

    def limiter_for(self, key: StoreKey) -> AccountLimiter:
        """The limiter for the account ``key`` names (one per account, shared by its clients)."""
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = _AccountLimiter(self, key)
        return limiter


class _AccountLimiter:
    def __init__(self, owner: RedisRateLimit, key: StoreKey) -> None:
        self._owner = owner
        self._keys = [_key(owner.prefix, key, "budget"), _key(owner.prefix, key, "pause")]
        self._period_ms = round((owner.rate.period + owner.margin) * 1000)
        self._local: AsyncLimiter | None = None  # made on first need, on the running loop
        self._paused_until = 0.0  # on the owner's clock; kept for the fallback

    async def acquire(self) -> float:
        owner = self._owner
        waited = 0.0  # the seconds slept, for the client's on_rate_limit_wait
        for _ in range(_MAX_WAITS):
            if not owner.health.usable():
                return waited + await self._acquire_locally()
            member = secrets.token_hex(8)
            try:
                wait_ms = await owner._acquire(
                    keys=self._keys, args=[owner.rate.requests, self._period_ms, member]
                )
            except _UNAVAILABLE as error:
                owner.health.failed(error)
                continue
            owner.health.worked()
            if int(wait_ms) <= 0:
                return waited
            await asyncio.sleep(int(wait_ms) / 1000)
            waited += int(wait_ms) / 1000
        raise RuntimeError(f"no room in the shared rate budget after {_MAX_WAITS} waits")

    async def pause(self, seconds: float) -> None:
        owner = self._owner
        self._paused_until = max(self._paused_until, owner.health.clock() + seconds)
        milliseconds = max(round(seconds * 1000), 1)
        if not owner.health.usable():
            return
        try:
            await owner._pause(keys=self._keys[1:], args=[milliseconds])
        except _UNAVAILABLE as error:
            owner.health.failed(error)
            return
        owner.health.worked()
        logger.info("server asked to wait %.1fs: every worker of the account pauses", seconds)

    async def _acquire_locally(self) -> float:
        # Returns the seconds waited (measured on the owner's clock).
        clock = self._owner.health.clock
        started = clock()
        wait = self._paused_until - started
        if wait > 0:
            await asyncio.sleep(wait)
        if self._local is None:
            fallback = self._owner.fallback
            self._local = AsyncLimiter(fallback.requests, fallback.period)
        if not self._local.has_capacity():
            await self._local.acquire()
            return max(clock() - started, 0.0)
        await self._local.acquire()
        return max(wait, 0.0)


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
    """A :class:`~calendar_transport.watch.replicas.WatchLease` on Redis: which replica runs
    which watch, for a :class:`~calendar_transport.watch.replicas.WatchRunner`.

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
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl >= 0.01:
            raise ValueError(f"ttl must be a number of seconds >= 0.01, got {ttl!r}")
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
        except _UNAVAILABLE:
            return False
        if isinstance(holder, bytes):
            holder = holder.decode()
        return holder == self.replica

    async def heartbeat(self) -> int:
        """Say this replica is alive for ``ttl`` seconds; how many replicas of the group are."""
        key = f"{self.prefix}:{{watch-replicas:{self.group}}}:alive"
        try:
            return int(await self._heartbeat(keys=[key], args=[self.replica, self._ttl_ms]))
        except _UNAVAILABLE as error:
            logger.warning(
                "Redis unavailable (%s): watch leases cannot be kept", type(error).__name__
            )
            return 1

    async def _call(self, script: Any, name: str) -> bool:
        try:
            done = await script(keys=[self.lease_key(name)], args=[self.replica, self._ttl_ms])
        except _UNAVAILABLE as error:
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
    """A :class:`~calendar_transport.watch.WatchState` on Redis, for watches that replicas
    share: ``RedisWatchState(redis, "user-42")`` keeps the watches given this state under the
    name ``name`` (one per chat user, say), all on one cluster slot.

    With ``lease=`` (the replica's :class:`RedisWatchLeases`) a poll is committed only while
    this replica holds the lease on ``name``, in the same script that writes it: a replica
    that lost the watch raises :class:`WatchLeaseLostError` instead of advancing it. Redis
    going away is a :class:`~calendar_transport.watch.WatchStateError` (no local fallback:
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
        except _UNAVAILABLE as error:
            raise WatchStateError(
                f"watch state {self.name!r}: Redis unavailable ({type(error).__name__})"
            ) from None
        except ResponseError as error:  # WRONGTYPE: the keys hold something that is not ours
            raise WatchStateError(f"watch state {self.name!r}: {error}") from None


def check_client(redis: object, *, binary: bool = False) -> None:
    """Refuse what is not a ``redis.asyncio.Redis``; with ``binary`` (a state that stores
    bytes), also a client made with ``decode_responses``."""
    if not isinstance(redis, aioredis.Redis):
        raise TypeError(f"redis must be a redis.asyncio.Redis, not {type(redis).__name__}")
    if binary and redis.connection_pool.connection_kwargs.get("decode_responses"):
        raise ValueError("redis must be a client without decode_responses: a state is bytes")


def check_prefix(prefix: object) -> None:
    """Raise ``ValueError`` unless ``prefix`` can start key names (no braces or spaces)."""
    if not isinstance(prefix, str) or not prefix or any(c in prefix for c in "{} \n"):
        raise ValueError(f"prefix must be a non-empty str without braces or spaces: {prefix!r}")


def _client_for(url: str) -> aioredis.Redis:
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    # Short timeouts and one quick retry: while Redis is away, a call should fall back to
    # local state at once rather than wait through redis-py's default retries.
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        retry=Retry(NoBackoff(), 1),
    )
