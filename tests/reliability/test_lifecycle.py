"""Lifecycle and concurrency, through both clients: one login for 500 calls, two event loops,
closing with calls in flight, a client left open, and the suite's own unclosed-session guard."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from calendar_transport.testing import FakeServer, RecordedRequest
from pyrus_calendar import Meeting, PyrusClient, Task
from pyrus_calendar.testing import FakePyrusServer
from r7cal import (
    AuthenticationError,
    ClientClosedError,
    R7Client,
    RetryPolicy,
    TransportError,
    WrongEventLoopError,
)
from r7cal.testing import FakeR7Server

DAY = datetime(2024, 5, 1, tzinfo=UTC)
NEXT_DAY = DAY + timedelta(days=1)
LIST = "/api/v1/email/Calendars"
FAST = RetryPolicy(attempts=3, initial_backoff=0.001, max_backoff=0.005, max_retry_after=0.01)


def r7_client(server: FakeR7Server, **kwargs: object) -> R7Client:
    return R7Client(server.url, login="user_test", password="TestPassword", **kwargs)  # type: ignore[arg-type]


def pyrus_client(server: FakePyrusServer, **kwargs: object) -> PyrusClient:
    return PyrusClient(
        base_url=server.api_url,
        login=FakePyrusServer.DEFAULT_LOGIN,
        security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
        **kwargs,  # type: ignore[arg-type]
    )


class _Arrivals(list[RecordedRequest]):
    """A fake's request log that wakes whoever waits for a request to arrive."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    def append(self, request: RecordedRequest) -> None:
        super().append(request)
        self._changed.set()

    async def reach(self, path: str, count: int) -> None:
        """Return once ``count`` requests to ``path`` have arrived (bounded)."""
        async with asyncio.timeout(5):
            while sum(1 for r in self if r.path == path) < count:
                self._changed.clear()
                await self._changed.wait()


def arrivals(server: FakeServer) -> _Arrivals:
    """Swap in a request log that can be waited on (before the requests are sent)."""
    log = _Arrivals()
    server.requests = log
    return log


def client_tasks() -> list[asyncio.Task[object]]:
    """Pending tasks other than this test and the fakes' connection handlers."""
    return [
        task
        for task in asyncio.all_tasks()
        if task is not asyncio.current_task()
        and not task.done()
        and not getattr(task.get_coro(), "__qualname__", "").startswith("RequestHandler.")
    ]


# ---- one login for many -------------------------------------------------------------------


async def test_500_concurrent_r7_calls_through_a_token_expiry_log_in_once() -> None:
    async with FakeR7Server() as server, r7_client(server) as r7:
        main = await r7.calendars.list()
        server.expire_tokens()
        answers = await asyncio.gather(*(r7.calendars.list() for _ in range(500)))
    assert all(answer == main for answer in answers)
    assert server.logins["user_test"] == 2  # the first login and exactly one re-login
    assert r7.auth.logins == 2
    assert server.unauthorized == 500  # every call did meet the expired token


async def test_500_concurrent_pyrus_calls_through_a_revocation_log_in_once() -> None:
    async with FakePyrusServer() as server, pyrus_client(server) as pyrus:
        server.add_task(Task(id=1, text="one", due=DAY + timedelta(hours=3)))
        await pyrus.calendar(DAY, NEXT_DAY)
        server.revoke_tokens()
        pages = await asyncio.gather(*(pyrus.calendar(DAY, NEXT_DAY) for _ in range(500)))
    assert all([task.id for task in page.tasks] == [1] for page in pages)
    assert server.counters.logins == 2
    assert pyrus.stats.logins == 2


async def test_a_token_borrowed_from_another_login_and_revoked_again_is_replaced() -> None:
    """A call whose 401 was answered with another caller's fresh token, which was revoked
    too before the replay arrived, logs in itself once instead of giving up."""
    async with FakeR7Server() as server, r7_client(server, retry=RetryPolicy(attempts=1)) as r7:
        await r7.login()
        log = arrivals(server)
        server.faults.add_latency(0.2, count=1, path=LIST)
        call = asyncio.create_task(r7.calendars.list())
        await log.reach(LIST, 1)  # the call is held there by the latency
        await r7.login()  # "another caller" installs a new token meanwhile
        server.faults.revoke_next(2, path=LIST)  # the call and its replay meet revocations
        calendars = await call
    assert [c.id for c in calendars] == [server.user("user_test").main_calendar_id]
    assert len(server.requests_to(LIST)) == 3  # refused, refused with the borrowed token, ok
    assert server.logins["user_test"] == 3  # two explicit logins, one by the call itself


async def test_a_call_that_logged_in_itself_gives_up_on_the_next_401() -> None:
    async with FakeR7Server() as server, r7_client(server, retry=RetryPolicy(attempts=1)) as r7:
        await r7.login()
        server.faults.revoke_next(2, path=LIST)
        with pytest.raises(AuthenticationError) as caught:
            await r7.calendars.list()
    assert caught.value.status == 401
    assert server.logins["user_test"] == 2  # never a login storm
    assert len(server.requests_to(LIST)) == 2


# ---- two event loops ----------------------------------------------------------------------


@contextlib.contextmanager
def serving_in_a_thread(server: FakeServer) -> Iterator[None]:
    """Run ``server`` on its own event loop in a thread, like a real server elsewhere."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        yield
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_a_closed_r7_client_stays_closed_in_the_next_event_loop() -> None:
    server = FakeR7Server()
    with serving_in_a_thread(server):
        r7 = r7_client(server, retry=FAST)

        async def create_and_count(name: str) -> int:
            async with r7:
                await r7.calendars.create(name=name)
                return len(await r7.calendars.list())

        assert asyncio.run(create_and_count("first loop")) == 2
        sent = len(server.requests)
        with pytest.raises(ClientClosedError, match="closed client stays closed"):
            asyncio.run(create_and_count("second loop"))
        assert len(server.requests) == sent  # nothing was sent, no session was opened
    assert r7.transport._session is None
    assert server.logins["user_test"] == 1


def test_one_client_per_event_loop_each_closed_with_its_loop() -> None:
    """What to do instead of sharing: a client made inside each asyncio.run."""
    server = FakePyrusServer()
    server.add_task(Task(id=7, text="seven", due=DAY + timedelta(hours=1)))
    with serving_in_a_thread(server):

        async def ids() -> list[int]:
            async with pyrus_client(server, retry=FAST) as pyrus:
                return [task.id async for task in pyrus.iter_calendar(DAY, NEXT_DAY)]

        assert asyncio.run(ids()) == [7]
        assert asyncio.run(ids()) == [7]
    assert server.counters.logins == 2


def test_a_client_used_in_a_second_asyncio_run_says_to_make_one_per_loop() -> None:
    """A bot that lends its session, closes it with its loop and runs again: the client
    (never closed) is not silently reused with a dead session; the error says what to do."""
    server = FakeR7Server()
    with serving_in_a_thread(server):
        holder: list[R7Client] = []

        async def first_run() -> int:
            async with aiohttp.ClientSession() as session:
                r7 = r7_client(server, retry=FAST, session=session)
                holder.append(r7)
                return len(await r7.calendars.list())

        assert asyncio.run(first_run()) == 1
        sent = len(server.requests)
        with pytest.raises(WrongEventLoopError, match="one R7Client per event loop"):
            asyncio.run(holder[0].calendars.list())
        with pytest.raises(WrongEventLoopError):  # aclose() from the wrong loop too
            asyncio.run(holder[0].aclose())
        assert len(server.requests) == sent


def test_a_client_used_from_another_live_loop_is_refused_and_still_works_in_its_own() -> None:
    with asyncio.Runner() as first, asyncio.Runner() as second:
        server = FakePyrusServer()
        server.add_task(Task(id=3, text="three", due=DAY + timedelta(hours=2)))
        first.run(server.start())
        try:
            pyrus = pyrus_client(server, retry=FAST)

            async def task_ids() -> list[int]:
                return [task.id for task in (await pyrus.calendar(DAY, NEXT_DAY)).tasks]

            assert first.run(task_ids()) == [3]
            with pytest.raises(WrongEventLoopError, match="one PyrusClient per event loop"):
                second.run(task_ids())
            with pytest.raises(WrongEventLoopError):
                second.run(_iterate(pyrus))
            assert first.run(task_ids()) == [3]  # its own loop is not disturbed
            first.run(pyrus.aclose())
        finally:
            first.run(server.stop())
    assert server.counters.calendar_requests == 2


async def _iterate(pyrus: PyrusClient) -> list[int]:
    return [task.id async for task in pyrus.iter_calendar(DAY, NEXT_DAY)]


@pytest.mark.parametrize("own_loop", ["idle", "busy in a task"])
async def test_a_client_used_from_another_threads_loop_fails_at_once(own_loop: str) -> None:
    # "busy in a task": this task blocks in join() mid-step, so the client's own loop is
    # running a task the whole time the other thread calls; that must not pass for being in it.
    async with FakeR7Server() as server, r7_client(server, retry=FAST) as r7:
        await r7.calendars.list()
        sent = len(server.requests)
        caught: list[BaseException] = []

        def other_thread() -> None:
            try:
                asyncio.run(r7.calendars.list())
            except BaseException as error:  # handed to the test's thread
                caught.append(error)

        thread = threading.Thread(target=other_thread)
        thread.start()
        if own_loop == "idle":
            await asyncio.to_thread(thread.join, 10)
        else:
            thread.join(10)  # blocking on purpose, see above
        assert not thread.is_alive()  # no hang
        assert len(server.requests) == sent
        assert len(await r7.calendars.list()) == 1  # the client's own loop carries on
    assert len(caught) == 1
    assert isinstance(caught[0], WrongEventLoopError)
    assert isinstance(caught[0], RuntimeError)
    assert "one R7Client per event loop" in str(caught[0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
async def test_a_forked_child_is_refused_its_parents_client() -> None:
    # Forked mid-step: the child inherits this thread's id and asyncio's record of the task
    # being run, neither of which may let it into the parent's loop and session.
    async with FakeR7Server() as server, r7_client(server, retry=FAST) as r7:
        await r7.calendars.list()
        sent = len(server.requests)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report what the call raised, then leave at once
            outcome = "no error"
            try:
                asyncio.run(r7.calendars.list())
            except BaseException as error:
                outcome = type(error).__name__
            os.write(write_end, outcome.encode())
            os._exit(0)
        os.close(write_end)
        try:
            ready, _, _ = await asyncio.to_thread(select.select, [read_end], [], [], 10)
            outcome = os.read(read_end, 100).decode() if ready else "no answer in 10 s"
        finally:
            os.close(read_end)
            if not ready:
                os.kill(pid, signal.SIGKILL)
            await asyncio.to_thread(os.waitpid, pid, 0)
        assert outcome == "WrongEventLoopError"
        assert len(server.requests) == sent
        assert len(await r7.calendars.list()) == 1  # the parent carries on


# ---- closing with calls in flight ----------------------------------------------------------


async def test_closing_an_r7_client_stops_its_calls_in_flight_cleanly() -> None:
    async with FakeR7Server() as server:
        r7 = r7_client(server)
        await r7.login()
        log = arrivals(server)
        server.faults.add_latency(0.3, path=LIST)
        calls = [asyncio.create_task(r7.calendars.list()) for _ in range(10)]
        await log.reach(LIST, 10)
        await r7.aclose()
        # every call is over already, and none with an answer (checked below): the close
        # stopped them instead of waiting 0.3 s for the server
        assert all(call.done() for call in calls)
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert client_tasks() == []
    for outcome in outcomes:
        assert isinstance(outcome, TransportError)
        assert "closed while this call was in flight" in str(outcome)
    assert not any(call.cancelled() for call in calls)  # an error the caller can catch


async def test_closing_a_pyrus_client_mid_paging_stops_every_look_ahead_request() -> None:
    async with FakePyrusServer() as server:
        for task_id in range(1, 400):
            server.add_task(Task(id=task_id, text="t", due=DAY + timedelta(seconds=task_id * 200)))
        pyrus = pyrus_client(server)
        await pyrus.login()
        log = arrivals(server)
        server.faults.add_latency(0.3, path="/v4/calendar")
        seen: list[int] = []

        async def walk() -> None:
            async for task in pyrus.iter_calendar(DAY, NEXT_DAY, item_count=20):
                seen.append(task.id)

        walker = asyncio.create_task(walk())
        await log.reach("/v4/calendar", 1)
        await pyrus.aclose()
        with pytest.raises(TransportError, match="closed while this call was in flight"):
            await walker
        assert client_tasks() == []
    assert seen == []


# ---- closed mid-walk, and calls after the close ----------------------------------------------


async def test_an_r7_walk_closed_between_windows_sends_nothing_more() -> None:
    async with FakeR7Server() as server:
        r7 = r7_client(server, retry=FAST)
        calendar = await r7.calendars.create(name="Many days")
        for day in range(10):
            start = DAY + timedelta(days=day, hours=9)
            await r7.events.create(start, start + timedelta(hours=1), calendar_id=calendar.id)
        walk = r7.events.iterate(
            [calendar.id], DAY, DAY + timedelta(days=10), window=timedelta(days=1)
        )
        first = await anext(walk)
        await r7.aclose()
        attempts, arrived = r7.stats.attempts, len(server.requests)
        with pytest.raises(ClientClosedError):
            await anext(walk)
        with pytest.raises(ClientClosedError):  # and a later call does not reopen either
            await r7.calendars.list()
    assert first.start_date == DAY + timedelta(hours=9)
    assert r7.stats.attempts == attempts  # 0 requests after the close
    assert len(server.requests) == arrived
    assert r7.transport._session is None


@pytest.mark.parametrize("what", ["tasks", "meetings"])
async def test_a_pyrus_walk_closed_mid_way_sends_nothing_more(what: str) -> None:
    async with FakePyrusServer() as server:
        for item_id in range(1, 300):
            moment = DAY + timedelta(seconds=item_id * 250)
            server.add_task(Task(id=item_id, text="t", due=moment))
            server.add_meeting(Meeting(id=item_id, start_time=moment, duration=5))
        pyrus = pyrus_client(server, retry=FAST)
        walk: AsyncIterator[object] = (
            pyrus.iter_calendar(DAY, NEXT_DAY, item_count=20)
            if what == "tasks"
            else pyrus.iter_meetings(DAY, NEXT_DAY, item_count=20)
        )
        await anext(walk)
        await pyrus.aclose()
        attempts = pyrus.stats.attempts
        with pytest.raises(ClientClosedError):
            await _drain(walk, limit=600)
        with pytest.raises(ClientClosedError):
            await pyrus.calendar(DAY, NEXT_DAY)
        assert client_tasks() == []  # no look-ahead request is left running
    assert pyrus.stats.attempts == attempts  # 0 requests after the close
    assert len(server.requests) <= attempts  # (logins included in both)
    assert pyrus.transport._session is None


async def _drain(walk: AsyncIterator[object], *, limit: int) -> None:
    """Iterate ``walk`` to its end, at most ``limit`` items (a walk that went on ends it)."""
    for _ in range(limit):
        await anext(walk)


async def test_a_client_never_entered_works_lazily_until_closed() -> None:
    async with FakePyrusServer() as server:
        server.add_task(Task(id=5, text="five", due=DAY + timedelta(hours=5)))
        pyrus = pyrus_client(server)
        page = await pyrus.calendar(DAY, NEXT_DAY)
        assert [task.id for task in page.tasks] == [5]
        await pyrus.aclose()
        sent = len(server.requests)
        with pytest.raises(ClientClosedError, match="create a new one"):
            await pyrus.calendar(DAY, NEXT_DAY)
        with pytest.raises(ClientClosedError):
            await pyrus.login()
        with pytest.raises(ClientClosedError):
            async with pyrus:
                pass
    assert len(server.requests) == sent


# ---- a client left open --------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["r7", "pyrus"])
def test_a_client_left_open_warns_clearly_when_collected(backend: str) -> None:
    async def leave_open() -> None:
        fake: FakeServer = FakeR7Server() if backend == "r7" else FakePyrusServer()
        async with fake:
            if isinstance(fake, FakeR7Server):
                client: R7Client | PyrusClient = r7_client(fake)
                name = "R7Client"
                await client.calendars.list()
            else:
                assert isinstance(fake, FakePyrusServer)
                client = pyrus_client(fake)
                name = "PyrusClient"
                await client.calendar(DAY, NEXT_DAY)
            session = client.transport._session
            assert session is not None
            with pytest.warns(ResourceWarning, match=f"use 'async with {name}") as warned:  # noqa: PT031
                del client  # the last reference
                gc.collect()
            await session.close()  # so aiohttp's own warning does not follow
        assert "garbage-collected with its HTTP session open" in str(warned[0].message)

    asyncio.run(leave_open())


def test_the_suite_fails_on_an_unclosed_aiohttp_session(tmp_path: Path) -> None:
    """The pytest config turns "Unclosed client session" into a failure, so a leak anywhere
    in this suite cannot pass unnoticed."""
    root = Path(__file__).resolve().parents[2]
    leaky = tmp_path / "test_leaky.py"
    leaky.write_text(
        "import gc\n"
        "import aiohttp\n\n"
        "async def test_leaks_a_session():\n"
        "    session = aiohttp.ClientSession()\n"
        "    del session\n"
        "    gc.collect()\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c",
         str(root / "pyproject.toml"), "--rootdir", str(tmp_path), str(leaky)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode != 0, result.stdout
    assert "Unclosed client session" in result.stdout + result.stderr
