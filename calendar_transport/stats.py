"""One counter object per client: :class:`ClientStats` (``client.stats``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["ClientStats"]


@dataclass(slots=True)
class ClientStats:
    """What one client has done since it was made; the client keeps the counts up to date.

    ``requests``: calls through the transport (a retried call counts once; logins included);
    ``attempts``: HTTP attempts sent (retries, 401 replays and logins included); ``retries``:
    attempts repeated after a failure; ``logins``: logins this client made with its
    credentials; ``rate_limit_waits``: waits for a rate budget or for a 429's named wait;
    ``calendar_requests``: Pyrus ``GET /calendar`` calls (0 for R7); ``windows``: paging
    windows answered during Pyrus walks.
    """

    requests: int = 0
    attempts: int = 0
    retries: int = 0
    logins: int = 0
    rate_limit_waits: int = 0
    calendar_requests: int = 0
    windows: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by name (for a log line or a metrics exporter)."""
        return asdict(self)
