"""Pyrus authentication: ``POST /auth`` with login and security key, ``Bearer`` tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from calendar_transport import APIError, IssuedToken, Secret, TokenAuth
from calendar_transport.token_store import TokenRecord
from calendar_transport.urls import validate_base_url

from .models import AuthAnswer

if TYPE_CHECKING:
    from calendar_transport import Transport

__all__ = ["CLOUD_API_URL", "CLOUD_AUTH_URL", "PyrusAuth", "auth_url_for"]

CLOUD_API_URL: Final = "https://api.pyrus.com/v4/"
CLOUD_AUTH_URL: Final = "https://accounts.pyrus.com/api/v4/auth"

#: 401 codes that logging in again cannot fix
FINAL_CODES: Final = frozenset({"invalid_credentials", "account_blocked"})


def auth_url_for(base_url: str) -> str:
    """Where to log in for an API base: the accounts host for the cloud, else ``<base>/auth``."""
    if base_url.rstrip("/") == CLOUD_API_URL.rstrip("/"):
        return CLOUD_AUTH_URL
    return f"{base_url.rstrip('/')}/auth"


class PyrusAuth(TokenAuth):
    """Logs in with ``login`` + ``security_key`` (and ``person_id`` when acting for someone),
    follows the ``api_url`` the answer names, and sends ``Authorization: Bearer <token>``.

    Tokens have no documented lifetime: a new one is fetched on a 401, never on a timer.
    """

    def __init__(
        self,
        *,
        auth_url: str,
        login: str | None = None,
        security_key: Secret | None = None,
        person_id: int | None = None,
        token: str | None = None,
        follow_api_url: bool = True,
    ) -> None:
        super().__init__(token=token)
        self.auth_url = auth_url
        self.login_name = login
        self._security_key = security_key
        self.person_id = person_id
        self.follow_api_url = follow_api_url
        #: the ``api_url`` / ``files_url`` the last login (or the shared token store) named
        self.api_url: str | None = None
        self.files_url: str | None = None

    @property
    def can_login(self) -> bool:
        """Whether login and security key are known."""
        return self.login_name is not None and self._security_key is not None

    async def login(self, transport: Transport) -> IssuedToken:
        """``POST /auth``; points the transport at the returned ``api_url`` when there is one."""
        if self.login_name is None or self._security_key is None:
            raise ValueError("login() needs a client created with login= and security_key=")
        body: dict[str, str | int] = {
            "login": self.login_name,
            "security_key": self._security_key.reveal(),
        }
        if self.person_id is not None:
            body["person_id"] = self.person_id
        # Logging in again is harmless, so a 503 or a dropped connection may be retried.
        answer = await transport.request(
            "POST",
            self.auth_url,
            json=body,
            response_type=AuthAnswer,
            idempotent=True,
            authenticate=False,
            sensitive=True,
        )
        self._follow(answer.api_url, transport, "api_url (from the login answer)")
        self.api_url, self.files_url = answer.api_url, answer.files_url
        return IssuedToken(answer.access_token)

    def _follow(self, api_url: str | None, transport: Transport, name: str) -> None:
        if api_url and self.follow_api_url:
            # The same rules as for base_url: plain http only to loopback unless allowed.
            transport.base_url = validate_base_url(
                api_url, allow_insecure=transport.allow_insecure, name=name
            )

    def record_for(self, issued: IssuedToken, transport: Transport) -> TokenRecord:
        """The token with the API and files hosts it works with, for the shared store."""
        return TokenRecord(
            issued.value,
            issued.issued_at,
            issued.expires_at,
            api_url=self.api_url,
            files_url=self.files_url,
        )

    def adopt_record(self, record: TokenRecord, transport: Transport) -> None:
        """A token another client logged in for: use the API host its login named."""
        self._follow(record.api_url, transport, "api_url (from the token store)")
        self.api_url, self.files_url = record.api_url, record.files_url

    def authorization(self, token: str) -> str:
        """``Bearer <token>``."""
        return f"Bearer {token}"

    def is_final(self, error: APIError) -> bool:
        """Refused credentials or a blocked account: logging in again cannot help."""
        return error.code in FINAL_CODES
