"""A small API on the shared fake base, and a TokenAuth for it, used by the transport tests."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime

import aiohttp
import msgspec
from aiohttp import web

from calendar_transport import IssuedToken, Secret, TokenAuth, Transport
from calendar_transport.errors import APIError
from calendar_transport.testing import FakeServer, json_response

PASSWORD = "s3cret-Pa55word"


class LoginAnswer(msgspec.Struct):
    token: str
    expires_at: datetime | None = None


class Item(msgspec.Struct):
    id: int
    name: str


class DemoServer(FakeServer):
    """``POST /login`` issues ``tok-N``; ``/items`` needs the current token."""

    def __init__(self, *, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self._counter = itertools.count(1)
        self.valid_tokens: set[str] = set()
        self.logins = 0
        self.expires_at: str | None = None
        self.hang = asyncio.Event()  # a request to /slow waits for this
        self.reached_slow = asyncio.Event()
        self.login_gate: asyncio.Event | None = None  # when set, logins wait for it
        self.reached_login = asyncio.Event()

    def setup_routes(self, app: web.Application) -> None:
        app.router.add_post("/login", self._login)
        app.router.add_get("/items", self._items)
        app.router.add_post("/items", self._create)
        app.router.add_get("/slow", self._slow)
        app.router.add_get("/html-502", self._html_502)
        app.router.add_get("/redirect", self._redirect)
        app.router.add_get("/ping", self._ping)

    def revoke_all(self) -> None:
        self.valid_tokens.clear()

    async def _login(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.reached_login.set()
        if self.login_gate is not None:
            await self.login_gate.wait()
        if body.get("password") != PASSWORD:
            return json_response({"error_code": "invalid_credentials"}, status=401)
        self.logins += 1
        token = f"tok-{next(self._counter)}-{'x' * 12}"
        self.valid_tokens.add(token)
        return json_response({"token": token, "expires_at": self.expires_at})

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "").removeprefix("Token ") in self.valid_tokens

    async def _items(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return json_response({"error_code": "invalid_token"}, status=401)
        return json_response([{"id": 1, "name": "one"}, {"id": 2, "name": "two"}])

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return json_response({"error_code": "invalid_token"}, status=401)
        body = await request.json()
        return json_response({"id": 3, "name": body["name"]})

    async def _slow(self, request: web.Request) -> web.Response:
        self.reached_slow.set()
        await self.hang.wait()
        return json_response([])

    async def _html_502(self, request: web.Request) -> web.Response:
        html = "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
        return web.Response(status=502, text=html, content_type="text/html")

    async def _ping(self, request: web.Request) -> web.Response:
        return json_response({"ok": True})

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("https://elsewhere.example/steal")


class DemoAuth(TokenAuth):
    """Logs in at ``/login`` with a password; sends ``Authorization: Token <t>``."""

    def __init__(self, password: str | None = PASSWORD, token: str | None = None) -> None:
        super().__init__(token=token)
        self._password = Secret(password) if password is not None else None

    @property
    def can_login(self) -> bool:
        return self._password is not None

    async def login(self, transport: Transport) -> IssuedToken:
        assert self._password is not None
        answer = await transport.request(
            "POST",
            "/login",
            json={"password": self._password.reveal()},
            response_type=LoginAnswer,
            idempotent=True,
            authenticate=False,
            sensitive=True,
        )
        return IssuedToken(answer.token, answer.expires_at)

    def authorization(self, token: str) -> str:
        return f"Token {token}"

    def is_final(self, error: APIError) -> bool:
        return error.code == "invalid_credentials"


def sent_bytes(data: object) -> bytes | None:
    """A mocked request's ``data`` as bytes: a create's body reaches aiohttp as a payload that
    notes whether it left (see calendar_transport.transport._RequestBody)."""
    if isinstance(data, aiohttp.Payload):
        return bytes(data._value)
    assert data is None or isinstance(data, bytes)
    return data
