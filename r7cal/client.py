"""R7Client: one transport, the R7 auth, and the two resources ``calendars`` and ``events``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import aiohttp

from calendar_transport import ClientStats, Hooks, RetryPolicy, Secret, Transport
from calendar_transport.checks import require_credential
from calendar_transport.client_base import ClientBase, from_environment
from calendar_transport.dialect import Dialect
from calendar_transport.token_store import TokenStore, store_key
from calendar_transport.transport import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT

from ._wire import error_envelope
from .auth import LOGIN_PATH, R7Auth, R7LoginInfo
from .calendars import Calendars
from .events import Events
from .models import User, without_max_value_fractions


class R7Client(ClientBase):
    """An async client for the R7-Office organizer calendar API.

    Give ``login`` and ``password`` (the client logs in on first use, again before the token
    expires and after a 401), or a ``token`` you already have (a 401 on it then raises
    :class:`AuthenticationError`). ``session``: an aiohttp session you own and close;
    ``retry``: a :class:`RetryPolicy`; ``timeout``: seconds per attempt; ``deadline``: seconds
    for a whole call with its retries. ``refresh_path``: see :class:`R7Auth`.
    ``max_response_bytes``: a larger answer raises :class:`ResponseTooLargeError`.
    ``allow_insecure``: allow plain ``http://`` to a host that is not loopback.
    ``token_store``: share the token with other clients or processes of the same login
    (:class:`~calendar_transport.TokenStore`, e.g. ``RedisTokenStore``).
    ``hooks``: a :class:`~calendar_transport.Hooks` told of every request, response, retry
    and login (see :attr:`stats` for the counts).

    Use it as ``async with R7Client(...) as r7:`` or call :meth:`aclose`.
    """

    #: the environment variables :meth:`from_env` reads (the ``r7cal`` tool's), by argument
    ENVIRONMENT: ClassVar[Mapping[str, str]] = {
        "base_url": "R7_BASE_URL",
        "login": "R7_LOGIN",
        "password": "R7_PASSWORD",
        "token": "R7_TOKEN",
    }

    @classmethod
    def from_env(cls, **options: Any) -> R7Client:
        """A client configured as services configure themselves: ``R7_BASE_URL``, and
        ``R7_LOGIN`` + ``R7_PASSWORD`` or ``R7_TOKEN``, from the environment; ``options``
        as for the constructor, winning over the environment. A missing variable is named
        in a ``ValueError`` (a value never is)."""
        given = {**from_environment(cls.ENVIRONMENT), **options}
        base_url = given.pop("base_url", None)
        if not base_url:
            raise ValueError("set R7_BASE_URL in the environment (or pass base_url=)")
        if given.get("token") is None:
            missing = [
                cls.ENVIRONMENT[name] for name in ("login", "password") if not given.get(name)
            ]
            if missing:
                raise ValueError(f"set {' and '.join(missing)} (or R7_TOKEN) in the environment")
        return cls(base_url, **given)

    def __init__(
        self,
        base_url: str,
        *,
        login: str | None = None,
        password: str | Secret | None = None,
        token: str | None = None,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        refresh_path: str | None = None,
        refresh_skew: timedelta | None = None,
        login_path: str = LOGIN_PATH,
        allow_insecure: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        token_store: TokenStore | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        if token is None and login is None:
            raise ValueError("pass login= and password=, or token=")
        require_credential(token, "token")
        for name, path in (("refresh_path", refresh_path), ("login_path", login_path)):
            if path is not None and not isinstance(path, str):
                raise TypeError(f"{name} must be a str, not {type(path).__name__}")
        self.auth = R7Auth(
            login=login,
            password=password,
            token=token,
            refresh_path=refresh_path,
            login_path=login_path,
            refresh_skew=refresh_skew,
        )
        #: what this client has done: requests, attempts, retries, logins
        self.stats = ClientStats()
        self.transport = Transport(
            base_url,
            dialect=Dialect(
                name="R7Client",
                auth=self.auth,
                error_envelope=error_envelope,
                repair_body=without_max_value_fractions,
            ),
            session=session,
            retry=retry,
            timeout=timeout,
            deadline=deadline,
            allow_insecure=allow_insecure,
            max_response_bytes=max_response_bytes,
            hooks=hooks,
            stats=self.stats,
        )
        if token_store is not None:
            if login is None:
                raise ValueError("token_store needs login= and password= (to log in)")
            key = store_key("r7", self.transport.base_url, login)
            self.auth.use_store(token_store, key)
        #: ``/api/v1/Calendars`` and friends
        self.calendars = Calendars(self.transport)
        #: ``/api/v1/events`` and friends
        self.events = Events(self.transport)

    def __repr__(self) -> str:
        return f"R7Client(base_url={self.transport.base_url!r}, login={self.auth.login_name!r})"

    async def login(self) -> R7LoginInfo:
        """Log in now (with the password): who as, until when, the user and their modules.

        Not needed before other calls: they log in on their own when they need to. The token
        itself is :attr:`token`.
        """
        return await self.auth.sign_in(self.transport)

    @property
    def user(self) -> User | None:
        """The user from the last login, if the client has logged in."""
        last = self.auth.last_login
        return last.user if last is not None else None

    @property
    def token(self) -> str | None:
        """The current token, to persist and pass as ``token=`` later (never logged)."""
        return self.auth.token
