"""``pyrus-calendar sync caldav`` against a real Radicale with the demo data: one run, a
re-run that writes nothing, the plan on --dry-run, and bad input as one line with exit 2."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from calendar_cli.pyrus import main

from .conftest import PASSWORD, USER, Radicale


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["--demo", *argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALDAV_USERNAME", USER)
    monkeypatch.setenv("CALDAV_PASSWORD", PASSWORD)


def test_sync_then_rerun_then_dry_run(radicale_auth: Radicale, tmp_path: Path) -> None:
    url = radicale_auth.make_calendar()
    state = str(tmp_path / "state.db")
    code, _, err = _run("sync", "caldav", url, "--state", state)
    assert code == 0, err
    created = len(radicale_auth.events())
    assert created > 0
    assert f"{created} created, 0 updated, 0 deleted" in err
    code, _, err = _run("sync", "caldav", url, "--state", state)
    assert code == 0, err
    # (the demo's three tasks due "in 15 minutes" move with the clock: at most those)
    assert re.search(r"0 created, [0-3] updated, 0 deleted", err), err
    code, out, _ = _run("sync", "caldav", url, "--state", state, "--dry-run")
    assert code == 0
    assert re.match(r"0 to create, [0-3] to update, 0 to delete", out.strip().splitlines()[-1])
    assert PASSWORD not in err + out


def test_a_missing_calendar_and_wrong_credentials_are_one_line_exit_2(
    radicale_auth: Radicale, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    radicale_auth.make_calendar("other")
    state = tmp_path / "state.db"
    code, _, err = _run("sync", "caldav", radicale_auth.calendar_url(), "--state", str(state))
    assert code == 2
    assert len(err.strip().splitlines()[-1:]) == 1
    assert "--create-calendar" in err
    monkeypatch.setenv("CALDAV_PASSWORD", "wrong-one")
    code, _, err = _run(
        "sync", "caldav", radicale_auth.calendar_url("other"), "--state", str(state)
    )
    assert code == 2
    assert "refused the credentials" in err
    assert "wrong-one" not in err
    assert radicale_auth.events("other") == {}


def test_watch_follows_the_run_and_ends_after_its_polls(
    radicale_auth: Radicale, tmp_path: Path
) -> None:
    url = radicale_auth.make_calendar()
    state = str(tmp_path / "state.db")
    code, _, err = _run(
        # (a long interval: the bound is checked when the watch waits for its next poll)
        "sync",
        "caldav",
        url,
        "--state",
        state,
        "--watch",
        "--polls",
        "1",
        "--interval",
        "60",
    )
    assert code == 0, err
    created = len(radicale_auth.events())
    assert f"{created} created" in err.splitlines()[1]  # after the demo's own line
    assert re.search(r"stopped after 1 poll; while watching: 0 created, [0-3] updated", err), err


def test_polls_without_watch_is_refused_before_any_request(
    radicale_auth: Radicale, tmp_path: Path
) -> None:
    url = radicale_auth.make_calendar()
    state = tmp_path / "state.db"
    code, _, err = _run("sync", "caldav", url, "--state", str(state), "--polls", "2")
    assert code == 2
    assert err.strip().splitlines() == [
        "pyrus-calendar: invalid input: --polls works with --watch only"
    ]
    assert not state.exists()
    assert radicale_auth.events() == {}


def test_demo_sync_into_r7_writes_into_a_fake_r7_without_an_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("R7_BASE_URL", "R7_LOGIN", "R7_PASSWORD", "R7_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = _run("sync", "r7", "--state", str(tmp_path / "state.db"))
    assert code == 0, err
    lines = err.strip().splitlines()
    assert lines[0] == (
        "pyrus-calendar: demo: a fake Pyrus server with sample data, synced into a fake R7 server"
    )
    assert re.fullmatch(
        r"pyrus-calendar: [1-9]\d* created, 0 updated, 0 deleted, 0 unchanged", lines[-1]
    )


def test_sync_r7_without_the_demo_names_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("R7_BASE_URL", "R7_LOGIN", "R7_PASSWORD", "R7_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYRUS_LOGIN", "bot@example.com")
    monkeypatch.setenv("PYRUS_SECURITY_KEY", "not-used")
    state = tmp_path / "state.db"
    out, err = io.StringIO(), io.StringIO()
    code = main(["sync", "r7", "--state", str(state)], stdout=out, stderr=err)
    assert (code, err.getvalue()) == (
        2,
        "pyrus-calendar: invalid input: sync r7 needs --calendar ID "
        "(its ids: r7cal calendars list)\n",
    )
    err = io.StringIO()
    code = main(["sync", "r7", "--calendar", "5", "--state", str(state)], stdout=out, stderr=err)
    assert code == 2
    # not "--base-url" (that is the Pyrus server here) nor "try --demo"
    assert err.getvalue() == (
        "pyrus-calendar: invalid input: no R7 server for pyrus-calendar sync r7: "
        "set R7_BASE_URL in the environment\n"
    )
    assert not state.exists()  # refused before the state file was made


def test_each_sync_target_offers_only_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    helps = {}
    for target in ("caldav", "r7"):
        out = io.StringIO()
        assert main(["sync", target, "--help"], stdout=out) == 0
        helps[target] = " ".join((out.getvalue() + capsys.readouterr().out).split())
    assert "--create-calendar" in helps["caldav"]
    assert "--create-calendar" not in helps["r7"]
    assert "CALENDAR_URL the CalDAV calendar collection to write into" in helps["caldav"]
    assert "--calendar ID the R7 calendar to write into" in helps["r7"]
