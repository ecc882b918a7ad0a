"""``hooks=`` on both clients, end to end against the fakes: what each callback is told, in
which order, that sync and async callbacks both work, and that a raising one is harmless."""

from __future__ import annotations

import logging
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from calendar_transport import (
    CallEndRecord,
    CallRecord,
    Hooks,
    LoginRecord,
    RateLimitWaitRecord,
    RequestRecord,
    ResponseRecord,
    RetryRecord,
    WindowRecord,
)
from pyrus_calendar import (
    AuthenticationError,
    CalendarFilter,
    PyrusClient,
    RateLimit,
    RetryPolicy,
    Task,
)
from pyrus_calendar.testing import FakePyrusServer
from r7cal import R7Client
from r7cal.testing import FakeR7Server

FAST = RetryPolicy(attempts=3, initial_backoff=0, max_backoff=0, max_retry_after=1.0)
DAY = datetime(2024, 5, 1, tzinfo=UTC)
NEXT_DAY = DAY + timedelta(days=1)
PASSWORD = "alice-Secret-1"


class Journal:
    """Every record the hooks were given, in order; async and sync callbacks mixed."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, Any]] = []

    def hooks(self) -> Hooks:
        async def on_request(record: RequestRecord) -> None:  # async ...
            self.entries.append(("request", record))

        def on_response(record: ResponseRecord) -> None:  # ... and sync
            self.entries.append(("response", record))

        return Hooks(
            on_request=on_request,
            on_response=on_response,
            on_retry=lambda record: self.entries.append(("retry", record)),
            on_login=lambda record: self.entries.append(("login", record)),
            on_rate_limit_wait=lambda record: self.entries.append(("wait", record)),
            on_window=lambda record: self.entries.append(("window", record)),
            on_call_start=lambda record: self.entries.append(("call", record)),
            on_call_end=lambda record: self.entries.append(("end", record)),
        )

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.entries]

    def of(self, kind: str) -> list[Any]:
        return [record for k, record in self.entries if k == kind]


def _pyrus(server: FakePyrusServer, journal: Journal, **kwargs: Any) -> PyrusClient:
    kwargs.setdefault("retry", FAST)
    return PyrusClient(
        base_url=server.api_url,
        login=FakePyrusServer.DEFAULT_LOGIN,
        security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
        hooks=journal.hooks(),
        **kwargs,
    )


async def test_r7_one_503_then_200_is_two_attempts_and_one_retry_in_order() -> None:
    journal = Journal()
    async with (
        FakeR7Server(users={"alice": PASSWORD}) as server,
        R7Client(
            server.url, login="alice", password=PASSWORD, retry=FAST, hooks=journal.hooks()
        ) as r7,
    ):
        await r7.login()
        journal.entries.clear()
        server.faults.fail_next(1, 503, path="/api/v1/email/Calendars")
        calendars = await r7.calendars.list()
    assert len(calendars) >= 1
    assert journal.kinds() == ["call", "request", "response", "retry", "request", "response", "end"]
    call = journal.of("call")[0]
    assert isinstance(call, CallRecord)
    assert (call.method, call.path) == ("GET", "/api/v1/email/Calendars")
    first, second = journal.of("request")
    assert (first.attempt, second.attempt) == (1, 2)
    assert {first.call_id, second.call_id} == {call.call_id}
    failed, ok = journal.of("response")
    assert (failed.status, failed.error, ok.status, ok.error) == (503, "ServerError", 200, None)
    assert failed.elapsed >= 0
    assert ok.elapsed >= 0
    (retry,) = journal.of("retry")
    assert isinstance(retry, RetryRecord)
    assert (retry.attempt, retry.reason, retry.wait) == (1, "HTTP 503", 0.0)
    (end,) = journal.of("end")
    assert isinstance(end, CallEndRecord)
    assert (end.status, end.error, end.attempts) == (200, None, 2)
    assert r7.stats.attempts == 3  # the login and the two attempts
    assert (r7.stats.retries, r7.stats.logins, r7.stats.requests) == (1, 1, 2)


async def test_pyrus_one_503_then_200_is_two_attempts_and_one_retry_in_order() -> None:
    journal = Journal()
    async with FakePyrusServer() as server, _pyrus(server, journal) as pyrus:
        await pyrus.login()
        journal.entries.clear()
        server.faults.fail_next(1, 503, path="/v4/calendar")
        await pyrus.calendar(DAY, NEXT_DAY)
    assert journal.kinds() == ["call", "request", "response", "retry", "request", "response", "end"]
    assert [r.status for r in journal.of("response")] == [503, 200]
    assert journal.of("retry")[0].reason == "HTTP 503"
    assert journal.of("end")[0].attempts == 2


async def test_a_login_inside_a_call_is_a_call_of_its_own_and_told_to_on_login() -> None:
    journal = Journal()
    async with FakePyrusServer() as server, _pyrus(server, journal) as pyrus:
        await pyrus.calendar(DAY, NEXT_DAY)
    kinds = journal.kinds()
    # The calendar call starts, its login is a call inside it, then its own attempt.
    assert kinds == [
        "call",
        "call",
        "request",
        "response",
        "end",
        "login",
        "request",
        "response",
        "end",
    ]
    outer, inner = journal.of("call")
    assert (outer.path, inner.method) == ("/v4/calendar", "POST")
    (login,) = journal.of("login")
    assert isinstance(login, LoginRecord)
    assert (login.backend, login.ok, login.error) == ("PyrusAuth", True, None)
    assert pyrus.stats.logins == 1


async def test_a_refused_login_is_told_with_its_error() -> None:
    journal = Journal()
    async with (
        FakePyrusServer() as server,
        PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key="not-the-key",
            hooks=journal.hooks(),
        ) as pyrus,
    ):
        with pytest.raises(AuthenticationError):
            await pyrus.calendar(DAY, NEXT_DAY)
    (login,) = journal.of("login")
    assert (login.ok, login.error) == (False, "AuthenticationError")
    assert pyrus.stats.logins == 0
    assert journal.of("end")[-1].error == "AuthenticationError"


async def test_a_callback_that_raises_is_logged_and_the_call_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(record: object) -> None:
        raise RuntimeError("a bug in the user's hook")

    async def broken_async(record: object) -> None:
        raise ValueError("another")

    hooks = Hooks(on_request=broken, on_response=broken_async, on_call_end=broken)
    async with FakePyrusServer() as server:
        server.add_task(Task(id=1, text="one", due=DAY + timedelta(hours=1)))
        async with PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
            hooks=hooks,
        ) as pyrus:
            with caplog.at_level(logging.ERROR, logger="calendar_transport.hooks"):
                page = await pyrus.calendar(DAY, NEXT_DAY)
    assert [task.id for task in page.tasks] == [1]
    raised = [r for r in caplog.records if r.name == "calendar_transport.hooks"]
    assert len(raised) == 6  # two attempts (login, calendar) x 2 hooks, two call ends
    assert "the call goes on" in raised[0].getMessage()
    assert raised[0].exc_info is not None


async def test_a_walk_tells_each_window_and_whether_it_was_cut() -> None:
    journal = Journal()
    async with FakePyrusServer() as server:
        for i in range(5):
            server.add_task(Task(id=i + 1, text=f"t{i}", due=DAY + timedelta(hours=2 * i + 1)))
        async with _pyrus(server, journal) as pyrus:
            tasks = [
                task
                async for task in pyrus.iter_calendar(
                    DAY, NEXT_DAY, filters=CalendarFilter.DUE, item_count=2, concurrency=1
                )
            ]
    assert sorted(task.id for task in tasks) == [1, 2, 3, 4, 5]
    windows = journal.of("window")
    assert all(isinstance(w, WindowRecord) for w in windows)
    first = windows[0]
    # The window as asked: a second wider on each side (no boundary rule leaves an end out).
    second = timedelta(seconds=1)
    assert (first.start, first.end, first.mask, first.cut) == (
        DAY - second,
        NEXT_DAY + second,
        1,
        True,
    )
    assert any(not w.cut for w in windows)
    assert pyrus.stats.windows == len(windows) == pyrus.stats.calendar_requests


async def test_rate_limit_waits_are_told_with_their_reason() -> None:
    journal = Journal()
    # A budget of one request per 50 ms: the calendar call after the login must wait.
    budget = RateLimit(1, 0.05)
    async with FakePyrusServer() as server, _pyrus(server, journal, rate_limit=budget) as pyrus:
        await pyrus.calendar(DAY, NEXT_DAY)
        server.faults.rate_limit_next(1, retry_after=0.01, path="/v4/calendar")
        await pyrus.calendar(DAY, NEXT_DAY)
    waits = journal.of("wait")
    assert all(isinstance(w, RateLimitWaitRecord) for w in waits)
    reasons = [w.reason for w in waits]
    assert "client budget" in reasons
    assert "server 429" in reasons
    assert next(w.wait for w in waits if w.reason == "server 429") == pytest.approx(0.01)
    assert next(w.wait for w in waits if w.reason == "client budget") > 0
    assert pyrus.stats.rate_limit_waits == len(waits)
    assert "HTTP 429" in [r.reason for r in journal.of("retry")]


async def test_records_are_frozen_and_hooks_refuse_what_cannot_be_called() -> None:
    record = RateLimitWaitRecord(wait=1.0, reason="client budget")
    with pytest.raises(FrozenInstanceError):
        record.wait = 2.0  # type: ignore[misc]
    with pytest.raises(TypeError, match="on_retry"):
        Hooks(on_retry="print")  # type: ignore[arg-type]


async def test_an_answer_cut_short_is_an_attempt_without_status() -> None:
    journal = Journal()
    async with FakePyrusServer() as server, _pyrus(server, journal) as pyrus:
        await pyrus.login()
        journal.entries.clear()
        server.faults.truncate_next(1, path="/v4/calendar")
        await pyrus.calendar(DAY, NEXT_DAY)
    failed, ok = journal.of("response")
    assert (failed.status, failed.error) == (None, "TransportError")
    assert ok.status == 200
    assert journal.of("retry")[0].reason == "TransportError"
