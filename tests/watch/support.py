"""A clock the tests move by hand, and helpers to drain a watch without real sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from calendar_watch import Change, Watch

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


class Idle(Exception):
    """Raised by :class:`FakeClock` when a watch waits more often than the test allows."""


class FakeClock:
    """Time that passes only when the watch sleeps (or the test moves it).

    ``sleep`` raises :class:`Idle` after ``waits`` sleeps since the last :meth:`allow`: a
    watch that finds nothing new polls that many more times, then the test gets control.
    """

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now
        self.slept: list[float] = []
        self._budget = 0

    def __call__(self) -> datetime:
        return self.now

    def allow(self, waits: int) -> None:
        """Let the watch wait ``waits`` more times before :class:`Idle`."""
        self._budget = waits

    def move(self, delta: timedelta) -> None:
        """Let time pass."""
        self.now += delta

    async def sleep(self, seconds: float) -> None:
        if self._budget <= 0:
            raise Idle
        self._budget -= 1
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


async def drain(watch: Watch[Any], clock: FakeClock, *, waits: int = 0) -> list[Change[Any]]:
    """Every change the watch reports with at most ``waits`` more polls after the current
    one, each change taken (so committed) before the next is asked for."""
    clock.allow(waits)
    found: list[Change[Any]] = []
    for _ in range(100_000):  # bounded: a test never expects this many
        try:
            found.append(await anext(watch))
        except Idle:
            return found
    raise AssertionError("the watch kept reporting changes")


def kinds(changes: list[Change[Any]]) -> list[tuple[str, str]]:
    """(kind, item key) of each change, the key being the one before the ``@``."""
    return [(change.kind, change.key.split("@")[0]) for change in changes]
