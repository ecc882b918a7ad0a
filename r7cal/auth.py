"""R7 login: the ``/api/v2/auth/Login`` envelope and a bare ``Authorization: <token>`` header.

:class:`R7Auth` says only *how* to log in; *when* (lazily, before ``ExpiredAt``, on a 401,
once for many waiters) is decided by :class:`calendar_transport.TokenAuth`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from calendar_transport import (
    APIError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    IssuedToken,
    LoginInfo,
    NotFoundError,
    PermissionDeniedError,
    Secret,
    TokenAuth,
)
from calendar_transport.errors import error_class_for_status

from .models import LoginEnvelope, LoginResult, User

if TYPE_CHECKING:
    from calendar_transport import Transport

logger = logging.getLogger(__name__)

LOGIN_PATH: Final = "/api/v2/auth/Login"

# Answers to a refresh-token call that mean "this refresh token is no good, use the password".
_REFRESH_REFUSED = (AuthenticationError, BadRequestError, PermissionDeniedError, NotFoundError)


def _refresh_unavailable(error: Exception) -> bool:
    # The refresh endpoint is not there (405) or is down (5xx, after its retries): the
    # password still works, so it is used rather than failing the call.
    return isinstance(error, APIError) and (error.status == 405 or error.status >= 500)


@dataclass(frozen=True, slots=True, kw_only=True)
class R7LoginInfo(LoginInfo):
    """:class:`LoginInfo` with what R7's login answer adds: the user and their modules."""

    user: User | None = None
    modules_access: tuple[str, ...] = ()


class R7Auth(TokenAuth):
    """Logs in with ``login``/``password`` (or a refresh token) and sends the bare token.

    ``token``: a token you already have; without a password a 401 on it is final.
    ``refresh_path``: R7 does not document a refresh endpoint; when your server has one, give
    its path and the stored ``RefreshToken`` is tried before the password.
    ``refresh_skew``: log in again this long before ``ExpiredAt``.
    """

    def __init__(
        self,
        *,
        login: str | None = None,
        password: str | Secret | None = None,
        token: str | None = None,
        refresh_token: str | Secret | None = None,
        refresh_path: str | None = None,
        login_path: str = LOGIN_PATH,
        refresh_skew: timedelta | None = None,
    ) -> None:
        if login is not None and not isinstance(login, str):
            raise TypeError(f"login must be a str, not {type(login).__name__}")
        if (login is None) != (password is None):
            raise ValueError("pass both login= and password=, or neither")
        if token is not None and not isinstance(token, str):
            raise TypeError(f"token must be a str, not {type(token).__name__}")
        if refresh_skew is not None:
            if not isinstance(refresh_skew, timedelta):
                raise TypeError("refresh_skew must be a timedelta")
            if refresh_skew < timedelta(0):
                raise ValueError("refresh_skew must not be negative")
            self.refresh_skew = refresh_skew
        super().__init__(token=token)
        self.login_name = login
        self._password = _secret(password)
        self._refresh_token = _secret(refresh_token)
        self.refresh_path = refresh_path
        self.login_path = login_path
        #: the answer of the last login: the user and the modules they may use
        self.last_login: LoginResult | None = None
        self._said_fallback = False

    def __repr__(self) -> str:
        state = "token set" if self._token else "no token"
        return f"R7Auth(login={self.login_name!r}, {state}, can_login={self.can_login})"

    @property
    def can_login(self) -> bool:
        """True when a password, or a refresh path with a refresh token, is known."""
        return self._password is not None or self._can_refresh

    @property
    def _can_refresh(self) -> bool:
        return self.refresh_path is not None and self._refresh_token is not None

    def authorization(self, token: str) -> str:
        """R7 wants the bare token, no ``Bearer``."""
        return token

    async def login(self, transport: Transport) -> IssuedToken:
        """A new token: from the refresh token when configured, else from the password."""
        if self._can_refresh:
            try:
                return self._install(await self._refresh_call(transport))
            except (APIError, DecodeError) as error:
                usable = isinstance(error, (*_REFRESH_REFUSED, DecodeError))
                if self._password is None or not (usable or _refresh_unavailable(error)):
                    raise
                # Said once at INFO (a refresh_path that never works is worth seeing), then
                # at DEBUG: a refused refresh token is routine.
                logger.log(
                    logging.DEBUG if self._said_fallback else logging.INFO,
                    "refresh at %s failed (%s, HTTP %s); logging in with the password",
                    self.refresh_path,
                    type(error).__name__,
                    error.status,
                )
                self._said_fallback = True
        return await self._password_login(transport)

    async def _password_login(self, transport: Transport) -> IssuedToken:
        return self._install(await self._password_call(transport))

    async def sign_in(self, transport: Transport) -> R7LoginInfo:
        """Log in with the password now, whatever the current token, and install the token."""
        if self._password is None:
            raise ValueError("login() needs a client created with login= and password=")
        issued = await self.login_now(transport, self._password_login)
        result = self.last_login
        assert result is not None  # set by the login just made
        return R7LoginInfo(
            backend="r7",
            login=self.login_name,
            user_id=result.tokens.user_id if result.user is None else result.user.id,
            expires_at=issued.expires_at,  # as the client acts on it (None: unknown, never)
            user=result.user,
            modules_access=tuple(result.modules_access),
        )

    # ---- the calls -----------------------------------------------------------------------

    async def _password_call(self, transport: Transport) -> LoginResult:
        if self._password is None or self.login_name is None:
            raise AuthenticationError(
                status=401,
                method="POST",
                url=f"{transport.base_url}{self.login_path}",
                message="the token was refused and no login/password is known to get a new one",
            )
        body = {"Login": self.login_name, "Password": self._password.reveal()}
        return await self._call(transport, self.login_path, body)

    async def _refresh_call(self, transport: Transport) -> LoginResult:
        assert self.refresh_path is not None
        assert self._refresh_token is not None
        body = {"RefreshToken": self._refresh_token.reveal()}
        return await self._call(transport, self.refresh_path, body)

    async def _call(self, transport: Transport, path: str, body: dict[str, str]) -> LoginResult:
        # Logging in twice is harmless, so a login lost to a gateway error is sent again.
        envelope = await transport.request(
            "POST",
            path,
            json=body,
            response_type=LoginEnvelope,
            idempotent=True,
            authenticate=False,
            sensitive=True,
        )
        result = envelope.result
        if result is None or not result.tokens.auth_token:
            status = envelope.status_code or envelope.status or 401
            # An envelope that names an error status raises that status' class (a 500 is a
            # ServerError); one that names none, or a success, is a refused login.
            error_class = error_class_for_status(status) if status >= 400 else AuthenticationError
            raise error_class(
                status=status if status >= 400 else 401,
                method="POST",
                url=f"{transport.base_url}{path}",
                message=envelope.error_message or "the login answer carries no AuthToken",
            )
        return result

    def _install(self, result: LoginResult) -> IssuedToken:
        self.last_login = result
        if result.tokens.refresh_token:
            self._refresh_token = Secret(result.tokens.refresh_token)
        return IssuedToken(result.tokens.auth_token, result.tokens.expired_at)

    def is_final(self, error: APIError) -> bool:
        """A 401 on an R7 call only ever means a stale token: logging in again may help."""
        return False


def _secret(value: str | Secret | None) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    if not isinstance(value, str):
        raise TypeError(f"a password or refresh token must be a str, not {type(value).__name__}")
    return Secret(value)
