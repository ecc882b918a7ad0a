"""Shared fixtures. Tests that use the ``mocked`` fixture (aioresponses) are marked ``mocked``
so `make test` can skip them on the newest aiohttp, which aioresponses does not support."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from aioresponses import aioresponses


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "mocked" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mocked)


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    """aioresponses: every request made through aiohttp is answered from the mock."""
    from aioresponses import aioresponses

    with aioresponses() as mock:
        yield mock
