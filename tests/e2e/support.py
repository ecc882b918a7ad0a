"""Helpers for the end-to-end tests: a fake server on its own loop, a terminal-like stream."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from calendar_transport.testing import FakeServer

T = TypeVar("T")
S = TypeVar("S", bound=FakeServer)


class Background:
    """An event loop in a thread: the CLI's ``main()`` runs its own ``asyncio.run`` in the
    test's thread, so a fake it talks to must be served from another loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the background loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextmanager
def served(server: S) -> Iterator[tuple[S, Background]]:
    """Start ``server`` on a background loop for the duration of the block."""
    background = Background()
    try:
        background.call(server.start())
        try:
            yield server, background
        finally:
            background.call(server.stop())
    finally:
        background.close()


class Terminal(io.StringIO):
    """A stream that says it is a terminal, to see what a person at a terminal sees."""

    def isatty(self) -> bool:
        return True


class Run:
    """What one in-process command run produced."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"Run(code={self.code}, out={self.out[:300]!r}, err={self.err[:300]!r})"
