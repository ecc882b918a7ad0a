"""Client-side request budgets: :class:`RateLimit` (one process) and the protocol of a budget
that several processes share (:class:`SharedRateLimit`, e.g. ``calendar_transport.redis``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from .token_store import StoreKey

__all__ = ["AccountLimiter", "RateLimit", "SharedRateLimit"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A client-side budget: at most ``requests`` calls per ``period`` seconds."""

    requests: int
    period: float

    def __post_init__(self) -> None:
        if isinstance(self.requests, bool) or not isinstance(self.requests, int):
            raise TypeError("RateLimit.requests must be an int")
        if self.requests < 1:
            raise ValueError(f"RateLimit.requests must be at least 1, got {self.requests}")
        if isinstance(self.period, bool) or not isinstance(self.period, int | float):
            raise TypeError("RateLimit.period must be a number of seconds")
        if self.period <= 0:
            raise ValueError(f"RateLimit.period must be positive, got {self.period}")


class AccountLimiter(Protocol):
    """One account's share of a :class:`SharedRateLimit`."""

    async def acquire(self) -> None:
        """Wait until one more request may leave."""

    async def pause(self, seconds: float) -> None:
        """The server answered 429 and asked for ``seconds``: hold every request until then."""


@runtime_checkable
class SharedRateLimit(Protocol):
    """A budget shared by every client (and process) of an account, keyed like tokens."""

    def limiter_for(self, key: StoreKey) -> AccountLimiter:
        """The limiter of the account ``key`` names."""
