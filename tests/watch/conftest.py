from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pyrus_calendar.testing import FakePyrusServer
from r7cal.testing import FakeR7Server

from .support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A clock at 2024-05-10 12:00 UTC that moves when the watch sleeps."""
    return FakeClock()


@pytest.fixture
async def pyrus_server() -> AsyncIterator[FakePyrusServer]:
    """A FakePyrusServer on loopback."""
    async with FakePyrusServer(seed=3) as fake:
        yield fake


@pytest.fixture
async def r7_server() -> AsyncIterator[FakeR7Server]:
    """A FakeR7Server on loopback."""
    async with FakeR7Server(seed=3) as fake:
        yield fake
