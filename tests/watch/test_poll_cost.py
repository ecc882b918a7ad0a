"""The request side of issue 15's poll-cost figure (``make bench`` prints the wall-clock
side): one poll of an unchanged 10,000-task window costs no more requests than one
``iter_calendar`` of it. A server that answers in a fixed order makes the walk's count exact
(a shuffling one moves it by a few percent from walk to walk, poll or not)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from benchmarks.data import SPAN_END, SPAN_START
from benchmarks.request_counts import server_with
from pyrus_calendar import PyrusClient
from pyrus_calendar.testing.fake import Order

from .support import FakeClock, Idle, drain


class _StillClock(FakeClock):
    """Time stands still: every poll covers the same window as the walk."""

    async def sleep(self, seconds: float) -> None:
        if self._budget <= 0:
            raise Idle
        self._budget -= 1


@pytest.mark.parametrize("order", ["due"])
async def test_an_unchanged_poll_costs_what_one_iter_calendar_costs(order: Order) -> None:
    async with (
        server_with(order, 10_000) as server,
        PyrusClient(
            base_url=server.api_url,
            login=server.DEFAULT_LOGIN,
            security_key=server.DEFAULT_SECURITY_KEY,
        ) as pyrus,
    ):
        walk = pyrus.iter_calendar(SPAN_START, SPAN_END, filters="due")
        assert len({task.id async for task in walk}) == 10_000
        clock = _StillClock(SPAN_START)
        watch = pyrus.watch(
            filters="due",
            lookback=timedelta(0),
            horizon=SPAN_END - SPAN_START,
            clock=clock,
            sleep=clock.sleep,
        )
        async with watch:
            assert len(await drain(watch, clock)) == 10_000
            before = pyrus.stats.calendar_requests
            assert await drain(watch, clock, waits=1) == []
            poll = pyrus.stats.calendar_requests - before
    assert watch.polls == 2
    assert poll <= walk.requests, f"a poll made {poll} requests, a walk {walk.requests}"
