"""A soak of mixed calls against the real fakes while they inject faults; prints a table.

Each backend gets ``--calls`` calls (reads, paging, and for R7 creates and deletes), made by
``--concurrency`` workers through one client, while its fake answers a ``--rate`` share of all
HTTP requests with a fault: 502/503/504, 429 with Retry-After, a latency spike longer than the
client's timeout, a dropped connection, a truncated body, or the revocation of every token.

What must hold (checked here, and asserted by ``test_chaos.py`` on a smaller fixed-seed run):
every idempotent call succeeds unless its attempts run out; no create is stored twice (the
fake counts stored names); paging yields every item exactly once or raises; every answer that
did arrive is right; no task, connection or unclosed-resource warning is left at the end.

Then the watch section (``chaos_watch.py``): a ``watch()`` process killed with SIGKILL and
restarted at random points while the calendar changes and the fake injects faults; no change
may be lost, and none repeated beyond one per kill.

    python -m tests.reliability.chaos [--calls 3000] [--seed 1] [--rate 0.08] [--concurrency 16]
        [--watch-rounds 300] [--backend r7|pyrus|watch|both|all]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import gc
import logging
import random
import sys
import time
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from calendar_transport import (
    AuthenticationError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from calendar_transport.testing import FakeServer
from pyrus_calendar import CalendarFilter, Meeting, PyrusClient, Task
from pyrus_calendar.testing import FakePyrusServer
from r7cal import AccessLevel, Event, R7Client
from r7cal.testing import FakeR7Server

from .chaos_watch import WatchChaosConfig, format_watch_table, soak_watch

__all__ = ["ChaosConfig", "Report", "format_table", "main", "run", "soak_pyrus", "soak_r7"]

#: how the fault rate is shared between the kinds of fault
FAULT_MIX: dict[str, float] = {
    "5xx": 0.30,
    "429": 0.15,
    "latency": 0.15,
    "drop": 0.15,
    "truncate": 0.15,
    "revoke": 0.10,
}
FAULT_LABELS: dict[str, str] = {
    "5xx": "502/503/504",
    "429": "429 with Retry-After",
    "latency": "latency spike > timeout",
    "drop": "dropped connection",
    "truncate": "truncated body",
    "revoke": "token revocation",
}

R7_MIX: dict[str, float] = {
    "list_calendars": 0.14,
    "list_events": 0.14,
    "iterate": 0.10,
    "create_event": 0.24,
    "delete_event": 0.16,
    "create_calendar": 0.06,
    "delete_calendar": 0.06,
    "share": 0.06,
    "clear": 0.04,
}
PYRUS_MIX: dict[str, float] = {
    "page": 0.45,
    "page_due_date": 0.10,
    "iter_calendar": 0.30,
    "iter_meetings": 0.15,
}
CATEGORY: dict[str, str] = {
    "list_calendars": "read",
    "list_events": "read",
    "page": "read",
    "page_due_date": "read",
    "iterate": "paging",
    "iter_calendar": "paging",
    "iter_meetings": "paging",
    "create_event": "create",
    "create_calendar": "create",
    "delete_event": "delete",
    "delete_calendar": "delete",
    "share": "other",
    "clear": "other",
}
CREATES = frozenset({"create_event", "create_calendar"})


@dataclass(frozen=True, slots=True)
class ChaosConfig:
    """One soak: how many calls, how many at once, how often and how hard the fake fails."""

    calls: int = 3000
    seed: int = 1
    rate: float = 0.08
    concurrency: int = 16
    time_limit: float = 150.0  # seconds per backend; no new call starts after it
    timeout: float = 0.25  # seconds per attempt
    spike: float = 0.4  # an injected latency spike, longer than the timeout
    retry_after: float = 0.005  # the Retry-After the fake's 429s carry
    attempts: int = 5

    def policy(self) -> RetryPolicy:
        """Tiny waits: the soak measures correctness, not patience."""
        return RetryPolicy(
            attempts=self.attempts, initial_backoff=0.001, max_backoff=0.005, max_retry_after=0.01
        )


@dataclass
class Report:
    """What one backend's soak did and what it found."""

    backend: str
    config: ChaosConfig
    calls: Counter[str] = field(default_factory=Counter)  # by category
    succeeded: int = 0
    raised: Counter[str] = field(default_factory=Counter)  # by error class
    creates_raised: int = 0  # creates are never re-sent once they may have arrived
    idempotent_exhausted: int = 0  # idempotent calls that raised once their attempts ran out
    failed_with_attempts_left: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    http_requests: int = 0
    retries: int = 0
    logins: int = 0
    duplicates: int | None = None
    creates_unconfirmed: int | None = None  # raised, yet the server stored it
    creates_lost: int | None = None  # confirmed, not deleted, yet not on the server
    deletes_undone: int | None = None  # confirmed deleted, yet still on the server
    paging_runs: int = 0
    paging_completed: int = 0
    items_lost: int = 0
    items_twice: int = 0
    wrong_answers: list[str] = field(default_factory=list)
    leaked_tasks: int = 0
    open_connections: int = 0
    unclosed_warnings: int = 0
    elapsed: float = 0.0
    stopped_early: bool = False

    @property
    def total_calls(self) -> int:
        """Calls started."""
        return sum(self.calls.values())

    def problems(self) -> list[str]:
        """Every expectation that did not hold (empty when all is well)."""
        found = [f"failed with attempts left: {what}" for what in self.failed_with_attempts_left]
        found += [f"wrong answer: {what}" for what in self.wrong_answers]
        for label, value in (
            ("duplicates created", self.duplicates),
            ("confirmed creates lost", self.creates_lost),
            ("confirmed deletes undone", self.deletes_undone),
            ("items lost in paging", self.items_lost),
            ("items yielded twice", self.items_twice),
            ("leaked tasks", self.leaked_tasks),
            ("open connections", self.open_connections),
            ("unclosed-resource warnings", self.unclosed_warnings),
        ):
            if value:
                found.append(f"{label}: {value}")
        if self.total_calls != self.succeeded + sum(self.raised.values()):
            found.append("some calls ended neither in success nor in an error")
        return found


# ---- per-call bookkeeping ------------------------------------------------------------------


@dataclass(slots=True)
class _CallStats:
    # logged while this call ran, its paging sub-requests included
    retries: int = 0
    relogins: int = 0  # 401s answered by a re-login and a replay


_CURRENT: contextvars.ContextVar[_CallStats | None] = contextvars.ContextVar(
    "chaos_call", default=None
)


class _RetryCounter(logging.Handler):
    """Counts the transport's "retrying ..." and "logging in again" records, in total and
    for the call running."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.total = 0

    def emit(self, record: logging.LogRecord) -> None:
        stats = _CURRENT.get()  # the context of the task that logged: the call's, or a copy
        if record.msg.startswith("retrying"):
            self.total += 1
            if stats is not None:
                stats.retries += 1
        elif "logging in again" in record.msg and stats is not None:
            stats.relogins += 1


@contextlib.contextmanager
def _counting_retries() -> Iterator[_RetryCounter]:
    handler = _RetryCounter()
    logger = logging.getLogger("calendar_transport")
    old_level = logger.level
    logger.addHandler(handler)
    if not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _ran_out(error: BaseException, stats: _CallStats, policy: RetryPolicy) -> bool:
    """Whether an idempotent call's error came only after its retries were used up."""
    if isinstance(error, AuthenticationError):
        # The one re-login a 401 allows was used and the new token was revoked too before
        # the replay arrived (the soak revokes tokens while other calls are in flight).
        return error.status == 401 and stats.relogins >= 1
    retryable = isinstance(error, TransportError | RateLimitError) or (
        isinstance(error, ServerError) and error.status in policy.retry_statuses
    )
    return retryable and stats.retries >= policy.attempts - 1


def _install_faults(server: FakeServer, config: ChaosConfig) -> None:
    rate, faults = config.rate, server.faults
    faults.revoke_fraction(rate * FAULT_MIX["revoke"])
    gateway_page = b"<html><body><h1>Bad Gateway</h1>nginx</body></html>"
    for status in (502, 503, 504):
        share = rate * FAULT_MIX["5xx"] / 3
        faults.fail_fraction(share, status, body=gateway_page, content_type="text/html")
    faults.fail_fraction(
        rate * FAULT_MIX["429"],
        429,
        body=b'{"error_code":"too_many_requests","error":"Too many requests."}',
        retry_after=config.retry_after,
    )
    faults.drop_fraction(rate * FAULT_MIX["drop"])
    faults.truncate_fraction(rate * FAULT_MIX["truncate"])
    faults.add_latency(config.spike, rate=rate * FAULT_MIX["latency"])


def _fault_counts(injected: Counter[str]) -> Counter[str]:
    return Counter(
        {
            "5xx": sum(injected[f"http_{status}"] for status in (502, 503, 504)),
            "429": injected["http_429"],
            "latency": injected["latency"],
            "drop": injected["drop"],
            "truncate": injected["truncate"],
            "revoke": injected["revoke"],
        }
    )


def _plan(mix: dict[str, float], config: ChaosConfig) -> list[str]:
    rng = random.Random(config.seed)
    return rng.choices(list(mix), weights=list(mix.values()), k=config.calls)


async def _drive(
    report: Report,
    plan: Sequence[str],
    call: Callable[[str, random.Random], Awaitable[None]],
    idempotent: Callable[[str], bool],
) -> None:
    """Run ``plan`` with ``config.concurrency`` workers and record every outcome."""
    config = report.config
    policy = config.policy()
    stop_at = time.monotonic() + config.time_limit
    queue = iter(enumerate(plan))

    async def worker() -> None:
        for index, kind in queue:
            if time.monotonic() > stop_at:
                report.stopped_early = True
                return
            report.calls[CATEGORY[kind]] += 1
            stats = _CallStats()
            token = _CURRENT.set(stats)
            try:
                await call(kind, random.Random(config.seed * 1_000_003 + index))
            except Exception as error:  # every failure is counted, by class
                report.raised[type(error).__name__] += 1
                if not idempotent(kind):
                    report.creates_raised += 1
                elif _ran_out(error, stats, policy):
                    report.idempotent_exhausted += 1
                else:
                    report.failed_with_attempts_left.append(f"{kind}: {error!r:.300}")
            else:
                report.succeeded += 1
            finally:
                _CURRENT.reset(token)

    await asyncio.gather(*(worker() for _ in range(config.concurrency)))


async def _finish(report: Report, server: FakeServer, close: Callable[[], Awaitable[None]]) -> None:
    """Close the client, then count what it left behind: tasks and connections."""
    await close()
    current = asyncio.current_task()
    report.leaked_tasks = sum(
        1
        for task in asyncio.all_tasks()
        if task is not current
        and not task.done()
        # the fake's own connection handlers (some still sleeping off a latency spike)
        and not getattr(task.get_coro(), "__qualname__", "").startswith("RequestHandler.")
    )
    # The server notices a closed connection an event-loop turn or two after the client
    # closed it; wait for that, bounded.
    for _ in range(200):
        if server.open_connections == 0:
            break
        await asyncio.sleep(0.005)
    report.open_connections = server.open_connections


@contextlib.contextmanager
def _watching_unclosed(report: Report) -> Iterator[None]:
    """Count ResourceWarnings and "Unclosed ..." loop errors while the soak runs and after."""
    loop = asyncio.get_running_loop()
    old_handler = loop.get_exception_handler()
    seen: list[str] = []

    def on_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        seen.append(str(context.get("message")))

    loop.set_exception_handler(on_error)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            yield
            gc.collect()
        resource = [w for w in caught if issubclass(w.category, ResourceWarning)]
        report.unclosed_warnings = len(resource) + sum("Unclosed" in text for text in seen)
    finally:
        loop.set_exception_handler(old_handler)


# ---- R7 ------------------------------------------------------------------------------------

R7_USER, R7_PASSWORD = "chaos", "chaos-Passw0rd"
R7_PEER, R7_PEER_PASSWORD = "peer", "peer-Passw0rd"
R7_START = datetime(2025, 3, 1, tzinfo=UTC)
R7_DAYS = 30
R7_WINDOW = timedelta(days=3)


@dataclass
class _R7State:
    client: R7Client
    paging: list[Event]
    paging_calendar: int
    work_calendar: int
    peer_id: int
    events: list[int] = field(default_factory=list)  # created by the soak, not yet deleted
    calendars: list[int] = field(default_factory=list)
    confirmed: dict[tuple[str, str], int] = field(default_factory=dict)
    unconfirmed: list[tuple[str, str]] = field(default_factory=list)
    deleted: set[tuple[str, int]] = field(default_factory=set)


def _r7_key(event: Event) -> tuple[int, datetime | None]:
    return (event.id, event.start_date)


def _overlapping(events: list[Event], start: datetime, end: datetime) -> set[int]:
    return {
        event.id
        for event in events
        if event.start_date is not None
        and event.end_date is not None
        and event.end_date >= start
        and event.start_date <= end
    }


async def _r7_call(state: _R7State, kind: str, rng: random.Random, report: Report) -> None:
    r7 = state.client
    if kind == "list_calendars":
        listed = {calendar.id for calendar in await r7.calendars.list()}
        if not {state.paging_calendar, state.work_calendar} <= listed:
            report.wrong_answers.append("calendars.list lost a calendar")
    elif kind == "list_events":
        start = R7_START + timedelta(hours=rng.randrange(R7_DAYS * 24))
        end = start + timedelta(hours=rng.randrange(1, 96))
        got = {event.id for event in await r7.events.list([state.paging_calendar], start, end)}
        if got != _overlapping(state.paging, start, end):
            report.wrong_answers.append(f"events.list {start}..{end}")
    elif kind == "iterate":
        report.paging_runs += 1
        seen: Counter[tuple[int, datetime | None]] = Counter()
        end = R7_START + timedelta(days=R7_DAYS)
        try:
            async for event in r7.events.iterate(
                [state.paging_calendar], R7_START, end, window=R7_WINDOW
            ):
                seen[_r7_key(event)] += 1
        finally:
            report.items_twice += sum(count - 1 for count in seen.values())
        report.paging_completed += 1
        report.items_lost += len({_r7_key(event) for event in state.paging} - set(seen))
    elif kind == "create_event":
        name = f"event-{rng.getrandbits(64):016x}"
        start = R7_START + timedelta(minutes=rng.randrange(R7_DAYS * 24 * 60))
        try:
            event = await r7.events.create(
                start, start + timedelta(minutes=30), name=name, calendar_id=state.work_calendar
            )
        except Exception:
            state.unconfirmed.append(("event", name))
            raise
        state.confirmed["event", name] = event.id
        state.events.append(event.id)
    elif kind == "create_calendar":
        name = f"calendar-{rng.getrandbits(64):016x}"
        try:
            calendar = await r7.calendars.create(name=name, color="#FFC078")
        except Exception:
            state.unconfirmed.append(("calendar", name))
            raise
        state.confirmed["calendar", name] = calendar.id
        state.calendars.append(calendar.id)
    elif kind in ("delete_event", "delete_calendar"):
        pool = state.events if kind == "delete_event" else state.calendars
        if not pool:  # nothing created yet: a read instead, still counted as a delete call
            await r7.calendars.list()
            return
        target = pool.pop(rng.randrange(len(pool)))  # taken out: no other call uses it now
        if kind == "delete_event":
            await r7.events.delete(target)
            state.deleted.add(("event", target))
        else:
            await r7.calendars.delete(target)
            state.deleted.add(("calendar", target))
    elif kind in ("share", "clear"):
        if not state.calendars:
            await r7.calendars.list()
            return
        target = state.calendars.pop(rng.randrange(len(state.calendars)))
        try:
            if kind == "share":
                level = rng.choice([AccessLevel.READ, AccessLevel.WRITE])
                result = await r7.calendars.share([target], [state.peer_id], level)
                if result.ids != [target]:
                    report.wrong_answers.append(f"share answered {result.ids}")
            else:
                await r7.calendars.clear(target)
        finally:
            state.calendars.append(target)  # back in the pool for other calls
    else:
        raise AssertionError(kind)


async def soak_r7(config: ChaosConfig) -> Report:
    """The R7 soak: calendars and events created, listed, paged, shared and deleted."""
    report = Report("r7cal", config)
    server = FakeR7Server(
        users={R7_USER: R7_PASSWORD, R7_PEER: R7_PEER_PASSWORD},
        seed=config.seed,
        record_requests=False,
    )
    with _counting_retries() as counter, _watching_unclosed(report):
        async with server:
            rng = random.Random(config.seed)
            async with R7Client(server.url, login=R7_USER, password=R7_PASSWORD) as setup:
                paging_calendar = await setup.calendars.create(name="chaos paging")
                work_calendar = await setup.calendars.create(name="chaos work")
                paging = []
                for number in range(60):
                    start = R7_START + timedelta(minutes=rng.randrange(R7_DAYS * 24 * 60))
                    length = timedelta(hours=rng.choice([1, 2, 30, 80]))  # some span windows
                    paging.append(
                        await setup.events.create(
                            start,
                            start + length,
                            name=f"paging-{number}",
                            calendar_id=paging_calendar.id,
                        )
                    )
            _install_faults(server, config)
            client = R7Client(
                server.url,
                login=R7_USER,
                password=R7_PASSWORD,
                retry=config.policy(),
                timeout=config.timeout,
            )
            state = _R7State(
                client=client,
                paging=paging,
                paging_calendar=paging_calendar.id,
                work_calendar=work_calendar.id,
                peer_id=server.user(R7_PEER).id,
            )
            started = time.perf_counter()
            try:
                await _drive(
                    report,
                    _plan(R7_MIX, config),
                    lambda kind, rng: _r7_call(state, kind, rng, report),
                    lambda kind: kind not in CREATES,
                )
            finally:
                await _finish(report, server, client.aclose)
            report.elapsed = time.perf_counter() - started
            server.faults.clear()
            report.faults = _fault_counts(server.faults.injected)
            report.http_requests = client.stats.attempts
            report.logins = client.stats.logins
            _r7_verdict(report, state, server)
    report.retries = counter.total
    return report


def _r7_verdict(report: Report, state: _R7State, server: FakeR7Server) -> None:
    report.duplicates = sum(count - 1 for count in server.saved_names.values() if count > 1)
    report.creates_unconfirmed = sum(1 for key in state.unconfirmed if server.saved_names[key])
    stored = {"event": server.events, "calendar": server.calendars}
    report.creates_lost = sum(
        1
        for (kind, _), object_id in state.confirmed.items()
        if (kind, object_id) not in state.deleted and object_id not in stored[kind]
    )
    report.deletes_undone = sum(1 for kind, object_id in state.deleted if object_id in stored[kind])


# ---- Pyrus ---------------------------------------------------------------------------------

PYRUS_DAY = datetime(2024, 5, 1, tzinfo=UTC)
PYRUS_NEXT_DAY = PYRUS_DAY + timedelta(days=1)


@dataclass
class _PyrusState:
    client: PyrusClient
    due: dict[int, datetime]
    due_date: set[int]
    meetings: set[int]


async def _pyrus_call(state: _PyrusState, kind: str, rng: random.Random, report: Report) -> None:
    pyrus = state.client
    if kind == "page":
        start = PYRUS_DAY + timedelta(hours=rng.randrange(24))
        end = start + timedelta(hours=1)
        page = await pyrus.calendar(start, end, filters=CalendarFilter.DUE)
        expected = {task_id for task_id, due in state.due.items() if start <= due < end}
        if page.has_more or {task.id for task in page.tasks} != expected:
            report.wrong_answers.append(f"calendar {start}..{end}")
    elif kind == "page_due_date":
        page = await pyrus.calendar(PYRUS_DAY, PYRUS_NEXT_DAY, filters=CalendarFilter.DUE_DATE)
        if page.has_more or {task.id for task in page.tasks} != state.due_date:
            report.wrong_answers.append("calendar by due_date")
    elif kind in ("iter_calendar", "iter_meetings"):
        report.paging_runs += 1
        seen: Counter[int] = Counter()
        filters = CalendarFilter.DUE | CalendarFilter.DUE_DATE
        items: Any
        if kind == "iter_calendar":
            expected = set(state.due) | state.due_date
            items = pyrus.iter_calendar(PYRUS_DAY, PYRUS_NEXT_DAY, filters=filters, item_count=50)
        else:
            expected = state.meetings
            items = pyrus.iter_meetings(PYRUS_DAY, PYRUS_NEXT_DAY, filters=filters, item_count=50)
        try:
            async with contextlib.aclosing(items):
                async for item in items:
                    seen[item.id] += 1
        finally:
            report.items_twice += sum(count - 1 for count in seen.values())
        report.paging_completed += 1
        report.items_lost += len(expected - set(seen))
    else:
        raise AssertionError(kind)


async def soak_pyrus(config: ChaosConfig) -> Report:
    """The Pyrus soak: single pages and paged walks of tasks and meetings."""
    report = Report("pyrus_calendar", config)
    server = FakePyrusServer(
        order="shuffled", rate_limit=None, seed=config.seed, record_requests=False
    )
    rng = random.Random(config.seed)
    due = {
        task_id: PYRUS_DAY + timedelta(seconds=rng.randrange(86400)) for task_id in range(1, 301)
    }
    for task_id, when in due.items():
        server.add_task(Task(id=task_id, text=f"task {task_id}", due=when))
    due_date = set(range(1001, 1041))  # fewer than a page: one day cannot be split
    for task_id in due_date:
        server.add_task(Task(id=task_id, text=f"task {task_id}", due_date=PYRUS_DAY.date()))
    meetings = set(range(1, 41))
    for meeting_id in meetings:
        start = PYRUS_DAY + timedelta(seconds=rng.randrange(86400))
        server.add_meeting(Meeting(id=meeting_id, type="video", start_time=start, duration=30))
    with _counting_retries() as counter, _watching_unclosed(report):
        async with server:
            _install_faults(server, config)
            client = PyrusClient(
                base_url=server.api_url,
                login=FakePyrusServer.DEFAULT_LOGIN,
                security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
                retry=config.policy(),
                timeout=config.timeout,
            )
            state = _PyrusState(client, due, due_date, meetings)
            started = time.perf_counter()
            try:
                await _drive(
                    report,
                    _plan(PYRUS_MIX, config),
                    lambda kind, rng: _pyrus_call(state, kind, rng, report),
                    lambda kind: True,  # every Pyrus calendar call only reads
                )
            finally:
                await _finish(report, server, client.aclose)
            report.elapsed = time.perf_counter() - started
            server.faults.clear()
            report.faults = _fault_counts(server.faults.injected)
            report.http_requests = client.stats.attempts
            report.logins = client.stats.logins
    report.retries = counter.total
    return report


# ---- the table -----------------------------------------------------------------------------


def _na(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def format_table(reports: Sequence[Report]) -> str:
    """The soak's figures as a Markdown table, one column per backend."""
    config = reports[0].config
    error_classes = sorted({name for report in reports for name in report.raised})
    rows: list[tuple[str, list[str]]] = [
        ("calls made", [str(r.total_calls) for r in reports]),
    ]
    for category in ("read", "paging", "create", "delete", "other"):
        rows.append((f"· {category}", [str(r.calls[category]) for r in reports]))
    rows.append(
        ("HTTP requests sent (logins, retries included)", [str(r.http_requests) for r in reports])
    )
    rows.append(("faults injected", [str(sum(r.faults.values())) for r in reports]))
    for kind, label in FAULT_LABELS.items():
        rows.append((f"· {label}", [str(r.faults[kind]) for r in reports]))
    rows += [
        ("retries", [str(r.retries) for r in reports]),
        (
            "logins (first + re-logins)",
            [f"{r.logins} (1 + {max(r.logins - 1, 0)})" for r in reports],
        ),
        ("calls that succeeded", [str(r.succeeded) for r in reports]),
        ("calls that raised", [str(sum(r.raised.values())) for r in reports]),
    ]
    for name in error_classes:
        rows.append((f"· {name}", [str(r.raised[name]) for r in reports]))
    rows += [
        ("· of them creates (never re-sent)", [str(r.creates_raised) for r in reports]),
        (
            "· of them idempotent, attempts (or the one re-login) used up",
            [str(r.idempotent_exhausted) for r in reports],
        ),
        (
            "· of them idempotent, attempts left (must be 0)",
            [str(len(r.failed_with_attempts_left)) for r in reports],
        ),
        ("wrong answers", [str(len(r.wrong_answers)) for r in reports]),
        ("duplicates created", [_na(r.duplicates) for r in reports]),
        (
            "creates that raised but were stored (outcome unknown to the caller)",
            [_na(r.creates_unconfirmed) for r in reports],
        ),
        (
            "confirmed creates lost / confirmed deletes undone",
            [f"{_na(r.creates_lost)} / {_na(r.deletes_undone)}" for r in reports],
        ),
        ("paging runs (completed)", [f"{r.paging_runs} ({r.paging_completed})" for r in reports]),
        ("items lost in paging", [str(r.items_lost) for r in reports]),
        ("items yielded twice", [str(r.items_twice) for r in reports]),
        (
            "leaked tasks / open connections",
            [f"{r.leaked_tasks} / {r.open_connections}" for r in reports],
        ),
        ("unclosed-resource warnings", [str(r.unclosed_warnings) for r in reports]),
        (
            "wall time",
            [
                f"{r.elapsed:.1f} s" + (" (time limit hit)" if r.stopped_early else "")
                for r in reports
            ],
        ),
    ]
    head = (
        f"seed {config.seed}, fault rate {config.rate:.0%} of HTTP requests, "
        f"{config.concurrency} concurrent workers, {config.attempts} attempts per call, "
        f"{config.timeout}s per attempt, latency spikes of {config.spike}s"
    )
    lines = [head, "", "| | " + " | ".join(r.backend for r in reports) + " |"]
    lines.append("|---|" + "---:|" * len(reports))
    lines += [f"| {label} | " + " | ".join(values) + " |" for label, values in rows]
    return "\n".join(lines)


async def run(config: ChaosConfig, backends: Sequence[str] = ("r7", "pyrus")) -> list[Report]:
    """Soak each backend in turn."""
    soakers = {"r7": soak_r7, "pyrus": soak_pyrus}
    return [await soakers[name](config) for name in backends]


def main(argv: Sequence[str] | None = None) -> int:
    """``make chaos``: run the soak, print the table, exit 1 if an expectation failed."""
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.chaos", description=__doc__)
    defaults = ChaosConfig()
    parser.add_argument("--calls", type=int, default=defaults.calls, help="calls per backend")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--rate", type=float, default=defaults.rate, help="share of HTTP requests given a fault"
    )
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    parser.add_argument(
        "--time-limit",
        type=float,
        default=defaults.time_limit,
        help="seconds per backend after which no new call starts",
    )
    parser.add_argument(
        "--watch-rounds",
        type=int,
        default=WatchChaosConfig().rounds,
        help="rounds of random changes in the watch section",
    )
    parser.add_argument(
        "--backend",
        choices=("r7", "pyrus", "watch", "both", "all"),
        default="all",
        help="both: r7 and pyrus; all: those and the watch section",
    )
    args = parser.parse_args(argv)
    if args.calls < 1 or args.concurrency < 1 or not 0 <= args.rate <= 1:
        parser.error("--calls and --concurrency must be positive, --rate between 0 and 1")
    if args.watch_rounds < 1:
        parser.error("--watch-rounds must be positive")
    config = ChaosConfig(
        calls=args.calls,
        seed=args.seed,
        rate=args.rate,
        concurrency=args.concurrency,
        time_limit=args.time_limit,
    )
    chosen = {"both": ("r7", "pyrus"), "all": ("r7", "pyrus", "watch")}.get(
        args.backend, (args.backend,)
    )
    backends = tuple(name for name in chosen if name != "watch")
    reports = asyncio.run(run(config, backends)) if backends else []
    if reports:
        print(format_table(reports))
    problems = Counter(f"{r.backend}: {problem}" for r in reports for problem in r.problems())
    if "watch" in chosen:
        watch_config = WatchChaosConfig(rounds=args.watch_rounds, seed=args.seed, rate=args.rate)
        watched = asyncio.run(soak_watch(watch_config))
        print(("\n" if reports else "") + format_watch_table(watched))
        problems.update(f"watch: {problem}" for problem in watched.problems())
    for problem, times in problems.items():
        print(f"PROBLEM ({times}x) {problem}", file=sys.stderr)
    print("\nnothing lost" if not problems else f"\n{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
