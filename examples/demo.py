"""``make demo``: both backends end to end against the embedded fake servers.

R7: log in, create a calendar, share it, create events, let the colleague add one, and list
the week. Pyrus: page through a month of several hundred tasks (the server cuts every answer
at 100, in a new order each time) and list the week's tasks and meetings. Then write
everything of the week into one ``.ics`` file and print its path.

Run it with ``make demo`` or ``python examples/demo.py [--output FILE]``. No account, no
network: the servers are in-process fakes on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

import aiohttp

from calendar_bridge.ical import Exportable, build_calendar
from calendar_transport.local_time import local_zone
from pyrus_calendar import CalendarFilter, Meeting, PyrusClient, Task
from pyrus_calendar.testing import demo as pyrus_demo
from r7cal import AccessLevel, Event, R7Client
from r7cal.testing import demo as r7_demo

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "build" / "demo" / "calendar.ics"
TABLE_ROWS = 12


@dataclass
class DemoResult:
    """What the demo did, for its test."""

    r7_events: list[Event]
    pyrus_tasks: int
    pyrus_requests: int
    week_tasks: list[Task]
    week_meetings: list[Meeting]
    ics_path: Path


def week_of(today: date) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 (local time) around ``today``."""
    zone = local_zone()
    monday = today - timedelta(days=today.weekday())
    start = datetime(monday.year, monday.month, monday.day, tzinfo=zone)
    return start, start + timedelta(days=7)


def _task_when(task: Task) -> datetime | date | None:
    return task.due or task.due_date


def _sort_key(task: Task) -> datetime:
    when = _task_when(task)
    if isinstance(when, datetime):
        return when
    if isinstance(when, date):
        return datetime(when.year, when.month, when.day, tzinfo=UTC)
    return datetime.max.replace(tzinfo=UTC)


def format_when(value: datetime | date | None) -> str:
    """A date as it is; a moment in the local zone, to the minute."""
    if isinstance(value, datetime):
        return value.astimezone(local_zone()).isoformat(sep=" ", timespec="minutes")[:16]
    return "" if value is None else value.isoformat()


def render_table(rows: Sequence[Sequence[str]], headers: Sequence[str], cut: int = 40) -> str:
    """An aligned plain-text table; a cell longer than ``cut`` ends in an ellipsis."""
    cells = [[c if len(c) <= cut else c[: cut - 1] + "…" for c in row] for row in rows]
    sizes = [max(len(cell) for cell in column) for column in zip(headers, *cells, strict=True)]
    lines = [headers, ["-" * size for size in sizes], *cells]
    return "\n".join(
        "  ".join(cell.ljust(size) for cell, size in zip(line, sizes, strict=True)).rstrip()
        for line in lines
    )


def _shortened(rows: list[list[str]], headers: list[str]) -> str:
    table = render_table(rows[:TABLE_ROWS], headers)
    if len(rows) > TABLE_ROWS:
        table += f"\n... and {len(rows) - TABLE_ROWS} more"
    return table


async def run_demo(output: Path, out: TextIO) -> DemoResult:
    """Run the whole demo, printing to ``out``; returns what it found."""
    today = datetime.now().astimezone().date()
    week_start, week_end = week_of(today)
    say = out.write

    # One HTTP session for every client, as a bot that already has one would do.
    async with aiohttp.ClientSession() as session:
        # ---- R7 ------------------------------------------------------------------------
        say("== R7-Office calendar (fake server) ==\n")
        async with r7_demo.demo_server() as r7_server:
            seeded = await r7_demo.seed(r7_server)
            say(f"seeded {seeded.events} events in {len(seeded.calendars)} calendars\n")
            password = r7_demo.DEMO_USERS["alice"]
            async with (
                R7Client(r7_server.url, login="alice", password=password, session=session) as r7,
                R7Client(
                    r7_server.url,
                    login="bob",
                    password=r7_demo.DEMO_USERS["bob"],
                    session=session,
                ) as bob,
            ):
                login = await r7.login()
                user = login.user
                assert user is not None
                say(f"logged in as {user.name} (user {user.id})\n")

                launch = await r7.calendars.create(name="Product launch", color="#FFC078")
                say(f"created calendar {launch.name!r} (id {launch.id})\n")
                bob_id = r7_server.user("bob").id
                await r7.calendars.share([launch.id], [bob_id], AccessLevel.WRITE)
                say(f"shared it with Bob (user {bob_id}) for WRITE\n")

                def at(day: int, hour: int, minute: int = 0) -> datetime:
                    return week_start + timedelta(days=day, hours=hour, minutes=minute)

                await r7.events.create(
                    at(1, 15), at(1, 16), name="Launch rehearsal", calendar_id=launch.id
                )
                await r7.events.create(
                    at(3, 11), at(3, 11, 45), name="Press briefing", calendar_id=launch.id
                )
                await r7.events.create(
                    (week_start + timedelta(days=4)).date(),
                    name="Launch day",
                    calendar_id=launch.id,
                    all_day=True,
                )
                # Bob sees the shared calendar and, with WRITE, adds to it.
                bobs = {c.id: c for c in await bob.calendars.list()}
                assert launch.id in bobs
                await bob.events.create(
                    at(2, 10), at(2, 10, 30), name="Check the slides", calendar_id=launch.id
                )
                say("created 3 events; Bob added one to the shared calendar\n\n")

                calendars = await r7.calendars.list()
                names = {c.id: c.name or str(c.id) for c in calendars}
                events = [
                    event
                    async for event in r7.events.iterate(
                        [c.id for c in calendars], week_start, week_end
                    )
                ]
                rows = [
                    [
                        format_when(event.start_day or event.start_date),
                        "all day" if event.is_all_day else format_when(event.end_date)[-5:],
                        event.name or "",
                        names.get(event.calendar_id or 0, ""),
                    ]
                    for event in events
                ]
                say(f"This week in R7 ({week_start:%d %b} - {week_end:%d %b}), ")
                say(f"{len(events)} events in {len(calendars)} calendars:\n")
                say(_shortened(rows, ["START", "END", "EVENT", "CALENDAR"]) + "\n\n")

        # ---- Pyrus ---------------------------------------------------------------------
        say("== Pyrus calendar (fake server) ==\n")
        async with pyrus_demo.demo_server() as pyrus_server:
            stored = pyrus_demo.seed(pyrus_server)
            say(
                f"seeded {stored.tasks} tasks and {stored.meetings} meetings; the server "
                "returns at most 100 per answer, in a new order every time\n"
            )
            async with PyrusClient(
                base_url=pyrus_server.api_url,
                login=pyrus_server.DEFAULT_LOGIN,
                security_key=pyrus_server.DEFAULT_SECURITY_KEY,
                session=session,
            ) as pyrus:
                month = [
                    task
                    async for task in pyrus.iter_calendar(
                        stored.start,
                        stored.end,
                        filters=CalendarFilter.ALL,
                        all_accessed_tasks=True,
                    )
                ]
                requests = pyrus.stats.calendar_requests
                say(f"paged the month: {len(month)} tasks, each once, in {requests} requests\n")
                week_tasks = sorted(
                    [
                        task
                        async for task in pyrus.iter_calendar(
                            week_start, week_end, filters="due,due_date"
                        )
                    ],
                    key=_sort_key,
                )
                meetings = [m async for m in pyrus.iter_meetings(week_start, week_end)]

            rows = [
                [
                    format_when(_task_when(task)),
                    str(task.id),
                    task.subject or task.text or "",
                    task.responsible.full_name if task.responsible else "",
                ]
                for task in week_tasks
            ]
            say(f"\nThis week in Pyrus, {len(week_tasks)} tasks due:\n")
            say(_shortened(rows, ["DUE", "ID", "TASK", "RESPONSIBLE"]) + "\n")
            meeting_rows = [
                [
                    format_when(m.start_time),
                    f"{m.duration} min",
                    m.type or "",
                    m.join_parameters.url or "" if m.join_parameters else "",
                ]
                for m in sorted(meetings, key=lambda m: m.start_time or week_start)
            ]
            say(f"\n{len(meetings)} meetings this week:\n")
            say(_shortened(meeting_rows, ["START", "LENGTH", "TYPE", "JOIN"]) + "\n")

    # ---- one .ics for the whole week ----------------------------------------------------
    items: list[Exportable] = [*events, *week_tasks, *meetings]
    await asyncio.to_thread(_write, output, build_calendar(items, name="This week (demo)"))
    say(f"\nwrote {len(items)} events of the week to {output}\n")
    return DemoResult(events, len(month), requests, week_tasks, meetings, output)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """``python examples/demo.py [--output FILE]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the .ics file")
    args = parser.parse_args(argv)
    stream = out or sys.stdout
    began = time.perf_counter()
    asyncio.run(run_demo(args.output, stream))
    stream.write(
        f"done in {time.perf_counter() - began:.1f} s. Now try the command line:\n"
        "  .venv/bin/python -m r7cal --demo events list --from today --to +7d\n"
        "  .venv/bin/python -m pyrus_calendar --demo tasks --filter due,due_date --json\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
