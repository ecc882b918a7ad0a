"""Sample data for the embedded fake R7 server (``r7cal --demo``, ``make demo``).

Four colleagues, their calendars, calendars shared between them and a month of events
around today, created through :class:`R7Client` exactly as a user would create them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Final

from calendar_transport import RetryPolicy
from calendar_transport.local_time import local_zone

from ..client import R7Client
from ..models import AccessLevel
from .fake import FakeR7Server

__all__ = ["DEMO_LOGIN", "DEMO_USERS", "DemoData", "demo_server", "seed"]

#: logins and passwords of the demo users (a fake server's, never a real one's)
DEMO_USERS: Final = {
    "alice": "alice-demo-pw",
    "bob": "bob-demo-pw",
    "carol": "carol-demo-pw",
    "dave": "dave-demo-pw",
}
#: the user the CLI's ``--demo`` logs in as
DEMO_LOGIN: Final = "alice"
_NAMES: Final = {
    "alice": "Smirnova Alice",
    "bob": "Ivanov Bob",
    "carol": "Petrova Carol",
    "dave": "Kuznetsov Dave",
}
_CONCURRENCY: Final = 8


@dataclass
class DemoData:
    """What :func:`seed` created: calendar ids by name and how many events."""

    calendars: dict[str, int] = field(default_factory=dict)
    events: int = 0


def demo_server() -> FakeR7Server:
    """A fake R7 server with the demo users (start it with ``async with``)."""
    server = FakeR7Server(users={})
    for login, password in DEMO_USERS.items():
        server.add_user(login, password, name=_NAMES[login], email=f"{login}@demo.r7")
    return server


async def seed(
    server: FakeR7Server, *, today: date | None = None, zone: tzinfo | None = None
) -> DemoData:
    """Fill a started :func:`demo_server` with calendars, shares and a month of events.

    Events run from a week before ``today`` to three weeks after it, at office hours in
    ``zone`` (the local zone by default).
    """
    zone = zone or local_zone()  # the zone's rules for each date, not today's offset
    today = today or datetime.now(zone).date()
    first = today - timedelta(days=7)
    days = [first + timedelta(days=offset) for offset in range(30)]
    data = DemoData()
    ids = {login: server.user(login).id for login in DEMO_USERS}
    clients = {
        login: R7Client(
            server.url,
            login=login,
            password=password,
            retry=RetryPolicy(attempts=1),
        )
        for login, password in DEMO_USERS.items()
    }
    limit = asyncio.Semaphore(_CONCURRENCY)
    jobs: list[Callable[[], Awaitable[object]]] = []

    def at(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=zone)

    def meeting(login: str, calendar: str, name: str, start: datetime, minutes: int) -> None:
        calendar_id, end = data.calendars[calendar], start + timedelta(minutes=minutes)

        async def create() -> object:
            return await clients[login].events.create(
                start, end, name=name, calendar_id=calendar_id
            )

        jobs.append(create)

    def all_day(login: str, calendar: str, name: str, day: date, length: int = 1) -> None:
        calendar_id, end = data.calendars[calendar], day + timedelta(days=length)

        async def create() -> object:
            return await clients[login].events.create(
                day, end, name=name, calendar_id=calendar_id, all_day=True
            )

        jobs.append(create)

    try:
        alice, bob, carol, dave = (clients[login] for login in DEMO_USERS)
        for client, name, color in (
            (alice, "Team", "#FFC078"),
            (bob, "On-call", "#FF8787"),
            (carol, "Office", "#8CE99A"),
            (dave, "Releases", "#B197FC"),
        ):
            created = await client.calendars.create(name=name, short_name=name, color=color)
            data.calendars[name] = created.id
        data.calendars["Alice"] = server.user("alice").main_calendar_id
        team, on_call = data.calendars["Team"], data.calendars["On-call"]
        office, releases = data.calendars["Office"], data.calendars["Releases"]
        await alice.calendars.share([team], [ids["bob"], ids["carol"]], AccessLevel.WRITE)
        await alice.calendars.share([team], [ids["dave"]], AccessLevel.READ)
        await bob.calendars.share([on_call], [ids["alice"], ids["dave"]], AccessLevel.READ)
        await carol.calendars.share([office], [ids["alice"], ids["bob"]], AccessLevel.WRITE)
        await dave.calendars.share([releases], [ids["alice"]], AccessLevel.FULL)

        for number, day in enumerate(days):
            weekday = day.weekday()
            if weekday >= 5:
                continue
            meeting("alice", "Team", "Daily standup", at(day, 9, 30), 15)
            if weekday == 0 and number % 14 < 7:
                meeting("alice", "Team", "Sprint planning", at(day, 11), 60)
            if weekday == 0:
                all_day("bob", "On-call", "On call: Bob", day, 5)
            if weekday == 1:
                meeting("alice", "Alice", "1:1 with Bob", at(day, 14), 30)
            if weekday == 2:
                meeting("dave", "Releases", "Release train", at(day, 10), 30)
            if weekday == 3:
                meeting("carol", "Office", "Lunch & learn", at(day, 12, 30), 60)
            if weekday == 4:
                meeting("bob", "Team", "Retrospective", at(day, 16), 60)
        meeting("alice", "Alice", "Dentist", at(today + timedelta(days=2), 8), 45)
        all_day("carol", "Office", "Office closed: cleaning", today + timedelta(days=9))
        all_day("alice", "Alice", "Conference", today + timedelta(days=15), 2)

        async def run(job: Callable[[], Awaitable[object]]) -> None:
            async with limit:
                await job()

        await asyncio.gather(*(run(job) for job in jobs))
        data.events = len(jobs)
    finally:
        for client in clients.values():
            await client.aclose()
    return data
