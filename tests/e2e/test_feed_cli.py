"""The ``feed`` commands: a real process that serves a calendar an app can read and stops on
SIGTERM, and bad input (a port in use, a state of another feed, no state) in one line, exit 2."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from calendar_cli import pyrus as pyrus_cli
from calendar_cli import r7 as r7_cli
from calendar_cli.common import EXIT_USAGE
from pyrus_calendar import Task
from pyrus_calendar.testing import FakePyrusServer

from .support import served

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePyrusServer]:
    with served(FakePyrusServer(seed=5)) as (fake, _background):
        monkeypatch.setenv("PYRUS_BASE_URL", fake.api_url)
        monkeypatch.setenv("PYRUS_LOGIN", fake.DEFAULT_LOGIN)
        monkeypatch.setenv("PYRUS_SECURITY_KEY", fake.DEFAULT_SECURITY_KEY)
        yield fake


def _soon(hours: float) -> datetime:
    # The command polls around the real clock: tasks sit inside [now - 1d, now + 30d].
    return (datetime.now(UTC) + timedelta(hours=hours)).replace(microsecond=0)


def test_a_real_process_serves_the_feed_and_stops_on_sigterm(
    server: FakePyrusServer, tmp_path: Path
) -> None:
    server.add_task(Task(id=1, subject="Report", due=_soon(2)))
    server.add_task(Task(id=2, subject="Review", due=_soon(30)))
    state = str(tmp_path / "feed.db")
    command = [sys.executable, "-m", "pyrus_calendar", "feed", "--state", state]
    command += ["--listen", "127.0.0.1:0", "--name", "Team"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=20) as answer:  # waits for the first poll
            body = answer.read()
            assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "stopped after 1 poll, 1 calendar served" in err
    assert url.split("/")[3] not in err  # the secret is printed once, on stdout only
    cal = icalendar.Calendar.from_ical(body)
    assert str(cal["x-wr-calname"]) == "Team"
    assert sorted(str(event["summary"]) for event in cal.walk("VEVENT")) == ["Report", "Review"]


def test_a_port_in_use_is_one_line_and_exit_2(server: FakePyrusServer, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        err = io.StringIO()
        code = pyrus_cli.main(
            ["feed", "--state", str(tmp_path / "f.db"), "--listen", f"127.0.0.1:{port}"],
            stderr=err,
        )
    assert code == EXIT_USAGE
    assert err.getvalue() == (
        f"pyrus-calendar: invalid input: --listen 127.0.0.1:{port}: the port is in use\n"
    )
    assert server.requests == [] or not any("calendar" in str(r) for r in server.requests)


def test_a_state_of_another_feed_is_refused(server: FakePyrusServer, tmp_path: Path) -> None:
    state = str(tmp_path / "f.db")
    first = ["feed", "--state", state, "--listen", "127.0.0.1:0", "--polls", "1"]
    assert pyrus_cli.main(first, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    err = io.StringIO()
    code = pyrus_cli.main([*first, "--filter", "reminded"], stdout=io.StringIO(), stderr=err)
    assert code == EXIT_USAGE
    lines = err.getvalue().splitlines()
    assert len(lines) == 1
    assert "keeps the feed of 'pyrus/" in lines[0]
    assert "use another state for this feed" in lines[0]


@pytest.mark.parametrize(
    ("main", "argv", "message"),
    [
        (pyrus_cli.main, ["feed"], "feed needs --state FILE"),
        (r7_cli.main, ["feed"], "feed needs --state FILE"),
        (pyrus_cli.main, ["feed", "--state", "x.db", "--listen", "nohost"], "is not HOST:PORT"),
        (pyrus_cli.main, ["feed", "--state", "x.db", "--listen", "h:99999"], "is not HOST:PORT"),
    ],
)
def test_bad_feed_input_is_one_line_and_exit_2(
    main: Callable[..., int],
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYRUS_LOGIN", "x")
    monkeypatch.setenv("PYRUS_SECURITY_KEY", "y")
    for name, value in (("BASE_URL", "http://127.0.0.1:9"), ("LOGIN", "x"), ("PASSWORD", "y")):
        monkeypatch.setenv(f"R7_{name}", value)  # (nothing is sent: the check comes first)
    err = io.StringIO()
    assert main(argv, stderr=err) == EXIT_USAGE
    assert len(err.getvalue().splitlines()) == 1
    assert message in err.getvalue()
    assert not (tmp_path / "x.db").exists()
