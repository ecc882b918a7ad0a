"""The fleet soak: worker processes of one account with and without the shared Redis state."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from tests.redis.fleet import FleetResult, WatchedPyrusServer, run_fleet
from tests.redis.server import RedisServer


@dataclass(frozen=True)
class SoakPlan:
    """How big a soak is."""

    workers: int = 8
    calls: int = 2000
    # requests per seconds, the fake's and the fleet's; well below what 8 processes can send
    budget: tuple[int, float] = (100, 2.0)
    outage_after: int = 600  # calls served before Redis is killed
    outage: float = 5.0  # seconds Redis stays down
    seed: int = 14


@dataclass
class SoakRow:
    """One run of the soak."""

    name: str
    result: FleetResult
    budget_rate: float
    logins_after_restart: int | None = None

    @property
    def throughput(self) -> float:
        """Calls per second against the budget's rate (1.0: the budget, fully used)."""
        return self.result.rate / self.budget_rate


async def _run(plan: SoakPlan, redis: RedisServer, *, shared: bool, outage: bool) -> SoakRow:
    requests, period = plan.budget
    async with WatchedPyrusServer(
        max_tokens=1, rate_limit=requests, rate_period=period, seed=plan.seed
    ) as server:
        logins_at_restart: list[int] = []

        async def kill_redis() -> None:
            await server.served(plan.outage_after).wait()
            redis.stop(kill=True)
            await asyncio.sleep(plan.outage)  # the outage itself: wall-clock time is the point
            redis.start()
            logins_at_restart.append(server.counters.logins)

        name = "shared token + budget on Redis" if shared else "no store (each process alone)"
        if outage:
            name += f", Redis killed for {plan.outage:g} s"
        result = await run_fleet(
            server,
            redis_url=redis.url,
            workers=plan.workers,
            calls=plan.calls,
            shared=shared,
            rate=plan.budget,
            during=kill_redis if outage else None,
        )
        after = server.counters.logins - logins_at_restart[0] if logins_at_restart else None
    return SoakRow(name, result, requests / period, after)


async def soak(plan: SoakPlan, *, outage: bool = True) -> list[SoakRow]:
    """The runs: shared state, today's behaviour, and shared state with a Redis outage."""
    with RedisServer() as redis:
        rows = [await _run(plan, redis, shared=True, outage=False)]
        rows.append(await _run(plan, redis, shared=False, outage=False))
        if outage:
            redis.stop()  # restarted empty: the outage run starts with nothing stored
            redis.start()
            rows.append(await _run(plan, redis, shared=True, outage=True))
    return rows


def table(plan: SoakPlan, rows: list[SoakRow]) -> str:
    """The soak as a markdown table."""
    requests, period = plan.budget
    lines = [
        f"{plan.workers} worker processes, {plan.calls} calendar calls in all, "
        f"FakePyrusServer(max_tokens=1) with {requests} requests per {period:g} s",
        "",
        "| run | logins (server) | 401s | 429s | failed calls | calls/s | vs budget "
        "| logins after Redis came back |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        r = row.result
        after = "-" if row.logins_after_restart is None else str(row.logins_after_restart)
        lines.append(
            f"| {row.name} | {r.logins} | {r.unauthorized} | {r.rate_limited} | {r.failed} "
            f"| {r.rate:.1f} | {row.throughput:.2f} | {after} |"
        )
    return "\n".join(lines)


def main() -> None:
    """``make scale``: the full soak, printed as a table for docs/scale.md."""
    plan = SoakPlan()
    started = time.monotonic()
    rows = asyncio.run(soak(plan))
    print(table(plan, rows))
    print(f"\n(soak took {time.monotonic() - started:.0f} s)")
