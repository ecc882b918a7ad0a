"""The ``sync`` commands both tools share: options, the CalDAV target with its credentials
from ``CALDAV_USERNAME`` / ``CALDAV_PASSWORD`` (never a flag), one run (cron) or a run per
change of a ``watch()`` (``--watch``), the plan on ``--dry-run``, one line per outcome."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TextIO

from calendar_bridge.sync import (
    Sync,
    SyncConflictError,
    SyncSafetyError,
    SyncStateError,
    SyncTargetError,
)
from calendar_transport.watch import Watch

from .common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, duration_argument, env_default, say

__all__ = ["add_sync_options", "caldav_target", "run_sync"]


def add_sync_options(parser: argparse.ArgumentParser) -> None:
    """``--state`` (required), the window, ``--dry-run``, the forces, ``--watch``."""
    group = parser.add_argument_group("syncing")
    group.add_argument(
        "--state", metavar="FILE", required=True, help="the SQLite file that keeps what was written"
    )
    group.add_argument("--lookback", type=duration_argument, default="1d", metavar="DURATION")
    group.add_argument("--horizon", type=duration_argument, default="30d", metavar="DURATION")
    group.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    group.add_argument(
        "--force", action="store_true", help="overwrite items edited on the target (412)"
    )
    group.add_argument(
        "--force-delete",
        action="store_true",
        help="delete everything synced even when the source lists nothing",
    )
    group.add_argument(
        "--create-calendar", action="store_true", help="create the CalDAV calendar if missing"
    )
    group.add_argument(
        "--watch", action="store_true", help="keep syncing: one write per change of the watch"
    )
    group.add_argument("--interval", type=float, default=60.0, metavar="SECONDS")


def caldav_target(url: str, args: argparse.Namespace) -> Any:
    """The CalDAV target of ``url``, credentials from the environment."""
    from calendar_bridge.sync.caldav import CalDAVTarget

    return CalDAVTarget(
        url,
        username=env_default("CALDAV_USERNAME"),
        password=env_default("CALDAV_PASSWORD"),
        create_calendar=args.create_calendar,
    )


async def run_sync(
    sync: Sync,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    *,
    program: str,
    watch: Callable[[], Watch[Any]] | None = None,
) -> int:
    """One run (or ``--dry-run``, or ``--watch``); returns the exit code."""
    try:
        async with sync:
            if args.dry_run:
                for line in (await sync.plan()).lines():
                    out.write(line + "\n")
                return EXIT_OK
            report = await sync.run()
            say(err, program, report.line())
            if args.watch and watch is not None:
                async with watch() as changes:
                    async for change in changes:
                        follow = await sync.apply([change])
                        if follow.writes or follow.conflicts:
                            say(err, program, follow.line())
    except (SyncTargetError, SyncStateError, SyncSafetyError) as error:
        say(err, program, str(error))
        return EXIT_USAGE
    except SyncConflictError as error:
        say(err, program, str(error))
        return EXIT_ERROR
    return EXIT_ERROR if report.conflicts else EXIT_OK
