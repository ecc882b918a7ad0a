"""The transport against a real aiohttp.web server on loopback."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

import aiohttp
import aiohttp.web
import pytest

from calendar_transport import (
    AuthenticationError,
    ClientClosedError,
    DecodeError,
    Dialect,
    IssuedToken,
    Rating,
    RequestTimeoutError,
    ResponseTooLargeError,
    RetryPolicy,
    ServerError,
    TokenAuth,
    Transport,
    TransportError,
)
from calendar_transport import auth as auth_module
from calendar_transport.errors import APIError

from .support import PASSWORD, DemoAuth, DemoServer, Item

FAST = RetryPolicy(attempts=4, initial_backoff=0.001, max_backoff=0.01)


@pytest.fixture
async def server() -> AsyncIterator[DemoServer]:
    async with DemoServer() as fake:
        yield fake


def _client(
    server: DemoServer,
    auth: TokenAuth | Literal["demo"] | None = "demo",
    before_attempt: Callable[[], Awaitable[object]] | None = None,
    **kwargs: object,
) -> Transport:
    kwargs.setdefault("retry", FAST)
    dialect = Dialect(
        auth=DemoAuth() if auth == "demo" else auth, rating=Rating(before_attempt=before_attempt)
    )
    return Transport(server.url, dialect=dialect, **kwargs)  # type: ignore[arg-type]


async def test_get_is_retried_through_two_503s_with_retry_after(server: DemoServer) -> None:
    server.faults.fail_next(2, 503, retry_after=0.01, path="/items")
    async with _client(server) as transport:
        items = await transport.request("GET", "/items", response_type=list[Item])
    assert [item.name for item in items] == ["one", "two"]
    assert len(server.requests_to("/items")) == 3
    assert server.faults.injected["http_503"] == 2


async def test_post_answered_503_is_sent_exactly_once(server: DemoServer) -> None:
    server.faults.fail_next(1, 503, retry_after=0, path="/items")
    async with _client(server) as transport:
        with pytest.raises(ServerError) as caught:
            await transport.request("POST", "/items", json={"name": "x"}, response_type=Item)
    assert caught.value.status == 503
    assert caught.value.method == "POST"
    assert len(server.requests_to("/items", "POST")) == 1


async def test_post_marked_idempotent_is_retried(server: DemoServer) -> None:
    server.faults.fail_next(1, 503, path="/items")
    async with _client(server) as transport:
        item = await transport.request(
            "POST", "/items", json={"name": "x"}, response_type=Item, idempotent=True
        )
    assert item.name == "x"
    assert len(server.requests_to("/items", "POST")) == 2


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_ends_in_transport_error_after_all_attempts() -> None:
    policy = RetryPolicy(attempts=3, initial_backoff=0.001, max_backoff=0.002)
    async with Transport(f"http://127.0.0.1:{_closed_port()}", retry=policy) as transport:
        with pytest.raises(TransportError) as caught:
            await transport.request("POST", "/items", json={})  # safe: never sent
    assert transport.stats.attempts == 3
    assert caught.value.request_sent is False
    assert "could not connect" in str(caught.value)


async def test_hundred_concurrent_401s_cause_one_login(server: DemoServer) -> None:
    auth = DemoAuth(token="stale-token")
    async with _client(server, auth=auth) as transport:
        results = await asyncio.gather(
            *(transport.request("GET", "/items", response_type=list[Item]) for _ in range(100))
        )
    assert all(len(items) == 2 for items in results)
    assert server.logins == 1
    assert auth.logins == 1


async def test_first_calls_log_in_once_lazily(server: DemoServer) -> None:
    async with _client(server) as transport:
        assert server.logins == 0  # nothing happens before the first call
        await asyncio.gather(*(transport.request("GET", "/items") for _ in range(20)))
    assert server.logins == 1


async def test_a_401_with_an_already_replaced_token_causes_no_login(server: DemoServer) -> None:
    auth = DemoAuth()
    async with _client(server, auth=auth) as transport:
        await transport.request("GET", "/items")
        fresh = auth.token
        assert await auth.refresh(transport, stale="some-older-token") == fresh
    assert server.logins == 1


async def test_second_401_after_refresh_raises(server: DemoServer) -> None:
    async with _client(server) as transport:
        server.valid_tokens = _NeverValid()
        with pytest.raises(AuthenticationError) as caught:
            await transport.request("GET", "/items")
    assert caught.value.status == 401
    assert server.logins == 2  # the lazy login and exactly one re-login
    assert len(server.requests_to("/items")) == 2


class _NeverValid(set[str]):
    def add(self, element: str) -> None:
        pass


async def test_final_401_is_not_retried_with_a_login(server: DemoServer) -> None:
    async with _client(server, auth=DemoAuth(password="wrong")) as transport:
        with pytest.raises(AuthenticationError) as caught:
            await transport.request("GET", "/items")
    assert caught.value.code == "invalid_credentials"
    assert len(server.requests_to("/login")) == 1
    assert server.requests_to("/items") == []


async def test_token_only_client_raises_on_401(server: DemoServer) -> None:
    async with _client(server, auth=DemoAuth(password=None, token="given")) as transport:
        with pytest.raises(AuthenticationError):
            await transport.request("GET", "/items")
    assert server.requests_to("/login") == []


def _move_clock(monkeypatch: pytest.MonkeyPatch, by: timedelta) -> None:
    later = datetime.now(UTC) + by
    monkeypatch.setattr(auth_module, "_clock", later.timestamp)


async def test_token_is_refreshed_before_a_known_expiry(
    server: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.expires_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    async with _client(server) as transport:
        await transport.request("GET", "/items")
        await transport.request("GET", "/items")
        assert server.logins == 1  # a fresh token is used
        _move_clock(monkeypatch, timedelta(minutes=59, seconds=30))
        # inside the refresh skew: the call logs in first instead of sending a dying token
        await transport.request("GET", "/items")
    assert server.logins == 2
    assert len(server.requests_to("/items")) == 3  # no 401 round trip was needed


async def test_a_short_lived_token_is_used_not_replaced_before_every_call(
    server: DemoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.expires_at = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()  # < the skew
    async with _client(server) as transport:
        for _ in range(3):
            await transport.request("GET", "/items")
        assert server.logins == 1
        _move_clock(monkeypatch, timedelta(seconds=20))  # past half its lifetime
        await transport.request("GET", "/items")
    assert server.logins == 2


async def test_concurrent_calls_with_refused_credentials_make_one_login(
    server: DemoServer,
) -> None:
    async with _client(server, auth=DemoAuth(password="wrong")) as transport:
        results = await asyncio.gather(
            *(transport.request("GET", "/items") for _ in range(10)), return_exceptions=True
        )
    assert all(isinstance(result, AuthenticationError) for result in results)
    assert len(server.requests_to("/login")) == 1


async def test_slow_server_trips_the_timeout(server: DemoServer) -> None:
    policy = RetryPolicy(attempts=1)
    async with _client(server, retry=policy, timeout=0.2) as transport:
        with pytest.raises(RequestTimeoutError) as caught:
            await transport.request("GET", "/slow")
    server.hang.set()
    assert "0.2s" in str(caught.value)


async def test_overall_deadline_bounds_the_retries(server: DemoServer) -> None:
    server.faults.fail_next(100, 503, retry_after=0.05, path="/items")
    policy = RetryPolicy(attempts=100, max_retry_after=0.05)
    async with _client(server, retry=policy, deadline=0.3) as transport:
        with pytest.raises(RequestTimeoutError) as caught:
            await transport.request("GET", "/items")
    assert "deadline" in str(caught.value)
    assert 2 <= len(server.requests_to("/items")) < 100


async def test_html_502_becomes_server_error_with_the_text_kept(server: DemoServer) -> None:
    async with _client(server, retry=RetryPolicy(attempts=2, initial_backoff=0.001)) as transport:
        with pytest.raises(ServerError) as caught:
            await transport.request("GET", "/html-502")
    assert caught.value.status == 502
    assert "502 Bad Gateway" in caught.value.body
    assert caught.value.code is None
    assert len(server.requests_to("/html-502")) == 2


async def test_redirects_are_not_followed(server: DemoServer) -> None:
    async with _client(server) as transport:
        with pytest.raises(APIError) as caught:
            await transport.request("GET", "/redirect")
    assert caught.value.status == 302
    assert "elsewhere.example" in str(caught.value)


async def test_body_that_does_not_match_the_type_names_the_path(server: DemoServer) -> None:
    async with _client(server) as transport:
        with pytest.raises(DecodeError) as caught:
            await transport.request("GET", "/items", response_type=list[int])
    assert "$[0]" in str(caught.value)
    assert caught.value.status == 200


async def test_answer_over_the_size_limit_is_refused(server: DemoServer) -> None:
    async with _client(server, max_response_bytes=10) as transport:
        with pytest.raises(ResponseTooLargeError):
            await transport.request("GET", "/items")


async def test_cancelling_mid_retry_propagates_and_leaves_no_tasks(server: DemoServer) -> None:
    server.faults.fail_next(10, 503, retry_after=30, path="/items")
    waiting = asyncio.Event()

    class _SeesRetry(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("retrying"):
                waiting.set()

    handler = _SeesRetry()
    logger = logging.getLogger("calendar_transport")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        async with _client(server, retry=RetryPolicy(max_retry_after=30)) as transport:
            call = asyncio.create_task(transport.request("GET", "/items"))
            await waiting.wait()  # the call is now sleeping before its second attempt
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert len(server.requests_to("/items")) == 1
    assert _client_side_tasks() == []


def _client_side_tasks() -> list[asyncio.Task[object]]:
    """Pending tasks other than this test and the fake server's connection handlers."""
    return [
        task
        for task in asyncio.all_tasks()
        if task is not asyncio.current_task()
        and not task.done()
        and not task.get_coro().__qualname__.startswith("RequestHandler.")  # type: ignore[union-attr]
    ]


async def test_closing_cancels_calls_in_flight_with_a_transport_error(server: DemoServer) -> None:
    transport = _client(server, auth=None)
    call = asyncio.create_task(transport.request("GET", "/slow"))
    await server.reached_slow.wait()
    await transport.aclose()
    with pytest.raises(TransportError, match="closed while this call was in flight"):
        await call
    server.hang.set()
    assert not call.cancelled()


async def test_closing_waits_for_the_calls_not_for_their_callers(server: DemoServer) -> None:
    transport = _client(server, auth=None)
    caught: list[BaseException] = []
    keep_going = asyncio.Event()

    async def poller() -> None:
        try:
            await transport.request("GET", "/slow")
        except TransportError as error:
            caught.append(error)
        await keep_going.wait()  # the caller carries on with other work

    task = asyncio.create_task(poller())
    await server.reached_slow.wait()
    await transport.aclose()  # returns although the poller is still running
    assert not task.done()
    assert isinstance(caught[0], ClientClosedError)
    keep_going.set()
    server.hang.set()
    await task


async def test_closing_during_a_login_stops_the_call_and_opens_no_session(
    server: DemoServer,
) -> None:
    server.login_gate = asyncio.Event()
    transport = _client(server)
    call = asyncio.create_task(transport.request("GET", "/items"))
    await server.reached_login.wait()
    await transport.aclose()
    with pytest.raises(ClientClosedError):
        await call
    assert transport._session is None  # nothing reopened it after the close
    assert server.requests_to("/items") == []
    server.login_gate.set()


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, '{"token": "tok-leaked-123", "error": "half a login"}'),
        (200, '{"token": 42, "note": "tok-leaked-123"}'),  # does not decode
    ],
)
async def test_errors_of_a_login_answer_keep_no_body(
    server: DemoServer, status: int, body: str
) -> None:
    server.faults.fail_next(1, status, body=body, path="/login")
    async with _client(server) as transport:
        with pytest.raises((APIError, DecodeError)) as caught:
            await transport.request("GET", "/items")
    error = caught.value
    assert error.status == status
    for text in (error.body, str(error), repr(error)):
        assert "tok-leaked-123" not in text
    assert "withheld" in error.body


async def test_borrowed_session_stays_open(server: DemoServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with _client(server, session=session) as transport:
            await transport.request("GET", "/items")
        assert not session.closed
        async with session.get(f"{server.url}/items") as response:  # still usable
            assert response.status == 401


async def test_owned_session_is_closed_and_never_reopened(server: DemoServer) -> None:
    transport = _client(server)
    async with transport:
        await transport.request("GET", "/items")
        session = transport._session
    assert session is not None
    assert session.closed
    assert transport.closed
    sent = len(server.requests)
    with pytest.raises(ClientClosedError, match="closed client stays closed"):
        await transport.request("GET", "/items")
    with pytest.raises(ClientClosedError):
        async with transport:  # entering again does not reopen it either
            pass
    await transport.aclose()  # closing twice is harmless
    assert transport._session is None
    assert len(server.requests) == sent


async def test_a_transport_never_entered_opens_its_session_lazily(server: DemoServer) -> None:
    transport = _client(server)
    assert transport._session is None
    items = await transport.request("GET", "/items", response_type=list[Item])
    assert [item.id for item in items] == [1, 2]
    assert transport._session is not None
    await transport.aclose()
    with pytest.raises(ClientClosedError):
        await transport.request("GET", "/items")


def test_client_left_open_warns_when_collected() -> None:
    async def leave_open() -> None:
        async with DemoServer() as fake:
            transport = Transport(fake.url)
            await transport.request("GET", "/ping", response_type=bytes)
            session = transport._session
            assert session is not None
            with pytest.warns(ResourceWarning, match="async with Transport"):  # noqa: PT031
                del transport  # the last reference: collected here
                gc.collect()
            await session.close()

    asyncio.run(leave_open())


async def test_user_agent_and_bodies_cross_the_socket(server: DemoServer) -> None:
    async with _client(server) as transport:
        await transport.request("POST", "/items", json={"name": "привет"}, response_type=Item)
    sent = server.requests_to("/items", "POST")[0]
    assert sent.headers["User-Agent"].startswith("r7-pyrus-calendar/")
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json() == {"name": "привет"}


async def test_no_token_or_password_in_any_log_record(
    server: DemoServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    auth = DemoAuth(token="stale-token-abcdef")
    async with _client(server, auth=auth) as transport:
        await transport.request("GET", "/items")
        server.revoke_all()
        await transport.request("POST", "/items", json={"name": "x"})
        token = auth.token
        async with _client(server, auth=DemoAuth(password="wrong-" + PASSWORD)) as refused:
            with pytest.raises(AuthenticationError) as caught:
                await refused.request("GET", "/items")
    assert token is not None
    assert server.logins == 2
    secrets = [PASSWORD, "stale-token-abcdef", token, *server.valid_tokens]
    texts = [record.getMessage() for record in caplog.records]
    texts += [str(caught.value), repr(caught.value), repr(auth), repr(transport)]
    assert any("/items" in text for text in texts)  # the log did record the calls
    for secret in secrets:
        assert all(secret not in text for text in texts), secret


async def test_before_attempt_runs_for_every_attempt_logins_and_retries_included(
    server: DemoServer,
) -> None:
    calls = 0

    async def count() -> None:
        nonlocal calls
        calls += 1

    server.faults.fail_next(1, 503, path="/items")
    async with _client(server, before_attempt=count) as transport:
        await transport.request("GET", "/items")
    assert calls == 3  # the login, the 503, the retry
    assert transport.stats.attempts == 3


@pytest.mark.parametrize("status", [502, 503])
async def test_a_login_answered_5xx_spends_one_retry_budget_not_its_square(
    server: DemoServer, status: int
) -> None:
    server.faults.fail_next(100, status, path="/login")
    async with _client(server) as transport:  # FAST: 4 attempts
        with pytest.raises(ServerError):
            await transport.request("GET", "/items")
    assert len(server.requests_to("/login")) == 4  # not 16: the call does not retry the login
    assert server.requests_to("/items") == []


async def test_a_login_that_heals_within_its_retries_lets_the_call_go_on(
    server: DemoServer,
) -> None:
    server.faults.fail_next(2, 503, path="/login")
    async with _client(server) as transport:
        await transport.request("GET", "/items")
    assert len(server.requests_to("/login")) == 3
    assert len(server.requests_to("/items")) == 1


async def test_relative_paths_follow_a_base_url_moved_by_the_login(server: DemoServer) -> None:
    class MovingAuth(DemoAuth):
        async def login(self, transport: Transport) -> IssuedToken:
            issued = await super().login(transport)
            transport.base_url = f"{server.url}/moved"
            return issued

    # the fake has no /moved routes: a 404 there proves the first call went to the new base
    async with _client(server, auth=MovingAuth()) as transport:
        with pytest.raises(APIError) as caught:
            await transport.request("GET", "/items")
    assert caught.value.status == 404
    assert caught.value.url.endswith("/moved/items")


@pytest.mark.parametrize("status", [401, 500])
async def test_a_token_the_server_echoes_in_an_error_stays_out_of_it(status: int) -> None:
    token = "given-token-4f9a2c"

    async def echo(request: aiohttp.web.Request) -> aiohttp.web.Response:
        seen = request.headers.get("Authorization", "")
        return aiohttp.web.json_response({"error": f"bad header {seen!r}"}, status=status)

    app = aiohttp.web.Application()
    app.router.add_get("/items", echo)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        auth = DemoAuth(password=None, token=token)
        dialect = Dialect(auth=auth)
        async with Transport(f"http://127.0.0.1:{port}", dialect=dialect, retry=FAST) as transport:
            with pytest.raises(APIError) as caught:
                await transport.request("GET", "/items")
    finally:
        await runner.cleanup()
    shown = f"{caught.value} {caught.value!r} {caught.value.body} {caught.value.message}"
    assert "bad header" in shown  # the body is kept...
    assert token not in shown  # ...without the token
