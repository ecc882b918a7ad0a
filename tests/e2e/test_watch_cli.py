"""``pyrus-calendar watch`` and ``r7cal events watch`` against the fakes: one JSON line per
change across runs that share a state file, a readable line on a terminal, bad input refused
in one line before any request, and SIGTERM stopping a real process after it committed."""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from calendar_cli import common as cli
from calendar_cli import pyrus as pyrus_cli
from pyrus_calendar import Task
from pyrus_calendar.testing import FakePyrusServer
from r7cal.testing import FakeR7Server

from .conftest import Runner
from .support import Background, Terminal, served

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {"kind", "key", "seen_at", "item", "previous"}


def _soon(days: float) -> datetime:
    # The commands poll around the real clock: tasks sit well inside [now - 1d, now + 30d].
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def _kinds(text: str) -> list[tuple[str, int]]:
    found = []
    for line in _lines(text):
        item = line["item"]
        assert isinstance(item, dict)
        found.append((str(line["kind"]), int(item.get("id", item.get("Id", 0)))))
    return sorted(found)


@pytest.fixture
def served_pyrus(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakePyrusServer, Background]]:
    with served(FakePyrusServer(order="shuffled", seed=5)) as (fake, background):
        monkeypatch.setenv("PYRUS_BASE_URL", fake.api_url)
        monkeypatch.setenv("PYRUS_LOGIN", fake.DEFAULT_LOGIN)
        monkeypatch.setenv("PYRUS_SECURITY_KEY", fake.DEFAULT_SECURITY_KEY)
        yield fake, background


@pytest.fixture
def server(served_pyrus: tuple[FakePyrusServer, Background]) -> FakePyrusServer:
    return served_pyrus[0]


# ---- durations -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 90M ", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        ("45s", timedelta(seconds=45)),
        ("0", timedelta(0)),
    ],
)
def test_durations_people_type(text: str, value: timedelta) -> None:
    assert cli.duration_argument(text) == value


@pytest.mark.parametrize("text", ["", "d", "12", "-1d", "1.5d", "1d 2h", "1y", "soon", "\u0661d"])
def test_what_is_not_a_duration_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a duration"):
        cli.duration_argument(text)


def test_a_duration_past_ten_years_is_refused() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="longer than 3650 days"):
        cli.duration_argument("3651d")
    assert cli.duration_argument("3650d") == cli.MAX_DURATION


# ---- pyrus-calendar watch ----------------------------------------------------------------


def test_pyrus_watch_reports_each_change_once_across_runs(
    server: FakePyrusServer, pyrus: Runner, tmp_path: Path
) -> None:
    state = str(tmp_path / "watch.sqlite")
    server.add_task(Task(id=1, subject="Call the bank", due=_soon(1)))
    server.add_task(Task(id=2, subject="Send the invoice", due=_soon(2)))
    first = pyrus("watch", "--state", state, "--polls", "1")
    assert first.code == 0, first
    assert _kinds(first.out) == [("added", 1), ("added", 2)]
    for line in _lines(first.out):
        assert set(line) == FIELDS
        assert line["previous"] is None
        assert isinstance(line["seen_at"], str)
        assert line["seen_at"].endswith("Z")
    assert "stopped after 1 poll, 2 changes written" in first.err

    server.add_task(Task(id=1, subject="Call the bank again", due=_soon(1)))  # edited
    server.remove_task(2)
    server.add_task(Task(id=3, subject="Book the room", due=_soon(3)))
    second = pyrus("watch", "--state", state, "--polls", "1")
    assert second.code == 0, second
    assert _kinds(second.out) == [("added", 3), ("changed", 1), ("removed", 2)]
    changed = next(line for line in _lines(second.out) if line["kind"] == "changed")
    assert changed["item"]["subject"] == "Call the bank again"  # type: ignore[index]
    assert changed["previous"]["subject"] == "Call the bank"  # type: ignore[index]
    keys = [line["key"] for line in _lines(first.out + second.out)]
    assert len(set(keys)) == len(keys)  # every change has its own key

    third = pyrus("watch", "--state", state, "--polls", "2", "--interval", "0.01")
    assert third.code == 0, third
    assert third.out == ""  # a clean restart repeats nothing; an unchanged calendar says nothing


def test_pyrus_watch_selects_like_the_listing(server: FakePyrusServer, pyrus: Runner) -> None:
    server.add_task(Task(id=1, subject="mine", due=_soon(1)))
    server.add_task(Task(id=2, subject="a colleague's", due=_soon(1)), involved=False)
    server.add_task(Task(id=3, subject="a day", due_date=_soon(2).date()))
    mine = pyrus("watch", "--polls", "1", "--filter", "due")
    assert _kinds(mine.out) == [("added", 1)]
    every = pyrus("watch", "--polls", "1", "--filter", "due,due_date", "--all-accessed")
    assert _kinds(every.out) == [("added", 1), ("added", 2), ("added", 3)]


def test_pyrus_watch_on_a_terminal_writes_readable_lines(server: FakePyrusServer) -> None:
    server.add_task(Task(id=7, subject="Renew the lease", due=_soon(1)))
    out, err = Terminal(), io.StringIO()
    assert pyrus_cli.main(["watch", "--polls", "1"], stdout=out, stderr=err) == 0
    (line,) = out.getvalue().splitlines()
    assert "added" in line
    assert "task 7" in line
    assert "Renew the lease" in line
    assert not line.startswith("{")
    out = Terminal()
    assert pyrus_cli.main(["watch", "--polls", "1", "--json"], stdout=out, stderr=err) == 0
    assert _kinds(out.getvalue()) == [("added", 7)]


def test_pyrus_watch_appends_to_output(
    server: FakePyrusServer, pyrus: Runner, tmp_path: Path
) -> None:
    target = tmp_path / "changes.jsonl"
    target.write_text('{"kind":"earlier"}\n')
    server.add_task(Task(id=4, subject="x", due=_soon(1)))
    run = pyrus("watch", "--polls", "1", "--output", str(target))
    assert run.code == 0, run
    assert run.out == ""
    lines = target.read_text().splitlines()
    assert lines[0] == '{"kind":"earlier"}'
    assert _kinds("\n".join(lines[1:])) == [("added", 4)]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--lookback", "2d", "--horizon", "1d"], "must not be shorter than lookback"),
        (["--interval", "0"], "seconds above 0"),
        (["--interval", "-5"], "seconds above 0"),
        (["--lookback", "soon"], "not a duration"),
        (["--lookback", "0", "--horizon", "0"], "horizon must be positive"),
        (["--ics"], "--ics works with"),
        (["--filter", "sometimes"], "sometimes"),
        (["--polls", "0"], "whole number from 1"),
    ],
)
def test_pyrus_watch_refuses_bad_input_before_any_request(
    server: FakePyrusServer, pyrus: Runner, argv: list[str], words: str
) -> None:
    run = pyrus("watch", "--polls", "1", *argv)
    assert run.code == cli.EXIT_USAGE, run
    assert words in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert run.out == ""
    assert server.counters.logins == 0
    assert server.requests_to("/v4/calendar") == []


def test_a_state_file_that_is_not_ours_is_refused_and_kept(
    server: FakePyrusServer, pyrus: Runner, tmp_path: Path
) -> None:
    foreign = tmp_path / "notes.txt"
    foreign.write_text("my notes, not a database\n")
    run = pyrus("watch", "--polls", "1", "--state", str(foreign))
    assert run.code == cli.EXIT_USAGE, run
    assert f"--state {foreign}" in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert foreign.read_text() == "my notes, not a database\n"
    missing = tmp_path / "no-such-folder" / "w.sqlite"
    run = pyrus("watch", "--polls", "1", "--state", str(missing))
    assert run.code == cli.EXIT_USAGE, run
    assert not missing.parent.exists()
    assert server.counters.logins == 0


# ---- r7cal events watch -----------------------------------------------------------------


@pytest.fixture
def r7_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeR7Server]:
    with served(FakeR7Server(users={"alice": "Alice-Passw0rd"})) as (fake, _):
        monkeypatch.setenv("R7_BASE_URL", fake.url)
        monkeypatch.setenv("R7_LOGIN", "alice")
        monkeypatch.setenv("R7_PASSWORD", "Alice-Passw0rd")
        yield fake


def _create(r7: Runner, name: str, days: float) -> int:
    start = _soon(days)
    made = r7(
        "events",
        "create",
        name,
        "--start",
        start.isoformat(),
        "--end",
        (start + timedelta(hours=1)).isoformat(),
        "--json",
    )
    assert made.code == 0, made
    return int(json.loads(made.out)["Id"])


def test_r7_watch_reports_added_and_removed_across_runs(
    r7_server: FakeR7Server, r7: Runner, tmp_path: Path
) -> None:
    state = str(tmp_path / "r7.sqlite")
    standup = _create(r7, "Standup", 1)
    review = _create(r7, "Review", 2)
    first = r7("events", "watch", "--state", state, "--polls", "1")
    assert first.code == 0, first
    assert _kinds(first.out) == sorted([("added", standup), ("added", review)])
    assert all(set(line) == FIELDS for line in _lines(first.out))
    assert {line["item"]["Name"] for line in _lines(first.out)} == {"Standup", "Review"}  # type: ignore[index]

    assert r7("events", "delete", str(review)).code == 0
    retro = _create(r7, "Retro", 3)
    second = r7("events", "watch", "--state", state, "--polls", "1")
    assert second.code == 0, second
    assert _kinds(second.out) == sorted([("added", retro), ("removed", review)])
    third = r7("events", "watch", "--state", state, "--polls", "1")
    assert third.out == ""


def test_r7_watch_refuses_bad_input_before_any_request(
    r7_server: FakeR7Server, r7: Runner, tmp_path: Path
) -> None:
    for argv, words in (
        (["--lookback", "7d", "--horizon", "1d"], "must not be shorter than lookback"),
        (["--interval", "nan"], "seconds above 0"),
        (["--calendar", "0"], "whole number from 1"),
        (["--ics"], "--ics works with"),
        (["--state", str(tmp_path)], "--state"),
    ):
        run = r7("events", "watch", "--polls", "1", *argv)
        assert run.code == cli.EXIT_USAGE, (argv, run)
        assert words in run.err
        assert run.out == ""
    assert sum(r7_server.logins.values()) == 0


# ---- SIGTERM on a real process -------------------------------------------------------------


def test_sigterm_stops_after_committing_what_was_written(
    served_pyrus: tuple[FakePyrusServer, Background], tmp_path: Path
) -> None:
    server, _ = served_pyrus
    for task_id in range(1, 31):
        server.add_task(Task(id=task_id, subject=f"task {task_id}", due=_soon(1 + task_id / 10)))
    state = str(tmp_path / "w.sqlite")
    command = [
        sys.executable,
        "-m",
        "pyrus_calendar",
        "watch",
        "--state",
        state,
        "--interval",
        "30",
    ]
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
        first = process.stdout.readline()  # one change written: the process is polling
        assert json.loads(first)["kind"] == "added"
        process.send_signal(signal.SIGTERM)
        rest, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 0, err
    assert "stopped after" in err
    assert "Traceback" not in err
    before = _kinds(first + rest)
    after = pyrus_cli.main(
        ["watch", "--state", state, "--polls", "1"], stdout=(out := io.StringIO())
    )
    assert after == 0
    again = _kinds(out.getvalue())
    # what the stopped process wrote is not written again; what it had not, comes now: once
    assert sorted(before + again) == [("added", task_id) for task_id in range(1, 31)]
