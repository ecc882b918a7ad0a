"""A small R7-like server written apart from FakeR7Server, so tests do not share its guesses.

It answers the login envelope with whatever ``ExpiredAt`` text a test sets, accepts the tokens
it issued until they are revoked, and answers an events listing with the raw events a test
gives it.
"""

from __future__ import annotations

import itertools
from typing import Any

from aiohttp import web


class R7Stub:
    """``POST /api/v2/auth/Login``, ``GET /api/v1/email/Calendars``, ``POST /api/v1/events``.

    ``refresh_status``: when set, ``POST /refresh`` answers with it (an endpoint that is not
    there, or is down).
    """

    def __init__(self, *, expired_at: str | None = None) -> None:
        self.expired_at = expired_at
        self.events: list[dict[str, Any]] = []
        self.refresh_status: int | None = None
        self.logins = 0
        self.refresh_calls = 0
        self.refused = 0
        self.valid: set[str] = set()
        self.url = ""
        self._numbers = itertools.count(1)
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> R7Stub:
        app = web.Application()
        app.router.add_post("/api/v2/auth/Login", self._login)
        app.router.add_post("/refresh", self._refresh)
        app.router.add_get("/api/v1/email/Calendars", self._calendars)
        app.router.add_post("/api/v1/events", self._events)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def revoke(self) -> None:
        """Forget every token: the next call is answered 401."""
        self.valid.clear()

    async def _login(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("Password") != "pw":
            return web.json_response({"Status": 401, "StatusCode": 401}, status=401)
        self.logins += 1
        return self._answer()

    async def _refresh(self, request: web.Request) -> web.Response:
        self.refresh_calls += 1
        if self.refresh_status is not None:
            return web.Response(status=self.refresh_status, text="<html>no</html>")
        return self._answer()

    def _answer(self) -> web.Response:
        token = f"stub-token-{next(self._numbers)}"
        self.valid.add(token)
        tokens = {"AuthToken": token, "RefreshToken": f"r-{token}", "UserId": 7}
        if self.expired_at is not None:
            tokens["ExpiredAt"] = self.expired_at
        data = {"Tokens": tokens, "User": {"Id": 7, "Login": "u"}, "ModulesAccess": ["Calendar"]}
        return web.json_response(
            {"Status": 200, "StatusCode": 200, "Response": {"TypeName": "Auth", "Data": data}}
        )

    def _check(self, request: web.Request) -> None:
        if request.headers.get("Authorization") not in self.valid:
            self.refused += 1
            raise web.HTTPUnauthorized(text="{}", content_type="application/json")

    async def _calendars(self, request: web.Request) -> web.Response:
        self._check(request)
        return web.json_response([])

    async def _events(self, request: web.Request) -> web.Response:
        self._check(request)
        return web.json_response(self.events)
