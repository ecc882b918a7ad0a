"""Shared fixtures. Tests that use the ``mocked`` fixture (aioresponses) are marked ``mocked``
so `make test` can skip them on the newest aiohttp, which aioresponses does not support."""

from __future__ import annotations

import importlib.util
import os
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from aioresponses import aioresponses


#: the import packages the distribution ships
SHIPPED = ("calendar_transport", "r7cal", "pyrus_calendar", "calendar_bridge", "calendar_cli")


def pytest_configure(config: pytest.Config) -> None:
    """Under `make test-installed` (``SDK_INSTALLED=1``) every package must come from the
    installed wheel: one found in the source tree would hide a file the wheel leaves out."""
    if not os.environ.get("SDK_INSTALLED"):
        return
    installed = Path(sysconfig.get_paths()["purelib"]).resolve()
    for package in SHIPPED:
        spec = importlib.util.find_spec(package)
        home = Path(spec.origin).resolve() if spec and spec.origin else None
        if home is None or installed not in home.parents:
            raise pytest.UsageError(f"{package} is imported from {home}, not from {installed}")


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
