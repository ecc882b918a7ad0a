"""A service: report each Pyrus task as it comes due within the hour, once per deadline, to a
chat, a log or a pager (``report`` decides), across restarts.

It is built on ``PyrusClient.watch()``: the window ``[now, now + horizon)`` rolls with the
clock, so a task entering it is an ``added`` change and a moved deadline a ``changed`` one; a
task whose deadline has passed falls off the back of the window without a word. With a state
file (``--state``) a restart reports nothing twice, and what came due while the service was
down is reported once when it is back. Delivery is at-least-once: a crash in ``report``
repeats that one report after the restart, never skips it.

The clock and the sleep are injected, so a test runs a bounded number of polls with a fake
clock and no waiting. A failed poll is logged by the watch and it goes on.

``python examples/due_soon_service.py`` runs three polls against the embedded fake; with
``PYRUS_LOGIN`` and ``PYRUS_SECURITY_KEY`` set and ``--real`` it polls your Pyrus.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from calendar_watch import Change, Watch
from calendar_watch.replicas import next_change
from pyrus_calendar import CalendarFilter, Meeting, PyrusClient, Task

logger = logging.getLogger("due_soon_service")

Clock = Callable[[], datetime]
Report = Callable[[Task], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DueSoonService:
    """Reports open tasks due within ``horizon``: each once, and again when its deadline moves."""

    def __init__(
        self,
        pyrus: PyrusClient,
        report: Report,
        *,
        horizon: timedelta = timedelta(hours=1),
        state: str | Path | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        self._pyrus = pyrus
        self._report = report
        self._horizon = horizon
        self._state = state
        self._clock = clock

    def watch(self, *, interval: float, sleep: Sleep) -> Watch[Task | Meeting]:
        """The watch this service runs: tasks due from now to ``horizon``, added or moved."""
        return self._pyrus.watch(
            filters=CalendarFilter.DUE,
            lookback=timedelta(0),  # what is already due is past news
            horizon=self._horizon,
            interval=interval,
            state=self._state,
            kinds=("added", "changed"),  # a task leaving the window needs no message
            clock=self._clock,
            sleep=sleep,
        )

    async def handle(self, change: Change[Task | Meeting]) -> bool:
        """Report the change if it is news (a new deadline of an open task); ``True`` if so."""
        task = change.item
        if not isinstance(task, Task) or task.due is None or task.is_closed:
            return False
        previous = change.previous
        if isinstance(previous, Task) and previous.due == task.due and not previous.is_closed:
            return False  # edited, but the deadline did not move
        await self._report(task)
        return True


async def run(
    service: DueSoonService,
    *,
    interval: float,
    iterations: int | None = None,
    sleep: Sleep = asyncio.sleep,
) -> int:
    """Poll every ``interval`` seconds, ``iterations`` times (forever when ``None``);
    returns how many tasks were reported."""
    stop = asyncio.Event()
    changes: Watch[Task | Meeting]

    async def pace(seconds: float) -> None:
        # The watch waits here before each poll after the first: the place to stop, since
        # every change of the poll before has been handled and committed by now.
        if iterations is not None and changes.polls + changes.polls_skipped >= iterations:
            stop.set()
            await asyncio.Event().wait()  # cancelled by the stop
        await sleep(seconds)

    changes = service.watch(interval=interval, sleep=pace)
    reported = 0
    async with changes:  # leaving normally commits the change handled last
        while (change := await next_change(changes, stop)) is not None:
            reported += await service.handle(change)
    return reported


async def print_report(task: Task) -> None:
    """Report a task on stdout (a bot would send a message here)."""
    assert task.due is not None
    due = task.due.astimezone().strftime("%H:%M")
    print(f"due at {due}: #{task.id} {task.subject or task.text or ''}", flush=True)


async def main_async(
    *, real: bool, interval: float, iterations: int | None, state: str | None
) -> None:
    """Run the service against Pyrus (``real``) or against the embedded fake with sample data."""
    if real:
        async with PyrusClient(
            login=os.environ["PYRUS_LOGIN"], security_key=os.environ["PYRUS_SECURITY_KEY"]
        ) as pyrus:
            service = DueSoonService(pyrus, print_report, state=state)
            await run(service, interval=interval, iterations=iterations)
        return
    from pyrus_calendar.testing import demo as demo_data

    async with demo_data.demo_server() as server:
        demo_data.seed(server)
        async with PyrusClient(
            base_url=server.api_url,
            login=server.DEFAULT_LOGIN,
            security_key=server.DEFAULT_SECURITY_KEY,
        ) as pyrus:
            service = DueSoonService(pyrus, print_report, state=state)
            await run(service, interval=interval, iterations=iterations)


def main(argv: list[str] | None = None) -> int:
    """``python examples/due_soon_service.py [--real] [--state FILE] [--interval S]
    [--iterations N]``."""
    parser = argparse.ArgumentParser(description="Report Pyrus tasks due within the hour.")
    parser.add_argument("--real", action="store_true", help="poll Pyrus (PYRUS_* from env)")
    parser.add_argument("--state", help="an SQLite file: what was reported survives a restart")
    parser.add_argument("--interval", type=float, default=None, help="seconds between polls")
    parser.add_argument("--iterations", type=int, default=None, help="polls (default: forever)")
    args = parser.parse_args(argv)
    # Against the fake, a short demonstration; against Pyrus, a gentle default.
    interval = args.interval if args.interval is not None else (60.0 if args.real else 0.5)
    iterations = args.iterations if args.iterations is not None or args.real else 3
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    asyncio.run(
        main_async(real=args.real, interval=interval, iterations=iterations, state=args.state)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
