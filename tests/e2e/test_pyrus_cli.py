"""``pyrus-calendar`` against a fake Pyrus server, as a person at a shell would use it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from calendar_cli import common as cli
from pyrus_calendar import Meeting, MeetingJoinParameters, PyrusClient, Task
from pyrus_calendar.testing import FakePyrusServer

from .conftest import Runner
from .support import Background, Terminal, served

START = datetime(2026, 12, 1, tzinfo=UTC)
WINDOW = ("--from", "2026-12-01T00:00Z", "--to", "2026-12-08T00:00Z")


@pytest.fixture
def served_pyrus(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakePyrusServer, Background]]:
    """A fake Pyrus server (shuffled answers) on a background loop, with env credentials."""
    with served(FakePyrusServer(order="shuffled", seed=3)) as (fake, background):
        monkeypatch.setenv("PYRUS_BASE_URL", fake.api_url)
        monkeypatch.setenv("PYRUS_LOGIN", fake.DEFAULT_LOGIN)
        monkeypatch.setenv("PYRUS_SECURITY_KEY", fake.DEFAULT_SECURITY_KEY)
        yield fake, background


@pytest.fixture
def server(served_pyrus: tuple[FakePyrusServer, Background]) -> FakePyrusServer:
    return served_pyrus[0]


def _ids(text: str) -> list[int]:
    return [int(json.loads(line)["id"]) for line in text.splitlines()]


def test_tasks_follow_has_more_to_the_end(server: FakePyrusServer, pyrus: Runner) -> None:
    for number in range(250):
        server.add_task(
            Task(
                id=number + 1, subject=f"Task {number}", due=START + timedelta(minutes=37 * number)
            )
        )
    run = pyrus("tasks", *WINDOW, "--filter", "due", "--json", "--page-size", "50")
    assert run.code == 0, run
    ids = _ids(run.out)
    assert sorted(ids) == list(range(1, 251))  # every task, each once
    assert server.counters.calendar_requests > 5  # it took several cut pages


def test_filters_and_all_accessed_select_what_the_bits_mean(
    server: FakePyrusServer, pyrus: Runner
) -> None:
    server.add_task(Task(id=1, subject="timed", due=START + timedelta(hours=10)))
    server.add_task(Task(id=2, subject="a day", due_date=date(2026, 12, 2)))
    server.add_task(Task(id=3, subject="step"), step_due=START + timedelta(hours=3))
    server.add_task(Task(id=4, subject="remind"), reminders=[START + timedelta(hours=4)])
    server.add_task(Task(id=5, subject="not mine", due=START + timedelta(hours=5)), involved=False)

    def ids(*extra: str) -> list[int]:
        run = pyrus("tasks", *WINDOW, "--json", *extra)
        assert run.code == 0, run
        return sorted(_ids(run.out))

    assert ids() == [1, 2, 3]  # the default: due, due_date, due_for_current_step
    assert ids("--filter", "due") == [1]
    assert ids("--filter", "due,due_date") == [1, 2]
    assert ids("--filter", "reminded") == [4]
    assert ids("--filter", "all", "--all-accessed") == [1, 2, 3, 4, 5]


def test_tasks_table_is_sorted_by_deadline(server: FakePyrusServer, pyrus: Runner) -> None:
    server.add_task(Task(id=7, subject="Later", due=START + timedelta(days=2, hours=9)))
    server.add_task(Task(id=8, subject="Sooner", due=START + timedelta(hours=9), is_closed=True))
    run = pyrus("tasks", *WINDOW)
    lines = run.out.splitlines()
    assert lines[0].split() == ["DUE", "ID", "TASK", "RESPONSIBLE", "STATE"]
    assert ["Sooner" in lines[2], "Later" in lines[3]] == [True, True]
    assert "closed" in lines[2]


def test_tasks_ics_round_trips_and_skips_undated(
    server: FakePyrusServer, pyrus: Runner, tmp_path: Path
) -> None:
    due = START + timedelta(hours=9)
    server.add_task(Task(id=11, subject="Call", text="Call the client", due=due, duration=45))
    server.add_task(Task(id=12, subject="Report", due_date=date(2026, 12, 3)))
    server.add_task(Task(id=13, subject="Step only"), step_due=START + timedelta(hours=2))
    path = tmp_path / "tasks.ics"
    run = pyrus("tasks", *WINDOW, "--ics", "-o", str(path))
    assert run.code == 0, run
    assert "1 task left out of the iCalendar file (task 13 has no due or scheduled" in run.err
    assert f"wrote 2 tasks to {path}" in run.err
    events = {
        str(e["uid"]): e for e in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    }
    call = events["pyrus-task-11@pyrus.com"]
    assert call.decoded("dtstart") == due
    assert call.decoded("dtend") == due + timedelta(minutes=45)
    assert str(call["url"]) == "https://pyrus.com/t#id11"
    assert events["pyrus-task-12@pyrus.com"].decoded("dtstart") == date(2026, 12, 3)


def test_meetings_table_json_and_ics(server: FakePyrusServer, pyrus: Runner) -> None:
    url = "https://meet.example.com/j/42"
    server.add_meeting(
        Meeting(
            id=5,
            type="Zoom",
            start_time=START + timedelta(hours=10),
            duration=30,
            join_parameters=MeetingJoinParameters(url=url),
            task_id=11,
        )
    )
    table = pyrus("meetings", *WINDOW)
    assert table.code == 0, table
    assert table.out.splitlines()[0].split() == ["START", "MINUTES", "TYPE", "TASK", "JOIN", "ID"]
    assert url in table.out
    assert _ids(pyrus("meetings", *WINDOW, "--json").out) == [5]
    ics = pyrus("meetings", *WINDOW, "--ics")
    (event,) = icalendar.Calendar.from_ical(ics.out).walk("VEVENT")
    assert str(event["url"]) == url
    assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=30)


def test_a_token_from_the_environment_is_enough(
    served_pyrus: tuple[FakePyrusServer, Background],
    pyrus: Runner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, background = served_pyrus
    server.add_task(Task(id=1, subject="x", due=START + timedelta(hours=1)))

    async def token() -> str:
        async with PyrusClient(
            base_url=server.api_url,
            login=server.DEFAULT_LOGIN,
            security_key=server.DEFAULT_SECURITY_KEY,
        ) as client:
            await client.login()
            assert client.token is not None
            return client.token

    monkeypatch.setenv("PYRUS_TOKEN", background.call(token()))
    monkeypatch.delenv("PYRUS_LOGIN")
    monkeypatch.delenv("PYRUS_SECURITY_KEY")
    run = pyrus("tasks", *WINDOW, "--json")
    assert run.code == 0, run
    assert _ids(run.out) == [1]


def test_wrong_security_key_is_exit_3_and_never_echoed(
    server: FakePyrusServer, pyrus: Runner
) -> None:
    secret = "not-the-Key-0451"
    run = pyrus("tasks", "--security-key", secret)
    assert run.code == cli.EXIT_AUTH
    assert "invalid_credentials" in run.err
    assert run.err.count("\n") == 1
    assert secret not in run.out + run.err


def test_rate_limited_is_exit_5(server: FakePyrusServer, pyrus: Runner) -> None:
    server.set_rate_limit(0, period=30)
    run = pyrus("tasks", "--retries", "0")
    assert run.code == cli.EXIT_RATE_LIMITED
    assert run.err.startswith("pyrus-calendar: rate limited (retry after 30s)")


def test_unreachable_server_is_exit_6(pyrus: Runner, unused_port: int) -> None:
    run = pyrus(
        "tasks",
        "--base-url",
        f"http://127.0.0.1:{unused_port}/v4/",
        "--login",
        "bot",
        "--security-key",
        "k",
        "--retries",
        "0",
    )
    assert run.code == cli.EXIT_NETWORK
    assert run.err.startswith("pyrus-calendar: network error")


def test_bad_input_is_a_usage_error_naming_the_fix(pyrus: Runner) -> None:
    unknown = pyrus("--demo", "tasks", "--filter", "soon")
    assert unknown.code == cli.EXIT_USAGE
    assert "valid names: due, due_date" in unknown.err
    reversed_range = pyrus("--demo", "tasks", "--from", "+7d", "--to", "today")
    assert reversed_range.code == cli.EXIT_USAGE
    assert "--to must be after --from" in reversed_range.err
    no_credentials = pyrus("tasks")
    assert no_credentials.code == cli.EXIT_USAGE
    assert "PYRUS_LOGIN" in no_credentials.err
    assert "PYRUS_SECURITY_KEY" in no_credentials.err


def test_progress_on_stderr_only_at_a_terminal(server: FakePyrusServer, pyrus: Runner) -> None:
    for number in range(30):
        server.add_task(Task(id=number + 1, due=START + timedelta(hours=number)))
    at_terminal = pyrus("tasks", *WINDOW, "--page-size", "10", "--json", stderr=Terminal())
    assert "pages fetched, 30 items so far" in at_terminal.err
    assert pyrus("tasks", *WINDOW, "--page-size", "10", "--json").err == ""


def test_demo_pages_a_few_hundred_tasks(pyrus: Runner) -> None:
    run = pyrus(
        "--demo",
        "tasks",
        "--from=-8d",
        "--to",
        "+24d",
        "--filter",
        "all",
        "--all-accessed",
        "--json",
    )
    assert run.code == 0, run
    ids = _ids(run.out)
    assert len(ids) == len(set(ids)) >= 300
    meetings = pyrus("--demo", "meetings", "--from=-7d", "--to", "+23d")
    assert meetings.code == 0
    assert "https://meet.example.com/" in meetings.out
