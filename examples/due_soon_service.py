"""A service loop: every N seconds, ask Pyrus for tasks due in the next hour and report each
new one once (to a chat, a log, a pager: ``report`` decides).

The clock and the sleep are injected, so a test runs a bounded number of polls with a fake
clock and no waiting. A failed poll is logged and the loop goes on: the next tick asks again.

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

from calendar_transport import CalendarError
from pyrus_calendar import CalendarFilter, PyrusClient, Task

logger = logging.getLogger("due_soon_service")

Clock = Callable[[], datetime]
Report = Callable[[Task], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DueSoonWatcher:
    """Finds open tasks due within ``horizon`` and reports each (task, deadline) once."""

    def __init__(
        self,
        pyrus: PyrusClient,
        report: Report,
        *,
        horizon: timedelta = timedelta(hours=1),
        clock: Clock = _utc_now,
    ) -> None:
        self._pyrus = pyrus
        self._report = report
        self._horizon = horizon
        self._clock = clock
        # task id -> the deadline it was reported with; a moved deadline is news again
        self._reported: dict[int, datetime] = {}

    async def poll(self) -> list[Task]:
        """One look at the next ``horizon``; returns the tasks reported this time."""
        now = self._clock()
        found = self._pyrus.iter_calendar(now, now + self._horizon, filters=CalendarFilter.DUE)
        due = [task async for task in found if task.due is not None and not task.is_closed]
        new = [task for task in due if self._reported.get(task.id) != task.due]
        new.sort(key=lambda task: (task.due or now, task.id))
        for task in new:
            await self._report(task)
            assert task.due is not None
            self._reported[task.id] = task.due
        # What is already past cannot come up again; forgetting it keeps memory bounded.
        self._reported = {key: due_at for key, due_at in self._reported.items() if due_at >= now}
        return new


async def run(
    watcher: DueSoonWatcher,
    *,
    interval: float,
    iterations: int | None = None,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Poll every ``interval`` seconds, ``iterations`` times (forever when ``None``)."""
    done = 0
    while iterations is None or done < iterations:
        try:
            await watcher.poll()
        except CalendarError as error:
            logger.warning("poll failed, will try again in %gs: %s", interval, error)
        done += 1
        if iterations is None or done < iterations:
            await sleep(interval)


async def print_report(task: Task) -> None:
    """Report a task on stdout (a bot would send a message here)."""
    assert task.due is not None
    due = task.due.astimezone().strftime("%H:%M")
    print(f"due at {due}: #{task.id} {task.subject or task.text or ''}", flush=True)


async def main_async(*, real: bool, interval: float, iterations: int | None) -> None:
    """Run the loop against Pyrus (``real``) or against the embedded fake with sample data."""
    if real:
        async with PyrusClient(
            login=os.environ["PYRUS_LOGIN"], security_key=os.environ["PYRUS_SECURITY_KEY"]
        ) as pyrus:
            await run(DueSoonWatcher(pyrus, print_report), interval=interval, iterations=iterations)
        return
    from pyrus_calendar.testing import demo as demo_data

    async with demo_data.demo_server() as server:
        demo_data.seed(server)
        async with PyrusClient(
            base_url=server.api_url,
            login=server.DEFAULT_LOGIN,
            security_key=server.DEFAULT_SECURITY_KEY,
        ) as pyrus:
            await run(DueSoonWatcher(pyrus, print_report), interval=interval, iterations=iterations)


def main(argv: list[str] | None = None) -> int:
    """``python examples/due_soon_service.py [--real] [--interval S] [--iterations N]``."""
    parser = argparse.ArgumentParser(description="Report Pyrus tasks due within the hour.")
    parser.add_argument("--real", action="store_true", help="poll Pyrus (PYRUS_* from env)")
    parser.add_argument("--interval", type=float, default=None, help="seconds between polls")
    parser.add_argument("--iterations", type=int, default=None, help="polls (default: forever)")
    args = parser.parse_args(argv)
    # Against the fake, a short demonstration; against Pyrus, a gentle default.
    interval = args.interval if args.interval is not None else (60.0 if args.real else 0.5)
    iterations = args.iterations if args.iterations is not None or args.real else 3
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    asyncio.run(main_async(real=args.real, interval=interval, iterations=iterations))
    return 0


if __name__ == "__main__":
    sys.exit(main())
