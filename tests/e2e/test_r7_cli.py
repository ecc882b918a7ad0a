"""``r7cal`` against a fake R7 server, as a person at a shell would use it."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import icalendar
import pytest

from calendar_cli import common as cli
from r7cal.testing import FakeR7Server

from .conftest import Runner
from .support import Terminal, served

USERS = {"alice": "alice-Secret-1", "bob": "bob-Secret-2"}
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeR7Server]:
    """A fake R7 server on a background loop; the environment logs in as alice."""
    with served(FakeR7Server(users=USERS)) as (fake, _):
        monkeypatch.setenv("R7_BASE_URL", fake.url)
        monkeypatch.setenv("R7_LOGIN", "alice")
        monkeypatch.setenv("R7_PASSWORD", USERS["alice"])
        yield fake


def _json(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def _create_calendar(r7: Runner, name: str) -> int:
    run = r7("calendars", "create", name, "--color", "#FFC078", "--json")
    assert run.code == 0, run
    calendar_id = _json(run.out)[0]["Id"]
    assert isinstance(calendar_id, int)
    return calendar_id


def test_calendar_lifecycle_create_list_share_clear_delete(
    server: FakeR7Server, r7: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = r7("calendars", "create", "Team", "--color", "#FFC078")
    assert created.code == 0, created
    assert "Team" in created.out
    assert "owner" in created.out
    team = _json(r7("calendars", "list", "--json").out)
    team_id = next(c["Id"] for c in team if c["Name"] == "Team")

    bob_id = server.user("bob").id
    shared = r7("calendars", "share", str(team_id), "--user", str(bob_id), "--access", "write")
    assert shared.code == 0, shared
    assert f"shared calendar {team_id} with user {bob_id}: WRITE" in shared.out

    # Bob now sees it with write access (the password comes from the environment).
    monkeypatch.setenv("R7_LOGIN", "bob")
    monkeypatch.setenv("R7_PASSWORD", USERS["bob"])
    bobs = r7("calendars", "list")
    line = next(line for line in bobs.out.splitlines() if "Team" in line)
    assert "write" in line.split()
    monkeypatch.setenv("R7_LOGIN", "alice")
    monkeypatch.setenv("R7_PASSWORD", USERS["alice"])

    event = r7(
        "events",
        "create",
        "Standup",
        "--start",
        "2026-12-01T09:00Z",
        "--end",
        "2026-12-01T09:15Z",
        "--calendar",
        str(team_id),
    )
    assert event.code == 0, event
    assert r7("calendars", "clear", str(team_id)).out == f"cleared calendar {team_id}\n"
    listing = r7(
        "events",
        "list",
        "--calendar",
        str(team_id),
        "--from",
        "2026-11-30",
        "--to",
        "2026-12-02",
        "--json",
    )
    assert listing.out == ""
    assert r7("calendars", "delete", str(team_id)).code == 0
    assert "Team" not in r7("calendars", "list").out


def test_events_create_list_export_delete(server: FakeR7Server, r7: Runner, tmp_path: Path) -> None:
    first, second = _create_calendar(r7, "Team"), _create_calendar(r7, "Releases")
    for name, calendar_id, hour in (("Standup", first, 9), ("Release", second, 14)):
        begin = START.replace(hour=hour)
        run = r7(
            "events",
            "create",
            name,
            "--calendar",
            str(calendar_id),
            "--start",
            begin.isoformat(),
            "--end",
            (begin + timedelta(minutes=30)).isoformat(),
        )
        assert run.code == 0, run
    run = r7(
        "events",
        "create",
        "Offsite",
        "--all-day",
        "--start",
        "2026-12-03",
        "--calendar",
        str(first),
    )
    assert run.code == 0, run

    window = ("--from", "2026-11-30T00:00Z", "--to", "2026-12-07T00:00Z")
    table = r7("events", "list", "--calendar", str(first), "--calendar", str(second), *window)
    assert table.code == 0, table
    lines = table.out.splitlines()
    assert lines[0].split() == ["START", "END", "NAME", "CALENDAR", "ID"]
    assert [line.split()[-3] for line in lines[2:]] == ["Standup", "Release", "Offsite"]
    assert lines[-1].split()[:3] == ["2026-12-03", "2026-12-03", "Offsite"]  # all-day: dates

    only_first = _json(r7("events", "list", "--calendar", str(first), *window, "--json").out)
    assert sorted(str(e["Name"]) for e in only_first) == ["Offsite", "Standup"]

    path = tmp_path / "week.ics"
    exported = r7("events", "list", *window, "--ics", "--output", str(path))
    assert exported.code == 0, exported
    assert f"wrote 3 events to {path}" in exported.err
    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    assert events["Standup"].decoded("dtstart") == START
    assert events["Standup"].decoded("dtend") == START + timedelta(minutes=30)
    assert events["Offsite"].decoded("dtstart") == date(2026, 12, 3)
    standup_id = next(e["Id"] for e in only_first if e["Name"] == "Standup")
    assert str(events["Standup"]["uid"]) == f"r7-event-{standup_id}-20261201T090000Z@r7cal"

    deleted = r7("events", "delete", str(standup_id))
    assert deleted.out == f"deleted event {standup_id}\n"
    remaining = _json(r7("events", "list", *window, "--json").out)
    assert "Standup" not in [e["Name"] for e in remaining]


def test_relative_dates_default_to_the_coming_week(server: FakeR7Server, r7: Runner) -> None:
    soon = datetime.now(UTC) + timedelta(days=1)
    later = datetime.now(UTC) + timedelta(days=12)
    for name, when in (("Soon", soon), ("Later", later)):
        run = r7(
            "events",
            "create",
            name,
            "--start",
            when.isoformat(),
            "--end",
            (when + timedelta(hours=1)).isoformat(),
        )
        assert run.code == 0, run
    week = r7("events", "list")  # --from today --to +7d
    assert "Soon" in week.out
    assert "Later" not in week.out
    fortnight = r7("events", "list", "--from", "today", "--to", "+14d")
    assert "Later" in fortnight.out


def test_options_work_before_and_after_the_subcommand(server: FakeR7Server, r7: Runner) -> None:
    url = server.url
    before = r7("--base-url", url, "--json", "calendars", "list")
    after = r7("calendars", "list", "--base-url", url, "--json")
    assert before.code == after.code == 0
    assert _json(before.out) == _json(after.out)


def test_wrong_password_is_one_line_exit_3_and_never_echoed(
    server: FakeR7Server, r7: Runner
) -> None:
    secret = "hunter2-Wrong-Password"
    run = r7("calendars", "list", "--password", secret)
    assert run.code == cli.EXIT_AUTH
    assert run.err.count("\n") == 1
    assert run.err.startswith("r7cal: authentication failed")
    assert secret not in run.out + run.err
    assert "Traceback" not in run.err


def test_missing_calendar_is_exit_4(server: FakeR7Server, r7: Runner) -> None:
    run = r7("calendars", "delete", "999999")
    assert run.code == cli.EXIT_NOT_FOUND
    assert "not found" in run.err
    assert "999999" in run.err


def test_rate_limited_is_exit_5(server: FakeR7Server, r7: Runner) -> None:
    server.faults.rate_limit_next(5, retry_after=7)
    run = r7("calendars", "list", "--retries", "0")
    assert run.code == cli.EXIT_RATE_LIMITED
    assert "rate limited (retry after 7s)" in run.err


def test_unreachable_server_is_exit_6(r7: Runner, unused_port: int) -> None:
    run = r7(
        "calendars",
        "list",
        "--base-url",
        f"http://127.0.0.1:{unused_port}",
        "--login",
        "a",
        "--password",
        "b",
        "--retries",
        "0",
    )
    assert run.code == cli.EXIT_NETWORK
    assert run.err.startswith("r7cal: network error")
    assert run.err.count("\n") == 1


def test_missing_credentials_say_which_variables_to_set(r7: Runner) -> None:
    run = r7("calendars", "list")
    assert run.code == cli.EXIT_USAGE
    assert "R7_BASE_URL" in run.err
    run = r7("calendars", "list", "--base-url", "https://r7.example.ru")
    assert run.code == cli.EXIT_USAGE
    assert "R7_LOGIN" in run.err
    assert "R7_PASSWORD" in run.err


def test_help_recommends_the_environment_for_secrets(r7: Runner) -> None:
    run = r7("--help")
    assert run.code == 0
    assert "R7_PASSWORD environment variable" in " ".join(run.out.split())


def test_ics_only_for_event_listings(server: FakeR7Server, r7: Runner) -> None:
    run = r7("calendars", "list", "--ics")
    assert run.code == cli.EXIT_USAGE
    assert "--ics" in run.err


def test_table_fits_the_terminal_width(
    server: FakeR7Server, r7: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    r7("calendars", "create", "A calendar with a very long name " * 4)
    monkeypatch.setenv("COLUMNS", "50")
    run = r7("calendars", "list")
    assert run.code == 0
    assert all(len(line) <= 50 for line in run.out.splitlines())
    assert "…" in run.out


def test_progress_on_stderr_only_at_a_terminal(server: FakeR7Server, r7: Runner) -> None:
    run = r7("events", "create", "Standup", "--start", "today", "--end", "+1h")
    assert run.code == 0, run
    at_terminal = r7("events", "list", "--json", stderr=Terminal())
    assert "pages fetched, 1 items so far" in at_terminal.err
    piped = r7("events", "list", "--json")
    assert piped.err == ""
    assert at_terminal.out == piped.out


def test_demo_runs_in_process(r7: Runner) -> None:
    run = r7("--demo", "calendars", "list")
    assert run.code == 0, run
    for name in ("Team", "On-call", "Office", "Releases"):
        assert name in run.out
    assert "read" in run.out
    assert "write" in run.out
    assert "full" in run.out
    events = r7("--demo", "events", "list", "--from=-7d", "--to", "+23d", "--json")
    assert len(events.out.splitlines()) >= 40


def test_ics_without_the_extra_says_how_to_install_it(
    r7: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "icalendar", None)  # as if the extra were not installed
    run = r7("--demo", "events", "list", "--ics")
    assert run.code == cli.EXIT_USAGE
    assert "pip install 'r7-pyrus-calendar[ics]'" in run.err
    assert "demo" not in run.err  # refused before anything started


def test_a_listing_to_the_end_of_the_calendar_is_followed_not_refused(
    server: FakeR7Server, r7: Runner
) -> None:
    run = r7(
        "events", "create", "Far", "--start", "9000-01-01T09:00Z", "--end", "9000-01-01T10:00Z"
    )
    assert run.code == 0, run
    # 2026..9999 in 31-day windows would be ~85,000 requests: the CLI widens its windows.
    listing = r7("events", "list", "--from", "2026-12-01", "--to", "9999-12-31")
    assert listing.code == 0, listing
    assert "Far" in listing.out
    assert len(server.requests_to("/api/v1/events")) <= 10_001


def test_to_a_day_shows_that_day_and_ends_at_the_next_midnight(
    server: FakeR7Server, r7: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Europe/Moscow")
    events = {  # Moscow is UTC+3: 8 December there runs 7 Dec 21:00Z .. 8 Dec 21:00Z
        "Ended at midnight": ("2026-12-07T20:00Z", "2026-12-07T21:00Z"),
        "Morning": ("2026-12-08T06:00Z", "2026-12-08T07:00Z"),
        "Late evening": ("2026-12-08T20:00Z", "2026-12-08T21:00Z"),
        "Next midnight": ("2026-12-08T21:00Z", "2026-12-08T22:00Z"),
    }
    for name, (start, end) in events.items():
        assert r7("events", "create", name, "--start", start, "--end", end).code == 0
    one_day = r7("events", "list", "--from", "2026-12-08", "--to", "2026-12-08", "--json")
    assert one_day.code == 0, one_day
    names = sorted(json.loads(line)["Name"] for line in one_day.out.splitlines())
    assert names == ["Late evening", "Morning"]
    # A time is where the listing ends, itself not shown.
    until = r7("events", "list", "--from", "2026-12-08", "--to", "2026-12-08T23:30", "--json")
    assert sorted(json.loads(line)["Name"] for line in until.out.splitlines()) == names


@pytest.mark.parametrize(
    ("login", "password", "missing"),
    [
        ("me", None, "R7_PASSWORD"),
        (None, "pw", "R7_LOGIN"),
        (None, None, "R7_LOGIN and R7_PASSWORD"),
    ],
)
def test_missing_credentials_are_named(
    r7: Runner,
    monkeypatch: pytest.MonkeyPatch,
    login: str | None,
    password: str | None,
    missing: str,
) -> None:
    monkeypatch.setenv("R7_BASE_URL", "https://r7.example.ru")
    for name, value in (("R7_LOGIN", login), ("R7_PASSWORD", password)):
        if value is not None:
            monkeypatch.setenv(name, value)
    run = r7("calendars", "list")
    assert run.code == 2
    assert (
        run.err.strip()
        == f"r7cal: invalid input: no credentials: set {missing} (or R7_TOKEN) in the environment"
    )


def test_plain_http_is_refused_naming_the_command_lines_own_option(
    r7: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("R7_BASE_URL", "http://r7.example.ru")
    monkeypatch.setenv("R7_TOKEN", "t")
    run = r7("calendars", "list")
    assert run.code == 2
    assert run.err.strip().endswith("use https, or pass --allow-insecure")
    assert "allow_insecure=True" not in run.err
