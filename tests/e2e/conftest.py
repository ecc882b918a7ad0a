"""End-to-end fixtures: a clean environment, a known terminal width, and command runners."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from calendar_cli import pyrus as pyrus_cli
from calendar_cli import r7 as r7_cli

from .support import Run

Runner = Callable[..., Run]

_VARIABLES = (
    "R7_BASE_URL",
    "R7_LOGIN",
    "R7_PASSWORD",
    "R7_TOKEN",
    "PYRUS_BASE_URL",
    "PYRUS_LOGIN",
    "PYRUS_SECURITY_KEY",
    "PYRUS_TOKEN",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials leak in from the machine, and tables are 160 columns wide."""
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "160")


def _runner(main: Callable[..., int]) -> Runner:
    def run(*argv: str, stderr: io.StringIO | None = None) -> Run:
        out, err = io.StringIO(), stderr or io.StringIO()
        code = main(list(argv), stdout=out, stderr=err)
        return Run(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def r7() -> Runner:
    """Run ``r7cal`` in-process: ``r7("calendars", "list")``."""
    return _runner(r7_cli.main)


@pytest.fixture
def pyrus() -> Runner:
    """Run ``pyrus-calendar`` in-process: ``pyrus("tasks", "--json")``."""
    return _runner(pyrus_cli.main)


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
