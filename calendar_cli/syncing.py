"""The ``sync`` commands both tools share: options (the watch's window options and the
sync's own), the CalDAV target with its credentials from ``CALDAV_USERNAME`` /
``CALDAV_PASSWORD`` (never a flag), one run (cron) or a run followed by a write per change of
a ``watch()`` (``--watch``, stopped by ``--polls``, SIGTERM or Ctrl-C after committing), the
plan on ``--dry-run``, one line per outcome."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final, TextIO

from calendar_bridge.sync import (
    Sync,
    SyncConflictError,
    SyncReport,
    SyncSafetyError,
    SyncStateError,
    SyncTarget,
    SyncTargetError,
)
from calendar_bridge.sync.engine import Fetch
from calendar_watch import Watch

from .common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, counted, env_default, say
from .watching import PollLimit, add_watch_options, stop_on_signals

__all__ = [
    "CALDAV_URL_HELP",
    "WatchFactory",
    "add_sync_options",
    "caldav_target",
    "check_sync_options",
    "follow",
    "make_sync",
    "run_sync",
]

#: makes the watch ``--watch`` follows, given the ``sleep`` between its polls
WatchFactory = Callable[[Callable[[float], Awaitable[None]]], Watch[Any]]


def add_sync_options(parser: argparse.ArgumentParser, *, caldav: bool) -> None:
    """The watch's options (``--state``, window, ``--interval``, ``--polls``), then
    ``--dry-run``, the forces, ``--create-calendar`` (``caldav``: a CalDAV target only) and
    ``--watch``."""
    add_watch_options(parser)
    group = parser.add_argument_group("syncing")
    group.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    group.add_argument(
        "--force", action="store_true", help="overwrite items edited on the target (412)"
    )
    group.add_argument(
        "--force-delete",
        action="store_true",
        help="delete everything synced even when the source lists nothing",
    )
    if caldav:
        group.add_argument(
            "--create-calendar", action="store_true", help="create the CalDAV calendar if missing"
        )
    group.add_argument(
        "--watch",
        action="store_true",
        help="after the run, keep syncing: a write per change of a watch, every --interval, "
        "until SIGTERM or Ctrl-C (or --polls N)",
    )


def check_sync_options(args: argparse.Namespace) -> None:
    """Refuse what cannot work before any request: no ``--state``, ``--polls`` without
    ``--watch``, ``--watch`` with ``--dry-run``, a CalDAV target without the ``caldav``
    extra."""
    if not args.state:
        raise ValueError("sync needs --state FILE: it keeps what was written where")
    if args.polls is not None and not args.watch:
        raise ValueError("--polls works with --watch only")
    if args.watch and args.dry_run:
        raise ValueError("--dry-run prints one plan: it does not go with --watch")
    if getattr(args, "calendar_url", None) is not None:
        from calendar_bridge.sync.caldav import require_caldav

        require_caldav()


#: the help of a CalDAV target's URL argument
CALDAV_URL_HELP: Final = (
    "the CalDAV calendar collection to write into, e.g. https://dav.example.ru/alice/work/ "
    "(credentials from CALDAV_USERNAME / CALDAV_PASSWORD)"
)


def caldav_target(url: str, args: argparse.Namespace) -> Any:
    """The CalDAV target of ``url``, credentials from the environment."""
    from calendar_bridge.sync.caldav import CalDAVTarget

    return CalDAVTarget(
        url,
        username=env_default("CALDAV_USERNAME"),
        password=env_default("CALDAV_PASSWORD"),
        create_calendar=args.create_calendar,
    )


def make_sync(
    fetch: Fetch,
    target: SyncTarget,
    *,
    source: str,
    args: argparse.Namespace,
) -> Sync:
    """The sync the options describe, its state in the ``--state`` file."""
    from calendar_bridge.sync import SqliteSyncState

    return Sync(
        fetch,
        target,
        source=source,
        state=SqliteSyncState(args.state),
        lookback=args.lookback,
        horizon=args.horizon,
        force=args.force,
        force_delete=args.force_delete,
    )


async def follow(
    sync: Sync,
    changes: Watch[Any],
    stopping: asyncio.Event,
    *,
    err: TextIO,
    program: str,
) -> SyncReport:
    """Write every change of ``changes`` through ``sync`` until ``stopping`` is set (or the
    watch ends); one line per change that wrote something. Returns the totals."""

    def told(done: SyncReport) -> None:
        if done.writes or done.conflicts:
            say(err, program, done.line())

    return await sync.follow(changes, stopping, on_report=told)


async def run_sync(
    sync: Sync,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    *,
    program: str,
    watch: WatchFactory,
) -> int:
    """One run (or ``--dry-run``, or a run and then ``--watch``); returns the exit code."""
    conflicts: list[str] = []
    try:
        async with sync:
            if args.dry_run:
                for line in (await sync.plan()).lines():
                    out.write(line + "\n")
                return EXIT_OK
            if not args.watch:
                report = await sync.run()
                say(err, program, report.line())
                return EXIT_ERROR if report.conflicts else EXIT_OK
            stopping = asyncio.Event()
            polls = PollLimit(args.polls, stopping)
            changes = watch(polls)
            polls.watch = changes
            # A stop asked for during the first run waits for its commit, then ends.
            with stop_on_signals(stopping):
                report = await sync.run()
                say(err, program, report.line())
                followed = await follow(sync, changes, stopping, err=err, program=program)
            conflicts = report.conflicts + followed.conflicts
            say(
                err,
                program,
                f"stopped after {counted(changes.polls, 'poll')}; while watching: "
                f"{followed.line()}",
            )
    except (SyncTargetError, SyncStateError, SyncSafetyError) as error:
        say(err, program, str(error))
        return EXIT_USAGE
    except SyncConflictError as error:
        say(err, program, str(error))
        return EXIT_ERROR
    return EXIT_ERROR if conflicts else EXIT_OK
