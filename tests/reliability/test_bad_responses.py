"""Bad answers from the server, through both clients and their fakes.

Malformed JSON, wrong types, HTML pages, empty bodies, a 200 carrying the backend's error
envelope, bodies over ``max_response_bytes``: each raises one of the SDK's own errors with the
HTTP status and a truncated body, never a bare KeyError or a msgspec internal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from calendar_transport.errors import BODY_LIMIT
from pyrus_calendar import PyrusClient
from pyrus_calendar.testing import FakePyrusServer
from r7cal import (
    APIError,
    AuthenticationError,
    CalendarError,
    DecodeError,
    ErrorEnvelopeError,
    NotFoundError,
    PermissionDeniedError,
    R7Client,
    ResponseTooLargeError,
    RetryPolicy,
    ServerError,
)
from r7cal.testing import FakeR7Server

ONCE = RetryPolicy(attempts=1)
T0 = datetime(2025, 6, 30, 10, tzinfo=UTC)
HTML = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
BIG_HTML = "<html><body>" + "Service unavailable. " * 600 + "</body></html>"  # ~12 kB

R7_LIST = "/api/v1/email/Calendars"


def r7_list(r7: R7Client) -> Awaitable[Any]:
    return r7.calendars.list()


def r7_create(r7: R7Client) -> Awaitable[Any]:
    return r7.calendars.create(name="x")


def r7_events(r7: R7Client) -> Awaitable[Any]:
    return r7.events.list([101], T0, T0 + timedelta(days=1))


def r7_delete(r7: R7Client) -> Awaitable[Any]:
    return r7.events.delete(5001)


def r7_share(r7: R7Client) -> Awaitable[Any]:
    return r7.calendars.share([101], [3])


# (id, call, path, status, body, content type, error class, status on the error, text in it)
R7_CASES: list[
    tuple[str, Callable[[R7Client], Awaitable[Any]], str, int, str, str, type[Exception], int, str]
] = [
    (
        "malformed json",
        r7_list,
        R7_LIST,
        200,
        '[{"Id": 1,',
        "application/json",
        DecodeError,
        200,
        "truncated",
    ),
    (
        "wrong type",
        r7_list,
        R7_LIST,
        200,
        '[{"Id": "abc"}]',
        "application/json",
        DecodeError,
        200,
        "$[0].Id",
    ),
    (
        "missing id",
        r7_create,
        "/api/v1/Calendars/save",
        200,
        '{"Name": "x"}',
        "application/json",
        DecodeError,
        200,
        "Id",
    ),
    ("html on 200", r7_list, R7_LIST, 200, HTML, "text/html", DecodeError, 200, "HTTP 200"),
    (
        "html on 502",
        r7_events,
        "/api/v1/events",
        502,
        HTML,
        "text/html",
        ServerError,
        502,
        "502 Bad Gateway",
    ),
    ("empty on 200", r7_list, R7_LIST, 200, "", "application/json", DecodeError, 200, "empty body"),
    (
        "empty on 500",
        r7_delete,
        "/api/v1/events",
        500,
        "",
        "application/json",
        ServerError,
        500,
        "no body",
    ),
    (
        "null for a create",
        r7_create,
        "/api/v1/Calendars/save",
        200,
        "null",
        "application/json",
        DecodeError,
        200,
        "null",
    ),
    (
        "error envelope on 200",
        r7_list,
        R7_LIST,
        200,
        '{"ErrorMessage": "Внутренняя ошибка"}',
        "application/json",
        ErrorEnvelopeError,
        200,
        "Внутренняя ошибка",
    ),
    (
        "error envelope on a share",  # would otherwise decode as an empty ShareResult
        r7_share,
        "/api/v1/Share",
        200,
        '{"ErrorMessage": "No right to share"}',
        "application/json",
        ErrorEnvelopeError,
        200,
        "No right to share",
    ),
    (
        "envelope naming 403",
        r7_events,
        "/api/v1/events",
        200,
        '{"Status": 403, "StatusCode": 403, "Response": null, "ErrorMessage": "denied"}',
        "application/json",
        PermissionDeniedError,
        403,
        "denied",
    ),
    (
        "delete answering false",
        r7_delete,
        "/api/v1/events",
        200,
        "false",
        "application/json",
        APIError,
        200,
        "did not confirm",
    ),
    (
        "huge html on 503",
        r7_list,
        R7_LIST,
        503,
        BIG_HTML,
        "text/html",
        ServerError,
        503,
        "HTTP 503",
    ),
]


def _check_error(error: BaseException, cls: type[Exception], status: int, text: str) -> None:
    assert type(error) is cls
    assert type(error).__module__ == "calendar_transport.errors"  # ours, not msgspec's
    assert isinstance(error, CalendarError)
    assert error.status == status  # type: ignore[attr-defined]
    assert f"HTTP {status}" in str(error)
    body: str = error.body  # type: ignore[attr-defined]
    assert len(body) <= BODY_LIMIT + 40  # truncated, saying by how much
    assert len(str(error)) < 600
    assert text in str(error) + body


@pytest.mark.parametrize(
    ("call", "path", "status", "body", "content_type", "cls", "error_status", "text"),
    [case[1:] for case in R7_CASES],
    ids=[case[0] for case in R7_CASES],
)
async def test_r7_bad_answers(
    call: Callable[[R7Client], Awaitable[Any]],
    path: str,
    status: int,
    body: str,
    content_type: str,
    cls: type[Exception],
    error_status: int,
    text: str,
) -> None:
    async with FakeR7Server() as server:
        server.faults.fail_next(1, status, body=body, content_type=content_type, path=path)
        async with R7Client(
            server.url, login="user_test", password="TestPassword", retry=ONCE
        ) as r7:
            with pytest.raises(CalendarError) as caught:
                await call(r7)
    _check_error(caught.value, cls, error_status, text)


async def test_r7_long_error_body_is_truncated_on_the_error() -> None:
    async with FakeR7Server() as server:
        server.faults.fail_next(1, 503, body=BIG_HTML, content_type="text/html", path=R7_LIST)
        async with R7Client(
            server.url, login="user_test", password="TestPassword", retry=ONCE
        ) as r7:
            with pytest.raises(ServerError) as caught:
                await r7.calendars.list()
    assert caught.value.body.endswith("more characters]")
    assert caught.value.body.startswith("<html><body>Service unavailable.")


@pytest.mark.parametrize(
    ("envelope", "cls", "status"),
    [
        (
            '{"Status": 401, "StatusCode": 401, "Response": null, "ErrorMessage": "bad"}',
            AuthenticationError,
            401,
        ),
        ('{"Status": 500, "StatusCode": 500, "Response": null}', ServerError, 500),
        ('{"Status": 200, "StatusCode": 200, "Response": null}', AuthenticationError, 401),
        ('{"ErrorMessage": "Учётная запись заблокирована"}', ErrorEnvelopeError, 200),
    ],
)
async def test_r7_login_envelopes_that_carry_no_token(
    envelope: str, cls: type[Exception], status: int
) -> None:
    async with FakeR7Server() as server:
        server.faults.fail_next(1, 200, body=envelope, path="/api/v2/auth/Login")
        async with R7Client(
            server.url, login="user_test", password="TestPassword", retry=ONCE
        ) as r7:
            with pytest.raises(CalendarError) as caught:
                await r7.calendars.list()
        assert server.requests_to(R7_LIST) == []
    assert type(caught.value) is cls
    assert caught.value.status == status  # type: ignore[attr-defined]


async def test_r7_login_answer_that_does_not_decode_keeps_no_token_on_the_error() -> None:
    leaked = "TOKEN-in-a-broken-answer-0123456789"
    body = (
        '{"Status": 200, "StatusCode": 200, "Response": {"Data": {"Tokens": '
        f'{{"AuthToken": "{leaked}", "ExpiredAt": "not a date"}}}}}}'
    )
    async with FakeR7Server() as server:
        server.faults.fail_next(1, 200, body=body, path="/api/v2/auth/Login")
        async with R7Client(
            server.url, login="user_test", password="TestPassword", retry=ONCE
        ) as r7:
            with pytest.raises(DecodeError) as caught:
                await r7.calendars.list()
    assert "ExpiredAt" in str(caught.value)
    for text in (str(caught.value), repr(caught.value), caught.value.body):
        assert leaked not in text


async def test_r7_answer_over_the_size_limit() -> None:
    async with FakeR7Server() as server:
        async with R7Client(server.url, login="user_test", password="TestPassword") as r7:
            for number in range(20):
                await r7.calendars.create(name=f"calendar {number}")
        # the login answer (~1 kB) fits; a listing of 21 calendars (~12 kB) does not
        async with R7Client(
            server.url, login="user_test", password="TestPassword", max_response_bytes=4000
        ) as small:
            with pytest.raises(ResponseTooLargeError) as caught:
                await small.calendars.list()
        assert len(server.requests_to(R7_LIST)) == 1  # not retried: it would not shrink
    assert caught.value.status == 200
    assert "max_response_bytes=4000" in str(caught.value)


# ---- Pyrus -----------------------------------------------------------------------------


def pyrus_page(pyrus: PyrusClient) -> Awaitable[Any]:
    return pyrus.calendar(T0, T0 + timedelta(days=1))


PYRUS_CASES: list[tuple[str, str, int, str, str, type[Exception], int, str]] = [
    (
        "malformed json",
        "/v4/calendar",
        200,
        '{"tasks": [',
        "application/json",
        DecodeError,
        200,
        "HTTP 200",
    ),
    (
        "wrong type",
        "/v4/calendar",
        200,
        '{"tasks": [{"id": "x"}]}',
        "application/json",
        DecodeError,
        200,
        "$.tasks[0].id",
    ),
    (
        "has_more a string",
        "/v4/calendar",
        200,
        '{"tasks": [], "has_more": "yes"}',
        "application/json",
        DecodeError,
        200,
        "$.has_more",
    ),
    (
        "list instead of object",
        "/v4/calendar",
        200,
        "[]",
        "application/json",
        DecodeError,
        200,
        "object",
    ),
    ("html on 200", "/v4/calendar", 200, HTML, "text/html", DecodeError, 200, "HTTP 200"),
    ("html on 502", "/v4/calendar", 502, HTML, "text/html", ServerError, 502, "Bad Gateway"),
    ("empty on 200", "/v4/calendar", 200, "", "application/json", DecodeError, 200, "empty body"),
    (
        "error envelope on 200",  # decoded as a page it would be an empty calendar
        "/v4/calendar",
        200,
        '{"error_code": "server_error", "error": "Внутренняя ошибка"}',
        "application/json",
        ErrorEnvelopeError,
        200,
        "server_error",
    ),
    (
        "404 with Message",
        "/v4/calendar",
        404,
        '{"Message": "No HTTP resource was found"}',
        "application/json",
        NotFoundError,
        404,
        "No HTTP resource",
    ),
    (
        "auth envelope on 200",
        "/v4/auth",
        200,
        '{"error_code": "invalid_credentials", "error": "Invalid login/secret_key."}',
        "application/json",
        ErrorEnvelopeError,
        200,
        "invalid_credentials",
    ),
    (
        "auth without a token",
        "/v4/auth",
        200,
        '{"api_url": null}',
        "application/json",
        DecodeError,
        200,
        "access_token",
    ),
]


@pytest.mark.parametrize(
    ("path", "status", "body", "content_type", "cls", "error_status", "text"),
    [case[1:] for case in PYRUS_CASES],
    ids=[case[0] for case in PYRUS_CASES],
)
async def test_pyrus_bad_answers(
    path: str,
    status: int,
    body: str,
    content_type: str,
    cls: type[Exception],
    error_status: int,
    text: str,
) -> None:
    async with FakePyrusServer() as server:
        server.faults.fail_next(1, status, body=body, content_type=content_type, path=path)
        async with PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
            retry=ONCE,
        ) as pyrus:
            with pytest.raises(CalendarError) as caught:
                await pyrus_page(pyrus)
    _check_error(caught.value, cls, error_status, text)


async def test_pyrus_answer_over_the_size_limit_while_paging() -> None:
    async with FakePyrusServer() as server:
        from pyrus_calendar import Task

        for task_id in range(1, 200):
            server.add_task(Task(id=task_id, text="x" * 500, due=T0 + timedelta(minutes=task_id)))
        async with PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
            max_response_bytes=20_000,
        ) as pyrus:
            with pytest.raises(ResponseTooLargeError) as caught:
                async for _ in pyrus.iter_calendar(T0, T0 + timedelta(days=1)):
                    pass
    assert caught.value.status == 200
    assert "20000" in str(caught.value)


@pytest.mark.parametrize("unpacked", [200_000, 5_000_000])
async def test_the_size_limit_applies_to_what_a_compressed_answer_unpacks_to(
    unpacked: int,
) -> None:
    # A gzip answer of a few kB that unpacks to megabytes: its Content-Length fits the
    # limit, what it decodes to does not. Final, never retried (it would not shrink).
    import gzip

    from aiohttp import web

    asked: list[str] = []
    body = gzip.compress(b"[" + b" " * unpacked + b"]")

    async def calendars(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(
            body=body, headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )

    app = web.Application()
    app.router.add_get("/api/v1/email/Calendars", calendars)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with R7Client(
            f"http://127.0.0.1:{port}", token="t", max_response_bytes=100_000
        ) as r7:
            with pytest.raises(ResponseTooLargeError, match="max_response_bytes=100000"):
                await r7.calendars.list()
    finally:
        await runner.cleanup()
    assert len(body) < 100_000
    assert asked == ["/api/v1/email/Calendars"]  # one attempt
