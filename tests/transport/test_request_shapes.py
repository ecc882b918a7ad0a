"""Request shapes and error mapping, with aiohttp mocked by aioresponses."""

from __future__ import annotations

import msgspec
import pytest
from aioresponses import aioresponses
from yarl import URL

from calendar_transport import (
    APIError,
    BadRequestError,
    Dialect,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    Transport,
)
from calendar_transport.auth import IssuedToken
from calendar_transport.transport import USER_AGENT

from .support import DemoAuth, sent_bytes

BASE = "https://api.example.test/v4"
ONCE = RetryPolicy(attempts=1)


async def test_headers_query_and_json_body(mocked: aioresponses) -> None:
    mocked.post(f"{BASE}/login", payload={"token": "T0K"})
    mocked.post(f"{BASE}/things?flag=true&off=false&n=3&s=a+b", payload={"id": 1})
    async with Transport(BASE, dialect=Dialect(auth=DemoAuth()), retry=ONCE) as transport:
        answer = await transport.request(
            "POST",
            "things",
            params={"flag": True, "off": False, "n": 3, "s": "a b"},
            json={"name": "Команда", "ids": [1, 2]},
            response_type=dict[str, int],
        )
    assert answer == {"id": 1}
    # aioresponses keys calls by the URL with its query sorted
    call = mocked.requests[("POST", URL(f"{BASE}/things?flag=true&n=3&off=false&s=a+b"))][0]
    headers = call.kwargs["headers"]
    assert headers["Authorization"] == "Token T0K"
    assert headers["User-Agent"] == USER_AGENT
    assert headers["Content-Type"] == "application/json"
    assert sent_bytes(call.kwargs["data"]) == '{"name":"Команда","ids":[1,2]}'.encode()
    login = mocked.requests[("POST", URL(f"{BASE}/login"))][0]
    assert "Authorization" not in login.kwargs["headers"]


async def test_get_sends_no_body_and_no_content_type(mocked: aioresponses) -> None:
    mocked.get(f"{BASE}/things", payload=[])
    async with Transport(BASE, retry=ONCE) as transport:
        await transport.request("GET", "/things")
    call = mocked.requests[("GET", URL(f"{BASE}/things"))][0]
    assert call.kwargs["data"] is None
    assert "Content-Type" not in call.kwargs["headers"]


async def test_extra_default_headers_are_sent(mocked: aioresponses) -> None:
    mocked.get(f"{BASE}/things", payload=[])
    async with Transport(BASE, headers={"X-Trace": "1"}) as transport:
        await transport.request("GET", "/things")
    call = mocked.requests[("GET", URL(f"{BASE}/things"))][0]
    assert call.kwargs["headers"]["X-Trace"] == "1"


@pytest.mark.parametrize(
    ("status", "body", "cls", "code", "message"),
    [
        (400, {"error_code": "bad", "error": "Плохо"}, BadRequestError, "bad", "Плохо"),
        (403, {"ErrorMessage": "no access"}, PermissionDeniedError, None, "no access"),
        (404, {"Message": "No HTTP resource"}, NotFoundError, None, "No HTTP resource"),
        (418, ["not", "a", "dict"], APIError, None, None),
        (500, None, ServerError, None, None),
    ],
)
async def test_error_statuses_map_to_classes(
    mocked: aioresponses,
    status: int,
    body: object,
    cls: type[APIError],
    code: str | None,
    message: str | None,
) -> None:
    if body is None:
        mocked.get(f"{BASE}/x", status=status, body="Internal <b>error</b>")
    else:
        mocked.get(f"{BASE}/x", status=status, payload=body)
    async with Transport(BASE, retry=ONCE) as transport:
        with pytest.raises(cls) as caught:
            await transport.request("GET", "/x")
    error = caught.value
    assert type(error) is cls
    assert (error.status, error.code, error.message) == (status, code, message)
    assert error.method == "GET"
    assert error.url == f"{BASE}/x"
    assert str(status) in str(error)


async def test_rate_limit_error_carries_the_wait(mocked: aioresponses) -> None:
    mocked.get(
        f"{BASE}/x",
        status=429,
        payload={"error_code": "too_many_requests"},
        headers={"X-RateLimit-Reset": "42"},
    )
    async with Transport(BASE, retry=ONCE) as transport:
        with pytest.raises(RateLimitError) as caught:
            await transport.request("GET", "/x")
    assert caught.value.retry_after == 42.0
    assert caught.value.code == "too_many_requests"


async def test_long_error_bodies_are_truncated(mocked: aioresponses) -> None:
    mocked.get(f"{BASE}/x", status=500, body="z" * 50_000)
    async with Transport(BASE, retry=ONCE) as transport:
        with pytest.raises(ServerError) as caught:
            await transport.request("GET", "/x")
    assert len(caught.value.body) < 2100
    assert caught.value.body.endswith("more characters]")


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("ftp://host/api", ValueError),
        ("api.pyrus.com/v4", ValueError),
        ("http://r7.example.ru", ValueError),  # plain http off loopback
        ("https://user:pw@r7.example.ru", ValueError),
        ("http://127.0.0.1:99999", ValueError),  # no such port
        ("https://r7.example.ru:http/", ValueError),
        (42, TypeError),
    ],
)
def test_bad_base_urls_are_refused(url: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"base_url|http"):
        Transport(url)  # type: ignore[arg-type]


def test_plain_http_allowed_to_loopback_or_when_insecure_is_asked() -> None:
    assert Transport("http://127.0.0.1:8080").base_url == "http://127.0.0.1:8080"
    assert Transport("http://localhost/api/").base_url == "http://localhost/api"
    assert Transport("http://r7.lan", allow_insecure=True).base_url == "http://r7.lan"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"timeout": 0}, ValueError),
        ({"timeout": -1.0}, ValueError),
        ({"deadline": 0}, ValueError),
        ({"retry": 3}, TypeError),
        ({"session": "s"}, TypeError),
        ({"max_response_bytes": 0}, ValueError),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        Transport(BASE, **kwargs)  # type: ignore[arg-type]


async def test_unencodable_query_or_body_fails_before_sending(mocked: aioresponses) -> None:
    async with Transport(BASE) as transport:
        with pytest.raises(TypeError, match="query parameter 'when'"):
            await transport.request("GET", "/x", params={"when": object()})  # type: ignore[dict-item]
        with pytest.raises(TypeError):
            await transport.request("POST", "/x", json={"x": object()})
    assert mocked.requests == {}


async def test_header_sets_follow_the_token_and_the_kind_of_body(mocked: aioresponses) -> None:
    # Headers are built once per token and kind of body and shared: a GET after a POST must
    # not carry its Content-Type, and a new token must replace the old one at once.
    mocked.post(f"{BASE}/login", payload={"token": "FIRST"})
    mocked.post(f"{BASE}/things", payload={"id": 1})
    mocked.get(f"{BASE}/things", payload=[], repeat=True)
    async with Transport(BASE, dialect=Dialect(auth=DemoAuth()), retry=ONCE) as transport:
        await transport.request("POST", "things", json={"n": 1}, response_type=dict[str, int])
        await transport.request("GET", "things")
        assert transport.auth is not None
        transport.auth.set_token(IssuedToken("SECOND"))
        await transport.request("GET", "things")
    post = mocked.requests[("POST", URL(f"{BASE}/things"))][0].kwargs["headers"]
    first_get, second_get = (
        call.kwargs["headers"] for call in mocked.requests[("GET", URL(f"{BASE}/things"))]
    )
    assert post["Content-Type"] == "application/json"
    assert "Content-Type" not in first_get
    assert (post["Authorization"], first_get["Authorization"]) == ("Token FIRST",) * 2
    assert second_get["Authorization"] == "Token SECOND"


class _Red(msgspec.Struct):
    red: int = 0


class _Blue(msgspec.Struct):
    blue: int = 0


async def test_answers_decode_into_types_made_afresh_for_each_call(mocked: aioresponses) -> None:
    # ``list[X]`` written in a call is a new object each time, freed right after: a new one
    # may take its id, and must still get its own decoder; equal types share one.
    mocked.get(f"{BASE}/things", payload=[{"red": 1, "blue": 2}], repeat=True)
    async with Transport(BASE, retry=ONCE) as transport:
        for _ in range(200):
            reds = await transport.request("GET", "things", response_type=list[_Red])
            blues = await transport.request("GET", "things", response_type=list[_Blue])
            assert (reds, blues) == ([_Red(1)], [_Blue(2)])
        assert len(transport._decoders) == 2
