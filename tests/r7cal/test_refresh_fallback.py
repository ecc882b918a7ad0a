"""A ``refresh_path`` that is not there (405) or is down (5xx) falls back to the password."""

from __future__ import annotations

import logging

import pytest

from calendar_transport import Dialect, Transport
from r7cal import R7Auth, R7Client, RetryPolicy, ServerError

from .stub import R7Stub

FAST = RetryPolicy(attempts=3, initial_backoff=0, max_backoff=0)


def _client(stub: R7Stub) -> R7Client:
    return R7Client(stub.url, login="u", password="pw", retry=FAST, refresh_path="/refresh")


@pytest.mark.parametrize("status", [405, 500, 503])
async def test_a_broken_refresh_path_falls_back_to_the_password(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="r7cal")
    async with R7Stub() as stub, _client(stub) as r7:
        await r7.calendars.list()  # the first login: no refresh token yet, the password
        stub.refresh_status = status
        for round_ in (1, 2):
            stub.revoke()
            await r7.calendars.list()  # 401, the refresh fails, the password works
            assert stub.logins == 1 + round_
        token = r7.token
    assert stub.refresh_calls >= 2
    said = [r for r in caplog.records if "logging in with the password" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.INFO, logging.DEBUG]  # said once, then quietly
    assert f"HTTP {status}" in said[0].getMessage()
    assert token is not None
    assert "pw" not in caplog.text.replace("password", "")
    assert token not in caplog.text


async def test_without_a_password_the_refresh_failure_is_raised() -> None:
    async with R7Stub() as stub:
        stub.refresh_status = 503
        auth = R7Auth(token="stale", refresh_token="r-1", refresh_path="/refresh")
        async with Transport(stub.url, dialect=Dialect(auth=auth), retry=FAST) as transport:
            with pytest.raises(ServerError):
                await transport.request("GET", "/api/v1/email/Calendars")
    assert stub.refresh_calls >= 3  # retried as a 503 is, then given up: no password to try
    assert stub.logins == 0
