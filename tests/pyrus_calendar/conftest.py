from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pyrus_calendar.testing import FakePyrusServer


@pytest.fixture
async def server() -> AsyncIterator[FakePyrusServer]:
    """A FakePyrusServer on loopback with a fixed random seed."""
    async with FakePyrusServer(seed=7) as fake:
        yield fake
