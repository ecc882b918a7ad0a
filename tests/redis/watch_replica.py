"""One replica of a watch fleet: a WatchRunner over one R7 calendar per watch, its state and
leases on Redis; prints one JSON line per change it handles.

Run as ``python -m tests.redis.watch_replica '<json config>'``; SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis

from calendar_transport import RetryPolicy
from calendar_watch import Change, Watch
from calendar_watch.redis import RedisWatchLeases, RedisWatchState
from calendar_watch.replicas import WatchRunner
from r7cal import Event, R7Client


async def main(config: dict[str, Any]) -> None:
    redis = aioredis.Redis.from_url(config["redis_url"])
    leases = RedisWatchLeases(redis, ttl=config["ttl"])
    client = R7Client(
        config["r7_url"],
        login=config["login"],
        password=config["password"],
        retry=RetryPolicy(attempts=3, initial_backoff=0.01, max_backoff=0.05),
    )
    names = [f"calendar-{calendar_id}" for calendar_id in config["calendars"]]

    def start(name: str) -> Watch[Event]:
        print(json.dumps({"replica": config["replica"], "took": name}), flush=True)
        calendar_id = int(name.removeprefix("calendar-"))
        return client.events.watch(
            [calendar_id],
            lookback=timedelta(days=1),
            horizon=timedelta(days=30),
            interval=config["interval"],
            state=RedisWatchState(redis, name, lease=leases),
            name="events",
        )

    async def handle(name: str, change: Change[Event]) -> None:
        line = {"replica": config["replica"], "watch": name, "kind": change.kind}
        print(json.dumps({**line, "key": change.key, "event": change.item.id}), flush=True)

    runner = WatchRunner(names, start, handle, lease=leases, renew_every=config["ttl"] / 4)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, runner.stop)
    print(json.dumps({"replica": config["replica"], "ready": True}), flush=True)
    try:
        await runner.run()
    finally:
        await client.aclose()
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
