"""Logging in, losing a token mid-way, refused credentials, and keeping secrets secret."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

import pytest

from pyrus_calendar import AuthenticationError, PyrusClient, Task
from pyrus_calendar.testing import FakePyrusServer

from .support import DAY, FAST, NEXT_DAY, client_for, task_due


def thousand_tasks() -> list[Task]:
    rng = random.Random(11)
    return [task_due(i, DAY + timedelta(seconds=rng.randrange(86400))) for i in range(1, 1001)]


async def test_token_revoked_in_the_middle_of_paging_recovers(server: FakePyrusServer) -> None:
    server.order = "shuffled"
    server.add_tasks(thousand_tasks())
    server.revoke_after(3)
    async with client_for(server) as client:
        got = [task.id async for task in client.iter_calendar(DAY, NEXT_DAY, concurrency=4)]
    assert sorted(got) == list(range(1, 1001))
    # several requests in flight hit the revoked token; they share one new login
    assert client.stats.logins == 2
    assert server.counters.logins == 2


async def test_expired_token_is_replaced(server: FakePyrusServer) -> None:
    server.add_task(task_due(1, DAY + timedelta(hours=1)))
    async with client_for(server) as client:
        await client.calendar(DAY, NEXT_DAY)
        server.expire_tokens()
        page = await client.calendar(DAY, NEXT_DAY)
    assert [t.id for t in page.tasks] == [1]
    assert len(server.requests_to("/v4/calendar")) == 3  # ok, expired_token, ok with the new token
    assert server.counters.logins == 2


async def test_given_token_is_used_then_replaced_by_login(server: FakePyrusServer) -> None:
    async with client_for(server) as first:
        await first.login()
        token = first.token
        assert token is not None
    async with client_for(server, token=token) as client:
        await client.calendar(DAY, NEXT_DAY)
        assert client.stats.logins == 0
        server.revoke_tokens()
        await client.calendar(DAY, NEXT_DAY)
        assert client.stats.logins == 1


async def test_token_without_credentials_gives_up_on_401(server: FakePyrusServer) -> None:
    async with client_for(server) as first:
        await first.login()
        token = first.token
        assert token is not None
    server.revoke_tokens()
    auth_requests = len(server.requests_to("/v4/auth"))
    async with PyrusClient(base_url=server.api_url, token=token, retry=FAST) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.calendar(DAY, NEXT_DAY)
    assert info.value.code == "revoked_token"
    assert info.value.status == 401
    assert len(server.requests_to("/v4/auth")) == auth_requests  # no login was tried


async def test_invalid_credentials_fail_once_and_reveal_nothing(
    server: FakePyrusServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "very-secret-key-42"
    async with PyrusClient(
        base_url=server.api_url, login=server.DEFAULT_LOGIN, security_key=secret, retry=FAST
    ) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.calendar(DAY, NEXT_DAY)
        assert secret not in repr(client)
        assert secret not in repr(client.auth)
    assert info.value.code == "invalid_credentials"
    assert len(server.requests_to("/v4/auth")) == 1  # never retried
    assert server.requests_to("/v4/calendar") == []
    assert secret not in str(info.value)
    assert secret not in repr(info.value)
    assert secret not in caplog.text


async def test_blocked_account_is_final(server: FakePyrusServer) -> None:
    server.block_user(server.DEFAULT_LOGIN)
    async with client_for(server) as client:
        with pytest.raises(AuthenticationError, match="account_blocked"):
            await client.calendar(DAY, NEXT_DAY)
    assert len(server.requests_to("/v4/auth")) == 1


async def test_tokens_never_show_in_reprs_or_logs(
    server: FakePyrusServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_for(server) as client:
        await client.calendar(DAY, NEXT_DAY)
        server.revoke_tokens()
        await client.calendar(DAY, NEXT_DAY)
        text = f"{client!r} {client.auth!r} {client.transport!r}"
    assert len(server.tokens) == 2
    for token in server.tokens:
        assert token not in text
        assert token not in caplog.text
    assert server.DEFAULT_SECURITY_KEY not in text + caplog.text


async def test_on_premise_style_login_without_api_url() -> None:
    async with FakePyrusServer(send_api_url=False) as server:
        server.add_task(task_due(7, DAY + timedelta(hours=2)))
        async with client_for(server) as client:
            page = await client.calendar(DAY, NEXT_DAY)
    assert [t.id for t in page.tasks] == [7]
    assert len(server.requests_to("/v4/auth")) == 1


async def test_cloud_style_login_follows_api_url(server: FakePyrusServer) -> None:
    async with client_for(server, auth_url=server.auth_url) as client:
        await client.calendar(DAY, NEXT_DAY)
    assert len(server.requests_to("/api/v4/auth")) == 1
    assert server.requests_to("/v4/auth") == []
    assert len(server.requests_to("/v4/calendar")) == 1
