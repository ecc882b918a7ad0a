"""Where a token lives when several clients (or processes) share one account.

:class:`TokenStore` is the protocol :class:`~calendar_transport.TokenAuth` talks to when a
client is given ``token_store=``: read before logging in, a lock around the login so a fleet
makes one, a write after it, and a compare-and-set invalidation on a 401. Without a store a
client keeps its token to itself (one login per client, as always). :class:`MemoryTokenStore`
shares one token between the clients of one process; ``calendar_transport.redis`` has the
store for several processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["MemoryTokenStore", "StoreKey", "TokenRecord", "TokenStore", "store_key"]


@dataclass(frozen=True, slots=True)
class StoreKey:
    """Which account a token belongs to: backend, server and login, the last two hashed.

    ``name`` is what key names are built from; it never holds a password, key or token.
    """

    backend: str
    name: str


def _digest(text: str, size: int) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:size]


def store_key(backend: str, server: str, login: str, *, person_id: int | None = None) -> StoreKey:
    """The key for ``login`` (acting as ``person_id``) on ``server`` of ``backend``.

    The server and the login are hashed: key names show up in ``redis-cli`` output and
    monitoring, and a login is personal data (it is not a secret, so no salt is needed).
    """
    if not backend or not backend.isidentifier():
        raise ValueError(f"backend must be a short identifier, got {backend!r}")
    who = login if person_id is None else f"{login}\0{person_id}"
    return StoreKey(backend, f"{backend}:{_digest(server.rstrip('/'), 12)}:{_digest(who, 24)}")


@dataclass(frozen=True, slots=True, repr=False)
class TokenRecord:
    """A stored token with its expiry and, for Pyrus, the API hosts the login named."""

    value: str
    issued_at: datetime
    expires_at: datetime | None = None
    api_url: str | None = None
    files_url: str | None = None

    def __post_init__(self) -> None:
        for name in ("issued_at", "expires_at"):
            when = getattr(self, name)
            if when is not None and when.utcoffset() is None:
                raise ValueError(f"TokenRecord.{name} must be timezone-aware")

    def __repr__(self) -> str:
        return f"TokenRecord(value='***', expires_at={self.expires_at!r}, api_url={self.api_url!r})"


@runtime_checkable
class TokenStore(Protocol):
    """Shared token storage for clients of one account (see the module docstring)."""

    async def get(self, key: StoreKey) -> TokenRecord | None:
        """The stored token for ``key``, if any."""

    async def put(self, key: StoreKey, record: TokenRecord) -> None:
        """Store ``record`` for ``key``, replacing what was there."""

    async def invalidate(self, key: StoreKey, token: str) -> bool:
        """Remove the stored token only if it is still ``token`` (compare-and-set).

        Returns whether it was removed; ``False`` means another client already replaced it.
        """

    def lock(self, key: StoreKey) -> contextlib.AbstractAsyncContextManager[None]:
        """Held around a login so only one client of the account logs in at a time.

        A lock must not outlive a crashed holder forever (stores across processes give it a
        timeout); re-read the store after taking it.
        """


class MemoryTokenStore:
    """An in-process :class:`TokenStore`: clients of one process that are given the same
    instance share one token and one login."""

    def __init__(self) -> None:
        self._records: dict[StoreKey, TokenRecord] = {}
        self._locks: dict[StoreKey, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}

    def __repr__(self) -> str:
        return f"MemoryTokenStore({len(self._records)} tokens)"

    async def get(self, key: StoreKey) -> TokenRecord | None:
        """The stored token for ``key``, if any."""
        return self._records.get(key)

    async def put(self, key: StoreKey, record: TokenRecord) -> None:
        """Store ``record`` for ``key``."""
        self._records[key] = record

    async def invalidate(self, key: StoreKey, token: str) -> bool:
        """Remove the token for ``key`` if it is still ``token``."""
        current = self._records.get(key)
        if current is None or current.value != token:
            return False
        del self._records[key]
        return True

    @contextlib.asynccontextmanager
    async def lock(self, key: StoreKey) -> AsyncIterator[None]:
        """An asyncio lock per key (a process cannot crash while holding it)."""
        async with self._lock_for(key):
            yield

    def _lock_for(self, key: StoreKey) -> asyncio.Lock:
        # Per loop: an asyncio.Lock belongs to the loop it was first used on, and a store
        # may outlive one asyncio.run().
        loop = asyncio.get_running_loop()
        held = self._locks.get(key)
        if held is None or held[0] is not loop:
            held = self._locks[key] = (loop, asyncio.Lock())
        return held[1]
