"""Single-flight login decided by login generation, against a stub that shares no fake code.

The stub issues the same token on every login (real servers do), so a caller cannot tell from
the token's text whether it was replaced; and it can hold a login open so a test can cancel it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Literal

import msgspec
import pytest
from aiohttp import web

from calendar_transport import (
    Dialect,
    IssuedToken,
    RetryPolicy,
    Secret,
    ServerError,
    TokenAuth,
    Transport,
)

SAME_TOKEN = "the-same-token-every-time"
NO_RETRY = RetryPolicy(attempts=1)

Mode = Literal["until_login", "first_sight"]


class _Answer(msgspec.Struct):
    token: str


class SameTokenStub:
    """``POST /login`` always issues :data:`SAME_TOKEN`; ``GET /items/{n}`` answers 401 ...

    ``until_login``: ... until a login happened; ``first_sight``: ... the first time each
    path is seen. ``fail_logins``: login numbers (from 1) answered 500; ``hold_login``: the
    login number that waits for :attr:`gate`.
    """

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.login_requests = 0
        self.fail_logins: set[int] = set()
        self.hold_login: int | None = None
        self.gate = asyncio.Event()
        self.holding = asyncio.Event()
        self.seen: set[str] = set()
        self.refused = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/login", self._login)
        app.router.add_get("/items/{n}", self._item)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self.gate.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _login(self, request: web.Request) -> web.Response:
        self.login_requests += 1
        number = self.login_requests
        if number == self.hold_login:
            self.holding.set()
            await self.gate.wait()
        if number in self.fail_logins:
            return web.json_response({"error": "login backend down"}, status=500)
        return web.json_response({"token": SAME_TOKEN})

    async def _item(self, request: web.Request) -> web.Response:
        authorized = request.headers.get("Authorization") == f"Token {SAME_TOKEN}"
        if self.mode == "until_login":
            authorized = authorized and self.login_requests > 0
        else:
            first = request.path not in self.seen
            self.seen.add(request.path)
            authorized = authorized and not first
        if not authorized:
            self.refused += 1
            return web.json_response({"error_code": "invalid_token"}, status=401)
        return web.json_response({"n": int(request.match_info["n"])})


class StubAuth(TokenAuth):
    """Password login at ``/login``; counts the callers that reached :meth:`renew`."""

    def __init__(self, *, token: str | None = None) -> None:
        super().__init__(token=token)
        self._password = Secret("pw")
        self.renewing = 0
        self.waiters_reached: asyncio.Event | None = None
        self.waiters_expected = 0

    @property
    def can_login(self) -> bool:
        return True

    async def login(self, transport: Transport) -> IssuedToken:
        answer = await transport.request(
            "POST",
            "/login",
            json={"password": self._password.reveal()},
            response_type=_Answer,
            idempotent=True,
            authenticate=False,
            sensitive=True,
        )
        return IssuedToken(answer.token)

    def authorization(self, token: str) -> str:
        return f"Token {token}"

    async def renew(
        self, transport: Transport, *, stale: IssuedToken | None
    ) -> tuple[IssuedToken, bool]:
        self.renewing += 1
        if self.waiters_reached is not None and self.renewing >= self.waiters_expected:
            # Set before super().renew runs up to the lock: when the test resumes, this
            # caller is already queued on it.
            self.waiters_reached.set()
        return await super().renew(transport, stale=stale)


class _Item(msgspec.Struct):
    n: int


@pytest.fixture(params=["until_login", "first_sight"])
async def stub(request: pytest.FixtureRequest) -> AsyncIterator[SameTokenStub]:
    server = SameTokenStub(request.param)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_fifty_concurrent_401s_with_a_reissued_token_cause_one_login(
    stub: SameTokenStub,
) -> None:
    auth = StubAuth(token=SAME_TOKEN)
    async with Transport(stub.url, dialect=Dialect(auth=auth), retry=NO_RETRY) as transport:
        items = await asyncio.gather(
            *(transport.request("GET", f"/items/{n}", response_type=_Item) for n in range(50))
        )
    assert [item.n for item in items] == list(range(50))
    assert stub.refused == 50  # every call was refused once ...
    assert stub.login_requests == 1  # ... and one login served them all
    assert auth.logins == 1
    assert auth.issued is not None
    assert auth.issued.generation == 1


async def test_a_lazy_first_login_then_concurrent_401s_cost_one_more_login() -> None:
    stub = SameTokenStub("first_sight")
    await stub.start()
    try:
        auth = StubAuth()
        async with Transport(stub.url, dialect=Dialect(auth=auth), retry=NO_RETRY) as transport:
            items = await asyncio.gather(
                *(transport.request("GET", f"/items/{n}", response_type=_Item) for n in range(30))
            )
    finally:
        await stub.stop()
    assert len(items) == 30
    assert stub.login_requests == 2  # the lazy login, and one after the 30 refusals


async def test_a_cancelled_login_is_not_an_answer_for_its_waiters() -> None:
    stub = SameTokenStub("until_login")
    stub.fail_logins = {1}
    stub.hold_login = 2
    await stub.start()
    try:
        auth = StubAuth()
        async with Transport(stub.url, dialect=Dialect(auth=auth), retry=NO_RETRY) as transport:
            # An earlier, unrelated failure: the first login answers 500.
            with pytest.raises(ServerError):
                await transport.request("GET", "/items/0")
            # The second login hangs; two more callers queue behind it.
            first = asyncio.create_task(transport.request("GET", "/items/1"))
            await stub.holding.wait()
            auth.waiters_reached = asyncio.Event()
            auth.waiters_expected = auth.renewing + 2
            waiters = [
                asyncio.create_task(transport.request("GET", f"/items/{n}", response_type=_Item))
                for n in (2, 3)
            ]
            await auth.waiters_reached.wait()
            first.cancel()  # the login's own caller gives up (its timeout)
            with pytest.raises(asyncio.CancelledError):
                await first
            stub.gate.set()
            items = await asyncio.gather(*waiters)
    finally:
        await stub.stop()
    assert [item.n for item in items] == [2, 3]  # neither the old 500 nor a CancelledError
    assert stub.login_requests == 3  # failed, cancelled, and one waiter's own login
    assert auth.logins == 1


async def test_a_failed_login_is_shared_with_its_waiters_but_not_with_later_calls() -> None:
    stub = SameTokenStub("until_login")
    stub.fail_logins = {1}
    stub.hold_login = 1
    await stub.start()
    try:
        auth = StubAuth()
        async with Transport(stub.url, dialect=Dialect(auth=auth), retry=NO_RETRY) as transport:
            first = asyncio.create_task(transport.request("GET", "/items/1"))
            await stub.holding.wait()
            auth.waiters_reached = asyncio.Event()
            auth.waiters_expected = auth.renewing + 2
            waiters = [asyncio.create_task(transport.request("GET", f"/items/{n}")) for n in (2, 3)]
            await auth.waiters_reached.wait()
            stub.gate.set()
            outcomes = await asyncio.gather(first, *waiters, return_exceptions=True)
            assert all(isinstance(outcome, ServerError) for outcome in outcomes)
            assert stub.login_requests == 1  # the waiters took the failure, not a login each
            # A call that starts after the failure logs in itself.
            item = await transport.request("GET", "/items/4", response_type=_Item)
    finally:
        await stub.stop()
    assert item.n == 4
    assert stub.login_requests == 2
