"""The programs in ``examples/``, run against the fakes as a newcomer would run them."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import aiohttp
import icalendar
import pytest

from calendar_watch import Change
from examples import demo, due_soon_service, today_bot
from pyrus_calendar import Meeting, MeetingJoinParameters, PyrusClient, Task
from pyrus_calendar.testing import FakePyrusServer
from pyrus_calendar.testing import demo as pyrus_demo
from r7cal import Event, R7Client, RetryPolicy
from r7cal.testing import FakeR7Server
from r7cal.testing import demo as r7_demo

NO_RETRY = RetryPolicy(attempts=1)

# ---- make demo -----------------------------------------------------------------------------


async def test_demo_runs_both_backends_and_writes_one_ics(tmp_path: Path) -> None:
    out = io.StringIO()
    path = tmp_path / "nested" / "week.ics"
    result = await demo.run_demo(path, out)
    text = out.getvalue()
    names = {event.name for event in result.r7_events}
    assert {"Launch rehearsal", "Press briefing", "Launch day", "Check the slides"} <= names
    assert "shared it with Bob" in text
    assert "logged in as" in text
    assert result.pyrus_tasks == pyrus_demo.TASKS  # every task of the month, each once
    assert result.pyrus_requests >= 4  # the month did not fit in one answer
    exported = len(result.r7_events) + len(result.week_tasks) + len(result.week_meetings)
    assert f"wrote {exported} events of the week to {path}" in text
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    uids = [str(event["uid"]) for event in calendar.walk("VEVENT")]
    assert len(uids) == len(set(uids)) == exported


def test_demo_main_prints_the_path_and_the_next_steps(tmp_path: Path) -> None:
    out = io.StringIO()
    assert demo.main(["--output", str(tmp_path / "x.ics")], out=out) == 0
    assert str(tmp_path / "x.ics") in out.getvalue()
    assert "python -m r7cal --demo" in out.getvalue()


# ---- the bot command -----------------------------------------------------------------------

WEDNESDAY = date(2026, 11, 18)
NOW = datetime(2026, 11, 18, 8, 0, tzinfo=UTC)


@dataclass
class BotWorld:
    service: today_bot.TodayService
    session: aiohttp.ClientSession
    r7_server: FakeR7Server


@pytest.fixture
async def world() -> AsyncIterator[BotWorld]:
    """The /today service on one shared session, against both fakes with sample data."""
    async with (
        r7_demo.demo_server() as r7_server,
        pyrus_demo.demo_server() as pyrus_server,
        aiohttp.ClientSession() as session,
    ):
        await r7_demo.seed(r7_server, today=WEDNESDAY, zone=UTC)
        pyrus_demo.seed(pyrus_server, now=NOW)
        pyrus_server.add_meeting(
            Meeting(
                id=9001,
                type="Zoom",
                start_time=NOW + timedelta(hours=3),
                duration=30,
                join_parameters=MeetingJoinParameters(url="https://meet.example.com/j/9001"),
            )
        )
        settings = today_bot.Settings(
            r7_base_url=r7_server.url,
            pyrus_base_url=pyrus_server.api_url,
            pyrus_login=pyrus_server.DEFAULT_LOGIN,
            pyrus_security_key=pyrus_server.DEFAULT_SECURITY_KEY,
            retry=NO_RETRY,
        )
        accounts = {42: today_bot.Account("alice", r7_demo.DEMO_USERS["alice"])}
        service = today_bot.TodayService(settings, accounts, session, clock=lambda: NOW)
        try:
            yield BotWorld(service, session, r7_server)
        finally:
            await service.aclose()


async def test_today_answers_from_both_backends(world: BotWorld) -> None:
    service, session = world.service, world.session
    answer = await service.today_for(42)
    lines = answer.splitlines()
    assert lines[0] == "Today, Wed 18 Nov:"
    assert "  09:30-09:45  Daily standup (R7)" in lines
    assert "  10:00-10:30  Release train (R7)" in lines  # dave's, shared with alice
    assert "  all day  On call: Bob (R7)" in lines
    assert "  11:00-11:30  Zoom meeting: https://meet.example.com/j/9001 (Pyrus)" in lines
    assert any(line.startswith("  08:15  #10001 ") for line in lines)  # due in 15 minutes
    # One list, all-day entries first, then by time, whichever backend they came from.
    timed = [line.split()[0] for line in lines[1:] if not line.startswith("  all day")]
    assert timed == sorted(timed)
    assert lines.index("  all day  On call: Bob (R7)") < lines.index(
        "  09:30-09:45  Daily standup (R7)"
    )
    # Asked again: the same answer, on the same clients and the same (still open) session.
    assert await service.today_for(42) == answer
    await service.aclose()
    assert not session.closed


async def test_unknown_user_is_told_to_link_accounts(world: BotWorld) -> None:
    assert "link your accounts" in await world.service.today_for(7)


async def test_one_backend_down_still_answers_from_the_other(world: BotWorld) -> None:
    world.r7_server.faults.fail_next(5, 503)
    answer = await world.service.today_for(42)
    assert "R7: unavailable right now (it answered with an error)" in answer
    assert "Zoom meeting" in answer


def test_the_bot_example_runs_without_aiogram(capsys: pytest.CaptureFixture[str]) -> None:
    assert today_bot.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("/today\nToday, ")
    assert "Pyrus" in out


# ---- the service loop ----------------------------------------------------------------------


class FakeClock:
    """A clock the test moves; ``sleep`` advances it instead of waiting."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def pyrus_server() -> AsyncIterator[FakePyrusServer]:
    async with FakePyrusServer(order="shuffled", seed=2) as server:
        yield server


def _client(server: FakePyrusServer) -> PyrusClient:
    return PyrusClient(
        base_url=server.api_url,
        login=server.DEFAULT_LOGIN,
        security_key=server.DEFAULT_SECURITY_KEY,
        retry=NO_RETRY,
    )


async def test_service_reports_each_task_once_as_it_comes_within_the_hour(
    pyrus_server: FakePyrusServer,
) -> None:
    clock = FakeClock(NOW)
    for task_id, minutes in ((1, 20), (2, 50), (3, 80), (4, 200)):
        pyrus_server.add_task(
            Task(id=task_id, subject=f"T{task_id}", due=NOW + timedelta(minutes=minutes))
        )
    pyrus_server.add_task(
        Task(id=5, subject="done", due=NOW + timedelta(minutes=5), is_closed=True)
    )
    reported: list[tuple[datetime, int]] = []

    async def report(task: Task) -> None:
        reported.append((clock.now, task.id))

    async with _client(pyrus_server) as pyrus:
        service = due_soon_service.DueSoonService(pyrus, report, clock=clock)
        count = await due_soon_service.run(service, interval=1800, iterations=4, sleep=clock.sleep)

    assert sorted(reported) == [(NOW, 1), (NOW, 2), (NOW + timedelta(minutes=30), 3)]
    assert count == 3
    assert clock.sleeps == [1800, 1800, 1800]  # no sleep after the last poll


async def test_service_reports_a_moved_deadline_again_and_not_other_edits(
    pyrus_server: FakePyrusServer,
) -> None:
    clock = FakeClock(NOW)
    pyrus_server.add_task(Task(id=1, subject="T", due=NOW + timedelta(minutes=30)))
    reported: list[tuple[int, datetime | None]] = []

    async def report(task: Task) -> None:
        reported.append((task.id, task.due))

    async def edit(seconds: float) -> None:
        await clock.sleep(seconds)
        if len(clock.sleeps) == 1:  # between the first and the second poll: a new subject
            pyrus_server.add_task(Task(id=1, subject="T!", due=NOW + timedelta(minutes=30)))
        elif len(clock.sleeps) == 2:  # then a moved deadline
            pyrus_server.add_task(Task(id=1, subject="T!", due=NOW + timedelta(minutes=40)))

    async with _client(pyrus_server) as pyrus:
        service = due_soon_service.DueSoonService(pyrus, report, clock=clock)
        await due_soon_service.run(service, interval=60, iterations=3, sleep=edit)
    assert reported == [(1, NOW + timedelta(minutes=30)), (1, NOW + timedelta(minutes=40))]


async def test_service_keeps_going_after_a_failed_poll(
    pyrus_server: FakePyrusServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(NOW)
    pyrus_server.add_task(Task(id=1, subject="T", due=NOW + timedelta(minutes=30)))
    reported: list[int] = []

    async def report(task: Task) -> None:
        reported.append(task.id)

    async with _client(pyrus_server) as pyrus:
        await pyrus.login()
        pyrus_server.faults.fail_next(1, 503, path="/v4/calendar")
        service = due_soon_service.DueSoonService(pyrus, report, clock=clock)
        await due_soon_service.run(service, interval=60, iterations=2, sleep=clock.sleep)
    assert reported == [1]  # found by the second poll
    assert "skipped" in caplog.text


async def test_service_with_a_state_file_reports_nothing_twice_across_restarts(
    pyrus_server: FakePyrusServer, tmp_path: Path
) -> None:
    state = tmp_path / "due.sqlite"
    clock = FakeClock(NOW)
    pyrus_server.add_task(Task(id=1, subject="T", due=NOW + timedelta(minutes=30)))
    reported: list[int] = []

    async def report(task: Task) -> None:
        reported.append(task.id)

    async with _client(pyrus_server) as pyrus:
        service = due_soon_service.DueSoonService(pyrus, report, state=state, clock=clock)
        await due_soon_service.run(service, interval=60, iterations=1, sleep=clock.sleep)
        # while the service is down, another task comes within the hour
        pyrus_server.add_task(Task(id=2, subject="U", due=NOW + timedelta(minutes=45)))
        restarted = due_soon_service.DueSoonService(pyrus, report, state=state, clock=clock)
        await due_soon_service.run(restarted, interval=60, iterations=1, sleep=clock.sleep)
    assert reported == [1, 2]


async def test_service_crash_while_reporting_repeats_that_one_report(
    pyrus_server: FakePyrusServer, tmp_path: Path
) -> None:
    state = tmp_path / "due.sqlite"
    clock = FakeClock(NOW)
    for task_id in (1, 2, 3):
        pyrus_server.add_task(Task(id=task_id, subject="T", due=NOW + timedelta(minutes=task_id)))
    reported: list[int] = []

    async def flaky(task: Task) -> None:
        if len(reported) == 1:
            raise ConnectionError("the chat is down")
        reported.append(task.id)

    async def report(task: Task) -> None:
        reported.append(task.id)

    async with _client(pyrus_server) as pyrus:
        service = due_soon_service.DueSoonService(pyrus, flaky, state=state, clock=clock)
        with pytest.raises(ConnectionError):
            await due_soon_service.run(service, interval=60, iterations=1, sleep=clock.sleep)
        restarted = due_soon_service.DueSoonService(pyrus, report, state=state, clock=clock)
        await due_soon_service.run(restarted, interval=60, iterations=1, sleep=clock.sleep)
    assert sorted(reported) == [1, 2, 3]  # the failed one came again, none twice
    assert len(reported) == 3


def test_the_service_example_runs_against_the_fake(capsys: pytest.CaptureFixture[str]) -> None:
    assert due_soon_service.main(["--interval", "0.01", "--iterations", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3  # the demo's three tasks due within the hour, reported once
    assert all(line.startswith("due at ") for line in lines)


@pytest.mark.parametrize("hour", range(24))
def test_the_demo_has_exactly_its_due_soon_tasks_at_any_hour(hour: int) -> None:
    now = datetime(2026, 12, 1, hour, 40, tzinfo=UTC)
    server = FakePyrusServer()
    data = pyrus_demo.seed(server, now=now)
    soon = [
        stored.id
        for stored in server._tasks.values()
        if stored.due is not None and now <= stored.due <= now + timedelta(hours=1)
    ]
    assert len(soon) == data.due_within_hour


# ---- the bot's change notifier -------------------------------------------------------------


async def test_the_notifier_tells_users_of_new_and_cancelled_events() -> None:
    login, password = "alice", "Alice-Passw0rd"
    clock = FakeClock(NOW)
    messages: list[tuple[int, str]] = []
    polls = 0
    async with (
        FakeR7Server(users={login: password}) as server,
        aiohttp.ClientSession() as session,
        R7Client(server.url, login=login, password=password) as r7,
    ):
        hour = timedelta(hours=1)
        standup = await r7.events.create(NOW + hour, NOW + 1.25 * hour, name="Standup")
        settings = today_bot.Settings(r7_base_url=server.url, retry=NO_RETRY)
        accounts = {42: today_bot.Account(login, password), 7: today_bot.Account()}
        service = today_bot.TodayService(settings, accounts, session, clock=clock)

        async def notify(user_id: int, text: str) -> None:
            messages.append((user_id, text))

        async def pace(seconds: float) -> None:
            nonlocal polls
            polls += 1
            await clock.sleep(seconds)
            if polls == 1:  # between the first and the second poll
                await r7.events.create(NOW + 3 * hour, NOW + 4 * hour, name="Retro")
                await r7.events.delete(standup.id)
            elif polls == 2:  # every change of the second poll was sent: stop
                notifier.runner.stop()
                await asyncio.Event().wait()

        notifier = today_bot.ChangeNotifier(service, notify, interval=60, clock=clock, sleep=pace)
        try:
            await asyncio.wait_for(notifier.runner.run(), 30)
        finally:
            await service.aclose()
    assert messages == [
        (42, "New: Standup, Wed 18 Nov 09:00"),
        (42, "New: Retro, Wed 18 Nov 11:00"),
        (42, "Cancelled: Standup, Wed 18 Nov 09:00"),
    ]  # user 7 has no R7 account: no watch, no message
    assert notifier.runner.names == ("user-42",)
    assert clock.sleeps == [60, 60]


def test_the_notifier_says_when_an_event_moved() -> None:
    accounts = {1: today_bot.Account("u", "p")}
    service = today_bot.TodayService(today_bot.Settings(), accounts, session=None)  # type: ignore[arg-type]
    notifier = today_bot.ChangeNotifier(service, _never)
    before = Event(id=1, name="Review", start_date=NOW, end_date=NOW + timedelta(hours=1))
    after = Event(
        id=1, name="Review", start_date=NOW + timedelta(hours=2), end_date=NOW + timedelta(hours=3)
    )
    moved = Change("changed", after, before, "event:1@2", NOW)
    assert notifier.message(moved) == "Moved: Review, from Wed 18 Nov 08:00 to Wed 18 Nov 10:00"
    renamed = Change("changed", after, after, "event:1@3", NOW)
    assert notifier.message(renamed) == "Changed: Review, Wed 18 Nov 10:00"


async def _never(user_id: int, text: str) -> None:
    raise AssertionError("not sent in this test")
