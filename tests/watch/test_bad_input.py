"""Bad input to watch(): a clear error naming the argument, before any request."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from calendar_watch import WatchStateError
from pyrus_calendar.testing import FakePyrusServer
from r7cal import R7Client
from r7cal.testing import FakeR7Server
from tests.pyrus_calendar.support import client_for

DAY = timedelta(days=1)

BAD: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"kinds": ["added", "moved"]}, ValueError, "kinds: unknown kind 'moved'"),
    ({"kinds": "added"}, TypeError, "kinds must be a collection"),
    ({"kinds": []}, ValueError, "kinds must name at least one"),
    ({"interval": -1}, ValueError, "interval must be a positive"),
    ({"interval": 0}, ValueError, "interval must be a positive"),
    ({"interval": float("nan")}, ValueError, "interval must be a finite"),
    ({"interval": "60"}, TypeError, "interval must be a number"),
    ({"lookback": 2 * DAY, "horizon": DAY}, ValueError, "horizon .* shorter than lookback"),
    ({"lookback": -DAY}, ValueError, "lookback must not be negative"),
    ({"horizon": 30}, TypeError, "horizon must be a timedelta"),
    ({"lookback": timedelta(0), "horizon": timedelta(0)}, ValueError, "window would be empty"),
    ({"state": 42}, TypeError, "state must be a path, a WatchState or None"),
    ({"clock": "now"}, TypeError, "clock must be callable"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD)
async def test_pyrus_watch_rejects(
    pyrus_server: FakePyrusServer, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    async with client_for(pyrus_server) as pyrus:
        with pytest.raises(error, match=message):
            pyrus.watch(**kwargs)
    assert pyrus_server.counters.calendar_requests == 0


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD)
async def test_r7_watch_rejects(
    r7_server: FakeR7Server, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    async with R7Client(r7_server.url, login="user_test", password="TestPassword") as r7:
        with pytest.raises(error, match=message):
            r7.events.watch([101], **kwargs)
    assert r7_server.requests_to("/api/v1/events") == []


async def test_pyrus_specific_arguments_are_checked(pyrus_server: FakePyrusServer) -> None:
    async with client_for(pyrus_server) as pyrus:
        with pytest.raises(ValueError, match="filters='soon'"):
            pyrus.watch(filters="soon")
        with pytest.raises(TypeError, match="include_meetings"):
            pyrus.watch(include_meetings="yes")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="max_requests must be at least 1"):
            pyrus.watch(max_requests=0)


async def test_r7_calendar_ids_are_checked(r7_server: FakeR7Server) -> None:
    async with R7Client(r7_server.url, login="user_test", password="TestPassword") as r7:
        with pytest.raises((TypeError, ValueError), match="calendar_ids"):
            r7.events.watch([])
        with pytest.raises(TypeError, match="calendar_ids"):
            r7.events.watch(["x"])  # type: ignore[list-item]


async def test_a_state_file_that_is_not_ours_fails_before_any_request(
    pyrus_server: FakePyrusServer, tmp_path: Path
) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"not a database, and not ours")
    async with client_for(pyrus_server) as pyrus:
        watch = pyrus.watch(state=path)
        with pytest.raises(WatchStateError, match="not an SQLite file"):
            await anext(watch)
        await watch.aclose()
    assert pyrus_server.counters.calendar_requests == 0
    assert path.read_bytes() == b"not a database, and not ours"
