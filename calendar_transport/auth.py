"""Token authentication shared by both backends: lazy login, single-flight refresh.

A backend subclasses :class:`TokenAuth` and says three things: how to log in, how to put the
token on a request, and which 401 answers are final (bad credentials: logging in again cannot
help). Everything about *when* to log in lives here.
"""

from __future__ import annotations

import abc
import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .errors import APIError
from .hooks import LoginRecord, emit
from .token_store import StoreKey, TokenRecord, TokenStore

if TYPE_CHECKING:
    from .transport import Transport

logger = logging.getLogger(__name__)


class Secret:
    """A string that never shows itself in a repr, a str() or a log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"a secret must be a str, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The real value, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _clock() -> float:
    # One place to read the clock (seconds since the epoch), so tests can move time instead
    # of sleeping. A float, since a call compares it with its token's renewal moment.
    return time.time()


def _now() -> datetime:
    return datetime.fromtimestamp(_clock(), UTC)


@dataclass(frozen=True, slots=True, repr=False)
class IssuedToken:
    """A token and, when the server says, the moment it stops working.

    ``generation`` numbers the logins of one :class:`TokenAuth` (set when it installs the
    token): it, not the token's text, tells whether a token was replaced, since a server may
    issue the same token again.
    """

    value: str
    expires_at: datetime | None = None
    issued_at: datetime = field(default_factory=lambda: _now())
    generation: int = 0

    def __repr__(self) -> str:
        return (
            f"IssuedToken(value='***', expires_at={self.expires_at!r}, "
            f"generation={self.generation})"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginInfo:
    """Who a client logged in as, alike for both backends; it never holds the token.

    ``backend``: ``"r7"`` or ``"pyrus"``; ``login``: the login name used; ``user_id``: the
    user the server names (R7's ``UserId``; for Pyrus the ``person_id`` acted as, if given);
    ``expires_at``: when the token stops working, when the server says so credibly.
    """

    backend: str
    login: str | None = None
    user_id: int | None = None
    expires_at: datetime | None = None


class TokenAuth(abc.ABC):
    """Holds the current token; logs in lazily and refreshes it once for many waiters."""

    #: refresh this long before a known expiry, so a request never leaves with a dying token
    refresh_skew = timedelta(seconds=60)

    def __init__(self, *, token: str | None = None) -> None:
        self._token: IssuedToken | None = IssuedToken(token) if token else None
        self._generation = 0  # of the installed token; 0 is the one passed in, if any
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._logins_finished = 0  # succeeded or failed; a cancelled login is neither
        self._last_failure: Exception | None = None
        self._warned_expiry = False
        # (a token, the skew it was computed with, when to renew it): once per token
        self._renew_at: tuple[IssuedToken, timedelta, float] | None = None
        self.logins = 0  # how many logins this object made; tests and the chaos table read it
        self._store: TokenStore | None = None  # None: the token stays in this object
        self._store_key: StoreKey | None = None

    def __repr__(self) -> str:
        state = "token set" if self._token else "no token"
        return f"{type(self).__name__}({state}, can_login={self.can_login})"

    # ---- what a backend provides -------------------------------------------------------

    @property
    @abc.abstractmethod
    def can_login(self) -> bool:
        """Whether credentials are known, so a lost token can be replaced."""

    @abc.abstractmethod
    async def login(self, transport: Transport) -> IssuedToken:
        """Obtain a new token (through ``transport.request(..., authenticate=False)``)."""

    @abc.abstractmethod
    def authorization(self, token: str) -> str:
        """The ``Authorization`` header value for ``token``."""

    def is_final(self, error: APIError) -> bool:
        """Whether a 401 means the credentials themselves are refused (no re-login)."""
        return False

    # ---- what the transport calls ------------------------------------------------------

    @property
    def token(self) -> str | None:
        """The current token, if any (never logged; for callers who persist it)."""
        return self._token.value if self._token else None

    @property
    def issued(self) -> IssuedToken | None:
        """The current token with its expiry and generation, if any."""
        return self._token

    def _usable(self, issued: IssuedToken | None) -> bool:
        if issued is None:
            return False
        if issued.expires_at is None or not self.can_login:
            return True
        cached = self._renew_at
        if cached is None or cached[0] is not issued or cached[1] != self.refresh_skew:
            # The skew is capped at half the token's lifetime: a token issued for less than
            # twice the skew is still used, not replaced by a new login before every call.
            skew = min(self.refresh_skew, (issued.expires_at - issued.issued_at) / 2)
            renew_at = (issued.expires_at - skew).timestamp()
            cached = (issued, self.refresh_skew, renew_at)  # once per token
            self._renew_at = cached
        return _clock() < cached[2]

    def ready(self) -> IssuedToken | None:
        """The current token if it is good to use now without a login, else ``None`` (the
        transport looks here before it awaits :meth:`current`)."""
        issued = self._token
        return issued if self._usable(issued) else None

    async def current(self, transport: Transport) -> IssuedToken:
        """A token good to use now: logs in on first use and before a known expiry."""
        issued = self._token
        if self._usable(issued):
            assert issued is not None
            return issued
        fresh, _ = await self.renew(transport, stale=issued)
        return fresh

    async def renew(
        self, transport: Transport, *, stale: IssuedToken | None
    ) -> tuple[IssuedToken, bool]:
        """Replace ``stale`` (the token a caller had); concurrent callers share one login.

        Returns the token to use and whether this caller made the login (``True``) or got
        the one another caller's login installed since ``stale`` (``False``). A login that
        fails is not repeated by the callers that were waiting for it: they get its error (N
        calls with a wrong password make one login, and do not get the account locked). A
        login that was cancelled (its caller's timeout) is no answer: a waiter logs in.
        """
        finished_before = self._logins_finished
        async with self._get_lock():
            current = self._token
            newer = current is not None and (stale is None or current.generation > stale.generation)
            if newer and self._usable(current):
                assert current is not None
                return current, False
            if self._logins_finished != finished_before and self._last_failure is not None:
                raise self._last_failure  # the login this caller waited for has just failed
            return await self._run_login(self._obtain(transport, stale), transport)

    async def login_now(
        self,
        transport: Transport,
        login: Callable[[Transport], Awaitable[IssuedToken]] | None = None,
    ) -> IssuedToken:
        """Log in now, whatever the current token (``login``: another way than
        :meth:`login`), in turn with any login under way."""
        async with self._get_lock():
            issued, _ = await self._run_login(
                _made_here((login or self.login)(transport)), transport
            )
        if self._store is not None:
            assert self._store_key is not None
            await self._store.put(self._store_key, self.record_for(issued, transport))
        return issued

    async def current_token(self, transport: Transport) -> str:
        """The value of :meth:`current`."""
        return (await self.current(transport)).value

    async def refresh(self, transport: Transport, *, stale: str | None) -> str:
        """:meth:`renew` for a caller that kept only the token's text: a ``stale`` that is
        not the current token was already replaced, so no login happens."""
        current = self._token
        held = current if current is not None and current.value == stale else None
        fresh, _ = await self.renew(transport, stale=held)
        return fresh.value

    def set_token(self, issued: IssuedToken) -> IssuedToken:
        """Install a token obtained elsewhere; returns it as installed (a new generation)."""
        self._generation += 1
        expires_at = issued.expires_at
        if expires_at is not None and expires_at <= issued.issued_at:
            # A server clock behind ours, or a local time read as UTC: acting on it would
            # mean a login before every call. Treat the expiry as unknown; a 401 still
            # replaces the token.
            if not self._warned_expiry:
                self._warned_expiry = True
                logger.warning(
                    "%s: the server says the new token expired at %s, at or before it was "
                    "issued (%s); its clock or time zone differs from ours, so the expiry "
                    "is ignored and the token is replaced when it is refused",
                    type(self).__name__,
                    expires_at.isoformat(),
                    issued.issued_at.isoformat(),
                )
            expires_at = None
        self._token = dataclasses.replace(
            issued, expires_at=expires_at, generation=self._generation
        )
        return self._token

    async def _obtain(
        self, transport: Transport, stale: IssuedToken | None
    ) -> tuple[IssuedToken, bool]:
        # A login of our own, or (with a shared store) maybe another process's token.
        if self._store is None:
            return await self.login(transport), True
        return await self._token_from_store(transport, None if stale is None else stale.value)

    async def _run_login(
        self, login: Awaitable[tuple[IssuedToken, bool]], transport: Transport
    ) -> tuple[IssuedToken, bool]:
        # Called with the lock held; keeps the books waiters read.
        started = time.perf_counter()
        try:
            issued, made = await login
        except asyncio.CancelledError:
            raise  # not counted: the waiters must not take it (or an older error) as the answer
        except Exception as error:
            self._last_failure = error
            self._logins_finished += 1
            await self._told(transport, started, error)
            raise
        self._logins_finished += 1
        self._last_failure = None
        installed = self.set_token(issued)
        if made:
            self.logins += 1
            transport.stats.logins += 1
            await self._told(transport, started, None)
        return installed, made

    async def _told(self, transport: Transport, started: float, error: Exception | None) -> None:
        # on_login for a login this object made (or tried): never for an adopted token.
        hooks = transport.hooks
        if hooks is not None and hooks.on_login is not None:
            record = LoginRecord(
                backend=type(self).__name__,
                ok=error is None,
                elapsed=time.perf_counter() - started,
                error=None if error is None else type(error).__name__,
            )
            await emit(hooks.on_login, record)

    def _get_lock(self) -> asyncio.Lock:
        # Created lazily and per loop: a client may be used from one loop, closed, and used
        # again from another (asyncio.run twice), and an asyncio.Lock belongs to one loop.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock

    # ---- a token shared through a TokenStore (token_store= on the clients) ---------------

    def use_store(self, store: TokenStore, key: StoreKey) -> None:
        """Share tokens through ``store`` under ``key`` (the client builds the key)."""
        if not isinstance(store, TokenStore):
            raise TypeError(f"token_store must be a TokenStore, not {type(store).__name__}")
        self._store = store
        self._store_key = key

    async def _token_from_store(
        self, transport: Transport, stale: str | None
    ) -> tuple[IssuedToken, bool]:
        # Called under this object's lock. Returns the token and whether this object logged in.
        store, key = self._store, self._store_key
        assert store is not None
        assert key is not None
        if stale is not None:
            # Compare-and-set: removes the token only if no one has replaced it yet.
            await store.invalidate(key, stale)
        adopted = self._adopt(await store.get(key), stale, transport)
        if adopted is not None:
            return adopted, False
        async with store.lock(key):
            # Another client may have logged in while this one waited for the lock.
            adopted = self._adopt(await store.get(key), stale, transport)
            if adopted is not None:
                return adopted, False
            issued = await self.login(transport)
            await store.put(key, self.record_for(issued, transport))
            return issued, True

    def _adopt(
        self, record: TokenRecord | None, stale: str | None, transport: Transport
    ) -> IssuedToken | None:
        if record is None or record.value == stale:
            return None
        issued = IssuedToken(record.value, record.expires_at, record.issued_at)
        if not self._usable(issued):
            return None
        self.adopt_record(record, transport)
        return issued

    def record_for(self, issued: IssuedToken, transport: Transport) -> TokenRecord:
        """What to store for a token this object just obtained (backends add their hosts)."""
        return TokenRecord(issued.value, issued.issued_at, issued.expires_at)

    def adopt_record(self, record: TokenRecord, transport: Transport) -> None:
        """Apply what a stored token carries besides itself (Pyrus: its ``api_url``)."""
        return  # R7 tokens carry nothing else


async def _made_here(login: Awaitable[IssuedToken]) -> tuple[IssuedToken, bool]:
    return await login, True
