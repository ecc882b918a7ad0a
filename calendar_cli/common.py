"""Pieces both command-line tools share: dates a person types, output formats, and one clear
line with a distinct exit code for each expected failure."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import io
import logging
import math
import os
import re
import shutil
import stat
import sys
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar, cast

import msgspec

from calendar_transport.errors import (
    APIError,
    AuthenticationError,
    CalendarError,
    DecodeError,
    IncompleteResultsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TransportError,
)
from calendar_transport.extras import MissingExtraError
from calendar_transport.local_time import local_zone
from calendar_transport.retry import RetryPolicy
from calendar_transport.urls import validate_base_url

if TYPE_CHECKING:
    from calendar_bridge.ical import Exportable

# Distinct exit codes, so scripts can tell failures apart (2 is argparse's usage error).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_RATE_LIMITED = 5
EXIT_NETWORK = 6
EXIT_PERMISSION = 7
EXIT_INCOMPLETE = 8
EXIT_BAD_ANSWER = 9
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `tool | head`

MAX_ID = 2**63 - 1  # no server stores a larger id; a longer number is a typing mistake
MAX_RETRIES = 100

T = TypeVar("T")

_RELATIVE = re.compile(r"^([+-])(\d+)([wdhm])$")
#: argparse's message for an option given no value
_NEEDS_VALUE = re.compile(r"argument ([-\w]+)(?:/[-\w]+)*: expected one argument")
_DURATION = re.compile(r"([0-9]{1,9})([wdhms])")
_DURATION_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
MAX_DURATION = timedelta(days=3650)  # ten years: longer is a typing mistake, not a window
_WHOLE = re.compile(r"[+-]?[0-9]{1,30}")


def parse_when(text: str, *, now: datetime | None = None, zone: tzinfo | None = None) -> datetime:
    """A timezone-aware datetime from what a person types.

    Accepts ISO dates (midnight), ISO datetimes (naive ones in the local zone, by its rules
    for that date), ``now``, ``today``, ``tomorrow``, ``yesterday``, ``+7d`` / ``-2d`` /
    ``+2w`` (calendar days or weeks from today's midnight) and ``+3h`` / ``-30m`` (from
    now). ``zone``: the zone naive values are in (default :func:`local_zone`). A value
    outside the years 1..9999 raises ``argparse.ArgumentTypeError``.
    """
    try:
        return _parse_when(text, now, zone or local_zone())
    except (OverflowError, OSError) as error:  # out of the calendar's range
        raise argparse.ArgumentTypeError(
            f"{text!r:.60} is outside the dates a calendar can hold (years 1 to 9999 in UTC)"
        ) from error


def _parse_when(text: str, now: datetime | None, zone: tzinfo) -> datetime:
    now = (now or datetime.now(UTC)).astimezone(zone)
    today = now.date()
    word = text.strip().lower()
    named = {"today": 0, "tomorrow": 1, "yesterday": -1}
    if word == "now":
        return now
    if word in named:
        return _midnight(today + timedelta(days=named[word]), zone)
    match = _RELATIVE.match(word)
    if match:
        sign, amount, unit = match.groups()
        if len(amount) > 9:  # beyond any date; int() of thousands of digits even fails
            raise OverflowError(amount)
        count = int(amount) * (1 if sign == "+" else -1)
        if unit in "wd":  # calendar days: midnight stays midnight across a DST change
            return _midnight(today + timedelta(days=count * (7 if unit == "w" else 1)), zone)
        step = timedelta(hours=1) if unit == "h" else timedelta(minutes=1)
        return _checked((now.astimezone(UTC) + step * count).astimezone(zone))
    try:
        if len(word) == 10:
            return _midnight(date.fromisoformat(word), zone)
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: use 2026-11-21, 2026-11-21T09:30, today, +7d or -3h"
        ) from None
    # replace(), not a fixed offset: a zoneinfo zone applies its rules for that date.
    return _checked(parsed if parsed.tzinfo else parsed.replace(tzinfo=zone))


def _midnight(day: date, zone: tzinfo) -> datetime:
    return _checked(datetime.combine(day, time(), tzinfo=zone))


def _checked(value: datetime) -> datetime:
    # A value a client could not send (its UTC time before year 1 or after 9999) fails here,
    # naming what was typed, rather than later in a client.
    value.astimezone(UTC)
    return value


def env_default(name: str) -> str | None:
    """An environment variable, empty treated as unset."""
    return os.environ.get(name) or None


def render_table(
    rows: Sequence[Sequence[str]], headers: Sequence[str], *, width: int | None = None
) -> str:
    """An aligned plain-text table that fits ``width`` columns (the terminal's by default).

    When the table is too wide the widest column is cut with an ellipsis, repeatedly.
    """
    width = width or shutil.get_terminal_size((120, 24)).columns
    cells = [[_one_line(cell) for cell in row] for row in rows]
    sizes = [len(header) for header in headers]
    for row in cells:
        sizes = [max(size, len(cell)) for size, cell in zip(sizes, row, strict=True)]
    gap = 2
    while sum(sizes) + gap * (len(sizes) - 1) > width and max(sizes) > 8:
        widest = sizes.index(max(sizes))
        sizes[widest] -= 1

    def line(values: Sequence[str]) -> str:
        parts = [_fit(value, size) for value, size in zip(values, sizes, strict=True)]
        return (" " * gap).join(parts).rstrip()

    out = [line(headers), line(["-" * size for size in sizes])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _fit(value: str, size: int) -> str:
    if len(value) > size:
        return value[: size - 1] + "…"
    return value.ljust(size)


def write_json_lines(items: Iterable[Any], stream: TextIO) -> int:
    """One JSON object per line (the API's own field names); returns how many were written."""
    count = 0
    for item in items:
        stream.write(msgspec.json.encode(item).decode())
        stream.write("\n")
        count += 1
    return count


def json_lines(items: Iterable[Any]) -> str:
    """The text :func:`write_json_lines` writes, as one string (for a file)."""
    buffer = io.StringIO()
    write_json_lines(items, buffer)
    return buffer.getvalue()


def format_when(value: datetime | date | None) -> str:
    """A short, sortable rendering of a date or an aware datetime in the local zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        try:
            local = value.astimezone(local_zone())
        except (OverflowError, ValueError):  # the local time would be outside years 1..9999
            return value.astimezone(UTC).isoformat(sep=" ", timespec="minutes")[:16] + "Z"
        # isoformat, not strftime: glibc's %Y does not pad years below 1000.
        return local.isoformat(sep=" ", timespec="minutes")[:16]
    return value.isoformat()


class Progress:
    """Pages and items so far on stderr, only when stderr is a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr
        self.enabled = self._stream.isatty()
        self.pages = 0
        self.items = 0

    def update(self, *, pages: int | None = None, items: int | None = None) -> None:
        """Show new counts (either may be left as it was)."""
        self.pages = self.pages if pages is None else pages
        self.items = self.items if items is None else items
        if self.enabled:
            self._stream.write(f"\r{self.pages} pages fetched, {self.items} items so far")
            self._stream.flush()

    def done(self) -> None:
        """End the progress line."""
        if self.enabled and (self.pages or self.items):
            self._stream.write("\n")
            self._stream.flush()


def describe_failure(error: BaseException) -> tuple[int, str]:
    """The exit code and the one line a person should read for an expected failure."""
    if isinstance(error, AuthenticationError):
        return EXIT_AUTH, f"authentication failed: {error}"
    if isinstance(error, PermissionDeniedError):
        return EXIT_PERMISSION, f"permission denied: {error}"
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND, f"not found: {error}"
    if isinstance(error, RateLimitError):
        wait = f" (retry after {error.retry_after:g}s)" if error.retry_after is not None else ""
        return EXIT_RATE_LIMITED, f"rate limited{wait}: {error}"
    if isinstance(error, TransportError):
        return EXIT_NETWORK, f"network error: {error}"
    if isinstance(error, IncompleteResultsError):
        return EXIT_INCOMPLETE, f"incomplete results: {error}"
    if isinstance(error, DecodeError):
        return EXIT_BAD_ANSWER, f"unexpected answer from the server: {error}"
    if isinstance(error, APIError | CalendarError):
        return EXIT_ERROR, f"request failed: {error}"
    return EXIT_ERROR, f"{type(error).__name__}: {error}"


def run_command(
    main: Callable[[], Coroutine[Any, Any, int]],
    *,
    program: str,
    stderr: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Run an async command; every failure prints one line and returns its exit code."""
    stream = stderr or sys.stderr
    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        say(stream, program, "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout(stdout)
        return EXIT_BROKEN_PIPE
    except (
        CalendarError,
        ValueError,
        TypeError,
        OverflowError,
        OSError,
        MissingExtraError,
    ) as error:
        code, message = _describe(error)
        say(stream, program, message)
        return code
    except Exception as error:  # a bug: still one line, never a traceback in a person's shell
        say(stream, program, f"unexpected error (please report it): {_name(error)}")
        return EXIT_ERROR


def _describe(error: Exception) -> tuple[int, str]:
    if isinstance(error, CalendarError):
        return describe_failure(error)
    if isinstance(error, OSError):
        # What is left after the transport mapped network errors: the local file system.
        if error.filename:
            return EXIT_ERROR, f"cannot write {error.filename}: {error.strerror}"
        return EXIT_ERROR, str(error)
    if isinstance(error, MissingExtraError):
        return EXIT_USAGE, str(error)
    # ValueError, TypeError and OverflowError reach here from checks on what was typed
    # (OverflowError: a date pushed past year 9999 by arithmetic).
    return EXIT_USAGE, f"invalid input: {error}"


def _name(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _silence_stdout(stdout: TextIO | None) -> None:
    # The reader (`| head`) has gone: stop quietly, and keep Python's exit-time flush of
    # stdout from failing again with a traceback. Only the process's own stdout is touched:
    # a caller's stream (a test's StringIO) is not ours to redirect.
    if stdout is not None and stdout is not sys.stdout:
        return
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)


def printable(text: str) -> str:
    """``text`` with control characters (newlines included) escaped, so it stays one line."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class Notice:
    """A line said once, before anything else the command writes, or when it ends well: a
    command that fails before writing shows its error alone (the ``--demo`` banner)."""

    def __init__(self, err: TextIO, program: str, text: str) -> None:
        self._err, self._program, self._text = err, program, text
        self._said = False

    def say(self) -> None:
        """Say it now, unless it was said."""
        if not self._said:
            self._said = True
            say(self._err, self._program, self._text)

    def before(self, stream: TextIO) -> TextIO:
        """``stream``, saying the notice before its first write."""
        return cast(TextIO, _SaysFirst(stream, self))


class _SaysFirst:
    def __init__(self, stream: TextIO, notice: Notice) -> None:
        self._stream, self._notice = stream, notice

    def write(self, text: str) -> int:
        self._notice.say()
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno...: the stream's
        return getattr(self._stream, name)


def counted(count: int, noun: str) -> str:
    """``"1 poll"``, ``"2 polls"``: a count and its noun, plural when it is not one."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def say(stream: TextIO, program: str, message: str) -> None:
    """Write ``program: message`` as one line on ``stream``; a closed stream is ignored."""
    with contextlib.suppress(OSError, ValueError):
        stream.write(f"{program}: {printable(message)}\n")
        stream.flush()


# ---- argument types: what a person types, refused with one line before anything is sent ---


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (exit 2) that points to ``--help``."""

    def error(self, message: str) -> NoReturn:
        """Print one line naming the mistake and exit with :data:`EXIT_USAGE`."""
        option = _NEEDS_VALUE.fullmatch(message)
        if option:
            # "--from -7d": argparse takes -7d for an option and says only "expected one
            # argument"; a value that starts with "-" goes after "=".
            name = option[1]
            message = f"{name} needs a value (one that starts with '-' after '=': {name}=-7d)"
        self.exit(EXIT_USAGE, f"{self.prog}: {printable(message)} (see {self.prog} --help)\n")


def when_argument(text: str) -> datetime:
    """``--from`` / ``--to`` / ``--start``: :func:`parse_when`, refused in one line."""
    try:
        return parse_when(text)
    except ValueError as error:  # argparse would name the function, not the mistake
        raise argparse.ArgumentTypeError(str(error)) from None


def until_argument(text: str) -> datetime:
    """``--to``: a day (an ISO date, ``today``, ``tomorrow``, ``yesterday``, ``+7d``) is the
    last day shown, so the window ends at the next midnight; a time (an ISO datetime,
    ``now``, ``+3h``) is where the window ends, itself not shown."""
    end = when_argument(text)
    if not _names_a_day(text):
        return end
    zone = end.tzinfo or local_zone()
    try:
        return _midnight(end.date() + timedelta(days=1), zone)
    except (OverflowError, OSError):  # the calendar's last day: it ends with the calendar
        return datetime.max.replace(tzinfo=UTC)


def _names_a_day(text: str) -> bool:
    # What parse_when reads as a midnight standing for its whole day.
    word = text.strip().lower()
    match = _RELATIVE.match(word)
    if word in ("today", "tomorrow", "yesterday") or (match is not None and match[3] in "wd"):
        return True
    try:  # 2026-12-08, and the basic 20261208 that fromisoformat reads too
        date.fromisoformat(word)
    except ValueError:
        return False
    return True


def _whole_number(text: str, low: int, high: int) -> int:
    # ASCII digits only: int() would also take "1_000" and other scripts' digits.
    value = int(text) if _WHOLE.fullmatch(text.strip()) else None
    if value is None or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text!r:.40} is not a whole number from {low} to {high}")
    return value


def id_argument(text: str) -> int:
    """An id: a whole number from 1 to :data:`MAX_ID`."""
    return _whole_number(text, 1, MAX_ID)


def retries_argument(text: str) -> int:
    """``--retries``: a whole number from 0 to :data:`MAX_RETRIES`."""
    return _whole_number(text, 0, MAX_RETRIES)


def count_argument(low: int, high: int) -> Callable[[str], int]:
    """An argument type for a whole number from ``low`` to ``high``."""

    def count(text: str) -> int:
        return _whole_number(text, low, high)

    return count


def seconds_argument(text: str) -> float:
    """``--timeout``: a finite number of seconds above zero (``inf``, ``nan``, ``0`` refused)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r:.40} is not a number of seconds above 0")
    return value


def duration_argument(text: str) -> timedelta:
    """``--lookback`` / ``--horizon``: a duration such as ``30d``, ``12h``, ``1d12h``, ``90m``,
    ``0`` (units w, d, h, m, s), up to :data:`MAX_DURATION`."""
    word = text.strip().lower()
    total = 0 if word == "0" else None
    if total is None and word:
        parts = _DURATION.findall(word)
        if "".join(amount + unit for amount, unit in parts) == word:
            total = sum(int(amount) * _DURATION_UNITS[unit] for amount, unit in parts)
    if total is None:
        raise argparse.ArgumentTypeError(
            f"{text!r:.40} is not a duration: use 30d, 12h, 90m, 1d12h or 0"
        )
    value = timedelta(seconds=total)
    if value > MAX_DURATION:
        raise argparse.ArgumentTypeError(f"{text!r:.40} is longer than {MAX_DURATION.days} days")
    return value


def text_argument(text: str) -> str:
    """A name: not empty or only spaces."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


# ---- options and output both command-line tools share --------------------------------------


def shared_default(value: Any, *, nested: bool) -> Any:
    """The default for an option that is accepted before and after the subcommand.

    A subcommand's parser must not overwrite what was given before it, so there the default
    is ``SUPPRESS`` (nothing is set unless the option is given there).
    """
    return argparse.SUPPRESS if nested else value


def client_options(args: argparse.Namespace, base_url: str) -> dict[str, Any]:
    """The client keyword arguments the transport options give (``--retries``,
    ``--timeout``, ``--allow-insecure``), the same for every client a command makes;
    ``base_url`` is checked first, in the command line's own words."""
    validate_base_url(
        base_url,
        allow_insecure=args.allow_insecure,
        name="--base-url",
        insecure_option="--allow-insecure",
    )
    return {
        "retry": RetryPolicy(attempts=args.retries + 1),
        "timeout": args.timeout,
        "allow_insecure": args.allow_insecure,
    }


def add_common_options(parser: argparse.ArgumentParser, *, nested: bool = False) -> None:
    """``--demo``, output (``--json``, ``--ics``, ``--output``) and transport options."""
    group = parser.add_argument_group("output and connection")
    formats = group.add_mutually_exclusive_group()
    formats.add_argument(
        "--json",
        action="store_true",
        default=shared_default(False, nested=nested),
        help="JSON lines: one object per item, the API's own field names",
    )
    formats.add_argument(
        "--ics",
        action="store_true",
        default=shared_default(False, nested=nested),
        help="an RFC 5545 iCalendar file (listings only; needs the 'ics' extra)",
    )
    group.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        default=shared_default(None, nested=nested),
        help="write the output to FILE instead of stdout",
    )
    group.add_argument(
        "--demo",
        action="store_true",
        default=shared_default(False, nested=nested),
        help="run against an embedded fake server with sample data (no account needed)",
    )
    group.add_argument(
        "--timeout",
        type=seconds_argument,
        metavar="SECONDS",
        default=shared_default(30.0, nested=nested),
        help="seconds one HTTP attempt may take (default 30)",
    )
    group.add_argument(
        "--retries",
        type=retries_argument,
        metavar="N",
        default=shared_default(3, nested=nested),
        help=f"retries of a failed safe request, 0..{MAX_RETRIES} (default 3; 0 turns retries off)",
    )
    group.add_argument(
        "--allow-insecure",
        action="store_true",
        default=shared_default(False, nested=nested),
        help="allow plain http:// to a host that is not loopback",
    )


def output_mode(args: argparse.Namespace) -> str:
    """``"json"``, ``"ics"`` or ``"table"``, from the parsed options."""
    if getattr(args, "json", False):
        return "json"
    if getattr(args, "ics", False):
        return "ics"
    return "table"


def check_output(args: argparse.Namespace) -> None:
    """Fail before any request when the output cannot be produced or written.

    ``--ics`` needs the ``ics`` extra; ``--output FILE`` must be a file that can be written
    (its folder must exist: none is created), so a ``create`` is never sent when its result
    would be lost.
    """
    if output_mode(args) == "ics":
        from calendar_bridge.ical import require_icalendar

        require_icalendar()
    path = getattr(args, "output", None)
    if path is not None:
        check_writable(path)


def check_writable(path: str) -> None:
    """Raise ``ValueError`` naming ``path`` unless a file can be written there.

    The check tries for real (permission bits do not bind root, nor say a disk is read-only),
    and leaves nothing behind: an existing file is opened without truncating it, a new one
    is created and removed again.
    """
    if not path:
        raise ValueError("--output must name a file")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as error:
        raise ValueError(f"--output {path}: {error.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise ValueError(f"--output {path} is a directory, not a file")
    if mode is not None and not stat.S_ISREG(mode):
        return  # /dev/null, /dev/stdout, a named pipe: opening one may block or consume it
    folder = os.path.dirname(path) or "."
    if mode is None and not os.path.isdir(folder):
        raise ValueError(f"--output {path}: the folder {folder} does not exist")
    flags = os.O_WRONLY if mode is not None else os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        descriptor = os.open(path, flags, 0o666)
    except OSError as error:
        if error.errno == errno.EEXIST:  # appeared since the stat (or a dangling link):
            return  # not ours to remove; the write itself will say if it fails
        raise ValueError(f"--output {path}: {error.strerror}") from None
    os.close(descriptor)
    if mode is None:
        os.unlink(path)


async def export_ics(items: AsyncIterable[Exportable], *, name: str) -> tuple[bytes, list[str]]:
    """An iCalendar file of every item that can be exported, and why each other one cannot."""
    from calendar_bridge.ical import export_calendar

    return await export_calendar(items, name=name)


def report_left_out(err: TextIO, program: str, reasons: Sequence[str], noun: str) -> None:
    """One line on ``err`` saying how many items the export left out, and the first reason
    (``noun``: what they are, plural: ``"tasks"``)."""
    if not reasons:
        return
    more = f" and {len(reasons) - 1} more" if len(reasons) > 1 else ""
    count = counted(len(reasons), noun.removesuffix("s"))
    say(err, program, f"{count} left out of the iCalendar file ({reasons[0]}{more})")


async def track(
    items: AsyncIterable[T], progress: Progress, pages: Callable[[], int]
) -> AsyncGenerator[T, None]:
    """Pass ``items`` through, showing pages fetched (``pages()``) and items so far."""
    count = 0
    try:
        async for item in items:
            count += 1
            progress.update(pages=pages(), items=count)
            yield item
        progress.update(pages=pages(), items=count)
    finally:
        progress.done()
        # Stopping early must also stop the source's look-ahead requests at once.
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


async def write_listing(
    items: AsyncGenerator[Any, None],
    progress: Progress,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    *,
    program: str,
    noun: str,
    ics_name: str,
    table: Callable[[list[Any]], str],
) -> int:
    """Write a listing (``items``, passed through :func:`track`) as the output options say:
    an iCalendar file, JSON lines (streamed to a pipe as they arrive) or ``table(items)``;
    then what the export left out and, with ``--output``, how many ``noun`` were written."""
    mode = output_mode(args)
    left_out: list[str] = []
    async with contextlib.aclosing(items):
        if mode == "ics":
            data, left_out = await export_ics(items, name=ics_name)
            write_output(data, args.output, out)
        elif mode == "json" and args.output is None:
            async for item in items:
                write_json_lines([item], out)
                out.flush()
        elif mode == "json":
            write_output(json_lines([item async for item in items]), args.output, out)
        else:
            write_output(table([item async for item in items]) + "\n", args.output, out)
    report_left_out(err, program, left_out, noun)
    if args.output is not None:
        written = progress.items - len(left_out)
        err.write(f"{program}: wrote {written} {noun} to {args.output}\n")
    return EXIT_OK


def write_output(text: str | bytes, path: str | None, stdout: TextIO) -> None:
    """Write ``text`` to the file ``path`` (as UTF-8) or, without a path, to ``stdout``."""
    if path is None:
        stdout.write(text.decode("utf-8") if isinstance(text, bytes) else text)
        stdout.flush()
        return
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    try:
        with open(path, "wb") as file:
            file.write(data)
    except OSError as error:  # a full disk, say: the path belongs in the one line
        raise OSError(error.errno, error.strerror, path) from None


def run_cli(
    parser: argparse.ArgumentParser,
    execute: Callable[[argparse.Namespace, TextIO, TextIO], Coroutine[Any, Any, int]],
    argv: Sequence[str] | None,
    *,
    program: str,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """A tool's ``main``: parse ``argv``, run ``execute`` and return the exit code.

    ``--help`` and usage errors return argparse's code; expected failures print one line
    (:func:`run_command`).
    """
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse already printed
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        say(err, program, "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `--help | head -1`
        _silence_stdout(stdout)
        return EXIT_BROKEN_PIPE
    with _library_warnings(err, program):
        return run_command(
            lambda: execute(args, out, err), program=program, stderr=err, stdout=stdout
        )


#: the SDK's loggers, whose warnings a command line prints as its own lines
_LIBRARY_LOGGERS = ("calendar_transport", "calendar_bridge", "r7cal", "pyrus_calendar")


class _ProgramLines(logging.Handler):
    """A log record as one line of the program's own: ``r7cal: the upstream ...``."""

    def __init__(self, stream: TextIO, program: str) -> None:
        super().__init__(logging.WARNING)
        self._stream, self._program = stream, program

    def emit(self, record: logging.LogRecord) -> None:
        say(self._stream, self._program, record.getMessage())


@contextlib.contextmanager
def _library_warnings(stream: TextIO, program: str) -> Iterator[None]:
    # Without a handler Python prints the bare message; a person should see whose it is.
    handler = _ProgramLines(stream, program)
    loggers = [logging.getLogger(name) for name in _LIBRARY_LOGGERS]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
