"""The shared command-line pieces: typed dates, tables, exit codes."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from calendar_cli import common as cli
from calendar_cli.r7 import r7_client, r7_credentials
from calendar_transport.errors import (
    AuthenticationError,
    NotFoundError,
    RateLimitError,
    TransportError,
)

MSK = timezone(timedelta(hours=3))
NOW = datetime(2026, 11, 21, 22, 30, tzinfo=UTC)  # already the 22nd in Moscow


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", datetime(2026, 11, 22, tzinfo=MSK)),
        ("tomorrow", datetime(2026, 11, 23, tzinfo=MSK)),
        ("+7d", datetime(2026, 11, 29, tzinfo=MSK)),
        ("-2d", datetime(2026, 11, 20, tzinfo=MSK)),
        ("+3h", datetime(2026, 11, 22, 4, 30, tzinfo=MSK)),
        ("now", datetime(2026, 11, 22, 1, 30, tzinfo=MSK)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=MSK)),
        ("2026-12-01T09:15", datetime(2026, 12, 1, 9, 15, tzinfo=MSK)),
        ("2026-12-01T09:15:00+00:00", datetime(2026, 12, 1, 9, 15, tzinfo=UTC)),
    ],
)
def test_parse_when(text: str, expected: datetime) -> None:
    parsed = cli.parse_when(text, now=NOW, zone=MSK)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("text", ["someday", "2026-13-01", "+7y", ""])
def test_parse_when_rejects_nonsense_with_examples(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="today"):
        cli.parse_when(text, now=NOW, zone=MSK)


def test_table_aligns_and_fits_the_width() -> None:
    rows = [["1", "Short", "x"], ["22", "A much longer name " * 5, "y"]]
    table = cli.render_table(rows, ["ID", "NAME", "K"], width=40)
    lines = table.splitlines()
    assert all(len(line) <= 40 for line in lines)
    assert lines[0].startswith("ID  NAME")
    assert "…" in lines[3]
    assert lines[2].index("Short") == lines[0].index("NAME")


@pytest.mark.parametrize(
    ("error", "code", "words"),
    [
        (AuthenticationError(status=401, method="GET", url="u"), cli.EXIT_AUTH, "authentication"),
        (NotFoundError(status=404, method="GET", url="u"), cli.EXIT_NOT_FOUND, "not found"),
        (
            RateLimitError(status=429, method="GET", url="u", retry_after=3),
            cli.EXIT_RATE_LIMITED,
            "retry after 3s",
        ),
        (
            TransportError("refused", method="GET", url="u", request_sent=False),
            cli.EXIT_NETWORK,
            "network",
        ),
    ],
)
def test_failures_have_distinct_codes_and_one_line(error: Exception, code: int, words: str) -> None:
    async def fail() -> int:
        raise error

    stderr = io.StringIO()
    assert cli.run_command(fail, program="tool", stderr=stderr) == code
    output = stderr.getvalue()
    assert output.count("\n") == 1
    assert words in output
    assert "Traceback" not in output


def test_progress_is_silent_when_stderr_is_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = cli.Progress(stream)
    progress.update(pages=3, items=250)
    progress.done()
    assert stream.getvalue() == ""
    assert (progress.pages, progress.items) == (3, 250)


def test_an_r7_client_made_by_either_tool_carries_the_transport_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `pyrus sync r7` makes its R7 target's client with r7cal's own function and options.
    monkeypatch.setenv("R7_BASE_URL", "https://r7.example.test")
    monkeypatch.setenv("R7_TOKEN", "t0k")
    options = argparse.Namespace(retries=0, timeout=5.0, allow_insecure=True)
    client = r7_client(r7_credentials(), options)
    assert client.transport.base_url == "https://r7.example.test"
    assert client.token == "t0k"
    assert (client.transport.timeout, client.transport.retry.attempts) == (5.0, 1)
    assert client.transport.allow_insecure
