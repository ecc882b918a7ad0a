"""The request-count targets of ``make bench`` (issue 12), on the same fixed-seed data: 10,000
unevenly loaded tasks over 30 days, walked by ``iter_calendar`` against an in-process fake."""

from __future__ import annotations

import pytest

from benchmarks.request_counts import walk
from pyrus_calendar.fake import Order


@pytest.mark.parametrize(("order", "target"), [("shuffled", 1.5), ("due", 1.2)])
async def test_iter_calendar_requests_stay_near_the_minimum(order: Order, target: float) -> None:
    result = await walk(order)
    assert result.yielded == result.tasks == 10_000
    assert result.ratio <= target, (
        f"{result.requests} requests against a {order}-ordered server:"
        f" {result.ratio:.2f}x the minimum {result.minimum}, target <= {target}x"
    )
