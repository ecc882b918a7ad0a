"""One worker process of a fleet: a PyrusClient with the fleet's credentials makes its calls.

Run as ``python -m tests.redis.worker '<json config>'``: prints ``ready``, waits for a line on
stdin (the start signal, so every worker starts together), makes its calls and prints one
JSON line with what it saw.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from calendar_transport import CalendarError, RateLimit, RetryPolicy
from calendar_transport.redis import RedisRateLimit, RedisTokenStore
from pyrus_calendar import PyrusClient

START = datetime(2025, 6, 20, tzinfo=UTC)
END = datetime(2025, 6, 21, tzinfo=UTC)


def _budget(config: dict[str, Any]) -> RateLimit | None:
    if config["rate"] is None:
        return None
    return RateLimit(*config["rate"])


async def main(config: dict[str, Any]) -> dict[str, Any]:
    shared = config["shared"]
    budget = _budget(config)
    store = RedisTokenStore.from_url(config["redis_url"], retry_interval=0.5) if shared else None
    limit: RedisRateLimit | RateLimit | None = budget
    if shared and budget is not None:
        share = max(budget.requests // config["workers"], 1)
        limit = RedisRateLimit.from_url(
            config["redis_url"],
            budget,
            fallback=RateLimit(share, budget.period),
            retry_interval=0.5,
        )
    retry = RetryPolicy(attempts=6, initial_backoff=0.05, max_backoff=0.5, max_retry_after=10)
    client = PyrusClient(
        base_url=config["api_url"],
        login=config["login"],
        security_key=config["security_key"],
        token_store=store,
        rate_limit=limit,
        retry=retry,
    )
    left = config["calls"]
    ok = 0
    errors: list[str] = []
    if config.get("warm"):
        # One call before the start signal: every worker holds the fleet's token by then.
        left -= 1
        await client.calendar(START, END)
        ok += 1
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    async def caller() -> None:
        nonlocal left, ok
        while left > 0:  # bounded: each turn takes one of the `calls`
            left -= 1
            try:
                await client.calendar(START, END)
            except CalendarError as error:
                errors.append(f"{type(error).__name__}:{getattr(error, 'code', None)}")
            else:
                ok += 1

    started = time.monotonic()
    async with client:
        await asyncio.gather(*(caller() for _ in range(config["concurrency"])))
    elapsed = time.monotonic() - started
    for shared_object in (store, limit):
        if isinstance(shared_object, RedisTokenStore | RedisRateLimit):
            await shared_object.redis.aclose()
    return {
        "ok": ok,
        "errors": errors,
        "logins": client.stats.logins,
        "elapsed": elapsed,
        "outages": sum(
            o.health.outages
            for o in (store, limit)
            if isinstance(o, RedisTokenStore | RedisRateLimit)
        ),
    }


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = asyncio.run(main(json.loads(sys.argv[1])))
    print(json.dumps(result), flush=True)
