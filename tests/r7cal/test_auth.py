"""Login, token expiry, re-login on 401, token-only clients and secrecy, against the fake."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from calendar_transport import auth as auth_module
from r7cal import AuthenticationError, R7Auth, R7Client, RetryPolicy
from r7cal.testing import FakeR7Server
from r7cal.testing.fake import REFRESH_PATH

from .conftest import PASSWORDS, client_for


async def test_login_returns_the_user_and_modules(server: FakeR7Server, alice: R7Client) -> None:
    result = await alice.login()
    assert result.user is not None
    assert result.user.id == server.user("alice").id
    assert result.user.modified is None  # the fake sends 0001-01-01T00:00:00
    assert "Calendar" in result.modules_access
    assert result.backend == "r7"
    assert result.login == "alice"
    assert result.user_id == server.user("alice").id
    assert result.expires_at is not None
    assert result.expires_at.tzinfo is not None
    assert alice.user == result.user


async def test_first_call_logs_in_once_and_reuses_the_token(
    server: FakeR7Server, alice: R7Client
) -> None:
    for _ in range(3):
        await alice.calendars.list()
    assert server.logins["alice"] == 1
    headers = [r.headers["Authorization"] for r in server.requests_to("/api/v1/email/Calendars")]
    assert headers == [alice.token] * 3  # the bare token, no "Bearer"


async def test_a_token_near_its_expiry_is_replaced_before_it_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FakeR7Server(users=PASSWORDS, token_lifetime=3600) as server:
        async with client_for(server, "alice") as alice:
            await alice.calendars.list()
            await alice.calendars.list()
            assert server.logins["alice"] == 1
            later = datetime.now(UTC) + timedelta(minutes=59, seconds=30)
            monkeypatch.setattr(auth_module, "_clock", later.timestamp)  # 30 s left < 60 s skew
            await alice.calendars.list()
        assert server.logins["alice"] == 2
        assert server.unauthorized == 0
        async with client_for(server, "bob", refresh_skew=timedelta(seconds=5)) as bob:
            await bob.calendars.list()
            await bob.calendars.list()  # 30 s left is outside a 5 s skew
        assert server.logins["bob"] == 1


async def test_a_refused_token_is_replaced_and_the_call_replayed(
    server: FakeR7Server, alice: R7Client
) -> None:
    calendar = await alice.calendars.create(name="A")
    server.expire_tokens()
    again = await alice.calendars.create(name="B")  # a save is replayed only after a 401
    assert again.id != calendar.id
    assert server.unauthorized == 1
    assert server.logins["alice"] == 2
    assert server.creates["calendar"] == 2


async def test_concurrent_401s_share_one_login(server: FakeR7Server, alice: R7Client) -> None:
    await alice.calendars.list()
    server.expire_tokens()
    await asyncio.gather(*(alice.calendars.list() for _ in range(5)))
    assert server.logins["alice"] == 2


async def test_refresh_path_uses_the_refresh_token_instead_of_the_password(
    server: FakeR7Server,
) -> None:
    async with client_for(server, "alice", refresh_path=REFRESH_PATH) as alice:
        await alice.calendars.list()
        server.expire_tokens()
        await alice.calendars.list()
    assert server.logins["alice"] == 1
    assert server.refreshes == 1
    (refresh,) = server.requests_to(REFRESH_PATH)
    assert set(refresh.json()) == {"RefreshToken"}


async def test_a_refused_refresh_token_falls_back_to_the_password(server: FakeR7Server) -> None:
    async with client_for(server, "alice", refresh_path="/api/v2/auth/NoSuchRefresh") as alice:
        await alice.calendars.list()
        server.expire_tokens()
        await alice.calendars.list()
    assert server.logins["alice"] == 2


async def test_token_only_client_works_until_its_token_is_refused(server: FakeR7Server) -> None:
    token = server.issue_token("alice")
    async with R7Client(server.url, token=token) as r7:
        calendars = await r7.calendars.list()
        assert [c.id for c in calendars] == [server.user("alice").main_calendar_id]
        server.expire_tokens()
        with pytest.raises(AuthenticationError) as caught:
            await r7.calendars.list()
    assert caught.value.status == 401
    assert server.requests_to("/api/v2/auth/Login") == []
    assert token not in str(caught.value)


async def test_wrong_password_raises_without_showing_it(
    server: FakeR7Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "Wr0ng-Passw0rd-xyz"
    async with R7Client(server.url, login="alice", password=password) as r7:
        with pytest.raises(AuthenticationError) as caught:
            await r7.calendars.list()
        assert password not in repr(r7)
        assert password not in repr(r7.auth)
    assert caught.value.status == 401
    assert password not in str(caught.value)
    assert password not in repr(caught.value)
    assert password not in caplog.text
    assert server.requests_to("/api/v1/email/Calendars") == []


async def test_tokens_and_passwords_stay_out_of_reprs_and_logs(
    server: FakeR7Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_for(server, "alice", refresh_path=REFRESH_PATH) as alice:
        result = await alice.login()
        server.expire_tokens()
        await alice.calendars.list()  # a 401, a refresh and a replay: all logged
        token = alice.token
        assert token is not None
        texts = [repr(alice), repr(alice.auth), repr(result), str(alice.auth), caplog.text]
    last = alice.auth.last_login
    assert last is not None
    secrets = [PASSWORDS["alice"], token, last.tokens.auth_token]
    assert last.tokens.refresh_token is not None
    secrets.append(last.tokens.refresh_token)
    for text in texts:
        for secret in secrets:
            assert secret not in text
    assert "logging in again" in caplog.text  # the log did record the re-login


async def test_a_session_passed_in_is_used_and_left_open(server: FakeR7Server) -> None:
    async with aiohttp.ClientSession() as session:
        async with R7Client(
            server.url, login="bob", password=PASSWORDS["bob"], session=session
        ) as r7:
            await r7.calendars.list()
        assert not session.closed


def test_client_needs_credentials_or_a_token() -> None:
    with pytest.raises(ValueError, match="login"):
        R7Client("https://r7.example.test")
    with pytest.raises(ValueError, match="password"):
        R7Client("https://r7.example.test", login="alice")
    with pytest.raises(ValueError, match="password"):
        R7Auth(password="p")


async def test_login_needs_a_password(server: FakeR7Server) -> None:
    async with R7Client(
        server.url, token=server.issue_token("bob"), retry=RetryPolicy(attempts=1)
    ) as r7:
        with pytest.raises(ValueError, match="password"):
            await r7.login()
