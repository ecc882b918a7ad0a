"""Every public method of both clients, called with bad arguments, against the real fakes.

Each case raises ValueError or TypeError whose message names the argument, and the fake
records no request at all (no login either).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from pyrus_calendar import CalendarFilter, PyrusClient, filter_mask
from pyrus_calendar.testing import FakePyrusServer
from r7cal import AccessLevel, Calendars, Events, R7Client
from r7cal.testing import FakeR7Server

T0 = datetime(2025, 6, 30, 10, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
NAIVE = datetime(2025, 6, 30, 10)
HUGE = "x" * 5000  # over the 4096-character limit on R7 names

# (case id, call, error, the argument its message must name)
Case = tuple[str, Callable[[Any], Any], type[Exception], str]

R7_CASES: list[Case] = [
    # calendars.create
    ("create name int", lambda r7: r7.calendars.create(name=5), TypeError, "name"),
    ("create name huge", lambda r7: r7.calendars.create(name=HUGE), ValueError, "name"),
    (
        "create short_name huge",
        lambda r7: r7.calendars.create(short_name=HUGE),
        ValueError,
        "short_name",
    ),
    ("create type str", lambda r7: r7.calendars.create(type="1"), TypeError, "type"),
    ("create status float", lambda r7: r7.calendars.create(status=1.0), TypeError, "status"),
    ("create color name", lambda r7: r7.calendars.create(color="red"), ValueError, "color"),
    ("create color int", lambda r7: r7.calendars.create(color=0xFFC078), TypeError, "color"),
    # calendars.delete / clear: ids go into the URL
    ("delete id str", lambda r7: r7.calendars.delete("5"), TypeError, "calendar_id"),
    ("delete id negative", lambda r7: r7.calendars.delete(-5), ValueError, "calendar_id"),
    ("delete id injection", lambda r7: r7.calendars.delete("5&id=6"), TypeError, "calendar_id"),
    ("clear id None", lambda r7: r7.calendars.clear(None), TypeError, "calendar_id"),
    ("clear id zero", lambda r7: r7.calendars.clear(0), ValueError, "calendar_id"),
    # calendars.share
    ("share ids empty", lambda r7: r7.calendars.share([], [3]), ValueError, "calendar_ids"),
    ("share ids int", lambda r7: r7.calendars.share(5, [3]), TypeError, "calendar_ids"),
    ("share user str", lambda r7: r7.calendars.share([5], ["3"]), TypeError, "user_ids[0]"),
    ("share user zero", lambda r7: r7.calendars.share([5], [3, 0]), ValueError, "user_ids[1]"),
    ("share access name", lambda r7: r7.calendars.share([5], [3], "owner"), ValueError, "access"),
    ("share access number", lambda r7: r7.calendars.share([5], [3], 256), ValueError, "access"),
    ("share access bool", lambda r7: r7.calendars.share([5], [3], True), TypeError, "access"),
    # events.create
    ("event naive start", lambda r7: r7.events.create(NAIVE, T1), ValueError, "start"),
    ("event naive end", lambda r7: r7.events.create(T0, NAIVE), ValueError, "end"),
    ("event reversed", lambda r7: r7.events.create(T1, T0), ValueError, "start"),
    ("event str start", lambda r7: r7.events.create("2025-06-30", T1), TypeError, "start"),
    (
        "event date not all-day",
        lambda r7: r7.events.create(date(2025, 6, 30), T1),
        TypeError,
        "start",
    ),
    ("event no end", lambda r7: r7.events.create(T0), ValueError, "end"),
    ("event all_day int", lambda r7: r7.events.create(T0, T1, all_day=1), TypeError, "all_day"),
    ("event name huge", lambda r7: r7.events.create(T0, T1, name=HUGE), ValueError, "name"),
    (
        "event calendar str",
        lambda r7: r7.events.create(T0, T1, calendar_id="2"),
        TypeError,
        "calendar_id",
    ),
    # events.list
    ("list ids empty", lambda r7: r7.events.list([]), ValueError, "calendar_ids"),
    ("list ids str", lambda r7: r7.events.list("12"), TypeError, "calendar_ids"),
    ("list naive", lambda r7: r7.events.list([1], NAIVE, T1), ValueError, "start"),
    ("list reversed", lambda r7: r7.events.list([1], T1, T0), ValueError, "start"),
    # events.iterate (checked on the call, before iterating)
    ("iterate naive end", lambda r7: r7.events.iterate([1], T0, NAIVE), ValueError, "end"),
    ("iterate reversed", lambda r7: r7.events.iterate([1], T1, T0), ValueError, "start"),
    ("iterate ids empty", lambda r7: r7.events.iterate([], T0, T1), ValueError, "calendar_ids"),
    (
        "iterate window int",
        lambda r7: r7.events.iterate([1], T0, T1, window=3),
        TypeError,
        "window",
    ),
    (
        "iterate window negative",
        lambda r7: r7.events.iterate([1], T0, T1, window=-timedelta(days=1)),
        ValueError,
        "window",
    ),
    # events.delete
    ("event delete float", lambda r7: r7.events.delete(4.0), TypeError, "event_id"),
    ("event delete bool", lambda r7: r7.events.delete(True), TypeError, "event_id"),
    ("event delete path", lambda r7: r7.events.delete("../Calendars"), TypeError, "event_id"),
    # events.watch (checked on the call, before polling)
    ("watch ids empty", lambda r7: r7.events.watch([]), ValueError, "calendar_ids"),
    ("watch interval", lambda r7: r7.events.watch([1], interval=-5), ValueError, "interval"),
    (
        "watch horizon short",
        lambda r7: r7.events.watch([1], lookback=timedelta(days=2), horizon=timedelta(days=1)),
        ValueError,
        "horizon",
    ),
    ("watch kinds", lambda r7: r7.events.watch([1], kinds=["moved"]), ValueError, "kinds"),
    ("watch window", lambda r7: r7.events.watch([1], window=3), TypeError, "window"),
    # module level
    ("AccessLevel.parse", lambda r7: AccessLevel.parse("admin"), ValueError, "access"),
]

PYRUS_CASES: list[Case] = [
    ("calendar naive start", lambda p: p.calendar(NAIVE, T1), ValueError, "start"),
    ("calendar naive end", lambda p: p.calendar(T0, NAIVE), ValueError, "end"),
    ("calendar reversed", lambda p: p.calendar(T1, T0), ValueError, "start"),
    ("calendar empty range", lambda p: p.calendar(T0, T0), ValueError, "start"),
    ("calendar date", lambda p: p.calendar(T0.date(), T1), TypeError, "start"),
    ("calendar item_count 0", lambda p: p.calendar(T0, T1, item_count=0), ValueError, "item_count"),
    (
        "calendar item_count 101",
        lambda p: p.calendar(T0, T1, item_count=101),
        ValueError,
        "item_count",
    ),
    (
        "calendar item_count str",
        lambda p: p.calendar(T0, T1, item_count="50"),
        TypeError,
        "item_count",
    ),
    (
        "calendar filter unknown",
        lambda p: p.calendar(T0, T1, filters="overdue"),
        ValueError,
        "filters",
    ),
    ("calendar filter 0", lambda p: p.calendar(T0, T1, filters=0), ValueError, "filters"),
    ("calendar filter 16", lambda p: p.calendar(T0, T1, filters=16), ValueError, "filters"),
    ("calendar filter empty", lambda p: p.calendar(T0, T1, filters=" "), ValueError, "filters"),
    ("calendar filter list", lambda p: p.calendar(T0, T1, filters=["due"]), TypeError, "filters"),
    (
        "calendar all_accessed str",
        lambda p: p.calendar(T0, T1, all_accessed_tasks="yes"),
        TypeError,
        "all_accessed_tasks",
    ),
    (
        "calendar meetings int",
        lambda p: p.calendar(T0, T1, include_meetings=1),
        TypeError,
        "include_meetings",
    ),
    ("iter naive", lambda p: p.iter_calendar(NAIVE, T1), ValueError, "start"),
    ("iter reversed", lambda p: p.iter_calendar(T1, T0), ValueError, "start"),
    (
        "iter concurrency 0",
        lambda p: p.iter_calendar(T0, T1, concurrency=0),
        ValueError,
        "concurrency",
    ),
    (
        "iter concurrency float",
        lambda p: p.iter_calendar(T0, T1, concurrency=2.0),
        TypeError,
        "concurrency",
    ),
    (
        "iter item_count",
        lambda p: p.iter_calendar(T0, T1, item_count=1000),
        ValueError,
        "item_count",
    ),
    (
        "iter allow_incomplete str",
        lambda p: p.iter_calendar(T0, T1, allow_incomplete="no"),
        TypeError,
        "allow_incomplete",
    ),
    ("meetings naive", lambda p: p.iter_meetings(T0, NAIVE), ValueError, "end"),
    ("meetings filter", lambda p: p.iter_meetings(T0, T1, filters="nope"), ValueError, "filters"),
    (
        "meetings concurrency",
        lambda p: p.iter_meetings(T0, T1, concurrency=-1),
        ValueError,
        "concurrency",
    ),
    (
        "iter max_requests 0",
        lambda p: p.iter_calendar(T0, T1, max_requests=0),
        ValueError,
        "max_requests",
    ),
    (
        "meetings max_requests str",
        lambda p: p.iter_meetings(T0, T1, max_requests="9"),
        TypeError,
        "max_requests",
    ),
    ("walk naive", lambda p: p.walk(NAIVE, T1), ValueError, "start"),
    ("walk filter", lambda p: p.walk(T0, T1, filters="nope"), ValueError, "filters"),
    ("walk item_count", lambda p: p.walk(T0, T1, item_count=0), ValueError, "item_count"),
    (
        "walk all_accessed int",
        lambda p: p.walk(T0, T1, all_accessed_tasks=1),
        TypeError,
        "all_accessed_tasks",
    ),
    # watch (checked on the call, before polling)
    ("watch filter", lambda p: p.watch(filters="nope"), ValueError, "filters"),
    ("watch interval", lambda p: p.watch(interval=0), ValueError, "interval"),
    ("watch lookback", lambda p: p.watch(lookback=3600), TypeError, "lookback"),
    ("watch kinds", lambda p: p.watch(kinds="added"), TypeError, "kinds"),
    ("watch state", lambda p: p.watch(state=3), TypeError, "state"),
    ("filter_mask unknown", lambda p: filter_mask("due", "someday"), ValueError, "filter"),
    ("CalendarFilter.parse bool", lambda p: CalendarFilter.parse(True), TypeError, "filters"),
]


async def _call(call: Callable[[Any], Any], client: Any) -> None:
    result = call(client)
    if hasattr(result, "__await__"):
        await result
    elif isinstance(result, AsyncIterator):  # a generator that did not check on the call
        pytest.fail("the iterator did not check its arguments when it was created")


@pytest.mark.parametrize(
    ("call", "error", "names"), [c[1:] for c in R7_CASES], ids=[c[0] for c in R7_CASES]
)
async def test_r7_bad_arguments(
    call: Callable[[Any], Any], error: type[Exception], names: str
) -> None:
    async with FakeR7Server() as server:
        async with R7Client(server.url, login="user_test", password="TestPassword") as r7:
            with pytest.raises(error) as caught:
                await _call(call, r7)
        assert server.requests == []
    assert names in str(caught.value)


@pytest.mark.parametrize(
    ("call", "error", "names"), [c[1:] for c in PYRUS_CASES], ids=[c[0] for c in PYRUS_CASES]
)
async def test_pyrus_bad_arguments(
    call: Callable[[Any], Any], error: type[Exception], names: str
) -> None:
    async with FakePyrusServer() as server:
        async with PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
        ) as pyrus:
            with pytest.raises(error) as caught:
                await _call(call, pyrus)
        assert server.requests == []
    assert names in str(caught.value)


GOOD = {"login": "u", "password": "p"}
PYRUS_GOOD = {"login": "u", "security_key": "k"}


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "names"),
    [
        (("ftp://r7.example.ru",), GOOD, ValueError, "base_url"),
        (("r7.example.ru",), GOOD, ValueError, "base_url"),
        (("http://r7.example.ru",), GOOD, ValueError, "base_url"),
        (("https://user:pw@r7.example.ru",), GOOD, ValueError, "base_url"),
        ((443,), GOOD, TypeError, "base_url"),
        (("https://r7.example.ru",), {}, ValueError, "login"),
        (("https://r7.example.ru",), {"login": "u"}, ValueError, "password"),
        (("https://r7.example.ru",), {"login": 5, "password": "p"}, TypeError, "login"),
        (("https://r7.example.ru",), {"login": "u", "password": 5}, TypeError, "password"),
        (("https://r7.example.ru",), {"token": 5}, TypeError, "token"),
        (("https://r7.example.ru",), {"token": "  "}, ValueError, "token"),
        (("https://r7.example.ru",), {**GOOD, "timeout": 0}, ValueError, "timeout"),
        (("https://r7.example.ru",), {**GOOD, "timeout": "30"}, ValueError, "timeout"),
        (("https://r7.example.ru",), {**GOOD, "deadline": -1}, ValueError, "deadline"),
        (("https://r7.example.ru",), {**GOOD, "retry": 3}, TypeError, "retry"),
        (("https://r7.example.ru",), {**GOOD, "session": object()}, TypeError, "session"),
        (("https://r7.example.ru",), {**GOOD, "refresh_skew": 60}, TypeError, "refresh_skew"),
        (("https://r7.example.ru",), {**GOOD, "refresh_path": 5}, TypeError, "refresh_path"),
        (
            ("https://r7.example.ru",),
            {**GOOD, "max_response_bytes": 0},
            ValueError,
            "max_response_bytes",
        ),
        (
            ("https://r7.example.ru",),
            {**GOOD, "allow_insecure": "yes"},
            TypeError,
            "allow_insecure",
        ),
        (("https://r7.example.ru",), {**GOOD, "hooks": print}, TypeError, "hooks"),
    ],
)
def test_r7_client_arguments(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], names: str
) -> None:
    with pytest.raises(error) as caught:
        R7Client(*args, **kwargs)
    assert names in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({**PYRUS_GOOD, "base_url": "ftp://pyrus.example/v4/"}, ValueError, "base_url"),
        ({**PYRUS_GOOD, "base_url": "http://pyrus.example/v4/"}, ValueError, "base_url"),
        ({**PYRUS_GOOD, "auth_url": "http://login.example/auth"}, ValueError, "auth_url"),
        ({**PYRUS_GOOD, "auth_url": 5}, TypeError, "auth_url"),
        ({"login": "u"}, ValueError, "security_key"),
        ({"security_key": "k"}, ValueError, "login"),
        ({"login": "u", "security_key": ""}, TypeError, "security_key"),
        ({"login": 5, "security_key": "k"}, TypeError, "login"),
        ({"token": ""}, ValueError, "token"),
        ({**PYRUS_GOOD, "person_id": "7"}, TypeError, "person_id"),
        ({**PYRUS_GOOD, "person_id": 0}, ValueError, "person_id"),
        ({**PYRUS_GOOD, "rate_limit": 5000}, TypeError, "rate_limit"),
        ({**PYRUS_GOOD, "timeout": -1}, ValueError, "timeout"),
        ({**PYRUS_GOOD, "max_response_bytes": 1.5}, TypeError, "max_response_bytes"),
        ({**PYRUS_GOOD, "allow_insecure": 1}, TypeError, "allow_insecure"),
        ({**PYRUS_GOOD, "hooks": {"on_request": print}}, TypeError, "hooks"),
    ],
)
def test_pyrus_client_arguments(kwargs: dict[str, Any], error: type[Exception], names: str) -> None:
    with pytest.raises(error) as caught:
        PyrusClient(**kwargs)
    assert names in str(caught.value)


def _public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def test_the_catalogue_covers_every_public_method() -> None:
    """A new public method fails here until it gets bad-input cases above.

    ``calendars.list()`` and the clients' ``login()`` take no arguments to get wrong.
    """
    assert _public(Calendars) == {"create", "list", "delete", "clear", "share"}
    assert _public(Events) == {"create", "list", "iterate", "delete", "watch"}
    # Properties (no arguments to get wrong), the last three deprecated counters.
    properties = {"token", "stats", "rate_limit_status", "attempts", "logins", "calendar_requests"}
    # from_env's bad input (a missing variable) is in tests/transport/test_from_env.py.
    constants = {"CLOUD_RATE_LIMIT", "ENVIRONMENT"}
    assert _public(PyrusClient) - {*constants, *properties} == {
        "aclose",
        "calendar",
        "from_env",
        "iter_calendar",
        "iter_meetings",
        "login",
        "walk",
        "watch",
    }
