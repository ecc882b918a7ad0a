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
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Final, TypeVar

import msgspec
from aiolimiter import AsyncLimiter

from .checks import require_seconds
from .clocks import Monotonic
from .extras import missing_extra

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import LockError, ReadOnlyError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as missing:
    raise missing_extra("redis", "calendar_transport.redis") from missing

from .rate_limit import AccountLimiter, RateLimit
from .token_store import MemoryTokenStore, StoreKey, TokenRecord

__all__ = [
    "DEFAULT_PREFIX",
    "REDIS_UNAVAILABLE",
    "RedisRateLimit",
    "RedisTokenStore",
    "check_client",
    "check_prefix",
    "redis_client_for",
]

logger = logging.getLogger(__name__)

DEFAULT_PREFIX: Final = "calendar"

# What "Redis is not there" looks like; other errors (a wrong command, a script bug) are bugs
# and are raised. A replica left read-only by a failover counts as away.
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, ReadOnlyError, OSError)

T = TypeVar("T")


class _Health:
    """Whether to ask Redis now: after a failure, not again for ``retry_interval`` seconds."""

    def __init__(self, what: str, retry_interval: float, clock: Monotonic) -> None:
        require_seconds(retry_interval, "retry_interval")
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
        clock: Monotonic = time.monotonic,
    ) -> None:
        check_client(redis)
        check_prefix(prefix)
        for name, value in (("lock_timeout", lock_timeout), ("lock_wait", lock_wait)):
            if value is None:
                continue
            require_seconds(value, name, above=True)
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
        return cls(redis_client_for(url), prefix=prefix, **options)

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
        except REDIS_UNAVAILABLE as error:
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
        except REDIS_UNAVAILABLE as error:
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
            except REDIS_UNAVAILABLE as error:
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
        while self._pending:  # bounded by the writer: it ends when nothing is pending
            writer = self._writer
            if writer is None or writer.done():
                return  # it gave up (a Redis that refuses) or its loop is gone
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
        except REDIS_UNAVAILABLE as error:
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
                except REDIS_UNAVAILABLE as error:
                    self.health.failed(error)
                    lock = None
            try:
                yield
            finally:
                if lock is not None:
                    # Expired meanwhile (a login slower than lock_timeout) or Redis gone: the
                    # lock is no longer this process' to release, and nothing else is wrong.
                    with contextlib.suppress(LockError, *REDIS_UNAVAILABLE):
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
        # It stays pending until written: while a write is slow (a Redis that swallows
        # packets), written_back() and flush() must not take it for done.
        record = self._pending.get(key)
        if record is not None:
            await self._write(key, record, only_if_absent=True)
            if self._pending.get(key) is record:  # (not replaced meanwhile by a newer one)
                del self._pending[key]


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
        clock: Monotonic = time.monotonic,
    ) -> None:
        check_client(redis)
        if not isinstance(rate, RateLimit):
            raise TypeError(f"rate must be a RateLimit, not {type(rate).__name__}")
        if fallback is not None and not isinstance(fallback, RateLimit):
            raise TypeError(f"fallback must be a RateLimit, not {type(fallback).__name__}")
        require_seconds(margin, "margin")
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
        return cls(redis_client_for(url), rate, prefix=prefix, **options)

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
            except REDIS_UNAVAILABLE as error:
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
        except REDIS_UNAVAILABLE as error:
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


def redis_client_for(url: str) -> aioredis.Redis:
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
