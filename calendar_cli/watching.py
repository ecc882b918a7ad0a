"""The ``watch`` commands both tools share: options, the state file checked before the first
poll, one line per change, and a stop on SIGTERM / Ctrl-C that commits what was written."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from calendar_watch import Change, SqliteWatchState, Watch, WatchStateError
from calendar_watch.replicas import next_change

from .common import (
    EXIT_OK,
    count_argument,
    counted,
    duration_argument,
    format_when,
    output_mode,
    printable,
    say,
    seconds_argument,
    write_json_lines,
)

__all__ = [
    "PollLimit",
    "add_watch_options",
    "change_json",
    "change_line",
    "open_state",
    "run_watch",
    "stop_on_signals",
]

DEFAULT_LOOKBACK = "1d"
DEFAULT_HORIZON = "30d"
DEFAULT_INTERVAL = 60.0

Describe = Callable[[Any], str]


def add_watch_options(parser: argparse.ArgumentParser) -> None:
    """``--state``, ``--interval``, ``--lookback``, ``--horizon``, ``--polls``."""
    group = parser.add_argument_group("watching")
    group.add_argument(
        "--state",
        metavar="FILE",
        help="an SQLite file that keeps what was seen across runs (created if missing); "
        "without it every run starts afresh and reports everything as added",
    )
    group.add_argument(
        "--interval",
        type=seconds_argument,
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help=f"seconds between polls (default {DEFAULT_INTERVAL:g})",
    )
    group.add_argument(
        "--lookback",
        type=duration_argument,
        default=DEFAULT_LOOKBACK,
        metavar="DURATION",
        help=f"how far back the window reaches, e.g. 12h, 1d (default {DEFAULT_LOOKBACK})",
    )
    group.add_argument(
        "--horizon",
        type=duration_argument,
        default=DEFAULT_HORIZON,
        metavar="DURATION",
        help=f"how far ahead the window reaches, e.g. 7d, 30d (default {DEFAULT_HORIZON})",
    )
    group.add_argument(
        "--polls",
        type=count_argument(1, 10**9),
        metavar="N",
        help="stop after N polls (default: until SIGTERM or Ctrl-C); --polls 1 with --state "
        "reports what changed since the last run, e.g. from cron",
    )


async def open_state(path: str | None) -> SqliteWatchState | None:
    """The state file ``--state`` names, opened now: a file that is not ours, from a newer
    version, corrupt or not writable is a usage error before any request."""
    if path is None:
        return None
    if not path:
        raise ValueError("--state must name a file")
    try:
        state = SqliteWatchState(path)
        await state.open()
    except (ValueError, WatchStateError) as error:
        raise ValueError(f"--state {path}: {error}") from None
    return state


class PollLimit:
    """The ``sleep`` to give ``watch()``: waits out the interval, or ends the run once
    ``limit`` polls were made (every change of the last one taken)."""

    def __init__(self, limit: int | None, stopping: asyncio.Event) -> None:
        self.limit = limit
        self.stopping = stopping
        self.watch: Watch[Any] | None = None

    async def __call__(self, seconds: float) -> None:
        watch = self.watch
        done = watch.polls + watch.polls_skipped if watch is not None else 0
        if self.limit is not None and done >= self.limit:
            self.stopping.set()  # every change of the last poll has been taken
            await asyncio.Event().wait()  # cancelled by the stop
        await asyncio.sleep(seconds)


@contextlib.contextmanager
def stop_on_signals(stopping: asyncio.Event) -> Iterator[None]:
    """Set ``stopping`` on SIGTERM or SIGINT (Ctrl-C) while the block runs."""
    # A service manager's SIGTERM and Ctrl-C end the loop between changes: the change last
    # written is committed, none is lost or repeated.
    loop = asyncio.get_running_loop()
    installed = []
    for number in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(number, stopping.set)
            installed.append(number)
    try:
        yield
    finally:
        for number in installed:
            loop.remove_signal_handler(number)


def change_json(change: Change[Any]) -> dict[str, Any]:
    """A change as its JSON line: the items in the API's own field names."""
    return {
        "kind": change.kind,
        "key": change.key,
        "seen_at": change.seen_at,
        "item": change.item,
        "previous": change.previous,
    }


def change_line(change: Change[Any], describe: Describe) -> str:
    """A change as one readable line: when it was seen, what happened, to what."""
    return printable(f"{format_when(change.seen_at)}  {change.kind:<7}  {describe(change.item)}")


async def run_watch(
    make: Callable[..., Watch[Any]],
    *,
    describe: Describe,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    program: str,
) -> int:
    """Write every change of the watch ``make(sleep=...)`` makes to ``out`` (or append it to
    ``--output``) until stopped or ``--polls`` are done; returns the exit code."""
    stopping = asyncio.Event()
    polls = PollLimit(args.polls, stopping)
    watch = polls.watch = make(sleep=polls)
    with contextlib.ExitStack() as files:
        if args.output is not None:
            out = files.enter_context(_append(args.output))
        readable = output_mode(args) != "json" and _is_terminal(out)
        written = 0
        with stop_on_signals(stopping):
            async with watch:
                while not stopping.is_set():
                    change = await next_change(watch, stopping)
                    if change is None:
                        break
                    if readable:
                        out.write(change_line(change, describe) + "\n")
                    else:
                        write_json_lines([change_json(change)], out)
                    # Out before the next one is asked for: asking commits this one.
                    out.flush()
                    written += 1
    done, changes = counted(watch.polls, "poll"), counted(written, "change")
    say(err, program, f"stopped after {done}, {changes} written")
    return EXIT_OK


def _append(path: str) -> TextIO:
    try:
        return open(path, "a", encoding="utf-8")
    except OSError as error:
        raise OSError(error.errno, error.strerror, path) from None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
