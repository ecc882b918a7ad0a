"""The fleet soak, short and with a fixed seed: its figures are asserted on every `make test`."""

from __future__ import annotations

import pytest

from .soak import SoakPlan, soak, table

pytestmark = pytest.mark.timeout(120)

# Small enough for a loaded 2-core CI machine: the budget, not the CPU, must be the bottleneck.
# The Redis outage is covered by tests/redis/test_fleet.py; `make scale` has it in the table.
PLAN = SoakPlan(workers=4, calls=320, budget=(80, 2.0), seed=14)


async def test_short_soak_figures_hold() -> None:
    shared, alone = await soak(PLAN, outage=False)
    print(table(PLAN, [shared, alone]))
    assert shared.result.failed == 0
    assert shared.result.logins == 1
    assert shared.result.rate_limited == 0
    assert shared.throughput >= 0.9
    # today's behaviour, same run: the processes evict each other's tokens
    assert alone.result.logins > shared.result.logins
    assert alone.result.unauthorized > 0
