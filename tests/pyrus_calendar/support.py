"""Helpers shared by the Pyrus tests: a fast retry policy, a client for a fake, task makers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pyrus_calendar import PyrusClient, RetryPolicy, Task
from pyrus_calendar.testing import FakePyrusServer

DAY = datetime(2024, 5, 1, tzinfo=UTC)
NEXT_DAY = DAY + timedelta(days=1)
FAST = RetryPolicy(attempts=4, initial_backoff=0.01, max_backoff=0.05, max_retry_after=2.0)


def client_for(server: FakePyrusServer, **kwargs: Any) -> PyrusClient:
    """A client logged in as the fake's default user, with fast retries."""
    kwargs.setdefault("retry", FAST)
    return PyrusClient(
        base_url=server.api_url,
        login=FakePyrusServer.DEFAULT_LOGIN,
        security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
        **kwargs,
    )


def task_due(task_id: int, due: datetime, **fields: Any) -> Task:
    """A task with a deadline (date and time)."""
    return Task(id=task_id, text=f"task {task_id}", due=due, **fields)


def held(server: FakePyrusServer, start: datetime, end: datetime, mask: int) -> frozenset[int]:
    """The ids the SDK's ``[start, end)`` rule holds for a UTC window, whatever rules the
    server runs: its closed rules up to the last instant before ``end`` (dates included)."""
    rules = server.time_bounds, server.due_date_bounds
    server.time_bounds, server.due_date_bounds = "closed", "closed"
    try:
        return server.selects(start, end - timedelta(microseconds=1), mask)
    finally:
        server.time_bounds, server.due_date_bounds = rules
