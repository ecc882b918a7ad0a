"""The shared command-line argument types, output checks and failure lines, called directly."""

from __future__ import annotations

import argparse
import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest

from calendar_cli import common as cli
from pyrus_calendar import Meeting, Task


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1e400", "0", "-0", "-1", "", "soon"])
def test_seconds_refuses_what_is_not_a_finite_positive_number(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="seconds above 0"):
        cli.seconds_argument(text)


def test_seconds_accepts_a_fraction() -> None:
    assert cli.seconds_argument("2.5") == 2.5


@pytest.mark.parametrize("text", ["0", "-3", "x", "", "1.0", "1_000", "١٢", str(cli.MAX_ID + 1)])
def test_ids_are_ascii_whole_numbers_in_range(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="whole number from 1"):
        cli.id_argument(text)


def test_ids_accept_the_largest_and_surrounding_spaces() -> None:
    assert cli.id_argument(str(cli.MAX_ID)) == cli.MAX_ID
    assert cli.id_argument(" 42 ") == 42


def test_when_argument_turns_overflow_into_a_usage_error() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="years 1 to 9999"):
        cli.when_argument("+999999999d")
    with pytest.raises(argparse.ArgumentTypeError, match="is not a date"):
        cli.when_argument("someday")


def test_printable_keeps_one_line_and_cyrillic() -> None:
    assert cli.printable("Жизнь\nЖизнь\x1b[31m") == "Жизнь\\nЖизнь\\x1b[31m"


def test_check_writable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        cli.check_writable(str(tmp_path / "missing" / "out.json"))
    with pytest.raises(ValueError, match="is a directory"):
        cli.check_writable(str(tmp_path))
    with pytest.raises(ValueError, match="must name a file"):
        cli.check_writable("")
    cli.check_writable(str(tmp_path / "new.json"))
    assert list(tmp_path.iterdir()) == []  # the probe is removed
    kept = tmp_path / "kept.json"
    kept.write_text("old")
    cli.check_writable(str(kept))
    assert kept.read_text() == "old"
    cli.check_writable("/dev/null")  # not a regular file: not opened


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        (OverflowError("date value out of range"), cli.EXIT_USAGE, "invalid input: date value"),
        (OSError(28, "No space left on device", "/x.ics"), cli.EXIT_ERROR, "cannot write /x.ics"),
        (RuntimeError("boom\nagain"), cli.EXIT_ERROR, "unexpected error (please report it)"),
        (KeyboardInterrupt(), cli.EXIT_INTERRUPTED, "interrupted"),
    ],
)
def test_every_failure_is_one_line(error: BaseException, code: int, words: str) -> None:
    async def fail() -> int:
        raise error

    stderr = io.StringIO()
    assert cli.run_command(fail, program="tool", stderr=stderr) == code
    assert stderr.getvalue().count("\n") == 1
    assert words in stderr.getvalue()


def test_a_broken_pipe_on_a_callers_stream_leaves_the_process_stdout_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fail() -> int:
        raise BrokenPipeError

    redirected: list[tuple[int, int]] = []
    monkeypatch.setattr("os.dup2", lambda fd, fd2: redirected.append((fd, fd2)))
    stderr = io.StringIO()
    code = cli.run_command(fail, program="tool", stderr=stderr, stdout=io.StringIO())
    assert code == cli.EXIT_BROKEN_PIPE
    assert stderr.getvalue() == ""
    assert redirected == []
    assert cli.run_command(fail, program="tool", stderr=stderr) == cli.EXIT_BROKEN_PIPE
    assert len(redirected) == 1  # the process's own stdout is silenced


def test_export_ics_leaves_out_and_explains_what_it_cannot_export() -> None:
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    items: list[Task | Meeting] = [
        Task(id=1, subject="Call", due=start),
        Task(id=2, subject="Reminder only"),
        Meeting(id=3, type="Zoom"),
        Meeting(id=4, type="Zoom", start_time=start),
    ]

    async def source() -> AsyncIterator[Task | Meeting]:
        for item in items:
            yield item

    data, reasons = asyncio.run(cli.export_ics(source(), name="mixed"))
    uids = [str(e["uid"]) for e in icalendar.Calendar.from_ical(data).walk("VEVENT")]
    assert uids == ["pyrus-task-1@pyrus.com", "pyrus-meeting-4@pyrus.com"]
    assert len(reasons) == 2
    assert "task 2" in reasons[0]
    assert "meeting 3" in reasons[1]
    err = io.StringIO()
    cli.report_left_out(err, "tool", reasons, "items")
    assert (
        err.getvalue()
        == f"tool: 2 items left out of the iCalendar file ({reasons[0]} and 1 more)\n"
    )


def test_the_sdks_warnings_are_the_programs_own_lines() -> None:
    # A feed's "stale" warning came out bare (Python's last-resort handler): "feed: ...".
    import logging

    async def execute(args: argparse.Namespace, out: io.StringIO, err: io.StringIO) -> int:
        logging.getLogger("calendar_bridge.feed").warning("the feed is stale: %s", "why")
        logging.getLogger("calendar_bridge.feed").info("not shown: below a warning")
        return 0

    err = io.StringIO()
    code = cli.run_cli(argparse.ArgumentParser(), execute, [], program="tool", stderr=err)  # type: ignore[arg-type]
    assert code == 0
    assert err.getvalue() == "tool: the feed is stale: why\n"
    assert not logging.getLogger("calendar_bridge").handlers  # removed after the run
