"""Bad arguments fail with ValueError/TypeError before any request leaves the client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from r7cal import R7Client
from r7cal.testing import FakeR7Server

T0 = datetime(2025, 6, 30, 10, tzinfo=UTC)
NAIVE = datetime(2025, 6, 30, 10)
LATER = T0 + timedelta(hours=1)

# Any: the calls pass wrong types on purpose.
Call = Callable[[Any], Awaitable[Any]]


async def _drain(iterator: AsyncIterator[Any]) -> None:
    async for _ in iterator:
        pass


CASES: list[tuple[str, Call, type[Exception], str]] = [
    ("naive start", lambda r7: r7.events.create(NAIVE, LATER), ValueError, "timezone-aware"),
    ("naive end", lambda r7: r7.events.list([1], T0, NAIVE), ValueError, "timezone-aware"),
    ("start after end", lambda r7: r7.events.create(LATER, T0), ValueError, "before"),
    ("list start after end", lambda r7: r7.events.list([1], LATER, T0), ValueError, "before"),
    ("missing end", lambda r7: r7.events.create(T0), ValueError, "end is required"),
    (
        "date for a timed event",
        lambda r7: r7.events.create(T0.date(), LATER),
        TypeError,
        "datetime",
    ),
    ("all_day not a bool", lambda r7: r7.events.create(T0, LATER, all_day=1), TypeError, "all_day"),
    ("empty calendar_ids", lambda r7: r7.events.list([]), ValueError, "must not be empty"),
    ("calendar_ids a str", lambda r7: r7.events.list("12"), TypeError, "list of ints"),
    ("calendar id a str", lambda r7: r7.events.list(["12"]), TypeError, "int"),
    ("event id a float", lambda r7: r7.events.delete(4.0), TypeError, "int"),
    ("event id a bool", lambda r7: r7.events.delete(True), TypeError, "int"),
    ("calendar id zero", lambda r7: r7.calendars.delete(0), ValueError, "positive"),
    ("calendar id a str", lambda r7: r7.calendars.clear("7"), TypeError, "int"),
    (
        "event calendar id",
        lambda r7: r7.events.create(T0, LATER, calendar_id="2"),
        TypeError,
        "calendar_id",
    ),
    ("colour without #", lambda r7: r7.calendars.create(color="FFC078"), ValueError, "#RGB"),
    ("colour of 4 digits", lambda r7: r7.calendars.create(color="#FFC0"), ValueError, "#RGB"),
    ("colour by name", lambda r7: r7.calendars.create(color="red"), ValueError, "#RGB"),
    ("colour not a str", lambda r7: r7.calendars.create(color=0xFFC078), TypeError, "color"),
    ("type not an int", lambda r7: r7.calendars.create(type="1"), TypeError, "type"),
    ("name not a str", lambda r7: r7.calendars.create(name=5), TypeError, "name"),
    (
        "unknown access",
        lambda r7: r7.calendars.share([1], [2], "owner"),
        ValueError,
        "unknown access",
    ),
    (
        "undocumented access",
        lambda r7: r7.calendars.share([1], [2], 8),
        ValueError,
        "unknown access",
    ),
    ("empty user_ids", lambda r7: r7.calendars.share([1], []), ValueError, "user_ids"),
    (
        "iterate naive",
        lambda r7: _drain(r7.events.iterate([1], NAIVE, LATER)),
        ValueError,
        "timezone-aware",
    ),
    (
        "iterate reversed",
        lambda r7: _drain(r7.events.iterate([1], LATER, T0)),
        ValueError,
        "before",
    ),
    ("iterate empty ids", lambda r7: _drain(r7.events.iterate([], T0, LATER)), ValueError, "empty"),
    (
        "iterate zero window",
        lambda r7: _drain(r7.events.iterate([1], T0, LATER, window=timedelta(0))),
        ValueError,
        "window",
    ),
    (
        "iterate window in days",
        lambda r7: _drain(r7.events.iterate([1], T0, LATER, window=31)),
        TypeError,
        "window",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "match"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_bad_input_fails_before_any_request(
    call: Call, error: type[Exception], match: str
) -> None:
    async with FakeR7Server() as server:
        async with R7Client(server.url, login="user_test", password="TestPassword") as r7:
            with pytest.raises(error, match=match):
                await call(r7)
        assert server.requests == []


async def test_iterate_checks_its_arguments_when_called_not_when_iterated() -> None:
    async with R7Client("https://r7.example.test", token="t") as r7:
        with pytest.raises(ValueError, match="before"):
            r7.events.iterate([1], LATER, T0)


@pytest.mark.parametrize("color", ["#abc", "#A1B2C3", " #FFC078 "])
async def test_valid_colours_pass(color: str) -> None:
    async with (
        FakeR7Server() as server,
        R7Client(server.url, login="user_test", password="TestPassword") as r7,
    ):
        calendar = await r7.calendars.create(color=color)
    assert calendar.color == color.strip()
