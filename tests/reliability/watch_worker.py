"""The watcher the watch soak kills and restarts: ``PyrusClient.watch()`` on an SQLite state,
one JSON line per change it handles, and a ``{"waiting": true}`` line before each wait.

Run as ``python -m tests.reliability.watch_worker '<json config>'``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from datetime import timedelta
from typing import Any

import msgspec

from calendar_transport import RetryPolicy
from pyrus_calendar import PyrusClient, Task


async def main(config: dict[str, Any]) -> None:
    retry = RetryPolicy(attempts=3, initial_backoff=0.001, max_backoff=0.005, max_retry_after=0.01)
    async with PyrusClient(
        base_url=config["api_url"],
        login=config["login"],
        security_key=config["security_key"],
        retry=retry,
        timeout=config["timeout"],
    ) as pyrus:

        async def pace(seconds: float) -> None:
            print('{"waiting": true}', flush=True)  # every change of the last poll handled
            await asyncio.sleep(seconds)

        watch = pyrus.watch(
            lookback=timedelta(days=1),
            horizon=timedelta(days=30),
            interval=config["interval"],
            state=config["state"],
            sleep=pace,
        )
        async with watch:
            async for change in watch:
                item = change.item
                assert isinstance(item, Task)
                line = {
                    "key": change.key,
                    "kind": change.kind,
                    "id": item.id,
                    "item": _version(item),
                    "previous": _version(change.previous) if change.previous else None,
                }
                print(json.dumps(line), flush=True)
                # The handler's own work: the window in which a kill leaves it uncommitted.
                await asyncio.sleep(config["handle_time"])


def _version(task: Any) -> list[Any]:
    return [task.subject, msgspec.to_builtins(task.due)]


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)  # skipped polls are expected here
    asyncio.run(main(json.loads(sys.argv[1])))
