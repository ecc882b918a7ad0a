"""The ``r7cal`` command: R7 calendars and events from a shell (also ``python -m r7cal``).

Credentials come from flags or, better for secrets, the environment: ``R7_BASE_URL``,
``R7_LOGIN``, ``R7_PASSWORD``, ``R7_TOKEN``. ``--demo`` runs against an embedded fake server.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TextIO

from calendar_watch.engine import Watch, check_watch
from r7cal.client import R7Client
from r7cal.events import DEFAULT_WINDOW, MAX_WINDOWS
from r7cal.models import AccessLevel, Calendar, Event

from .common import (
    EXIT_OK,
    CommandParser,
    Notice,
    Progress,
    add_common_options,
    check_output,
    client_options,
    env_default,
    format_when,
    id_argument,
    json_lines,
    output_mode,
    render_table,
    run_cli,
    shared_default,
    text_argument,
    track,
    until_argument,
    when_argument,
    write_listing,
    write_output,
)
from .feeding import add_feed_options, check_feed_options, run_feed
from .syncing import CALDAV_URL_HELP, add_sync_options, check_sync_options
from .watching import add_watch_options, open_state, run_watch

__all__ = ["build_parser", "main"]

#: an R7 server and its credentials: (base_url, login, password, token)
Credentials = tuple[str, str | None, str | None, str | None]

PROGRAM = "r7cal"

Handler = Callable[[R7Client, argparse.Namespace, TextIO, TextIO], Awaitable[int]]


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line ``argv``; returns the exit code (0 on success)."""
    return run_cli(build_parser(), execute, argv, program=PROGRAM, stdout=stdout, stderr=stderr)


async def execute(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run parsed arguments: connect (or start the demo server), then the subcommand."""
    handler: Handler = args.handler
    if output_mode(args) == "ics" and not getattr(args, "listing", False):
        raise ValueError("--ics works with 'events list' only")
    # What cannot work is refused before the demo starts or anything is sent.
    if handler is _feed:
        check_feed_options(args)
    if handler is _sync_caldav:
        check_sync_options(args)
    check_output(args)
    async with contextlib.AsyncExitStack() as stack:
        credentials: Credentials
        notice = None
        if args.demo:
            # Here, not at the top: the fake and aiohttp.web load only for --demo.
            from r7cal.testing.demo import DEMO_LOGIN, DEMO_USERS, demo_server, seed

            server = await stack.enter_async_context(demo_server())
            await seed(server)
            credentials = (server.url, DEMO_LOGIN, DEMO_USERS[DEMO_LOGIN], None)
            # Said before the command's first line; an error of bad input comes alone.
            text = f"demo: a fake R7 server with sample data, as {DEMO_LOGIN!r}"
            notice = Notice(err, PROGRAM, text)
            out, err = notice.before(out), notice.before(err)
        else:
            credentials = r7_credentials(args.base_url, args.login, args.password, args.token)
        r7 = await stack.enter_async_context(r7_client(credentials, args))
        code = await handler(r7, args, out, err)
        if notice is not None:
            notice.say()
        return code


def r7_client(credentials: Credentials, args: argparse.Namespace) -> R7Client:
    """An R7Client for ``(base_url, login, password, token)`` with the command's transport
    options (also the target of ``pyrus sync r7``)."""
    base_url, login, password, token = credentials
    options = client_options(args, base_url)
    return R7Client(base_url, login=login, password=password, token=token, **options)


def r7_credentials(
    base_url: str | None = None,
    login: str | None = None,
    password: str | None = None,
    token: str | None = None,
    *,
    target_of: str | None = None,
) -> Credentials:
    """The R7 server and credentials: the values given, else the ``R7_*`` variables.
    ``target_of``: the command that writes into R7 (its ``--base-url`` is another server's)."""
    base_url = base_url or env_default("R7_BASE_URL")
    login = login or env_default("R7_LOGIN")
    password = password or env_default("R7_PASSWORD")
    token = token or env_default("R7_TOKEN")
    if not base_url:
        if target_of is not None:
            raise ValueError(f"no R7 server for {target_of}: set R7_BASE_URL in the environment")
        raise ValueError("no server: set R7_BASE_URL or pass --base-url (or try --demo)")
    if token is None and (login is None or password is None):
        missing = " and ".join(
            name for name, value in (("R7_LOGIN", login), ("R7_PASSWORD", password)) if not value
        )
        raise ValueError(f"no credentials: set {missing} (or R7_TOKEN) in the environment")
    return base_url, login, password, token


# ---- calendars -------------------------------------------------------------------------


def _access(calendar: Calendar, user_id: int | None) -> str:
    if user_id is not None and calendar.owner_id == user_id:
        return "owner"
    level = calendar.access_type
    if isinstance(level, AccessLevel):
        return level.name.lower()
    return level or ""  # text the server sent that names no level


def _calendar_rows(calendars: Sequence[Calendar], user_id: int | None) -> list[list[str]]:
    return [
        [str(c.id), c.name or "", _access(c, user_id), str(c.owner_id or ""), c.color or ""]
        for c in calendars
    ]


_CALENDAR_HEADERS = ["ID", "NAME", "ACCESS", "OWNER", "COLOR"]


def _show_calendars(
    calendars: Sequence[Calendar], r7: R7Client, args: argparse.Namespace, out: TextIO
) -> None:
    if output_mode(args) == "json":
        write_output(json_lines(calendars), args.output, out)
        return
    user_id = r7.user.id if r7.user is not None else None
    table = render_table(_calendar_rows(calendars, user_id), _CALENDAR_HEADERS)
    write_output(table + "\n", args.output, out)


async def _calendars_list(r7: R7Client, args: argparse.Namespace, out: TextIO, _: TextIO) -> int:
    _show_calendars(await r7.calendars.list(), r7, args, out)
    return EXIT_OK


async def _calendars_create(r7: R7Client, args: argparse.Namespace, out: TextIO, _: TextIO) -> int:
    created = await r7.calendars.create(
        name=args.name, short_name=args.short_name or args.name, color=args.color
    )
    _show_calendars([created], r7, args, out)
    return EXIT_OK


async def _calendars_delete(r7: R7Client, args: argparse.Namespace, out: TextIO, _: TextIO) -> int:
    for calendar_id in args.ids:
        await r7.calendars.delete(calendar_id)
        out.write(f"deleted calendar {calendar_id}\n")
    return EXIT_OK


async def _calendars_clear(r7: R7Client, args: argparse.Namespace, out: TextIO, _: TextIO) -> int:
    for calendar_id in args.ids:
        await r7.calendars.clear(calendar_id)
        out.write(f"cleared calendar {calendar_id}\n")
    return EXIT_OK


async def _calendars_share(r7: R7Client, args: argparse.Namespace, out: TextIO, _: TextIO) -> int:
    result = await r7.calendars.share(args.ids, args.users, AccessLevel.parse(args.access))
    if output_mode(args) == "json":
        write_output(json_lines([result]), args.output, out)
        return EXIT_OK
    level = AccessLevel.parse(args.access).name
    calendars = ", ".join(str(i) for i in result.ids or args.ids)
    users = ", ".join(str(i) for i in result.user_ids or args.users)
    out.write(f"shared calendar {calendars} with user {users}: {level}\n")
    return EXIT_OK


# ---- events ----------------------------------------------------------------------------


def _when(event: Event, value: datetime | None, *, end: bool = False) -> str:
    if value is None:
        return ""
    day = event.last_day if end else event.start_day
    if day is not None:  # an all-day event: a person reads the days it covers, both included
        return day.isoformat()
    return format_when(value)


_EVENT_HEADERS = ["START", "END", "NAME", "CALENDAR", "ID"]


def _window_for(start: datetime, end: datetime) -> timedelta:
    # A listing follows the whole range a person typed: past MAX_WINDOWS months (a range to
    # year 9999), each request covers more days instead of the listing being refused.
    days = math.ceil((end - start) / MAX_WINDOWS / timedelta(days=1))
    return max(DEFAULT_WINDOW, timedelta(days=days))


async def _events_list(r7: R7Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.to < args.start:
        raise ValueError("--to must not be before --from")
    calendars = await r7.calendars.list()  # logs in, and names the calendars in the table
    names = {c.id: c.name or str(c.id) for c in calendars}
    ids = args.calendars or [c.id for c in calendars]
    baseline = r7.stats.attempts
    progress = Progress(err)
    events = track(
        r7.events.iterate(ids, args.start, args.to, window=_window_for(args.start, args.to)),
        progress,
        lambda: r7.stats.attempts - baseline,
    )

    def table(found: list[Event]) -> str:
        rows = [_event_row(e, names.get(e.calendar_id or 0)) for e in found]
        return render_table(rows, _EVENT_HEADERS)

    return await write_listing(
        events,
        progress,
        args,
        out,
        err,
        program=PROGRAM,
        noun="events",
        ics_name="R7 events",
        table=table,
    )


@contextlib.asynccontextmanager
async def _watching(
    r7: R7Client, args: argparse.Namespace, verb: str
) -> AsyncIterator[tuple[Callable[..., Watch[Event]], list[int]]]:
    """For ``events watch``, ``feed`` and ``sync``: the watch options checked, the state
    file open and the calendars listed (all before the first request that could fail
    late); yields a maker of the watch over them (``r7.events.watch`` with the options
    bound) and their ids. The state is closed after."""
    check_watch(args.lookback, args.horizon, args.interval)
    state = await open_state(args.state)
    try:
        ids = args.calendars or [c.id for c in await r7.calendars.list()]
        if not ids:
            raise ValueError(
                f"no calendars to {verb}: you see none (create one or pass --calendar)"
            )
        make = functools.partial(
            r7.events.watch,
            ids,
            lookback=args.lookback,
            horizon=args.horizon,
            interval=args.interval,
            state=state,
        )
        yield make, ids
    finally:
        if state is not None:
            await state.close()


async def _events_watch(r7: R7Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    async with _watching(r7, args, "watch") as (make, _):
        return await run_watch(
            make,
            describe=_describe,
            args=args,
            out=out,
            err=err,
            program=PROGRAM,
        )


async def _feed(r7: R7Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    async with _watching(r7, args, "publish") as (make, _):
        return await run_feed(make, args, out=out, err=err, program=PROGRAM)


async def _sync_caldav(r7: R7Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``sync caldav URL``: the window of the calendars' events mirrored into CalDAV."""
    from urllib.parse import urlsplit

    from .syncing import caldav_target, make_sync, run_sync

    target = caldav_target(args.calendar_url, args)
    async with _watching(r7, args, "sync") as (make, ids):
        sync = make_sync(
            lambda start, end: r7.events.iterate(ids, start, end),
            target,
            # The account and the calendars name the source (not the port: the demo's changes).
            source=f"r7:{urlsplit(r7.transport.base_url).hostname}/{r7.auth.login_name or ''}"
            f"/calendars={','.join(map(str, sorted(set(ids))))}",
            args=args,
        )
        return await run_sync(
            sync,
            args,
            out,
            err,
            program=PROGRAM,
            # its own name: an `events watch` on the same --state keeps its own changes
            watch=lambda sleep: make(name=f"sync {sync.name}", sleep=sleep),
        )


def _event_row(event: Event, calendar: str | None = None) -> list[str]:
    # A table row: the calendar's name where known, else its id.
    return [
        _when(event, event.start_date),
        _when(event, event.end_date, end=True),
        event.name or "",
        calendar or str(event.calendar_id or ""),
        str(event.id),
    ]


def _describe(event: Event) -> str:
    when = _when(event, event.start_date)
    return f"event {event.id}  {when}  {event.name or ''}  (calendar {event.calendar_id or '?'})"


async def _events_create(r7: R7Client, args: argparse.Namespace, out: TextIO, _: TextIO) -> int:
    start: datetime | date = args.start
    end: datetime | date | None = args.end
    if args.all_day:
        # Dates in the zone they were typed in; --end is the last day, as the table shows it.
        start = args.start.date()
        end = None
        if args.end is not None:
            if args.end.date() == date.max:
                raise ValueError("--end: an all-day event cannot end after 9999-12-31")
            end = args.end.date() + timedelta(days=1)
    elif end is None:
        raise ValueError("--end is required unless --all-day")
    event = await r7.events.create(
        start, end, name=args.name, calendar_id=args.calendar, all_day=args.all_day
    )
    if output_mode(args) == "json":
        write_output(json_lines([event]), args.output, out)
        return EXIT_OK
    write_output(render_table([_event_row(event)], _EVENT_HEADERS) + "\n", args.output, out)
    return EXIT_OK


async def _events_delete(r7: R7Client, args: argparse.Namespace, out: TextIO, _: TextIO) -> int:
    for event_id in args.ids:
        await r7.events.delete(event_id)
        out.write(f"deleted event {event_id}\n")
    return EXIT_OK


# ---- the parser ------------------------------------------------------------------------


def _add_connection(parser: argparse.ArgumentParser, *, nested: bool) -> None:
    group = parser.add_argument_group("server and credentials (environment variables preferred)")
    group.add_argument(
        "--base-url",
        metavar="URL",
        default=shared_default(None, nested=nested),
        help="the R7 server, e.g. https://r7.example.ru (env R7_BASE_URL)",
    )
    group.add_argument(
        "--login", default=shared_default(None, nested=nested), help="user login (env R7_LOGIN)"
    )
    group.add_argument(
        "--password",
        default=shared_default(None, nested=nested),
        help="prefer the R7_PASSWORD environment variable: a flag shows in the process list",
    )
    group.add_argument(
        "--token",
        default=shared_default(None, nested=nested),
        help="a token you already have; prefer the R7_TOKEN environment variable",
    )
    add_common_options(parser, nested=nested)


def _leaf(
    group: argparse._SubParsersAction[CommandParser],
    name: str,
    help_text: str,
    handler: Handler,
) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(handler=handler)
    _add_connection(parser, nested=True)
    return parser


def _calendars_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--calendar",
        dest="calendars",
        type=id_argument,
        action="append",
        metavar="ID",
        help=help_text,
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``r7cal`` argument parser."""
    when_help = (
        "ISO date or datetime, today, tomorrow, +7d, +2w, +3h; a negative one with =: --from=-2d"
    )
    to_help = (
        "the last day shown (ISO date, today, +6d), or the time the listing ends before "
        "(ISO datetime, now, +3h)"
    )
    parser = CommandParser(
        prog=PROGRAM,
        description="R7-Office calendars and events from the command line.",
        epilog="Example: R7_BASE_URL=https://r7.example.ru R7_LOGIN=me R7_PASSWORD=... "
        "r7cal events list --from today --to +7d.  Try it without an account: "
        "r7cal --demo events list",
    )
    _add_connection(parser, nested=False)
    groups = parser.add_subparsers(
        dest="group", required=True, metavar="{calendars,events,feed,sync}"
    )

    calendars = groups.add_parser("calendars", help="list, create, delete, clear, share")
    cal_actions = calendars.add_subparsers(dest="action", required=True)
    _leaf(cal_actions, "list", "the calendars you own and those shared with you", _calendars_list)
    create = _leaf(cal_actions, "create", "create a calendar", _calendars_create)
    create.add_argument("name", type=text_argument, help="the calendar's name")
    create.add_argument("--short-name", type=text_argument, help="a short name (default: the name)")
    create.add_argument("--color", help="#RGB or #RRGGBB")
    delete = _leaf(cal_actions, "delete", "delete calendars and their events", _calendars_delete)
    delete.add_argument("ids", metavar="ID", type=id_argument, nargs="+")
    clear = _leaf(cal_actions, "clear", "delete every event of calendars", _calendars_clear)
    clear.add_argument("ids", metavar="ID", type=id_argument, nargs="+")
    share = _leaf(cal_actions, "share", "share calendars with users", _calendars_share)
    share.add_argument("ids", metavar="ID", type=id_argument, nargs="+", help="calendar ids")
    share.add_argument(
        "--user", dest="users", type=id_argument, action="append", required=True, help="a user id"
    )
    share.add_argument(
        "--access",
        type=str.lower,
        choices=["read", "write", "full"],
        default="read",
        help="read, write or full (default: read)",
    )

    events = groups.add_parser("events", help="list, watch, create, delete")
    ev_actions = events.add_subparsers(dest="action", required=True)
    listing = _leaf(ev_actions, "list", "events in a time range", _events_list)
    listing.set_defaults(listing=True)
    _calendars_option(listing, "a calendar id (repeatable; default: every calendar you see)")
    listing.add_argument(
        "--from", dest="start", type=when_argument, default="today", help=f"{when_help} (today)"
    )
    listing.add_argument(
        "--to", type=until_argument, default="+6d", help=f"{to_help} (+6d: a week)"
    )
    about = (
        "poll a rolling window of events and write one line per change (added, changed, "
        "removed): JSON lines when piped or with --json, a readable line on a terminal"
    )
    watching = _leaf(ev_actions, "watch", about, _events_watch)
    _calendars_option(
        watching, "a calendar id (repeatable; default: every calendar you see when it starts)"
    )
    add_watch_options(watching)
    feed = _leaf(
        groups,
        "feed",
        "serve a rolling window of events as a live iCalendar feed at a secret URL",
        _feed,
    )
    _calendars_option(
        feed, "a calendar id (repeatable; default: every calendar you see when it starts)"
    )
    add_feed_options(feed, name="R7 events")
    sync = groups.add_parser(
        "sync",
        help="mirror a rolling window of events into a CalDAV calendar",
        description="mirror a rolling window of events into a calendar: creates, updates and "
        "deletes only the items it wrote (CalDAV credentials from CALDAV_USERNAME / "
        "CALDAV_PASSWORD)",
    )
    targets = sync.add_subparsers(dest="target", required=True)
    into_caldav = _leaf(targets, "caldav", "a CalDAV calendar collection", _sync_caldav)
    into_caldav.add_argument("calendar_url", metavar="CALENDAR_URL", help=CALDAV_URL_HELP)
    _calendars_option(
        into_caldav,
        "an R7 calendar id (repeatable; default: every calendar you see when it starts)",
    )
    add_sync_options(into_caldav, caldav=True)
    new = _leaf(ev_actions, "create", "create an event", _events_create)
    new.add_argument("name", type=text_argument, help="the event's name")
    new.add_argument("--start", type=when_argument, required=True, help=when_help)
    new.add_argument(
        "--end",
        type=when_argument,
        help=f"{when_help} (required unless --all-day; with --all-day, the last day)",
    )
    new.add_argument(
        "--calendar", type=id_argument, metavar="ID", help="default: your main calendar"
    )
    new.add_argument("--all-day", action="store_true", help="an all-day event (dates only)")
    remove = _leaf(ev_actions, "delete", "delete events you created", _events_delete)
    remove.add_argument("ids", metavar="ID", type=id_argument, nargs="+")
    return parser
