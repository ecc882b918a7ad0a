"""Client-side request budgets: :class:`RateLimit` (one process) and the protocol of a budget
that several processes share (:class:`SharedRateLimit`, e.g. ``calendar_transport.redis``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from .checks import require_finite_positive, require_int
from .retry import parse_rate_limit_reset
from .token_store import StoreKey

__all__ = ["AccountLimiter", "RateLimit", "RateLimitStatus", "SharedRateLimit"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A client-side budget: at most ``requests`` calls per ``period`` seconds."""

    requests: int
    period: float

    def __post_init__(self) -> None:
        if require_int(self.requests, "RateLimit.requests") < 1:
            raise ValueError(f"RateLimit.requests must be at least 1, got {self.requests}")
        require_finite_positive(self.period, "RateLimit.period")  # nan or inf would never refill


class AccountLimiter(Protocol):
    """One account's share of a :class:`SharedRateLimit`."""

    async def acquire(self) -> float | None:
        """Wait until one more request may leave; returns the seconds waited, if known
        (a wait is then reported to ``hooks.on_rate_limit_wait`` and counted in ``stats``)."""

    async def pause(self, seconds: float) -> None:
        """The server answered 429 and asked for ``seconds``: hold every request until then."""


@runtime_checkable
class SharedRateLimit(Protocol):
    """A budget shared by every client (and process) of an account, keyed like tokens."""

    def limiter_for(self, key: StoreKey) -> AccountLimiter:
        """The limiter of the account ``key`` names."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitStatus:
    """The server's own budget as its last answer told it (``X-RateLimit-*`` headers).

    ``limit``: requests allowed per window; ``remaining``: left in this window; ``reset``:
    seconds until the window resets, counted from ``observed_at`` (when the answer came).
    A header that is missing or unreadable is ``None``.
    """

    limit: int | None
    remaining: int | None
    reset: float | None
    observed_at: datetime

    @property
    def resets_at(self) -> datetime | None:
        """When the window resets, if the server said."""
        if self.reset is None:
            return None
        return self.observed_at + timedelta(seconds=self.reset)

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str], observed_at: datetime | None = None
    ) -> RateLimitStatus | None:
        """The status the headers carry, or ``None`` if they carry none of them."""
        limit = _count(headers.get("X-RateLimit-Limit"))
        remaining = _count(headers.get("X-RateLimit-Remaining"))
        reset = parse_rate_limit_reset(headers.get("X-RateLimit-Reset"))
        if limit is None and remaining is None and reset is None:
            return None
        return cls(
            limit=limit,
            remaining=remaining,
            reset=reset,
            observed_at=observed_at or datetime.now(UTC),
        )


def _count(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        count = int(value.strip())
    except ValueError:
        return None
    return count if count >= 0 else None
