"""The ``pyrus-calendar`` command: Pyrus tasks and meetings in a time range, from a shell
(also ``python -m pyrus_calendar``).

Credentials come from flags or, better for secrets, the environment: ``PYRUS_LOGIN``,
``PYRUS_SECURITY_KEY``, ``PYRUS_TOKEN``, ``PYRUS_BASE_URL``. ``--demo`` runs against an
embedded fake server.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, TextIO

from calendar_watch import SqliteWatchState, Watch
from pyrus_calendar.auth import CLOUD_API_URL
from pyrus_calendar.client import MAX_ITEM_COUNT, PyrusClient
from pyrus_calendar.filters import CalendarFilter
from pyrus_calendar.models import Meeting, Task
from pyrus_calendar.paging import CalendarWalk

from .common import (
    CommandParser,
    Notice,
    Progress,
    add_common_options,
    check_output,
    client_options,
    count_argument,
    env_default,
    format_when,
    id_argument,
    output_mode,
    render_table,
    run_cli,
    shared_default,
    track,
    until_argument,
    when_argument,
    write_listing,
)
from .feeding import add_feed_options, check_feed_options, run_feed
from .syncing import CALDAV_URL_HELP, add_sync_options, check_sync_options
from .watching import add_watch_options, open_state, run_watch

__all__ = ["build_parser", "main"]

PROGRAM = "pyrus-calendar"


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line ``argv``; returns the exit code (0 on success)."""
    return run_cli(build_parser(), execute, argv, program=PROGRAM, stdout=stdout, stderr=stderr)


async def execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run parsed arguments: connect (or start the demo server), then list or watch."""
    watching = args.command in ("watch", "feed", "sync")
    if args.command == "sync":
        check_sync_options(args)
        if args.target == "r7" and not args.demo:
            if args.calendar is None:
                raise ValueError("sync r7 needs --calendar ID (its ids: r7cal calendars list)")
            from .r7 import r7_credentials

            r7_credentials(target_of=_SYNC_R7)  # a missing one is named before the state file

    if args.command == "feed":
        check_feed_options(args)
    if watching and output_mode(args) == "ics":
        raise ValueError("--ics works with 'tasks' and 'meetings' only")
    if not watching and args.to <= args.start:
        raise ValueError("--to must be after --from")
    check_output(args)
    async with contextlib.AsyncExitStack() as stack:
        # The state file is checked before anything is sent (and before the demo starts).
        state = await open_state(args.state) if watching else None
        if state is not None:
            stack.push_async_callback(state.close)
        options: dict[str, str | None] = {}
        notice = None
        if args.demo:
            # Here, not at the top: the fake and aiohttp.web load only for --demo.
            from pyrus_calendar.testing.demo import demo_server, seed

            server = await stack.enter_async_context(demo_server())
            seed(server)
            options = {
                "base_url": server.api_url,
                "login": server.DEFAULT_LOGIN,
                "security_key": server.DEFAULT_SECURITY_KEY,
            }
            # Said before the command's first line; an error of bad input comes alone.
            text = "demo: a fake Pyrus server with sample data"
            if args.command == "sync":
                text += (
                    ", synced into a fake R7 server"
                    if args.target == "r7"
                    else "; the CalDAV calendar is real"
                )
            notice = Notice(err, PROGRAM, text)
            out, err = notice.before(out), notice.before(err)
        else:
            options = _credentials(args)
        base_url = options["base_url"] or CLOUD_API_URL
        pyrus = PyrusClient(
            base_url=base_url,
            login=options.get("login"),
            security_key=options.get("security_key"),
            token=options.get("token"),
            person_id=args.person_id,
            **client_options(args, base_url),
        )
        await stack.enter_async_context(pyrus)
        code = await _command(pyrus, state, args, out, err, stack)
        if notice is not None:
            notice.say()
        return code


async def _command(
    pyrus: PyrusClient,
    state: SqliteWatchState | None,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    stack: contextlib.AsyncExitStack,
) -> int:
    """The subcommand ``args`` names, on a connected client."""
    if args.command == "sync":
        return await _sync(pyrus, state, args, out, err, stack)
    if args.command == "feed":
        return await run_feed(
            functools.partial(_watch_of, pyrus, state, args),
            args,
            out=out,
            err=err,
            program=PROGRAM,
        )
    if args.command == "watch":
        return await _watch(pyrus, state, args, out, err)
    walk = pyrus.iter_meetings if args.command == "meetings" else pyrus.iter_calendar
    listing: CalendarWalk[Meeting] | CalendarWalk[Task] = walk(
        args.start,
        args.to,
        filters=args.filter,
        all_accessed_tasks=args.all_accessed,
        item_count=args.page_size,
    )
    return await _list(listing, pyrus, args, out, err)


async def _watch(
    pyrus: PyrusClient,
    state: SqliteWatchState | None,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
) -> int:
    return await run_watch(
        functools.partial(_watch_of, pyrus, state, args),
        describe=_describe,
        args=args,
        out=out,
        err=err,
        program=PROGRAM,
    )


def _watch_of(
    pyrus: PyrusClient, state: SqliteWatchState | None, args: argparse.Namespace, **more: Any
) -> Watch[Task | Meeting]:
    """The watch the options select (``more``: the caller's own ``name``, ``sleep``...)."""
    return pyrus.watch(
        filters=args.filter,
        lookback=args.lookback,
        horizon=args.horizon,
        interval=args.interval,
        state=state,
        include_meetings=args.meetings,
        all_accessed_tasks=args.all_accessed,
        **more,
    )


_SYNC_R7 = f"{PROGRAM} sync r7"


async def _sync(
    pyrus: PyrusClient,
    state: SqliteWatchState | None,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    stack: contextlib.AsyncExitStack,
) -> int:
    """``sync caldav URL`` / ``sync r7 --calendar ID``: the window mirrored there."""
    from urllib.parse import urlsplit

    from calendar_bridge.sync import R7Target

    from .r7 import Credentials, r7_client, r7_credentials
    from .syncing import caldav_target, make_sync, run_sync

    if args.target == "caldav":
        target = caldav_target(args.calendar_url, args)
    else:
        calendar = args.calendar
        credentials: Credentials
        if args.demo:
            # The demo's target is as fake as its source (``--demo`` needs no account).
            from r7cal.testing.demo import DEMO_LOGIN, DEMO_USERS, demo_server

            server = await stack.enter_async_context(demo_server())
            credentials = (server.url, DEMO_LOGIN, DEMO_USERS[DEMO_LOGIN], None)
            if calendar is None:
                calendar = server.user(DEMO_LOGIN).main_calendar_id
        else:
            # The same R7_* variables and transport options as the r7cal tool.
            credentials = r7_credentials(target_of=_SYNC_R7)
        r7 = await stack.enter_async_context(r7_client(credentials, args))
        target = R7Target(r7, calendar)
    mask, meetings, everyone = args.filter, args.meetings, args.all_accessed
    sync = make_sync(
        lambda start, end: (
            pyrus.walk(start, end, filters=mask, all_accessed_tasks=everyone)
            if meetings
            else pyrus.iter_calendar(start, end, filters=mask, all_accessed_tasks=everyone)
        ),
        target,
        # The account and the selection name the source (not the port: the demo's changes).
        source=f"pyrus:{urlsplit(pyrus.transport.base_url).hostname}/{pyrus.auth.login_name}"
        f"/mask={int(mask)}/meetings={int(meetings)}" + ("/all-accessed" if everyone else ""),
        args=args,
    )
    return await run_sync(
        sync,
        args,
        out,
        err,
        program=PROGRAM,
        # its own name: a `watch` on the same --state file keeps its own changes
        watch=lambda sleep: _watch_of(pyrus, state, args, name=f"sync {sync.name}", sleep=sleep),
    )


def _describe(item: Task | Meeting) -> str:
    if isinstance(item, Meeting):
        return f"meeting {item.id}  {format_when(item.start_time)}  {item.type or ''}".rstrip()
    return f"task {item.id}  {format_when(_task_when(item))}  {_title(item)}"


def _credentials(args: argparse.Namespace) -> dict[str, str | None]:
    options = {
        "base_url": args.base_url or env_default("PYRUS_BASE_URL"),
        "login": args.login or env_default("PYRUS_LOGIN"),
        "security_key": args.security_key or env_default("PYRUS_SECURITY_KEY"),
        "token": args.token or env_default("PYRUS_TOKEN"),
    }
    if options["token"] is None and (options["login"] is None or options["security_key"] is None):
        raise ValueError(
            "no credentials: set PYRUS_LOGIN and PYRUS_SECURITY_KEY (or PYRUS_TOKEN) "
            "in the environment, or try --demo"
        )
    if options["token"] is not None and options["security_key"] is None:
        options["login"] = None  # a login alone cannot log in again; use the token
    return options


# ---- output ----------------------------------------------------------------------------


def _task_when(task: Task) -> datetime | date | None:
    return task.due or task.due_date or task.scheduled_datetime_utc or task.scheduled_date


def _task_sort_key(task: Task) -> tuple[datetime, int]:
    when = _task_when(task)
    if when is None:
        moment = datetime.max.replace(tzinfo=UTC)
    elif isinstance(when, datetime):
        moment = when
    else:
        moment = datetime.combine(when, datetime.min.time(), tzinfo=UTC)
    return moment, task.id


def _title(task: Task) -> str:
    return task.subject or (task.text or "").strip().split("\n", 1)[0] or f"Task {task.id}"


def _task_row(task: Task) -> list[str]:
    responsible = task.responsible.full_name if task.responsible is not None else ""
    state = "closed" if task.is_closed else "open"
    if task.current_step is not None:
        state += f", step {task.current_step}"
    return [format_when(_task_when(task)), str(task.id), _title(task), responsible, state]


def _meeting_row(meeting: Meeting) -> list[str]:
    join = meeting.join_parameters.url if meeting.join_parameters is not None else None
    return [
        format_when(meeting.start_time),
        str(meeting.duration or ""),
        meeting.type or "",
        str(meeting.task_id or ""),
        join or "",
        str(meeting.id),
    ]


async def _list(
    items: CalendarWalk[Meeting] | CalendarWalk[Task],
    pyrus: PyrusClient,
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
) -> int:
    progress = Progress(err)
    # The walk counts its own requests (a login or a retry is not a page).
    tracked = track(items, progress, lambda: items.requests)
    # A task the calendar returned only for a reminder or a step deadline has no date of
    # its own to put in a calendar file: the iCalendar export leaves it out and counts it.
    return await write_listing(
        tracked,
        progress,
        args,
        out,
        err,
        program=PROGRAM,
        noun=args.command,
        ics_name=f"Pyrus {args.command}",
        table=_table,
    )


def _table(items: Sequence[Task | Meeting]) -> str:
    tasks = sorted((item for item in items if isinstance(item, Task)), key=_task_sort_key)
    if tasks or not items:
        rows = [_task_row(task) for task in tasks]
        return render_table(rows, ["DUE", "ID", "TASK", "RESPONSIBLE", "STATE"])
    meetings = [item for item in items if isinstance(item, Meeting)]
    meetings.sort(key=lambda m: (m.start_time or datetime.max.replace(tzinfo=UTC), m.id))
    return render_table(
        [_meeting_row(meeting) for meeting in meetings],
        ["START", "MINUTES", "TYPE", "TASK", "JOIN", "ID"],
    )


# ---- the parser ------------------------------------------------------------------------


def _filters(text: str) -> CalendarFilter:
    try:
        return CalendarFilter.parse(text)
    except (ValueError, TypeError) as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_options(parser: argparse.ArgumentParser, *, nested: bool) -> None:
    group = parser.add_argument_group("server and credentials (environment variables preferred)")
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=shared_default(None, nested=nested),
        help=f"the API root (env PYRUS_BASE_URL; default {CLOUD_API_URL})",
    )
    group.add_argument(
        "--login",
        default=shared_default(None, nested=nested),
        help="the bot's or user's login (env PYRUS_LOGIN)",
    )
    group.add_argument(
        "--security-key",
        default=shared_default(None, nested=nested),
        help="prefer the PYRUS_SECURITY_KEY environment variable: a flag shows in the process list",
    )
    group.add_argument(
        "--token",
        default=shared_default(None, nested=nested),
        help="a token you already have; prefer the PYRUS_TOKEN environment variable",
    )
    group.add_argument(
        "--person-id",
        type=id_argument,
        default=shared_default(None, nested=nested),
        help="act as this person (Pyrus' person_id)",
    )
    add_common_options(parser, nested=nested)


def build_parser() -> argparse.ArgumentParser:
    """The ``pyrus-calendar`` argument parser."""
    when_help = (
        "ISO date or datetime, today, tomorrow, +7d, +2w, +3h; a negative one with =: --from=-2d"
    )
    to_help = (
        "the last day shown (ISO date, today, +6d), or the time the listing ends before "
        "(ISO datetime, now, +3h)"
    )
    parser = CommandParser(
        prog=PROGRAM,
        description="Pyrus calendar tasks and meetings from the command line. Every page "
        "of a long listing is followed to the end.",
        epilog="Example: PYRUS_LOGIN=bot@x.ru PYRUS_SECURITY_KEY=... pyrus-calendar tasks "
        "--from today --to +7d --filter due,due_date.  Try it without an account: "
        "pyrus-calendar --demo tasks",
    )
    _add_options(parser, nested=False)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, about in (
        ("tasks", "tasks in a time range, selected by --filter"),
        ("meetings", "meetings that start in a time range"),
    ):
        command = commands.add_parser(name, help=about, description=about)
        _add_options(command, nested=True)
        command.add_argument(
            "--from", dest="start", type=when_argument, default="today", help=f"{when_help} (today)"
        )
        command.add_argument(
            "--to", type=until_argument, default="+6d", help=f"{to_help} (+6d: a week)"
        )
        _add_selection(command)
        command.add_argument(
            "--page-size",
            "--item-count",
            dest="page_size",
            type=count_argument(1, MAX_ITEM_COUNT),
            default=MAX_ITEM_COUNT,
            metavar="N",
            help=f"tasks per request (the API's item_count), 1..{MAX_ITEM_COUNT} "
            f"(default {MAX_ITEM_COUNT})",
        )
    about = (
        "poll a rolling window and write one line per change (added, changed, removed): "
        "JSON lines when piped or with --json, a readable line on a terminal"
    )
    watch = commands.add_parser(
        "watch", help="changes of tasks (and meetings) as they happen", description=about
    )
    _add_options(watch, nested=True)
    _add_selection(watch)
    watch.add_argument(
        "--meetings", action="store_true", help="watch meetings too (keys meeting:<id>)"
    )
    add_watch_options(watch)
    feed = commands.add_parser(
        "feed",
        help="serve the window as a live iCalendar feed for calendar apps",
        description="serve the rolling window of tasks (and meetings) as text/calendar at a "
        "secret URL, polling the API once per --interval however many apps subscribe",
    )
    _add_options(feed, nested=True)
    _add_selection(feed)
    feed.add_argument("--meetings", action="store_true", help="meetings too")
    add_feed_options(feed, name="Pyrus calendar")
    sync = commands.add_parser(
        "sync",
        help="mirror the window into a CalDAV or R7 calendar",
        description="mirror the rolling window into a calendar: creates, updates and deletes "
        "only the items it wrote (CalDAV credentials from CALDAV_USERNAME / CALDAV_PASSWORD)",
    )
    targets = sync.add_subparsers(dest="target", required=True)
    into_caldav = targets.add_parser("caldav", help="a CalDAV calendar collection")
    into_caldav.add_argument("calendar_url", metavar="CALENDAR_URL", help=CALDAV_URL_HELP)
    into_r7 = targets.add_parser(
        "r7",
        help="an R7 calendar (R7_BASE_URL, R7_LOGIN, ...)",
        description="mirror the rolling window into an R7 calendar: the R7 server and its "
        "credentials come from R7_BASE_URL, R7_LOGIN and R7_PASSWORD (or R7_TOKEN); with "
        "--demo, from an embedded fake R7 server",
    )
    into_r7.add_argument(
        "--calendar",
        type=id_argument,
        metavar="ID",
        help="the R7 calendar to write into (its ids: r7cal calendars list); required but "
        "with --demo, where it is the fake's main calendar",
    )
    for into, caldav in ((into_caldav, True), (into_r7, False)):
        _add_options(into, nested=True)
        _add_selection(into)
        into.add_argument("--meetings", action="store_true", help="meetings too")
        add_sync_options(into, caldav=caldav)
    return parser


def _add_selection(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--filter",
        type=_filters,
        default=CalendarFilter.DEFAULT,
        metavar="NAMES",
        help="comma-separated: due, due_date, due_for_current_step, reminded, default "
        "(due,due_date,due_for_current_step), all",
    )
    command.add_argument(
        "--all-accessed",
        action="store_true",
        help="every task you can see, not only those you take part in",
    )
