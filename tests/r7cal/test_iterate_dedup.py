"""How events.iterate deduplicates what overlapping windows return (aiohttp mocked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from aioresponses import aioresponses
from yarl import URL

from r7cal import R7Client, RetryPolicy

BASE = "https://r7.example.test"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def event(event_id: int, start: str, end: str) -> dict[str, object]:
    return {"Id": event_id, "Name": f"e{event_id}", "StartDate": start, "EndDate": end}


async def test_recurring_occurrences_are_kept_and_repeats_dropped(mocked: aioresponses) -> None:
    weekly_1 = event(7, "2025-01-03T09:00:00Z", "2025-01-03T10:00:00Z")
    weekly_2 = event(7, "2025-01-10T09:00:00Z", "2025-01-10T10:00:00Z")  # same id, next week
    spanning = event(8, "2025-01-06T00:00:00Z", "2025-01-09T00:00:00Z")
    url = f"{BASE}/api/v1/events"
    mocked.post(url, body=msgspec.json.encode([spanning, weekly_1]))
    mocked.post(url, body=msgspec.json.encode([weekly_2, spanning]))
    async with R7Client(BASE, token="t", retry=RetryPolicy(attempts=1)) as r7:
        found = [
            (e.id, e.start_date)
            async for e in r7.events.iterate(
                [1], T0, T0 + timedelta(days=14), window=timedelta(days=7)
            )
        ]
    assert found == [
        (7, datetime(2025, 1, 3, 9, tzinfo=UTC)),
        (8, datetime(2025, 1, 6, tzinfo=UTC)),
        (7, datetime(2025, 1, 10, 9, tzinfo=UTC)),
    ]
    # Each week is asked a day wider on both sides (no server rule can leave its edges out).
    first, second = mocked.requests[("POST", URL(url))]
    assert msgspec.json.decode(first.kwargs["data"]) == {
        "CalendarIds": [1],
        "StartDate": "2024-12-31T00:00:00Z",
        "EndDate": "2025-01-09T00:00:00Z",
    }
    assert msgspec.json.decode(second.kwargs["data"])["StartDate"] == "2025-01-07T00:00:00Z"
    assert msgspec.json.decode(second.kwargs["data"])["EndDate"] == "2025-01-16T00:00:00Z"
