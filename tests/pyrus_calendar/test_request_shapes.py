"""What goes on the wire, with aiohttp mocked by aioresponses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from aioresponses import aioresponses
from yarl import URL

from pyrus_calendar import CalendarFilter, PyrusClient, RetryPolicy

CLOUD_AUTH = "https://accounts.pyrus.com/api/v4/auth"
CLOUD_API = "https://api.pyrus.com/v4"
ONCE = RetryPolicy(attempts=1)
START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
END = datetime(2024, 5, 2, 10, 0, tzinfo=UTC)


def calendar_calls(mocked: aioresponses, host: str = CLOUD_API) -> list[dict[str, str]]:
    return [
        dict(url.query)
        for (method, url), _ in mocked.requests.items()
        if method == "GET" and str(url).startswith(f"{host}/calendar")
    ]


def calendar_url(host: str = CLOUD_API) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(host)}/calendar\?.*$")


async def test_cloud_login_follows_api_url_and_sends_bearer(mocked: aioresponses) -> None:
    mocked.post(
        CLOUD_AUTH,
        payload={"access_token": "T0K-1", "api_url": "https://api2.pyrus.com/v4/"},
    )
    mocked.get(calendar_url("https://api2.pyrus.com/v4"), payload={"tasks": [], "has_more": False})
    async with PyrusClient(login="bot@x.ru", security_key="k3y", person_id=5, retry=ONCE) as c:
        page = await c.calendar(START, END)
    assert page.tasks == []
    assert page.has_more is False
    login = mocked.requests[("POST", URL(CLOUD_AUTH))][0]
    assert login.kwargs["data"] == b'{"login":"bot@x.ru","security_key":"k3y","person_id":5}'
    assert "Authorization" not in login.kwargs["headers"]
    ((_, url), calls), *_ = [item for item in mocked.requests.items() if item[0][0] == "GET"]
    assert url.host == "api2.pyrus.com"
    assert calls[0].kwargs["headers"]["Authorization"] == "Bearer T0K-1"


async def test_exact_query_string(mocked: aioresponses) -> None:
    mocked.get(calendar_url(), payload={"tasks": [], "has_more": False})
    async with PyrusClient(token="T", retry=ONCE) as client:
        await client.calendar(
            datetime(2024, 5, 1, 13, 30, 15, tzinfo=timezone(timedelta(hours=3))),
            END,
            filters="due|reminded",
            item_count=25,
            all_accessed_tasks=True,
            include_meetings=True,
        )
    assert calendar_calls(mocked) == [
        {
            "start_date_utc": "2024-05-01T10:30:15Z",
            "end_date_utc": "2024-05-02T10:00:00Z",
            "item_count": "25",
            "all_accessed_tasks": "true",
            "filter_mask": "9",
            "include_meetings": "true",
        }
    ]


async def test_defaults_on_the_wire(mocked: aioresponses) -> None:
    mocked.get(calendar_url(), payload={"tasks": [], "has_more": False})
    async with PyrusClient(token="T", retry=ONCE) as client:
        await client.calendar(START, END + timedelta(microseconds=1))
    (query,) = calendar_calls(mocked)
    assert query["item_count"] == "100"
    assert query["filter_mask"] == "7"
    assert query["all_accessed_tasks"] == "false"
    assert query["include_meetings"] == "false"
    # the wire has whole seconds: the end is rounded up so nothing asked for is cut off
    assert query["end_date_utc"] == "2024-05-02T10:00:01Z"


async def test_on_premise_login_goes_to_base_url(mocked: aioresponses) -> None:
    base = "https://pyrus.corp.example/api/v4"
    mocked.post(f"{base}/auth", payload={"access_token": "ONPREM"})
    mocked.get(calendar_url(base), payload={"tasks": [], "has_more": False})
    async with PyrusClient(base_url=f"{base}/", login="u", security_key="k", retry=ONCE) as client:
        await client.calendar(START, END, filters=CalendarFilter.REMINDED)
    assert ("POST", URL(f"{base}/auth")) in mocked.requests
    assert calendar_calls(mocked, base)[0]["filter_mask"] == "8"


async def test_explicit_auth_url(mocked: aioresponses) -> None:
    mocked.post("https://login.corp.example/auth", payload={"access_token": "X"})
    mocked.get(calendar_url("https://pyrus.corp.example/v4"), payload={"tasks": []})
    async with PyrusClient(
        base_url="https://pyrus.corp.example/v4/",
        auth_url="https://login.corp.example/auth",
        login="u",
        security_key="k",
        retry=ONCE,
    ) as client:
        await client.calendar(START, END)
    assert ("POST", URL("https://login.corp.example/auth")) in mocked.requests


NAIVE = datetime(2024, 5, 1, 10, 0)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"start": NAIVE}, ValueError, "start must be timezone-aware"),
        ({"end": NAIVE}, ValueError, "end must be timezone-aware"),
        ({"end": START}, ValueError, "start must be before end"),
        ({"end": START - timedelta(hours=1)}, ValueError, "start must be before end"),
        ({"start": "2024-05-01"}, TypeError, "start must be a datetime"),
        ({"item_count": 0}, ValueError, "item_count must be between 1 and 100"),
        ({"item_count": 101}, ValueError, "item_count must be between 1 and 100"),
        ({"item_count": True}, TypeError, "item_count must be an int"),
        ({"filters": "overdue"}, ValueError, "unknown calendar filter"),
        ({"filters": 0}, ValueError, "selects nothing"),
        ({"filters": 16}, ValueError, "1..15"),
        ({"all_accessed_tasks": "yes"}, TypeError, "all_accessed_tasks must be a bool"),
        ({"include_meetings": 1}, TypeError, "include_meetings must be a bool"),
    ],
)
async def test_bad_input_fails_before_any_request(
    mocked: aioresponses, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    args: dict[str, object] = {"start": START, "end": END, **kwargs}
    async with PyrusClient(login="u", security_key="k", retry=ONCE) as client:
        with pytest.raises(error, match=match):
            await client.calendar(**args)  # type: ignore[arg-type]
        with pytest.raises(error, match=match):
            client.iter_calendar(**args)  # type: ignore[arg-type]
    assert mocked.requests == {}


async def test_iterator_arguments_are_checked_on_call(mocked: aioresponses) -> None:
    async with PyrusClient(token="T", retry=ONCE) as client:
        with pytest.raises(ValueError, match="concurrency must be at least 1"):
            client.iter_calendar(START, END, concurrency=0)
        with pytest.raises(ValueError, match="item_count"):
            client.iter_meetings(START, END, item_count=500)
        with pytest.raises(ValueError, match="timezone-aware"):
            client.iter_meetings(NAIVE, END)
    assert mocked.requests == {}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"login": "u"}, ValueError, "login needs security_key"),
        ({"security_key": "k"}, ValueError, "security_key needs login"),
        ({}, ValueError, "pass login= and security_key=, or token="),
        ({"token": "T", "base_url": "ftp://pyrus.example/v4/"}, ValueError, "http"),
        ({"token": "T", "base_url": "pyrus.example/v4"}, ValueError, "http"),
        ({"token": "T", "base_url": "http://pyrus.example/v4/"}, ValueError, "plain http"),
        ({"token": "T", "auth_url": "ftp://x/auth"}, ValueError, "http"),
        ({"token": "T", "person_id": "5"}, TypeError, "person_id"),
        ({"token": "T", "rate_limit": 5000}, TypeError, "rate_limit"),
        ({"token": "T", "timeout": 0}, ValueError, "timeout"),
    ],
)
def test_bad_client_arguments(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        PyrusClient(**kwargs)  # type: ignore[arg-type]
