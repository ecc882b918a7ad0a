"""Many named watches on several replicas: who runs which, through renewable leases.

:class:`WatchLease` is what a replica asks before it runs a watch: one holder per watch name
at a time, a claim that lapses ``ttl`` seconds after its last renewal (so a replica that dies
loses its watches within that time), and a heartbeat that says how many replicas are alive
(so each takes its fair share). ``calendar_watch.redis.RedisWatchLeases`` is the one for
replicas on several hosts; its ``RedisWatchState`` refuses a commit from a replica whose
lease lapsed, so two replicas never both advance one watch.

:class:`WatchRunner` runs the watches this replica holds, each in its own task, and hands
every change to one handler. Delivery stays at-least-once: a change handled but not yet
committed when a replica dies (or loses its lease) is delivered again by the next holder;
at most one such change per watch per handover.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar, runtime_checkable

from calendar_transport.checks import require_seconds
from calendar_transport.clocks import Sleep

__all__ = ["WatchLease", "WatchRunner", "check_watch_name", "next_change"]

logger = logging.getLogger(__name__)

#: starts the watch of a name: ``lambda name: pyrus.watch(state=...)``, or a coroutine
#: function returning one (to look something up first, such as the calendars to watch)
WatchStarter = Callable[[str], AsyncIterator[Any] | Awaitable[AsyncIterator[Any]]]
#: what a replica does with each change of the watch ``name``
ChangeHandler = Callable[[str, Any], Awaitable[None]]
#: an async sleep: asyncio.sleep, or a test's fake clock

_MAX_NAME = 200

T = TypeVar("T")


@runtime_checkable
class WatchLease(Protocol):
    """One replica's claims on named watches (see the module docstring)."""

    ttl: float  # seconds a claim lasts after it was taken or renewed

    async def acquire(self, name: str) -> bool:
        """Take the watch ``name`` if nobody holds it (or this replica already does)."""

    async def renew(self, name: str) -> bool:
        """Extend this replica's claim on ``name``; ``False`` once it has lapsed or moved."""

    async def release(self, name: str) -> None:
        """Give up ``name`` now (only if this replica still holds it)."""

    async def heartbeat(self) -> int:
        """Say this replica is alive; returns how many replicas are (this one included)."""


def check_watch_name(name: object) -> str:
    """``name`` if it can name a watch: a non-empty str without braces, spaces or newlines."""
    if not isinstance(name, str):
        raise TypeError(f"a watch name must be a str, not {type(name).__name__}")
    if not name or len(name) > _MAX_NAME or any(c in name for c in "{} \t\r\n"):
        raise ValueError(
            f"a watch name must be 1..{_MAX_NAME} characters without braces or spaces: {name!r:.60}"
        )
    return name


class WatchRunner:
    """Runs the named watches this replica holds a lease on, each change to ``handle``.

    ``names``: every watch the fleet runs (the same list on each replica); ``start(name)``
    opens one (an async iterator of changes, e.g. ``client.watch(state=...)``, or an
    awaitable of one). Without a
    ``lease`` this replica runs them all. Every ``renew_every`` seconds (default a third of
    the lease time) it renews what it holds, stops what it lost, and takes unheld watches up
    to its fair share (the watches divided by the live replicas, rounded up).
    """

    def __init__(
        self,
        names: Iterable[str],
        start: WatchStarter,
        handle: ChangeHandler,
        *,
        lease: WatchLease | None = None,
        renew_every: float | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.names = tuple(dict.fromkeys(check_watch_name(name) for name in names))
        if not self.names:
            raise ValueError("names must name at least one watch")
        if lease is not None and not isinstance(lease, WatchLease):
            raise TypeError(f"lease must be a WatchLease, not {type(lease).__name__}")
        every = renew_every if renew_every is not None else (lease.ttl / 3 if lease else 10.0)
        require_seconds(every, "renew_every", above=True)
        if lease is not None and every >= lease.ttl:
            raise ValueError(
                f"renew_every ({every}s) must be shorter than the lease ({lease.ttl}s)"
            )
        self._start = start
        self._handle = handle
        self._lease = lease
        self.renew_every = float(every)
        self._sleep = sleep
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stops: dict[str, asyncio.Event] = {}  # per watch: end it after this change
        self._stopping = asyncio.Event()
        self.handled = 0  # changes handed to ``handle``; tests and the soak read it

    @property
    def held(self) -> frozenset[str]:
        """The watches running on this replica now."""
        return frozenset(name for name, task in self._tasks.items() if not task.done())

    async def run(self, *, rounds: int | None = None) -> None:
        """Hold and run watches until :meth:`stop` (or ``rounds`` lease rounds have passed),
        then stop them cleanly: each finishes the change it is handling and commits it."""
        done = 0
        try:
            while not self._stopping.is_set() and (rounds is None or done < rounds):
                await self.tick()
                done += 1
                if self._stopping.is_set() or (rounds is not None and done >= rounds):
                    break
                waiter = asyncio.ensure_future(self._stopping.wait())
                pause = asyncio.ensure_future(self._sleep(self.renew_every))
                try:
                    await asyncio.wait({waiter, pause}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                    pause.cancel()
        finally:
            self._stopping.set()
            await self._stop_all()

    def stop(self) -> None:
        """Ask :meth:`run` to end (safe to call from a signal handler on the loop)."""
        self._stopping.set()
        for event in self._stops.values():
            event.set()

    async def tick(self) -> None:
        """One lease round: renew, drop what was lost, take a fair share of the rest."""
        for name in [name for name, task in self._tasks.items() if task.done()]:
            await self._forget(name)
        if self._lease is None:
            for name in self.names:
                if name not in self._tasks:
                    self._launch(name)
            return
        lease = self._lease
        for name in list(self._tasks):
            if not await lease.renew(name):
                logger.warning("lease on watch %s lapsed: another replica takes it over", name)
                await self._forget(name, release=False)
        replicas = max(await lease.heartbeat(), 1)
        share = math.ceil(len(self.names) / replicas)
        for name in list(self._tasks)[share:]:  # more than a fair share: hand some back
            await self._hand_back(name)
        for name in self.names:
            if len(self._tasks) >= share:
                break
            if name not in self._tasks and await lease.acquire(name):
                self._launch(name)

    def _launch(self, name: str) -> None:
        stop = self._stops[name] = asyncio.Event()
        if self._stopping.is_set():
            stop.set()
        self._tasks[name] = asyncio.create_task(self._run_one(name, stop), name=f"watch {name}")

    async def _run_one(self, name: str, stop: asyncio.Event) -> None:
        try:
            started = self._start(name)
            changes = await started if inspect.isawaitable(started) else started
        except Exception:
            logger.exception("watch %s could not start: another round tries again", name)
            return
        try:
            async with contextlib.AsyncExitStack() as stack:
                if isinstance(changes, contextlib.AbstractAsyncContextManager):
                    # A watch's own exit: the change last taken is committed when the loop
                    # is left normally, and left to be delivered again when it raised.
                    await stack.enter_async_context(changes)
                else:
                    aclose = getattr(changes, "aclose", None)
                    if aclose is not None:
                        stack.push_async_callback(aclose)
                while not stop.is_set():
                    change = await next_change(changes, stop)
                    if change is None:
                        return
                    # Handled to the end even when a stop comes meanwhile, and committed as
                    # the loop is left: a clean stop repeats nothing.
                    await self._handle(name, change)
                    self.handled += 1
        except StopAsyncIteration:
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("watch %s stopped: another round takes it up again", name)

    async def _hand_back(self, name: str) -> None:
        # Still this replica's: the change being handled is finished and committed first,
        # so the next holder repeats nothing.
        self._stops[name].set()
        await asyncio.gather(self._tasks[name], return_exceptions=True)
        await self._forget(name)

    async def _forget(self, name: str, *, release: bool = True) -> None:
        # Lost (or ended): cancelled at once, as a commit would be refused anyway; the change
        # being handled, if any, is delivered again by the next holder.
        task = self._tasks.pop(name)
        self._stops.pop(name, None)
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if release and self._lease is not None:
            await self._lease.release(name)

    async def _stop_all(self) -> None:
        for event in self._stops.values():
            event.set()
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._lease is not None:
            for name in list(self._tasks):
                with contextlib.suppress(Exception):  # Redis gone: the lease lapses by itself
                    await self._lease.release(name)
        self._tasks.clear()
        self._stops.clear()


async def next_change(changes: AsyncIterator[T], stopping: asyncio.Event) -> T | None:
    """The next change, or ``None`` once ``stopping`` is set first (the wait is cancelled).

    Waiting for the next poll is where a stop may cut in: nothing is in the consumer's
    hands then, and the change before was committed when this one was asked for.
    ``StopAsyncIteration`` passes through when the watch ends.
    """
    if stopping.is_set():  # asked to stop while the last one was handled: ask for no more
        return None
    step = asyncio.ensure_future(anext(changes))
    waiter = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({step, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not step.done():  # stopped, or this task cancelled: the watch must be idle after
            step.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await step
    if step.cancelled():
        return None
    return step.result()
