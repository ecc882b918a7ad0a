""".NET's ``DateTime.MaxValue`` means "no end" / "never expires", and 7-digit fractions that
round up never overflow: in a login answer, and in an event listing, with and without ``Z``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from r7cal import DecodeError, R7Client, RetryPolicy
from r7cal.testing import FakeR7Server
from r7cal.testing.fake import TokenExpiry

from .conftest import PASSWORDS, client_for
from .stub import R7Stub

NO_RETRY = RetryPolicy(attempts=1)
MAX_VALUE = "9999-12-31T23:59:59.9999999"


def _event(event_id: int, start: str, end: str | None) -> dict[str, Any]:
    return {"Id": event_id, "Name": f"e{event_id}", "StartDate": start, "EndDate": end}


def _client(stub: R7Stub) -> R7Client:
    return R7Client(stub.url, login="u", password="pw", retry=NO_RETRY)


@pytest.mark.parametrize("expired_at", [MAX_VALUE, f"{MAX_VALUE}Z"])
async def test_a_login_answer_with_max_value_never_expires(expired_at: str) -> None:
    async with R7Stub(expired_at=expired_at) as stub, _client(stub) as r7:
        info = await r7.login()
        await r7.calendars.list()
        assert info.expires_at is None
        assert r7.auth.issued is not None
        assert r7.auth.issued.expires_at is None
        assert stub.logins == 1
        stub.revoke()  # "never expires" still yields to a 401
        await asyncio.gather(*(r7.calendars.list() for _ in range(5)))
    assert stub.logins == 2


@pytest.mark.parametrize("token_expiry", ["never", "never_utc"])
async def test_the_fake_can_issue_tokens_that_never_expire(token_expiry: TokenExpiry) -> None:
    async with FakeR7Server(
        users=PASSWORDS,
        token_lifetime=1.0,
        token_expiry=token_expiry,
    ) as server:
        async with client_for(server, "alice") as alice:
            await alice.calendars.list()
            login = server.requests_to("/api/v2/auth/Login")
            assert len(login) == 1
            assert alice.auth.issued is not None
            assert alice.auth.issued.expires_at is None
            server.revoke_tokens("alice")
            await alice.calendars.list()
        assert server.logins["alice"] == 2


async def test_an_event_listing_with_max_value_ends_decodes_every_event() -> None:
    async with R7Stub() as stub:
        stub.events = [
            _event(1, "2025-06-20T10:00:00Z", MAX_VALUE),
            _event(2, "2025-06-20T10:00:00Z", f"{MAX_VALUE}Z"),
            _event(3, "2025-06-20T23:59:59.9999996Z", "2025-06-20T23:59:59.9999996"),
            _event(4, "2025-06-20T10:00:00Z", "9999-12-31T23:59:59.9999996Z"),
            _event(5, "2025-06-20T10:00:00Z", "9999-12-31T23:59:59.999999Z"),
            _event(6, "2025-06-20T10:00:00Z", "9999-12-31T23:59:59.9999999+03:00"),
            _event(7, "2025-06-20T10:00:00Z", "9999-12-31T22:00:00-03:00"),
            _event(8, "0001-01-01T00:00:00", "2025-06-20T11:00:00.1471832Z"),
        ]
        async with R7Client(stub.url, login="u", password="pw", retry=NO_RETRY) as r7:
            events = await r7.events.list([1])
    by_id = {event.id: event for event in events}
    assert sorted(by_id) == list(range(1, 9))  # one odd value fails no listing
    for event_id in (1, 2, 4, 5, 6, 7):
        assert by_id[event_id].end_date is None, event_id  # "no end"
        assert by_id[event_id].start_date == datetime(2025, 6, 20, 10, tzinfo=UTC)
    # A fraction that rounds up carries into the next day, as it should.
    assert by_id[3].start_date == datetime(2025, 6, 21, tzinfo=UTC)
    assert by_id[3].end_date == datetime(2025, 6, 21, tzinfo=UTC)
    assert by_id[8].start_date is None
    assert by_id[8].end_date == datetime(2025, 6, 20, 11, 0, 0, 147183, tzinfo=UTC)


async def test_a_name_that_looks_like_max_value_is_not_touched_beyond_its_fraction() -> None:
    async with R7Stub() as stub:
        stub.events = [
            {**_event(1, "2025-06-20T10:00:00Z", None), "Description": "ends 9999-12-31"},
        ]
        async with R7Client(stub.url, login="u", password="pw", retry=NO_RETRY) as r7:
            (event,) = await r7.events.list([1])
    assert event.description == "ends 9999-12-31"
    assert event.end_date is None


@pytest.mark.parametrize("neighbour_end", ["2025-06-20T11:00:00Z", MAX_VALUE])
async def test_text_and_raw_json_shaped_like_max_value_are_kept_as_sent(neighbour_end: str) -> None:
    # The MaxValue repair rewrites raw bytes: it runs only on an answer that fails without it
    # (a neighbour's MaxValue end), and then only on the models' time fields.
    name = "9999-12-31T23:59:59.5 New Year party"
    recurring = {"Until": f"{MAX_VALUE}Z", "Note": "9999-12-31T23:59:59.25"}
    async with R7Stub() as stub:
        stub.events = [
            {**_event(1, "2025-06-20T10:00:00Z", "2025-06-20T11:00:00Z"), "Name": name},
            {**_event(2, "2025-06-20T10:00:00Z", neighbour_end), "Recurring": recurring},
        ]
        async with R7Client(stub.url, login="u", password="pw", retry=NO_RETRY) as r7:
            first, second = await r7.events.list([1])
    assert first.name == name
    assert second.recurring == recurring
    ends = {MAX_VALUE: None, "2025-06-20T11:00:00Z": datetime(2025, 6, 20, 11, tzinfo=UTC)}
    assert second.end_date == ends[neighbour_end]


async def test_an_answer_still_wrong_after_the_repair_names_what_is_wrong() -> None:
    async with R7Stub() as stub:
        stub.events = [{**_event(1, "2025-06-20T10:00:00Z", MAX_VALUE), "CalendarId": "x"}]
        async with R7Client(stub.url, login="u", password="pw", retry=NO_RETRY) as r7:
            with pytest.raises(DecodeError, match="CalendarId"):
                await r7.events.list([1])
