"""``r7cal sync caldav`` against a FakeR7Server and a real Radicale: a round trip (created,
a re-run that writes nothing, edits on R7 reaching the calendar), ``--watch`` bounded by
``--polls``, and bad input as one line with exit 2 before anything is written."""

from __future__ import annotations

import io
import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from calendar_cli.r7 import main
from r7cal.testing import FakeR7Server
from tests.e2e.support import Background

from .conftest import PASSWORD, Radicale
from .support import R7_PASSWORD, edit_r7, seed_r7, summaries


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_round_trip_rerun_writes_nothing_and_edits_arrive(
    served_r7: tuple[FakeR7Server, Background], radicale_auth: Radicale, tmp_path: Path
) -> None:
    fake, background = served_r7
    calendar_id, ids = background.call(seed_r7(fake.url))
    url = radicale_auth.make_calendar()
    state = str(tmp_path / "state.db")
    argv = ("sync", "caldav", url, "--state", state, "--calendar", str(calendar_id))
    code, _, err = _run(*argv)
    assert code == 0, err
    assert "4 created, 0 updated, 0 deleted, 0 unchanged" in err
    assert summaries(radicale_auth) == ["holiday", "meeting 0", "meeting 1", "meeting 2"]
    texts = list(radicale_auth.events().values())
    assert all("UID:sync-" in text and "X-R7-PYRUS-SYNC" in text for text in texts)
    holiday = next(text for text in texts if "SUMMARY:holiday" in text)
    assert f"DTSTART;VALUE=DATE:{(date.today() + timedelta(days=2)):%Y%m%d}" in holiday

    code, _, err = _run(*argv)
    assert code == 0, err
    assert "0 created, 0 updated, 0 deleted, 4 unchanged" in err

    background.call(edit_r7(fake.url, calendar_id, ids[0]))
    code, _, err = _run(*argv)
    assert code == 0, err
    assert "1 created, 0 updated, 1 deleted, 3 unchanged" in err
    assert summaries(radicale_auth) == ["holiday", "meeting 1", "meeting 2", "new one"]
    assert PASSWORD not in err
    assert R7_PASSWORD not in err


def test_watch_ends_after_its_polls_with_what_it_wrote(
    served_r7: tuple[FakeR7Server, Background], radicale_auth: Radicale, tmp_path: Path
) -> None:
    fake, background = served_r7
    calendar_id, _ = background.call(seed_r7(fake.url))
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
    lines = err.strip().splitlines()
    assert "4 created" in lines[0]
    # the watch's first poll sees every event as added: all of them already written
    assert lines[-1] == (
        "r7cal: stopped after 1 poll; while watching: 0 created, 0 updated, 0 deleted, 0 unchanged"
    )
    assert len(radicale_auth.events()) == 4
    assert calendar_id > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("sync", "caldav", "URL"), "sync needs --state FILE"),
        (("sync", "caldav", "URL", "--state", "S", "--polls", "2"), "--polls works with --watch"),
        (("sync", "caldav", "URL", "--state", "S", "--watch", "--dry-run"), "--dry-run"),
        (("sync", "caldav", "ftp://host/cal/", "--state", "S"), "url must be an http(s) URL"),
        (("sync", "caldav", "URL", "--state", "S", "--lookback", "soon"), "not a duration"),
        (("sync", "caldav", "URL", "--state", "S", "--calendar", "0"), "--calendar"),
    ],
)
def test_bad_input_is_one_line_exit_2_before_any_request(
    served_r7: tuple[FakeR7Server, Background],
    radicale: Radicale,
    tmp_path: Path,
    argv: tuple[str, ...],
    message: str,
) -> None:
    fake, _ = served_r7
    url = radicale.make_calendar()
    state = str(tmp_path / "state.db")
    filled = [url if part == "URL" else state if part == "S" else part for part in argv]
    code, out, err = _run(*filled)
    assert code == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert out == ""
    assert fake.requests == []
    assert radicale.events() == {}
    assert not os.path.exists(state)


def test_a_missing_calendar_is_one_line_exit_2_and_nothing_written(
    served_r7: tuple[FakeR7Server, Background], radicale: Radicale, tmp_path: Path
) -> None:
    fake, background = served_r7
    background.call(seed_r7(fake.url))
    radicale.make_calendar("other")
    code, _, err = _run(
        "sync", "caldav", radicale.calendar_url("work"), "--state", str(tmp_path / "x.db")
    )
    assert code == 2
    assert "--create-calendar" in err
    assert len(err.strip().splitlines()) == 1
    with radicale.client() as client:
        names = sorted(
            str(c.url).rstrip("/").rsplit("/", 1)[-1] for c in client.principal().calendars()
        )
    assert names == ["other"]  # not created without --create-calendar
    assert radicale.events("other") == {}
    code, _, err = _run(
        "sync",
        "caldav",
        radicale.calendar_url("work"),
        "--state",
        str(tmp_path / "s.db"),
        "--create-calendar",
    )
    assert code == 0, err
    assert len(radicale.events("work")) == 4
