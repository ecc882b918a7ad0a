"""No record a hook is given holds a secret or a query value: a DEBUG scan over a session
with logins, a revoked token, a refused login, retries and a walk, on both backends."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from calendar_transport import Hooks
from pyrus_calendar import AuthenticationError, PyrusClient, RetryPolicy, Task
from pyrus_calendar.testing import FakePyrusServer
from r7cal import R7Client
from r7cal.testing import FakeR7Server

FAST = RetryPolicy(attempts=3, initial_backoff=0, max_backoff=0, max_retry_after=1.0)
DAY = datetime(2024, 5, 1, tzinfo=UTC)
R7_PASSWORD = "alice-Pa55word-secret"
PYRUS_KEY = "pyrus-Security-Key-0123456789"


class _Texts(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_logs() -> Iterator[_Texts]:
    handler = _Texts()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def _recording(records: list[object]) -> Hooks:
    keep = records.append
    return Hooks(
        on_request=keep,
        on_response=keep,
        on_retry=keep,
        on_login=keep,
        on_rate_limit_wait=keep,
        on_window=keep,
        on_call_start=keep,
        on_call_end=keep,
    )


async def test_no_record_holds_a_secret_or_a_query(debug_logs: _Texts) -> None:
    records: list[object] = []
    hooks = _recording(records)
    async with FakeR7Server(users={"alice": R7_PASSWORD}) as r7_server:
        async with R7Client(
            r7_server.url, login="alice", password=R7_PASSWORD, retry=FAST, hooks=hooks
        ) as r7:
            calendar = await r7.calendars.create(name="Team")
            r7_server.revoke_tokens()  # a 401, a login, a replay
            r7_server.faults.fail_next(1, 503, path="/api/v1/Calendars/Clear")
            await r7.calendars.clear(calendar.id)
            await r7.calendars.delete(calendar.id)
            r7_token = r7.token
        r7_sent = {r.headers.get("Authorization", "") for r in r7_server.requests} - {""}
    async with FakePyrusServer(users={"bot@example.com": PYRUS_KEY}) as server:
        server.add_task(Task(id=1, text="one", due=DAY + timedelta(hours=1)))
        async with PyrusClient(
            base_url=server.api_url,
            login="bot@example.com",
            security_key=PYRUS_KEY,
            retry=FAST,
            hooks=hooks,
        ) as pyrus:
            await pyrus.calendar(DAY, DAY + timedelta(days=1))
            server.revoke_tokens()
            server.faults.rate_limit_next(1, retry_after=0.01, path="/v4/calendar")
            assert [t.id async for t in pyrus.iter_calendar(DAY, DAY + timedelta(days=1))] == [1]
            pyrus_token = pyrus.token
        async with PyrusClient(
            base_url=server.api_url,
            login="bot@example.com",
            security_key="wrong-" + PYRUS_KEY,
            hooks=hooks,
        ) as refused:
            with pytest.raises(AuthenticationError):
                await refused.calendar(DAY, DAY + timedelta(days=1))
        pyrus_sent = {r.headers.get("Authorization", "") for r in server.requests} - {""}
    secrets = {R7_PASSWORD, PYRUS_KEY, r7_token or "", pyrus_token or "", *r7_sent}
    secrets |= {value.removeprefix("Bearer ") for value in pyrus_sent}
    secrets.discard("")
    assert len(secrets) >= 6
    kinds = {type(record).__name__ for record in records}
    assert kinds >= {
        "CallRecord",
        "CallEndRecord",
        "RequestRecord",
        "ResponseRecord",
        "RetryRecord",
        "LoginRecord",
        "RateLimitWaitRecord",
        "WindowRecord",
    }
    texts = [repr(record) for record in records] + debug_logs.lines
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"a secret reached: {text[:200]}"
    urls = [getattr(record, "url", "") for record in records]
    assert all("?" not in url for url in urls)
    assert not any("start_date_utc" in url or "id=" in url for url in urls)
