"""One odd value in a listing keeps the listing: a stub server, apart from the fake, sends what
real R7 servers were seen to send."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiohttp import web

from calendar_transport import DecodeError
from calendar_transport.testing import FakeServer, json_response
from r7cal import AccessLevel, R7Client


class _Stub(FakeServer):
    def __init__(self, calendars: list[Any], events: list[Any]) -> None:
        super().__init__()
        self.calendars, self.events = calendars, events

    def setup_routes(self, app: web.Application) -> None:
        async def calendars(request: web.Request) -> web.Response:
            return json_response(self.calendars)

        async def events(request: web.Request) -> web.Response:
            return json_response(self.events)

        app.router.add_get("/api/v1/email/Calendars", calendars)
        app.router.add_post("/api/v1/events", events)


async def _client(stub: _Stub) -> R7Client:
    return R7Client(stub.url, token="a-token-the-caller-had")


@pytest.fixture
async def stub() -> AsyncIterator[_Stub]:
    async with _Stub([], []) as server:
        yield server


async def test_calendar_levels_as_text_are_read(stub: _Stub) -> None:
    stub.calendars = [
        {"Id": 1, "AccessType": "512"},
        {"Id": 2, "AccessType": "WRITE"},
        {"Id": 3, "AccessType": " read "},
        {"Id": 4, "AccessType": "8"},
        {"Id": 5, "AccessType": "Owner"},
        {"Id": 6, "AccessType": None, "Timestamp": ""},
    ]
    async with await _client(stub) as r7:
        levels = [c.access_type for c in await r7.calendars.list()]
    assert levels[:3] == [AccessLevel.FULL, AccessLevel.WRITE, AccessLevel.READ]
    assert isinstance(levels[3], AccessLevel)
    assert levels[3] == 8
    assert levels[4:] == ["Owner", None]  # text that names no level is kept, not lost


async def test_null_flags_and_empty_dates_do_not_fail_an_events_listing(stub: _Stub) -> None:
    stub.events = [
        {"Id": 1, "StartDate": "2026-12-01T09:00:00Z", "IsAllDay": None},
        {"Id": 2, "StartDate": "2026-12-01T00:00:00Z", "EndDate": "", "IsAllDay": True},
        {"Id": 3, "StartDate": "", "LastModificationDate": "", "Name": "undated"},
    ]
    async with await _client(stub) as r7:
        events = await r7.events.list([1])
    assert [e.id for e in events] == [1, 2, 3]
    assert events[0].is_all_day is False
    assert events[0].start_date == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert events[1].end_date is None
    assert events[1].end_day == date(2026, 12, 2)
    assert (events[2].start_date, events[2].name) == (None, "undated")


async def test_a_value_that_cannot_be_kept_still_fails_clearly(stub: _Stub) -> None:
    stub.events = [{"Id": 1}, {"Id": "not a number"}]
    async with await _client(stub) as r7:
        with pytest.raises(DecodeError, match="Id"):
            await r7.events.list([1])


async def test_max_value_and_a_null_in_one_listing_keep_the_listing(stub: _Stub) -> None:
    stub.events = [
        {"Id": 1, "StartDate": "2026-12-01T09:00:00Z", "EndDate": "9999-12-31T23:59:59.9999999"},
        {"Id": 2, "StartDate": "2026-12-01T10:00:00Z", "IsAllDay": None},
    ]
    async with await _client(stub) as r7:
        events = await r7.events.list(
            [1], datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 2, tzinfo=UTC)
        )
    assert [event.id for event in events] == [1, 2]
    assert events[0].end_date is None  # MaxValue: no end
    assert events[1].is_all_day is False
