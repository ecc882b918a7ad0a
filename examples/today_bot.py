"""A chat-bot command, ``/today``: what is on today for a user, from R7 and Pyrus.

The logic needs no chat platform: :meth:`TodayService.today_for` takes a chat user id and
returns the answer text. It keeps one R7 and one Pyrus client per user, all on one
``aiohttp.ClientSession`` that belongs to the bot (the clients never close it), so tokens
are reused between messages and no second connection pool is opened.

:class:`ChangeNotifier` tells each user, unasked, when an event of theirs is added, moved or
cancelled: one ``watch()`` per user, run by a ``WatchRunner``. With one state file the bot
picks up after a restart where it stopped; with ``RedisWatchState`` and ``RedisWatchLeases``
several replicas of the bot share the users, each user's watch on one replica at a time.

* ``python examples/today_bot.py`` answers ``/today`` once against the embedded fakes.
* ``python examples/today_bot.py --aiogram`` runs it as a Telegram bot with aiogram 3
  (``pip install aiogram``; it is not a dependency of this SDK), see :func:`run_aiogram`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

import aiohttp

from calendar_bridge import Agenda, AgendaError, AgendaItem
from calendar_transport import (
    AuthenticationError,
    RequestTimeoutError,
    RetryPolicy,
    TransportError,
)
from calendar_transport.local_time import local_zone
from calendar_watch import Change, Watch, WatchState
from calendar_watch.replicas import WatchLease, WatchRunner
from pyrus_calendar import Meeting, PyrusClient, Task
from r7cal import Event, R7Client

Clock = Callable[[], datetime]
Notify = Callable[[int, str], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Account:
    """One chat user's calendars: an R7 login and the Pyrus person to act as."""

    r7_login: str | None = None
    r7_password: str | None = field(default=None, repr=False)
    pyrus_person_id: int | None = None


@dataclass(frozen=True)
class Settings:
    """Where the servers are, and the bot's own Pyrus login (it acts for each person)."""

    r7_base_url: str | None = None
    pyrus_base_url: str = "https://api.pyrus.com/v4/"
    pyrus_login: str | None = None
    pyrus_security_key: str | None = field(default=None, repr=False)
    zone: tzinfo = UTC
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class _Clients:
    r7: R7Client | None
    pyrus: PyrusClient | None


class TodayService:
    """Answers "what is on today" for chat users, from both backends."""

    def __init__(
        self,
        settings: Settings,
        accounts: Mapping[int, Account],
        session: aiohttp.ClientSession,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.accounts = accounts
        self._session = session
        self._clock = clock or (lambda: datetime.now(UTC))
        self._clients: dict[int, _Clients] = {}

    async def today_for(self, user_id: int) -> str:
        """The answer to ``/today`` for the chat user ``user_id``."""
        account = self.accounts.get(user_id)
        if account is None:
            return "I do not know your calendars yet: ask the admin to link your accounts."
        clients = self._clients_for(user_id, account)
        if clients.r7 is None and clients.pyrus is None:
            return "No calendar is linked to your account yet."
        zone = self.settings.zone
        today = self._clock().astimezone(zone).date()
        # The whole day in one call, both backends at once: all-day items by their dates
        # in the user's zone, the rest by their times, midnight to midnight by the zone's
        # rules for today; one backend failing leaves the other's answer (agenda.errors).
        agenda = Agenda(r7=clients.r7, pyrus=clients.pyrus, zone=zone, timeout=20)
        heading = f"Today, {today:%a %d %b}:"
        try:
            entries = await agenda.day(today)
        except AgendaError as failed:
            down = ", ".join(f"{_NAMES[s]} ({_reason(e)})" for s, e in failed.errors.items())
            return f"{heading}\nunavailable right now: {down}"
        lines = [heading]
        lines.extend(self._line(entry) for entry in entries)
        if not entries:
            lines.append("  nothing on")
        for source, failure in agenda.errors.items():
            lines.append(f"{_NAMES[source]}: unavailable right now ({_reason(failure)})")
        return "\n".join(lines)

    async def aclose(self) -> None:
        """Close the clients (the shared session stays open: it is the bot's)."""
        for clients in self._clients.values():
            for client in (clients.r7, clients.pyrus):
                if client is not None:
                    await client.aclose()
        self._clients.clear()

    def _clients_for(self, user_id: int, account: Account) -> _Clients:
        if user_id not in self._clients:
            s = self.settings
            r7 = None
            if s.r7_base_url and account.r7_login and account.r7_password:
                r7 = R7Client(
                    s.r7_base_url,
                    login=account.r7_login,
                    password=account.r7_password,
                    session=self._session,
                    retry=s.retry,
                )
            pyrus = None
            if s.pyrus_login and s.pyrus_security_key:
                pyrus = PyrusClient(
                    base_url=s.pyrus_base_url,
                    login=s.pyrus_login,
                    security_key=s.pyrus_security_key,
                    person_id=account.pyrus_person_id,
                    session=self._session,
                    retry=s.retry,
                )
            self._clients[user_id] = _Clients(r7, pyrus)
        return self._clients[user_id]

    def _line(self, entry: AgendaItem) -> str:
        """One line of the answer: when, what, and from where."""
        if entry.all_day:
            when = "all day"
        else:
            assert isinstance(entry.start, datetime)
            assert isinstance(entry.end, datetime)
            when = self._time(entry.start)
            if entry.end > entry.start:
                when += f"-{self._time(entry.end)}"
        title = entry.title
        if isinstance(entry.item, Task):
            title = f"#{entry.item.id} {title}"
        elif isinstance(entry.item, Meeting) and entry.item.join_parameters is not None:
            link = entry.item.join_parameters.url
            title += f": {link}" if link else ""
        return f"  {when}  {title} ({_NAMES[entry.source]})"

    def _time(self, moment: datetime) -> str:
        return moment.astimezone(self.settings.zone).strftime("%H:%M")


class ChangeNotifier:
    """Tells chat users when events in their R7 calendars are added, moved or cancelled.

    One watch per user with an R7 account (named ``user-<id>``), over the calendars the
    user sees when the watch starts, for the next ``horizon``. ``state_for(name)``: where
    that user's watch keeps what it saw (default: memory, so a restart starts afresh); give
    every user the same ``SqliteWatchState`` to survive restarts, or
    ``RedisWatchState(redis, name, lease=...)`` with ``lease=`` for replicas. A user is told
    at least once of each change: a message that failed to send is sent again, after a
    restart too. The first poll of a new user reports what is already there, as "New".
    """

    def __init__(
        self,
        service: TodayService,
        notify: Notify,
        *,
        state_for: Callable[[str], WatchState] | None = None,
        lease: WatchLease | None = None,
        interval: float = 60.0,
        horizon: timedelta = timedelta(days=7),
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.service = service
        self._notify = notify
        self._state_for = state_for
        self._interval = interval
        self._horizon = horizon
        self._clock = clock
        self._sleep = sleep
        names = [
            f"user-{user_id}"
            for user_id, account in service.accounts.items()
            if account.r7_login and account.r7_password
        ]
        self.runner = WatchRunner(names, self._start, self._handle, lease=lease)

    async def _start(self, name: str) -> Watch[Event]:
        user_id = int(name.removeprefix("user-"))
        clients = self.service._clients_for(user_id, self.service.accounts[user_id])
        if clients.r7 is None:
            raise LookupError(f"{name} has no R7 account linked")
        calendars = await clients.r7.calendars.list()
        return clients.r7.events.watch(
            [c.id for c in calendars],
            lookback=timedelta(0),
            horizon=self._horizon,
            interval=self._interval,
            state=self._state_for(name) if self._state_for else None,
            name=f"{name}/r7-events",
            clock=self._clock,
            sleep=self._sleep,
        )

    async def _handle(self, name: str, change: Change[Event]) -> None:
        await self._notify(int(name.removeprefix("user-")), self.message(change))

    def message(self, change: Change[Event]) -> str:
        """What the user reads about ``change``."""
        event, before = change.item, change.previous
        title = event.name or "(no title)"
        if change.kind == "added":
            return f"New: {title}, {self._when(event)}"
        if change.kind == "removed":
            return f"Cancelled: {title}, {self._when(event)}"
        if before is not None and (before.start_date, before.end_date) != (
            event.start_date,
            event.end_date,
        ):
            return f"Moved: {title}, from {self._when(before)} to {self._when(event)}"
        return f"Changed: {title}, {self._when(event)}"

    def _when(self, event: Event) -> str:
        zone = self.service.settings.zone
        if event.start_day is not None:
            return f"{event.start_day:%a %d %b}, all day"
        if event.start_date is None:
            return "no time set"
        return event.start_date.astimezone(zone).strftime("%a %d %b %H:%M")


_NAMES = {"r7": "R7", "pyrus": "Pyrus"}


def _reason(error: BaseException) -> str:
    # A chat user needs the kind of failure, not the URL.
    if isinstance(error, AuthenticationError):
        return "the login was refused"
    if isinstance(error, RequestTimeoutError):
        return "no answer in time"
    if isinstance(error, TransportError):
        return "cannot reach it"
    return "it answered with an error"


# ---- aiogram wiring (only imported when run as a bot) ------------------------------------


def run_aiogram(token: str, settings: Settings, accounts: Mapping[int, Account]) -> None:
    """Run ``/today`` as a Telegram bot with aiogram 3, sharing the bot's HTTP session."""
    from aiogram import Bot, Dispatcher  # type: ignore[import-not-found, unused-ignore]
    from aiogram.filters import Command  # type: ignore[import-not-found, unused-ignore]
    from aiogram.types import Message  # type: ignore[import-not-found, unused-ignore]

    async def main() -> None:
        bot = Bot(token)
        # aiogram's AiohttpSession creates its aiohttp.ClientSession here and closes it in
        # bot.session.close(); the calendar clients borrow it.
        session = await bot.session.create_session()
        service = TodayService(settings, accounts, session)
        dispatcher = Dispatcher()

        async def today(message: Message) -> None:
            user = message.from_user
            await message.answer(await service.today_for(user.id if user else 0))

        dispatcher.message.register(today, Command("today"))

        async def notify(user_id: int, text: str) -> None:
            await bot.send_message(user_id, text)

        # Unasked messages about added, moved and cancelled events, next to the commands.
        notifier = ChangeNotifier(service, notify)
        watching = asyncio.create_task(notifier.runner.run())
        try:
            await dispatcher.start_polling(bot)
        finally:
            notifier.runner.stop()
            await watching
            await service.aclose()
            await bot.session.close()

    asyncio.run(main())


def _settings_from_env() -> tuple[Settings, dict[int, Account]]:
    settings = Settings(
        r7_base_url=os.environ.get("R7_BASE_URL"),
        pyrus_base_url=os.environ.get("PYRUS_BASE_URL", "https://api.pyrus.com/v4/"),
        pyrus_login=os.environ.get("PYRUS_LOGIN"),
        pyrus_security_key=os.environ.get("PYRUS_SECURITY_KEY"),
        zone=local_zone(),
    )
    # A personal bot: the Telegram user TODAY_BOT_OWNER_ID gets the R7 account from the
    # environment. A real deployment would keep a table of linked accounts instead.
    owner = int(os.environ.get("TODAY_BOT_OWNER_ID", "0"))
    accounts = {owner: Account(os.environ.get("R7_LOGIN"), os.environ.get("R7_PASSWORD"))}
    return settings, accounts


# ---- a run against the embedded fakes ------------------------------------------------------


async def demo(now: datetime | None = None) -> str:
    """Answer ``/today`` once for a demo user, against both fakes with their sample data."""
    from pyrus_calendar.testing import demo as pyrus_demo
    from r7cal.testing import demo as r7_demo

    zone = local_zone()
    moment = now or datetime.now(UTC)
    today: date = moment.astimezone(zone).date()
    async with (
        r7_demo.demo_server() as r7_server,
        pyrus_demo.demo_server() as pyrus_server,
        aiohttp.ClientSession() as session,  # stands in for the bot's session
    ):
        await r7_demo.seed(r7_server, today=today, zone=zone)
        pyrus_demo.seed(pyrus_server, now=moment)
        settings = Settings(
            r7_base_url=r7_server.url,
            pyrus_base_url=pyrus_server.api_url,
            pyrus_login=pyrus_server.DEFAULT_LOGIN,
            pyrus_security_key=pyrus_server.DEFAULT_SECURITY_KEY,
            zone=zone,
        )
        chat_user = 42
        accounts = {chat_user: Account("alice", r7_demo.DEMO_USERS["alice"])}
        service = TodayService(settings, accounts, session, clock=lambda: moment)
        try:
            return await service.today_for(chat_user)
        finally:
            await service.aclose()


def main(argv: list[str] | None = None) -> int:
    """``python examples/today_bot.py [--aiogram]``."""
    parser = argparse.ArgumentParser(description="The /today bot command.")
    parser.add_argument(
        "--aiogram",
        action="store_true",
        help="run as a Telegram bot (BOT_TOKEN, R7_*, PYRUS_* and TODAY_BOT_OWNER_ID from env)",
    )
    args = parser.parse_args(argv)
    if args.aiogram:
        settings, accounts = _settings_from_env()
        run_aiogram(os.environ["BOT_TOKEN"], settings, accounts)
        return 0
    print("/today")
    print(asyncio.run(demo()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
