"""A watcher process for the restart tests: ``python -m tests.watch.worker URL STATE [KILL_AT]``.

It watches the fake Pyrus server at URL with the SQLite state at STATE and the test clock,
prints one JSON line per change it handles, and stops when a poll finds nothing new
(leaving ``async with`` normally, so the last change is committed). With KILL_AT it sends
itself SIGKILL right after handling change number KILL_AT, before asking for the next one:
that change was handled but never committed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from pyrus_calendar import PyrusClient
from pyrus_calendar.testing import FakePyrusServer

from .support import FakeClock, Idle


async def main(url: str, state: str, kill_at: int | None) -> None:
    clock = FakeClock()
    async with PyrusClient(
        base_url=url,
        login=FakePyrusServer.DEFAULT_LOGIN,
        security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
    ) as pyrus:
        watch = pyrus.watch(filters="due", name="w", state=state, clock=clock, sleep=clock.sleep)
        async with watch:
            handled = 0
            while True:
                try:
                    change = await anext(watch)
                except Idle:
                    break
                handled += 1
                line = {"kind": change.kind, "key": change.key, "id": change.item.id}
                print(json.dumps(line), flush=True)
                if handled == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None))
