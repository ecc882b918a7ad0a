"""The request counts of ``make bench`` (issue 12), on the same fixed-seed data: 10,000
unevenly loaded tasks over 30 days, walked by ``iter_calendar`` against an in-process fake.

The issue's targets are 1.5x the minimum for a shuffling server and 1.2x for a due-sorted one;
the engine does not meet them yet (docs/performance.md says by how much and why). This test
holds the figures reached so far, so a change that costs requests fails here.
"""

from __future__ import annotations

import pytest

from benchmarks.request_counts import walk
from pyrus_calendar.testing.fake import Order

#: order -> (the most requests allowed now, as a ratio to the minimum; the issue's target).
#: The look-ahead answers in whatever order the loop delivers them, which moves the count by
#: a few percent between runs; the margin is for that.
REACHED = {"shuffled": (2.3, 1.5), "due": (2.0, 1.2), "id": (2.2, None)}


@pytest.mark.parametrize("order", sorted(REACHED))
async def test_iter_calendar_requests_stay_near_the_minimum(order: Order) -> None:
    reached, target = REACHED[order]
    result = await walk(order)
    assert result.yielded == result.tasks == 10_000
    assert result.ratio <= reached, (
        f"{result.requests} requests against a {order}-ordered server:"
        f" {result.ratio:.2f}x the minimum {result.minimum}, more than the {reached}x reached"
        f" before (the target is {target}x)"
    )
