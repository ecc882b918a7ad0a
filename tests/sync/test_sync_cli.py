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
