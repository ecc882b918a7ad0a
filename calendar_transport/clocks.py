"""The clocks and the sleep a component can be given, so tests move time instead of waiting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

__all__ = ["Monotonic", "Now", "Sleep"]

#: seconds that only go forward, for intervals (``time.monotonic``)
Monotonic = Callable[[], float]
#: the current moment, timezone-aware (``lambda: datetime.now(UTC)``)
Now = Callable[[], datetime]
#: waits that many seconds (``asyncio.sleep``)
Sleep = Callable[[float], Awaitable[None]]
