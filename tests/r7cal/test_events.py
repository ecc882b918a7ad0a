"""Events end to end against FakeR7Server: create, list, iterate, delete."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from r7cal import (
    Event,
    NotFoundError,
    PermissionDeniedError,
    R7Client,
    RequestTimeoutError,
    TransportError,
)
from r7cal.testing.fake import FakeR7Server

T0 = datetime(2025, 6, 30, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


async def test_create_returns_the_event_with_aware_utc_dates(alice: R7Client) -> None:
    calendar = await alice.calendars.create(name="Work")
    event = await alice.events.create(
        T0, T0 + 90 * timedelta(minutes=1), name="Standup", calendar_id=calendar.id
    )
    assert event.name == "Standup"
    assert event.calendar_id == calendar.id
    assert event.start_date == T0
    assert event.end_date == T0 + timedelta(minutes=90)
    assert event.start_date is not None
    assert event.start_date.tzinfo is UTC
    assert event.last_modification_date is not None
    assert event.last_modification_date.tzinfo is UTC


async def test_without_a_calendar_the_event_goes_to_the_main_calendar(
    server: FakeR7Server, alice: R7Client
) -> None:
    event = await alice.events.create(T0, T0 + HOUR)
    assert event.calendar_id == server.user("alice").main_calendar_id


async def test_past_and_all_day_events(alice: R7Client) -> None:
    past = await alice.events.create(
        datetime(2001, 1, 1, 9, tzinfo=UTC), datetime(2001, 1, 1, 10, tzinfo=UTC)
    )
    assert past.start_date == datetime(2001, 1, 1, 9, tzinfo=UTC)
    holiday = await alice.events.create(date(2025, 1, 1), all_day=True, name="New Year")
    assert holiday.is_all_day is True
    assert holiday.start_date == datetime(2025, 1, 1, tzinfo=UTC)


async def test_list_filters_by_calendar_and_by_overlap(alice: R7Client) -> None:
    work = await alice.calendars.create(name="Work")
    home = await alice.calendars.create(name="Home")
    early = await alice.events.create(T0, T0 + HOUR, calendar_id=work.id)
    spanning = await alice.events.create(T0 + 2 * HOUR, T0 + 5 * HOUR, calendar_id=work.id)
    late = await alice.events.create(T0 + DAY, T0 + DAY + HOUR, calendar_id=work.id)
    other = await alice.events.create(T0 + 3 * HOUR, T0 + 4 * HOUR, calendar_id=home.id)

    window = await alice.events.list([work.id], start=T0 + 3 * HOUR, end=T0 + 6 * HOUR)
    assert [e.id for e in window] == [spanning.id]
    both = await alice.events.list([work.id, home.id], start=T0, end=T0 + 12 * HOUR)
    assert {e.id for e in both} == {early.id, spanning.id, other.id}
    everything = await alice.events.list([work.id])
    assert {e.id for e in everything} == {early.id, spanning.id, late.id}


async def test_list_of_an_unknown_calendar_is_not_found(alice: R7Client) -> None:
    with pytest.raises(NotFoundError):
        await alice.events.list([999_999])


async def test_delete_event(alice: R7Client) -> None:
    calendar = await alice.calendars.create(name="Work")
    event = await alice.events.create(T0, T0 + HOUR, calendar_id=calendar.id)
    await alice.events.delete(event.id)
    assert await alice.events.list([calendar.id]) == []
    with pytest.raises(NotFoundError):
        await alice.events.delete(event.id)


async def test_only_the_creator_may_delete_an_event(
    server: FakeR7Server, alice: R7Client, bob: R7Client
) -> None:
    calendar = await alice.calendars.create(name="Shared")
    await alice.calendars.share([calendar.id], [server.user("bob").id], "FULL")
    event = await alice.events.create(T0, T0 + HOUR, calendar_id=calendar.id)
    with pytest.raises(PermissionDeniedError):
        await bob.events.delete(event.id)
    assert [e.id for e in await bob.events.list([calendar.id])] == [event.id]


async def test_an_event_create_whose_answer_is_lost_is_not_sent_again(
    server: FakeR7Server, alice: R7Client
) -> None:
    await alice.login()
    server.faults.truncate_next(1, path="/api/v1/events/save")
    with pytest.raises(TransportError):
        await alice.events.create(T0, T0 + HOUR)
    assert server.creates["event"] == 1
    assert len(server.requests_to("/api/v1/events/save")) == 1


async def test_listing_is_retried_after_a_gateway_error(
    server: FakeR7Server, alice: R7Client
) -> None:
    event = await alice.events.create(T0, T0 + HOUR)
    server.faults.fail_next(2, 502, path="/api/v1/events")
    events = await alice.events.list([event.calendar_id or 0])
    assert [e.id for e in events] == [event.id]


# ---- iterate ---------------------------------------------------------------------------


async def _collect(
    client: R7Client, ids: list[int], start: datetime, end: datetime, window: timedelta
) -> list[Event]:
    return [event async for event in client.events.iterate(ids, start, end, window=window)]


async def test_iterate_walks_windows_in_order_and_yields_a_spanning_event_once(
    server: FakeR7Server, alice: R7Client
) -> None:
    calendar = await alice.calendars.create(name="Year")
    created = [
        await alice.events.create(T0 + day * DAY, T0 + day * DAY + HOUR, calendar_id=calendar.id)
        for day in (0, 9, 20, 35)
    ]
    # spans the boundaries of three 7-day windows
    long = await alice.events.create(T0 + 5 * DAY, T0 + 17 * DAY, calendar_id=calendar.id)
    found = await _collect(alice, [calendar.id], T0, T0 + 40 * DAY, timedelta(days=7))
    assert [e.id for e in found] == [
        created[0].id,
        long.id,
        created[1].id,
        created[2].id,
        created[3].id,
    ]
    # the walk really went window by window (40 days / 7 = 6 listings)
    assert len(server.requests_to("/api/v1/events")) == 6


async def test_iterate_over_an_empty_range_yields_nothing(alice: R7Client) -> None:
    calendar = await alice.calendars.create(name="Empty")
    assert await _collect(alice, [calendar.id], T0, T0 + 90 * DAY, timedelta(days=31)) == []


async def test_token_expiry_in_the_middle_of_iterate(server: FakeR7Server, alice: R7Client) -> None:
    calendar = await alice.calendars.create(name="Long")
    ids = [
        (
            await alice.events.create(
                T0 + day * DAY, T0 + day * DAY + HOUR, calendar_id=calendar.id
            )
        ).id
        for day in (1, 11, 21)
    ]
    found = []
    async for event in alice.events.iterate(
        [calendar.id], T0, T0 + 30 * DAY, window=timedelta(days=10)
    ):
        found.append(event.id)
        if len(found) == 1:
            assert server.expire_tokens() == 1
    assert found == ids
    assert server.unauthorized == 1  # one refused listing ...
    assert server.logins["alice"] == 2  # ... answered by one new login, then replayed


async def test_a_listing_ends_by_its_deadline_with_the_login_it_needed() -> None:
    # The login and the listing each take 0.6 s: together they overrun a 1 s deadline,
    # which bounds the awaited call as a whole, not each request apart.
    async with FakeR7Server() as slow:
        slow.faults.add_latency(0.6)
        async with R7Client(
            slow.url, login="user_test", password="TestPassword", deadline=1.0
        ) as r7:
            start = datetime(2026, 12, 8, tzinfo=UTC)
            with pytest.raises(RequestTimeoutError, match=r"deadline of 1\.0s"):
                await r7.events.list([1], start, start + timedelta(days=1))
