"""An ``ExpiredAt`` at or before issue time (a server clock behind ours, a local time without
``Z``) is an unknown expiry: the client relies on the 401, and still logs in once for many."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from r7cal import R7Client, RetryPolicy
from r7cal.testing import FakeR7Server
from r7cal.testing.fake import TokenExpiry

from .conftest import PASSWORDS, client_for
from .stub import R7Stub

NO_RETRY = RetryPolicy(attempts=1)
HOUR = 3600.0


def _net(moment: datetime, *, z: bool = True) -> str:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"
    return text + "Z" if z else text


def _client(stub: R7Stub) -> R7Client:
    return R7Client(stub.url, login="u", password="pw", retry=NO_RETRY)


@pytest.mark.parametrize(
    ("clock_offset", "token_expiry"),
    [
        (-2 * HOUR, "utc"),  # the server's clock is two hours behind ours
        (-5 * HOUR, "naive"),  # a server in UTC-5 writing its local time without Z
        (-HOUR, "utc"),  # behind by exactly the lifetime: ExpiredAt == issue time
    ],
)
async def test_an_expiry_before_issue_does_not_mean_a_login_per_call(
    clock_offset: float, token_expiry: TokenExpiry, caplog: pytest.LogCaptureFixture
) -> None:
    behind = FakeR7Server(
        users=PASSWORDS, token_lifetime=HOUR, clock_offset=clock_offset, token_expiry=token_expiry
    )
    async with behind as server, client_for(server, "alice") as alice:
        with caplog.at_level(logging.WARNING, logger="calendar_transport.auth"):
            await asyncio.gather(*(alice.calendars.list() for _ in range(25)))
            for _ in range(25):
                await alice.calendars.list()
        assert server.logins["alice"] == 1
        assert alice.auth.issued is not None
        assert alice.auth.issued.expires_at is None  # unknown, not "already expired"
        # The 401 still replaces the token, once for many callers.
        server.revoke_tokens("alice")
        await asyncio.gather(*(alice.calendars.list() for _ in range(10)))
        assert server.logins["alice"] == 2
    warnings = [r for r in caplog.records if "at or before it was issued" in r.getMessage()]
    assert len(warnings) == 1  # said once, not per login or per call
    assert PASSWORDS["alice"] not in caplog.text


async def test_a_server_clock_a_little_behind_keeps_the_expiry() -> None:
    # Ten minutes behind with an hour's lifetime: the expiry is still ahead, and acted on.
    behind = FakeR7Server(users=PASSWORDS, token_lifetime=HOUR, clock_offset=-600)
    async with behind as server, client_for(server, "alice") as alice:
        await alice.calendars.list()
        assert alice.auth.issued is not None
        expires_at = alice.auth.issued.expires_at
        assert expires_at is not None
        left = expires_at - datetime.now(UTC)
        assert timedelta(minutes=49) < left <= timedelta(minutes=50)


@pytest.mark.parametrize("z", [True, False])
async def test_a_stub_issuing_expired_tokens_costs_one_login_for_concurrent_callers(
    z: bool,
) -> None:
    async with (
        R7Stub(expired_at=_net(datetime.now(UTC) - timedelta(hours=1), z=z)) as stub,
        _client(stub) as r7,
    ):
        await asyncio.gather(*(r7.calendars.list() for _ in range(25)))
        for _ in range(25):
            await r7.calendars.list()
        assert stub.logins == 1
        assert stub.refused == 0
        stub.revoke()
        await asyncio.gather(*(r7.calendars.list() for _ in range(25)))
    assert stub.logins == 2
    assert stub.refused == 25  # each call refused once, then replayed with the one new token


async def test_login_info_of_an_expired_login_answer_says_no_expiry() -> None:
    # The stub's clock is a day behind: every token it issues "expired" before it was issued.
    async with (
        R7Stub(expired_at=_net(datetime.now(UTC) - timedelta(days=1))) as stub,
        _client(stub) as r7,
    ):
        info = await r7.login()
        await r7.calendars.list()
        await r7.calendars.list()
    assert info.expires_at is None
    assert stub.logins == 1
