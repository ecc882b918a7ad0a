"""FakePyrusServer behaves like the real API: filter bits, cut-off, tokens, headers, and the
official synchronous ``pyrus-api`` client can use it."""

from __future__ import annotations

import asyncio
import operator
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from pyrus_calendar import CalendarFilter, FormField, Meeting, Task
from pyrus_calendar.testing import FakePyrusServer
from pyrus_calendar.testing.fake import BOUNDS, Bounds

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


# ---- the behaviours the API leaves open -----------------------------------------------------

NOON = DAY + timedelta(hours=12)
WINDOW_START, WINDOW_END = TEN, NOON
# which of a moment on the start, inside, on the end each rule keeps
KEPT = {
    "closed": ["start", "inside", "end"],
    "half_open": ["start", "inside"],
    "open_closed": ["inside", "end"],
    "open": ["inside"],
}


def _moments() -> dict[str, datetime]:
    return {"start": WINDOW_START, "inside": ELEVEN, "end": WINDOW_END}


@pytest.mark.parametrize("rule", sorted(KEPT))
async def test_time_bounds_rule_for_every_time_bit_and_meetings(rule: Bounds) -> None:
    async with FakePyrusServer(time_bounds=rule) as server:
        ids = {}
        for n, (where, moment) in enumerate(_moments().items()):
            ids[where] = (10 + n, 20 + n, 30 + n, 40 + n)
            server.add_task(Task(id=10 + n, due=moment))
            server.add_task(Task(id=20 + n), step_due=moment)
            server.add_task(Task(id=30 + n), reminders=[moment])
            server.add_meeting(Meeting(id=40 + n, start_time=moment))
        async with client_for(server) as client:
            answers = {
                bit: await client.calendar(
                    WINDOW_START, WINDOW_END, filters=bit, include_meetings=True
                )
                for bit in (F.DUE, F.DUE_FOR_CURRENT_STEP, F.REMINDED)
            }
    for column, bit in enumerate((F.DUE, F.DUE_FOR_CURRENT_STEP, F.REMINDED)):
        assert sorted(t.id for t in answers[bit].tasks) == [ids[w][column] for w in KEPT[rule]]
    assert sorted(m.id for m in answers[F.DUE].meetings) == [ids[w][3] for w in KEPT[rule]]


@pytest.mark.parametrize("rule", sorted(KEPT))
async def test_due_date_bounds_rule_counts_the_window_dates(rule: Bounds) -> None:
    days = {"start": date(2024, 5, 1), "inside": date(2024, 5, 2), "end": date(2024, 5, 3)}
    async with FakePyrusServer(due_date_bounds=rule) as server:
        for n, day in enumerate(days.values()):
            server.add_task(Task(id=n + 1, due_date=day))
        server.add_task(Task(id=9, due_date=date(2024, 5, 4)))
        async with client_for(server) as client:
            # the time of day does not matter, only the dates of start and end
            page = await client.calendar(
                DAY + timedelta(hours=23), DAY + timedelta(days=2, hours=1), filters=F.DUE_DATE
            )
    expected = [list(days).index(where) + 1 for where in KEPT[rule]]
    assert sorted(t.id for t in page.tasks) == expected


async def test_default_rules_are_half_open_times_and_closed_dates(
    server: FakePyrusServer,
) -> None:
    assert (server.time_bounds, server.due_date_bounds) == ("half_open", "closed")
    assert (server.has_more, server.meetings_capped) == ("after_access", False)


async def test_has_more_before_access_counts_tasks_the_user_cannot_see() -> None:
    async with FakePyrusServer(has_more="before_access") as server:
        for i in range(1, 131):  # all at one second: no split can separate them
            server.add_task(Task(id=i, due=TEN), involved=i <= 5)
        async with client_for(server) as client:
            lying = await client.calendar(TEN, ELEVEN, item_count=100)
            one_second = await client.calendar(TEN, TEN + timedelta(seconds=1), item_count=100)
            everything = await client.calendar(TEN, ELEVEN, item_count=100, all_accessed_tasks=True)
            server.has_more = "after_access"
            honest = await client.calendar(TEN, ELEVEN, item_count=100)
    assert ([t.id for t in lying.tasks], lying.has_more) == ([1, 2, 3, 4, 5], True)
    assert (len(one_second.tasks), one_second.has_more) == (5, True)
    assert (len(everything.tasks), everything.has_more) == (100, True)
    assert (len(honest.tasks), honest.has_more) == (5, False)


async def test_meetings_capped_cuts_meetings_and_says_has_more(server: FakePyrusServer) -> None:
    server.add_task(Task(id=1, due=TEN))
    for i in range(1, 6):
        server.add_meeting(Meeting(id=i, start_time=TEN + timedelta(minutes=i)))
    async with client_for(server) as client:
        uncapped = await client.calendar(TEN, ELEVEN, item_count=3, include_meetings=True)
        server.meetings_capped = True
        capped = await client.calendar(TEN, ELEVEN, item_count=3, include_meetings=True)
        enough = await client.calendar(TEN, ELEVEN, item_count=5, include_meetings=True)
    assert ([m.id for m in uncapped.meetings], uncapped.has_more) == ([1, 2, 3, 4, 5], False)
    assert ([m.id for m in capped.meetings], capped.has_more) == ([1, 2, 3], True)
    assert (len(enough.meetings), enough.has_more) == (5, False)


async def test_order_applies_to_meetings_too(server: FakePyrusServer) -> None:
    server.add_meeting(Meeting(id=1, start_time=ELEVEN))
    server.add_meeting(Meeting(id=2, start_time=TEN))
    server.order = "due"
    async with client_for(server) as client:
        by_start = await client.calendar(TEN, NOON, include_meetings=True)
        server.order = "reverse"
        reverse = await client.calendar(TEN, NOON, include_meetings=True)
    assert [m.id for m in by_start.meetings] == [2, 1]
    assert [m.id for m in reverse.meetings] == [2, 1]
    server.order = "id"
    assert server.selects_meetings(TEN, NOON) == {1, 2}


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("time_bounds", "inclusive", ValueError),
        ("due_date_bounds", "half-open", ValueError),
        ("has_more", "never", ValueError),
        ("order", "random", ValueError),
        ("meetings_capped", "yes", TypeError),
    ],
)
def test_switches_refuse_unknown_values(name: str, value: str, error: type[Exception]) -> None:
    with pytest.raises(error, match=name):
        FakePyrusServer(**{name: value})
    server = FakePyrusServer()
    with pytest.raises(error, match=name):
        setattr(server, name, value)
    if error is ValueError:
        with pytest.raises(ValueError, match=repr(value)):
            setattr(server, name, value)


async def test_switches_take_effect_on_a_running_server(server: FakePyrusServer) -> None:
    server.add_task(Task(id=1, due=ELEVEN))
    async with client_for(server) as client:
        before = await client.calendar(TEN, ELEVEN)
        server.time_bounds = "closed"
        after = await client.calendar(TEN, ELEVEN)
    assert ([t.id for t in before.tasks], [t.id for t in after.tasks]) == ([], [1])


# ---- moving tasks -------------------------------------------------------------------------


async def test_add_task_again_replaces_it_and_counts_it_as_inserted_last(
    server: FakePyrusServer,
) -> None:
    server.order = "insertion"
    server.add_task(task_due(1, TEN))
    server.add_task(task_due(2, TEN))
    server.add_task(Task(id=1, due=ELEVEN, text="moved"))
    async with client_for(server) as client:
        ten = await client.calendar(TEN, TEN + timedelta(minutes=1))
        day = await client.calendar(DAY, NEXT_DAY)
    assert [t.id for t in ten.tasks] == [2]
    assert [(t.id, t.text) for t in day.tasks] == [(2, "task 2"), (1, "moved")]


async def test_move_task_changes_deadlines_and_keeps_the_rest(server: FakePyrusServer) -> None:
    server.order = "insertion"
    server.add_task({"id": 1, "due": "2024-05-01T10:00:00Z", "subject": "kept"})
    server.add_task(task_due(2, TEN))
    server.move_task(1, due=NOON + timedelta(hours=1), due_date=date(2024, 5, 3))
    async with client_for(server) as client:
        ten = await client.calendar(TEN, ELEVEN)
        afternoon = await client.calendar(NOON, NOON + timedelta(hours=2))
        by_date = await client.calendar(
            DAY + timedelta(days=2), DAY + timedelta(days=2, hours=1), filters=F.DUE_DATE
        )
        server.move_task(1, due=None)
        gone = await client.calendar(DAY, NEXT_DAY)
    assert [t.id for t in ten.tasks] == [2]
    [moved] = afternoon.tasks
    assert (moved.due, moved.due_date, moved.subject) == (
        NOON + timedelta(hours=1),
        date(2024, 5, 3),
        "kept",
    )
    assert [t.id for t in by_date.tasks] == [1]
    assert [t.id for t in gone.tasks] == [2]
    assert server.selects(DAY, NEXT_DAY, F.ALL) == {2}


async def test_move_task_after_requests_moves_it_mid_walk(server: FakePyrusServer) -> None:
    server.add_task(Task(id=1), step_due=TEN, reminders=[TEN])
    server.move_task(1, step_due=NOON, reminders=[], after_requests=2)
    async with client_for(server) as client:
        pages = [await client.calendar(TEN, ELEVEN, filters=F.ALL) for _ in range(3)]
    assert [[t.id for t in page.tasks] for page in pages] == [[1], [1], []]
    assert server.selects(NOON, NOON + timedelta(seconds=1), F.DUE_FOR_CURRENT_STEP) == {1}
    assert server.selects(TEN, ELEVEN, F.REMINDED) == frozenset()


def test_move_task_refuses_bad_arguments() -> None:
    server = FakePyrusServer()
    server.add_task(Task(id=1, due=TEN))
    with pytest.raises(ValueError, match="task_id 2"):
        server.move_task(2, due=TEN)
    with pytest.raises(ValueError, match="due"):
        server.move_task(1, due=datetime(2024, 5, 1, 10))
    with pytest.raises(TypeError, match="due_date"):
        server.move_task(1, due_date=TEN)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="after_requests"):
        server.move_task(1, due=TEN, after_requests=-1)
    assert server.selects(TEN, ELEVEN) == {1}


# ---- the matcher as a pure function ---------------------------------------------------------


RULES = {
    "closed": (operator.le, operator.le),
    "half_open": (operator.le, operator.lt),
    "open_closed": (operator.lt, operator.le),
    "open": (operator.lt, operator.lt),
}


def _within(rule: Bounds, low: Any, value: Any, high: Any) -> bool:
    above, below = RULES[rule]
    return bool(above(low, value) and below(value, high))


@pytest.mark.parametrize("time_rule", BOUNDS)
@pytest.mark.parametrize("date_rule", BOUNDS)
async def test_server_and_selects_follow_the_rules_written_out(
    time_rule: Bounds, date_rule: Bounds
) -> None:
    rng = random.Random(f"{time_rule}/{date_rule}")
    # (id, bit, moments or day, involved): the rules below are this test's own
    stored: list[tuple[int, CalendarFilter, list[Any], bool]] = []
    async with FakePyrusServer(time_bounds=time_rule, due_date_bounds=date_rule, seed=3) as server:
        for i in range(1, 81):
            # whole minutes, so windows often start or end exactly on a moment
            moment = DAY + timedelta(minutes=rng.randrange(3 * 24 * 60))
            kind, involved = i % 4, rng.random() < 0.8
            if kind == 0:
                server.add_task(Task(id=i, due=moment), involved=involved)
                stored.append((i, F.DUE, [moment], involved))
            elif kind == 1:
                server.add_task(Task(id=i, due_date=moment.date()), involved=involved)
                stored.append((i, F.DUE_DATE, [moment.date()], involved))
            elif kind == 2:
                server.add_task(Task(id=i), step_due=moment, involved=involved)
                stored.append((i, F.DUE_FOR_CURRENT_STEP, [moment], involved))
            else:
                later = moment + timedelta(hours=5)
                server.add_task(Task(id=i), reminders=[moment, later], involved=involved)
                stored.append((i, F.REMINDED, [moment, later], involved))
        moments = [v for *_, values, _ in stored for v in values if isinstance(v, datetime)]
        async with client_for(server) as client:
            for _ in range(40):
                # windows that start or end on a stored moment, and windows that do not
                start = rng.choice(moments) + rng.choice([timedelta(0), -timedelta(hours=1)])
                end = start + timedelta(minutes=rng.choice([1, 60, 24 * 60]))
                mask = rng.randrange(1, 16)
                visible = rng.random() < 0.5
                expected = {
                    task_id
                    for task_id, bit, values, involved in stored
                    if mask & bit
                    and (involved or visible)
                    and any(
                        _within(date_rule, start.date(), v, end.date())
                        if bit is F.DUE_DATE
                        else _within(time_rule, start, v, end)
                        for v in values
                    )
                }
                page = await client.calendar(
                    start, end, filters=CalendarFilter(mask), all_accessed_tasks=visible
                )
                assert not page.has_more
                assert {t.id for t in page.tasks} == expected
                assert server.selects(start, end, mask, all_accessed=visible) == expected


def test_selects_refuses_bad_arguments() -> None:
    server = FakePyrusServer()
    with pytest.raises(ValueError, match="start"):
        server.selects(datetime(2024, 5, 1), NEXT_DAY)
    with pytest.raises(ValueError, match="mask"):
        server.selects(DAY, NEXT_DAY, 16)
    with pytest.raises(TypeError, match="all_accessed"):
        server.selects(DAY, NEXT_DAY, all_accessed=1)  # type: ignore[arg-type]
