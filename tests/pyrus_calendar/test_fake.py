"""FakePyrusServer behaves like the real API: filter bits, cut-off, tokens, headers, and the
official synchronous ``pyrus-api`` client can use it."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from pyrus_calendar import CalendarFilter, FakePyrusServer, FormField, Meeting, Task

from .support import DAY, NEXT_DAY, client_for, task_due

F = CalendarFilter
TEN = DAY + timedelta(hours=10)
ELEVEN = DAY + timedelta(hours=11)


@pytest.fixture
def bits(server: FakePyrusServer) -> FakePyrusServer:
    server.add_task(Task(id=1, due=TEN + timedelta(minutes=5)))
    server.add_task(Task(id=2, due_date=DAY.date()))  # a day deadline, no time
    server.add_task(Task(id=3), step_due=TEN + timedelta(minutes=10))
    server.add_task(Task(id=4), reminders=[TEN + timedelta(minutes=15)])
    server.add_task(Task(id=5, due=DAY + timedelta(hours=15), due_date=date(2024, 5, 2)))
    return server


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        (F.DUE, [1]),
        (F.DUE_DATE, [2]),  # the time of the window does not matter, only its date
        (F.DUE_FOR_CURRENT_STEP, [3]),
        (F.REMINDED, [4]),
        (F.DUE | F.REMINDED, [1, 4]),
        (F.ALL, [1, 2, 3, 4]),
    ],
)
async def test_each_filter_bit_selects_by_its_meaning(
    bits: FakePyrusServer, mask: CalendarFilter, expected: list[int]
) -> None:
    async with client_for(bits) as client:
        page = await client.calendar(TEN, ELEVEN, filters=mask)
    assert sorted(t.id for t in page.tasks) == expected


async def test_item_count_cut_and_orders(server: FakePyrusServer) -> None:
    server.add_tasks(task_due(i, TEN + timedelta(minutes=i)) for i in range(1, 31))
    async with client_for(server) as client:
        cut = await client.calendar(DAY, NEXT_DAY, item_count=10)
        assert ([t.id for t in cut.tasks], cut.has_more) == (list(range(1, 11)), True)
        exact = await client.calendar(DAY, NEXT_DAY, item_count=30)
        assert exact.has_more is False
        server.order = "reverse"
        assert [t.id for t in (await client.calendar(DAY, NEXT_DAY, item_count=3)).tasks] == [
            30,
            29,
            28,
        ]
        server.order = "shuffled"
        first = [t.id for t in (await client.calendar(DAY, NEXT_DAY)).tasks]
        second = [t.id for t in (await client.calendar(DAY, NEXT_DAY)).tasks]
    assert sorted(first) == sorted(second) == list(range(1, 31))
    assert first != second
    with pytest.raises(ValueError, match="order must be one of"):
        server.order = "random"  # type: ignore[assignment]


async def test_meetings_only_when_asked(server: FakePyrusServer) -> None:
    server.add_meeting(Meeting(id=8, start_time=TEN, duration=15))
    server.add_meeting({"id": 9, "start_time": "2024-05-03T10:00:00Z"})
    async with client_for(server) as client:
        without = await client.calendar(DAY, NEXT_DAY)
        with_meetings = await client.calendar(DAY, NEXT_DAY, include_meetings=True)
    assert without.meetings == []
    assert [m.id for m in with_meetings.meetings] == [8]


async def test_dict_tasks_are_served_as_given(server: FakePyrusServer) -> None:
    wire: dict[str, Any] = {
        "id": 70,
        "due": "2024-05-01T10:00:00Z",
        "fields": [{"id": 1, "type": "brand_new", "value": [1, 2]}],
        "extra_key": "kept",
    }
    server.add_task(wire)
    async with aiohttp.ClientSession() as session, client_for(server) as client:
        await client.login()
        token = client.token
        async with session.get(
            f"{server.api_url}calendar",
            params={"start_date_utc": "2024-05-01T00:00Z", "end_date_utc": "2024-05-02T00:00Z"},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            body = await response.json()
            headers = response.headers
    assert body == {"tasks": [wire], "has_more": False}
    assert headers["X-RateLimit-Limit"] == "5000"
    assert headers["X-RateLimit-Remaining"] == "4999"
    assert int(headers["X-RateLimit-Reset"]) <= 600


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "token_not_specified"),
        ({"Authorization": "Bearer nope"}, "invalid_token"),
        ({"Authorization": "Basic abc"}, "invalid_token"),
    ],
)
async def test_token_errors(server: FakePyrusServer, headers: dict[str, str], code: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.api_url}calendar", headers=headers) as response,
    ):
        assert response.status == 401
        assert (await response.json())["error_code"] == code


async def test_bad_parameters_are_400(server: FakePyrusServer) -> None:
    async with client_for(server) as client:
        await client.login()
        token = client.token
    async with aiohttp.ClientSession() as session:
        for params in (
            {"start_date_utc": "yesterday", "end_date_utc": "2024-05-02T00:00:00Z"},
            {
                "start_date_utc": "2024-05-01T00:00:00Z",
                "end_date_utc": "2024-05-02T00:00:00Z",
                "item_count": "101",
            },
        ):
            async with session.get(
                f"{server.api_url}calendar",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                assert response.status == 400
                assert (await response.json())["error_code"] == "invalid_request"


async def test_max_tokens_pushes_old_tokens_out() -> None:
    async with FakePyrusServer(max_tokens=1) as server:
        async with client_for(server) as first, client_for(server) as second:
            await first.calendar(DAY, NEXT_DAY)
            await second.calendar(DAY, NEXT_DAY)  # revokes the first client's token
            await first.calendar(DAY, NEXT_DAY)  # which logs in again
        assert first.stats.logins == 2
        assert server.counters.logins == 3


def read_with_official_client(port: str) -> tuple[Any, Any]:
    from pyrus import client as pyrus_client  # type: ignore[import-untyped]
    from pyrus.models import requests as pyrus_requests  # type: ignore[import-untyped]

    api = pyrus_client.PyrusAPI(
        login=FakePyrusServer.DEFAULT_LOGIN, security_key=FakePyrusServer.DEFAULT_SECURITY_KEY
    )
    # The official client always speaks https to fixed hosts; aim it at the loopback fake.
    api._protocol = "http"
    api._auth_host = f"127.0.0.1:{port}/api"
    auth = api.auth()
    calendar = api.get_calendar_tasks(
        pyrus_requests.CalendarRequest(
            datetime(2024, 5, 1), datetime(2024, 5, 2), item_count=2, include_meetings=True
        )
    )
    return auth, calendar


@pytest.mark.filterwarnings("ignore:keys will default to True:DeprecationWarning")
async def test_official_pyrus_api_client_reads_the_fake(
    server: FakePyrusServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyrus")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for i in range(1, 4):
        server.add_task(
            Task(
                id=i,
                text=f"task {i}",
                create_date=DAY,
                due=TEN + timedelta(minutes=i),
                fields=[FormField.of("date", date(2024, 5, 9), id=1, name="Дата")],
            )
        )
    server.add_meeting(Meeting(id=5, start_time=ELEVEN, duration=30))
    port = server.url.rsplit(":", 1)[1]
    auth, calendar = await asyncio.to_thread(read_with_official_client, port)
    assert auth.success is True
    assert auth.api_url == server.api_url
    assert calendar.error_code is None
    assert calendar.has_more is True
    assert [t.id for t in calendar.tasks] == [1, 2]
    assert calendar.tasks[0].due == TEN + timedelta(minutes=1)
    assert calendar.tasks[0].fields[0].value == datetime(2024, 5, 9, tzinfo=UTC)
    assert [m.id for m in calendar.meetings] == [5]
    assert len(server.requests_to("/api/v4/auth")) == 1
