"""A fake R7 server with two users, and a logged-in client for each."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from r7cal import R7Client, RetryPolicy
from r7cal.testing import FakeR7Server

PASSWORDS = {"alice": "alice-Secret-1", "bob": "bob-Secret-2"}
# Retries without waiting, so fault tests stay fast.
FAST_RETRY = RetryPolicy(attempts=3, initial_backoff=0, max_backoff=0)


@pytest.fixture
async def server() -> AsyncIterator[FakeR7Server]:
    async with FakeR7Server(users=PASSWORDS) as fake:
        yield fake


def client_for(
    server: FakeR7Server,
    login: str,
    *,
    refresh_path: str | None = None,
    refresh_skew: timedelta | None = None,
) -> R7Client:
    """A client that logs in as ``login`` (its password from PASSWORDS)."""
    return R7Client(
        server.url,
        login=login,
        password=PASSWORDS[login],
        retry=FAST_RETRY,
        refresh_path=refresh_path,
        refresh_skew=refresh_skew,
    )


@pytest.fixture
async def alice(server: FakeR7Server) -> AsyncIterator[R7Client]:
    async with client_for(server, "alice") as r7:
        yield r7


@pytest.fixture
async def bob(server: FakeR7Server) -> AsyncIterator[R7Client]:
    async with client_for(server, "bob") as r7:
        yield r7
