"""Whatever a person types, both tools answer with one line and a documented exit code.

Bad input is refused before anything is sent (the fakes' request logs stay empty), an
unwritable ``--output`` is refused before a ``create`` can be sent, and an item that cannot
go into an iCalendar file is left out and counted instead of failing the export.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import icalendar
import pytest
from aiohttp import web

from calendar_cli import common as cli
from pyrus_calendar.testing import FakePyrusServer
from r7cal.testing import FakeR7Server

from .conftest import Runner
from .support import Background, served

USERS = {"alice": "alice-Secret-1"}
DOCUMENTED_CODES = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 130, 141}


@pytest.fixture
def r7_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeR7Server]:
    """A fake R7 server; the environment logs in as alice."""
    with served(FakeR7Server(users=USERS)) as (fake, _):
        monkeypatch.setenv("R7_BASE_URL", fake.url)
        monkeypatch.setenv("R7_LOGIN", "alice")
        monkeypatch.setenv("R7_PASSWORD", USERS["alice"])
        yield fake


@pytest.fixture
def pyrus_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePyrusServer]:
    """A fake Pyrus server; the environment holds its credentials."""
    with served(FakePyrusServer()) as (fake, _):
        monkeypatch.setenv("PYRUS_BASE_URL", fake.api_url)
        monkeypatch.setenv("PYRUS_LOGIN", fake.DEFAULT_LOGIN)
        monkeypatch.setenv("PYRUS_SECURITY_KEY", fake.DEFAULT_SECURITY_KEY)
        yield fake


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    assert err.endswith("\n")
    return err


R7_BAD_INPUT = [
    # ids
    (("calendars", "delete", "0"), "argument ID"),
    (("calendars", "delete", "-5"), "argument ID"),
    (("calendars", "delete", "abc"), "argument ID"),
    (("calendars", "delete", ""), "argument ID"),
    (("calendars", "delete", "1e3"), "argument ID"),
    (("calendars", "delete", "1_000"), "argument ID"),
    (("calendars", "delete", "١٢"), "argument ID"),  # Arabic-Indic digits
    (("calendars", "delete", "9" * 30), "argument ID"),
    (("calendars", "delete", "9" * 5000), "argument ID"),
    (("calendars", "delete"), "required"),
    (("calendars", "share", "1"), "--user"),
    (("calendars", "share", "1", "--user", "x"), "--user"),
    (("events", "list", "--calendar", "0"), "--calendar"),
    (("events", "delete", "99999999999999999999"), "argument ID"),
    # names, colours, access levels
    (("calendars", "create", ""), "must not be empty"),
    (("calendars", "create", "   "), "must not be empty"),
    (("calendars", "create", "x" * 5000), "limit"),
    (("calendars", "create", "Team", "--color", "red"), "color"),
    (("calendars", "create", "Team", "--color", "#12345G"), "color"),
    (("calendars", "create", "Team", "--color", ""), "color"),
    (("calendars", "share", "1", "--user", "2", "--access", "owner"), "invalid choice"),
    (("calendars", "share", "1", "--user", "2", "--access", ""), "invalid choice"),
    (("events", "create", "", "--start", "today", "--end", "+1h"), "must not be empty"),
    # dates
    (("events", "list", "--from", "someday"), "is not a date"),
    (("events", "list", "--from", ""), "is not a date"),
    (("events", "list", "--from", "2026-13-01"), "is not a date"),
    (("events", "list", "--from", "2026-12-01T25:00"), "is not a date"),
    (("events", "list", "--from", "0000-01-01"), "is not a date"),
    (("events", "list", "--from", "10000-01-01"), "is not a date"),
    (("events", "list", "--from", "\uff12\uff10\uff12\uff16-12-01"), "is not a date"),  # full-width
    (("events", "list", "--to", "+999999999d"), "years 1 to 9999"),
    (("events", "list", "--to", "+9999999999d"), "years 1 to 9999"),
    (("events", "list", "--to", "+" + "9" * 5000 + "h"), "--to"),
    (("events", "list", "--from", "+7d", "--to", "today"), "--to must not be before --from"),
    (("events", "list", "--to", "-3d"), "after '=': --to=-7d"),  # says to write --to=-3d
    (("events", "create", "E", "--start", "today"), "--end is required"),
    (("events", "create", "E", "--start", "+2h", "--end", "+1h"), "end"),
    (("events", "create", "E", "--start", "nope", "--end", "+1h"), "--start"),
    # shared options
    (("--timeout", "inf", "calendars", "list"), "--timeout"),
    (("--timeout", "-inf", "calendars", "list"), "--timeout"),
    (("--timeout", "nan", "calendars", "list"), "--timeout"),
    (("--timeout", "1e400", "calendars", "list"), "--timeout"),
    (("--timeout", "0", "calendars", "list"), "--timeout"),
    (("--timeout", "-1", "calendars", "list"), "--timeout"),
    (("--timeout", "", "calendars", "list"), "--timeout"),
    (("calendars", "list", "--timeout", "soon"), "--timeout"),
    (("--retries", "-1", "calendars", "list"), "--retries"),
    (("--retries", "1.5", "calendars", "list"), "--retries"),
    (("--retries", "101", "calendars", "list"), "--retries"),
    (("--base-url", "not a url", "calendars", "list"), "--base-url must be"),
    (("--base-url", "ftp://r7.example.ru", "calendars", "list"), "--base-url must be"),
    (("--base-url", "http://[::1", "calendars", "list"), "IPv6"),
    (("calendars", "list", "--ics"), "--ics works with 'events list' only"),
    (("calendars", "list", "--json", "--ics"), "not allowed with"),
    (("calendars", "list", "-o", ""), "--output"),
    # the command itself
    ((), "required"),
    (("calendars",), "required"),
    (("calendars", "frobnicate"), "invalid choice"),
    (("--no-such-option", "calendars", "list"), "unrecognized"),
    (("calendars", "list", "extra\nline"), "extra\\nline"),  # stays one line
]


@pytest.mark.parametrize(("argv", "words"), R7_BAD_INPUT)
def test_r7cal_bad_input_is_one_line_exit_2_and_sends_nothing(
    r7_server: FakeR7Server, r7: Runner, argv: tuple[str, ...], words: str
) -> None:
    run = r7(*argv)
    assert run.code == cli.EXIT_USAGE, run
    assert words in _one_line(run.err)
    assert run.err.startswith("r7cal")
    assert r7_server.requests == []


PYRUS_BAD_INPUT = [
    (("tasks", "--filter", "soon"), "valid names"),
    (("tasks", "--filter", ""), "--filter"),
    (("tasks", "--filter", ",,"), "--filter"),
    (("tasks", "--filter", "due;reminded"), "--filter"),
    (("tasks", "--page-size", "0"), "from 1 to 100"),
    (("tasks", "--page-size", "101"), "from 1 to 100"),
    (("tasks", "--page-size", "x"), "from 1 to 100"),
    (("tasks", "--page-size", ""), "from 1 to 100"),
    (("meetings", "--item-count", "1e2"), "from 1 to 100"),
    (("tasks", "--item-count", "9" * 40), "from 1 to 100"),
    (("--person-id", "0", "tasks"), "--person-id"),
    (("--person-id", "me", "tasks"), "--person-id"),
    (("tasks", "--from", "+7d", "--to", "today"), "--to must be after --from"),
    (("tasks", "--from", "tomorrow", "--to", "today"), "--to must be after --from"),
    (("tasks", "--to", "+999999999d"), "years 1 to 9999"),
    (("meetings", "--from", "0000-01-01"), "is not a date"),
    (("meetings", "--from", "-"), "--from"),
    (("tasks", "--to", "тогда"), "is not a date"),
    (("--timeout", "inf", "tasks"), "--timeout"),
    (("meetings", "--timeout", "nan"), "--timeout"),
    (("tasks", "--timeout", "0"), "--timeout"),
    (("tasks", "--retries", "-1"), "--retries"),
    (("tasks", "--base-url", "::::"), "--base-url must be"),
    ((), "required"),
    (("calendar",), "invalid choice"),
    (("tasks", "--json", "--ics"), "not allowed with"),
]


@pytest.mark.parametrize(("argv", "words"), PYRUS_BAD_INPUT)
def test_pyrus_calendar_bad_input_is_one_line_exit_2_and_sends_nothing(
    pyrus_server: FakePyrusServer, pyrus: Runner, argv: tuple[str, ...], words: str
) -> None:
    run = pyrus(*argv)
    assert run.code == cli.EXIT_USAGE, run
    assert words in _one_line(run.err)
    assert run.err.startswith("pyrus-calendar")
    assert pyrus_server.requests == []


@pytest.mark.parametrize(
    ("tool", "argv", "variables"),
    [
        ("r7", ("calendars", "list"), "R7_BASE_URL"),
        ("r7", ("--base-url", "https://r7.example.ru", "events", "list"), "R7_PASSWORD"),
        ("r7", ("--base-url", "https://r7.example.ru", "--token", "", "calendars", "list"), "R7"),
        ("pyrus", ("tasks",), "PYRUS_SECURITY_KEY"),
        ("pyrus", ("meetings", "--login", "bot@example.com"), "PYRUS_SECURITY_KEY"),
        ("pyrus", ("tasks", "--token", "   "), "token"),
    ],
)
def test_missing_credentials_are_one_line_exit_2(
    r7: Runner, pyrus: Runner, tool: str, argv: tuple[str, ...], variables: str
) -> None:
    run = (r7 if tool == "r7" else pyrus)(*argv)
    assert run.code == cli.EXIT_USAGE
    assert variables in _one_line(run.err)


def test_server_down_is_one_line_exit_6(r7: Runner, pyrus: Runner, unused_port: int) -> None:
    url = f"http://127.0.0.1:{unused_port}"
    for run in (
        r7("--base-url", url, "--token", "t", "--retries", "0", "calendars", "list"),
        pyrus("--base-url", url + "/v4/", "--token", "t", "--retries", "0", "tasks"),
    ):
        assert run.code == cli.EXIT_NETWORK
        assert "network error" in _one_line(run.err)


# ---- --output ----------------------------------------------------------------------------


def _read_only_target(tmp_path: Path) -> Path:
    # Permission bits do not bind root, so as root a place the kernel refuses is used.
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o500)
        return folder / "out.json"
    candidate = Path("/sys/r7-pyrus-calendar-test-output.json")
    try:
        os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except OSError:
        return candidate
    candidate.unlink()
    pytest.skip("no read-only place to write to found on this machine")


@pytest.mark.parametrize("place", ["missing folder", "a directory", "read-only"])
def test_unwritable_output_is_refused_before_a_create_is_sent(
    r7_server: FakeR7Server, r7: Runner, tmp_path: Path, place: str
) -> None:
    target = {
        "missing folder": tmp_path / "no-such-folder" / "created.json",
        "a directory": tmp_path,
        "read-only": None,
    }[place] or _read_only_target(tmp_path)
    calendars, events = set(r7_server.calendars), set(r7_server.events)
    for argv in (
        ("calendars", "create", "Team", "--json", "--output", str(target)),
        ("events", "create", "Standup", "--start", "today", "--end", "+1h", "-o", str(target)),
    ):
        run = r7(*argv)
        assert run.code == cli.EXIT_USAGE, run
        assert str(target) in _one_line(run.err)
    assert r7_server.requests == []
    assert (set(r7_server.calendars), set(r7_server.events)) == (calendars, events)


def test_unwritable_output_is_refused_before_a_listing(
    pyrus_server: FakePyrusServer, pyrus: Runner, tmp_path: Path
) -> None:
    run = pyrus("meetings", "--ics", "--output", str(tmp_path / "missing" / "m.ics"))
    assert run.code == cli.EXIT_USAGE
    assert "does not exist" in _one_line(run.err)
    assert pyrus_server.requests == []


def test_checking_the_output_leaves_no_file_and_keeps_an_old_one(
    r7_server: FakeR7Server, r7: Runner, tmp_path: Path
) -> None:
    new, old = tmp_path / "new.json", tmp_path / "old.json"
    old.write_text("what was there\n")
    r7_server.faults.fail_next(2, status=500)
    for target in (new, old):
        run = r7("--retries", "0", "calendars", "list", "--json", "-o", str(target))
        assert run.code == cli.EXIT_ERROR, run
    assert not new.exists()  # the check's probe file was removed again
    assert old.read_text() == "what was there\n"  # not truncated before the answer came
    assert r7("calendars", "list", "--json", "-o", str(new)).code == 0
    assert [json.loads(line)["Id"] for line in new.read_text().splitlines()] == list(
        r7_server.calendars
    )


def test_a_failed_write_is_one_line(r7_server: FakeR7Server, r7: Runner) -> None:
    full = Path("/dev/full")  # accepts the open, refuses the write (ENOSPC)
    if not full.exists():
        pytest.skip("/dev/full is not available")
    run = r7("calendars", "create", "Team", "--json", "-o", str(full))
    assert run.code == cli.EXIT_ERROR
    assert "/dev/full" in _one_line(run.err)


# ---- --ics leaves out what it cannot export --------------------------------------------------


@contextmanager
def _stub(app: web.Application) -> Iterator[str]:
    """An aiohttp.web app on a loopback port, served from a background loop; yields its URL."""
    background = Background()
    runner = web.AppRunner(app)
    try:
        background.call(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        background.call(site.start())
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        background.call(runner.cleanup())
        background.close()


def _r7_event(event_id: int, start: str, end: str) -> dict[str, object]:
    return {"Id": event_id, "Name": f"Event {event_id}", "StartDate": start, "EndDate": end}


def test_r7_ics_leaves_out_and_counts_an_event_it_cannot_export(r7: Runner, tmp_path: Path) -> None:
    # A server written apart from the fake: one good event, one with .NET MinValue dates.
    events = [
        _r7_event(1, "2026-12-01T09:00:00Z", "2026-12-01T09:30:00Z"),
        _r7_event(2, "0001-01-01T00:00:00", "0001-01-01T00:00:00"),
    ]

    async def calendars(_: web.Request) -> web.Response:
        return web.json_response([{"Id": 7, "Name": "Team"}])

    async def listing(_: web.Request) -> web.Response:
        return web.json_response(events)

    app = web.Application()
    app.router.add_get("/api/v1/email/Calendars", calendars)
    app.router.add_post("/api/v1/events", listing)
    path = tmp_path / "week.ics"
    with _stub(app) as url:
        run = r7(
            *("--base-url", url, "--token", "t", "events", "list", "--ics", "-o", str(path)),
            *("--from", "2026-12-01T00:00Z", "--to", "2026-12-02T00:00Z"),
        )
    assert run.code == 0, run
    lines = run.err.splitlines()
    assert lines[0].startswith("r7cal: 1 event left out of the iCalendar file (event 2 ")
    assert lines[1] == f"r7cal: wrote 1 events to {path}"
    exported = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    assert [str(e["summary"]) for e in exported] == ["Event 1"]


# ---- real processes: Ctrl-C and a closed pipe ----------------------------------------------


def _environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("R7_", "PYRUS"))}
    return {**env, "COLUMNS": "160", **extra}


def test_ctrl_c_is_exit_130_and_one_line() -> None:
    arrived = threading.Event()
    release: list[object] = []

    async def hang(_: web.Request) -> web.Response:
        import asyncio

        arrived.set()
        gate = asyncio.Event()
        release.append(gate)
        await gate.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/api/v2/auth/Login", hang)
    with _stub(app) as url:
        env = _environment(R7_BASE_URL=url, R7_LOGIN="alice", R7_PASSWORD="alice-Secret-1")
        process = subprocess.Popen(
            [sys.executable, "-m", "r7cal", "calendars", "list"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert arrived.wait(timeout=60), "the login never reached the stub"
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
            for gate in release:
                gate.set()  # type: ignore[attr-defined]
    assert process.returncode == cli.EXIT_INTERRUPTED
    assert err == "r7cal: interrupted\n"
    assert out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ("-m", "r7cal", "--demo", "events", "list", "--json", "--from=-7d", "--to", "+23d"),
        ("-m", "pyrus_calendar", "--demo", "tasks", "--from=-7d", "--to", "+23d"),
    ],
)
def test_a_closed_pipe_is_exit_141_without_a_traceback(argv: tuple[str, ...]) -> None:
    process = subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    assert process.stdout is not None
    process.stdout.close()  # like `| head -1` that has already gone: every write fails
    _, err = process.communicate(timeout=60)
    assert process.returncode == cli.EXIT_BROKEN_PIPE, err
    assert "Traceback" not in err
    assert "Exception ignored" not in err
    assert [line for line in err.splitlines() if "demo:" not in line] == []


def test_a_bad_argument_in_a_real_process_is_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pyrus_calendar", "--timeout", "inf", "tasks"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(),
        check=False,
    )
    assert done.returncode == cli.EXIT_USAGE
    assert "--timeout" in _one_line(done.stderr)
    assert json.dumps(done.stdout) == '""'


@pytest.mark.parametrize("option", ["--from", "--to"])
def test_a_negative_value_after_a_space_gets_the_equals_hint(
    r7: Runner, pyrus: Runner, option: str
) -> None:
    for run in (
        r7("--demo", "events", "list", option, "-7d"),
        pyrus("--demo", "tasks", option, "-2w"),
    ):
        assert run.code == 2
        assert run.out == ""
        (line,) = run.err.splitlines()  # the error alone: no demo banner before it
        assert f"{option} needs a value (one that starts with '-' after '='" in line


@pytest.mark.parametrize(
    ("tool", "argv"),
    [
        ("r7", ("--demo", "events", "list", "--from", "+7d", "--to", "today")),
        (
            "r7",
            (
                "--demo",
                "events",
                "create",
                "X",
                "--start",
                "2026-12-08T10:00",
                "--end",
                "2026-12-08T09:00",
            ),
        ),
        ("pyrus", ("--demo", "tasks", "--from", "+7d", "--to", "today")),
    ],
)
def test_with_demo_an_error_of_bad_input_comes_first_and_alone(
    r7: Runner, pyrus: Runner, tool: str, argv: tuple[str, ...]
) -> None:
    run = (r7 if tool == "r7" else pyrus)(*argv)
    assert run.code == 2
    (line,) = run.err.splitlines()  # no "demo: a fake ... server" line before it
    assert "invalid input" in line


def test_with_demo_the_banner_still_comes_before_the_output(r7: Runner) -> None:
    run = r7("--demo", "calendars", "list")
    assert run.code == 0
    assert run.err.splitlines() == ["r7cal: demo: a fake R7 server with sample data, as 'alice'"]
