"""Calendars end to end against FakeR7Server: create, list, share, clear, delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from r7cal import AccessLevel, NotFoundError, PermissionDeniedError, R7Client, TransportError
from r7cal.testing.fake import FakeR7Server

T0 = datetime(2025, 6, 30, 10, tzinfo=UTC)


async def test_create_then_list_shows_the_new_calendar_next_to_the_main_one(
    server: FakeR7Server, alice: R7Client
) -> None:
    created = await alice.calendars.create(name="Team", short_name="T", color="#FFC078")
    assert created.name == "Team"
    assert created.owner_id == server.user("alice").id
    listed = {c.id: c for c in await alice.calendars.list()}
    assert set(listed) == {server.user("alice").main_calendar_id, created.id}
    # the fake pads colours in listings as the real server does; the client strips them
    assert listed[created.id].color == "#FFC078"
    assert listed[created.id].access_type is AccessLevel.FULL
    assert listed[created.id].url is not None


async def test_create_takes_keyword_arguments_only(server: FakeR7Server, alice: R7Client) -> None:
    # No positional magic numbers: create("Team", "T", 1, 1) would have to say what 1 is.
    with pytest.raises(TypeError, match="positional"):
        await alice.calendars.create("Team", "T", 1, 1)  # type: ignore[misc]
    assert not server.requests_to("/api/v1/Calendars/save")


async def test_a_calendar_may_have_an_empty_name(alice: R7Client) -> None:
    created = await alice.calendars.create(name="")
    assert created.name == ""
    assert created.id in {c.id for c in await alice.calendars.list()}


async def test_delete_removes_the_calendar_and_its_events(
    server: FakeR7Server, alice: R7Client
) -> None:
    calendar = await alice.calendars.create(name="Trip")
    await alice.events.create(T0, T0 + timedelta(hours=1), calendar_id=calendar.id)
    await alice.calendars.delete(calendar.id)
    assert calendar.id not in {c.id for c in await alice.calendars.list()}
    assert server.events == {}
    with pytest.raises(NotFoundError):
        await alice.events.list([calendar.id])


async def test_the_main_calendar_cannot_be_deleted(server: FakeR7Server, alice: R7Client) -> None:
    main_id = server.user("alice").main_calendar_id
    with pytest.raises(PermissionDeniedError) as caught:
        await alice.calendars.delete(main_id)
    assert caught.value.message is not None  # the server's ErrorMessage is on the error
    assert main_id in {c.id for c in await alice.calendars.list()}


async def test_clear_removes_events_and_keeps_the_calendar(alice: R7Client) -> None:
    calendar = await alice.calendars.create(name="Busy")
    for hour in range(3):
        start = T0 + timedelta(hours=hour)
        await alice.events.create(start, start + timedelta(minutes=30), calendar_id=calendar.id)
    await alice.calendars.clear(calendar.id)
    assert await alice.events.list([calendar.id]) == []
    assert calendar.id in {c.id for c in await alice.calendars.list()}


async def test_unknown_calendar_ids_are_not_found(alice: R7Client) -> None:
    with pytest.raises(NotFoundError):
        await alice.calendars.delete(999_999)
    with pytest.raises(NotFoundError):
        await alice.calendars.clear(999_999)
    with pytest.raises(NotFoundError):
        await alice.calendars.share([999_999], [1])


async def test_share_then_list_as_the_other_user(
    server: FakeR7Server, alice: R7Client, bob: R7Client
) -> None:
    calendar = await alice.calendars.create(name="Shared")
    before = {c.id for c in await bob.calendars.list()}
    assert calendar.id not in before
    result = await alice.calendars.share([calendar.id], [server.user("bob").id], "WRITE")
    assert result.ids == [calendar.id]
    assert result.type is AccessLevel.WRITE
    assert result.user is not None
    assert result.user.login == "alice"
    seen = {c.id: c for c in await bob.calendars.list()}
    assert seen[calendar.id].access_type is AccessLevel.WRITE
    assert seen[calendar.id].owner_id == server.user("alice").id
    # WRITE lets bob add events, which alice then sees
    event = await bob.events.create(T0, T0 + timedelta(hours=1), calendar_id=calendar.id)
    assert [e.id for e in await alice.events.list([calendar.id])] == [event.id]


async def test_share_answer_does_not_keep_the_token_the_server_echoes(
    server: FakeR7Server, alice: R7Client
) -> None:
    calendar = await alice.calendars.create(name="Shared")
    bob_id = server.user("bob").id
    assert alice.token is not None
    # Like the real server, the fake echoes the caller's token in User.ApiContext ...
    raw = await alice.transport.request(
        "POST",
        "/api/v1/Share",
        json={"Ids": [calendar.id], "UserIds": [bob_id], "Type": 0, "EntityType": 14},
        response_type=bytes,
    )
    assert alice.token.encode() in raw
    # ... and the typed answer does not carry it.
    result = await alice.calendars.share([calendar.id], [bob_id])
    assert alice.token not in repr(result)
    assert b"PasswordHash" in raw
    assert "IWaBhVgmn6" not in repr(result)


async def test_write_or_read_access_cannot_clear_or_delete(
    server: FakeR7Server, alice: R7Client, bob: R7Client
) -> None:
    calendar = await alice.calendars.create(name="Shared")
    await alice.calendars.share([calendar.id], [server.user("bob").id], AccessLevel.WRITE)
    with pytest.raises(PermissionDeniedError):
        await bob.calendars.clear(calendar.id)
    with pytest.raises(PermissionDeniedError):
        await bob.calendars.delete(calendar.id)
    with pytest.raises(PermissionDeniedError):
        await bob.calendars.share([calendar.id], [server.user("alice").id], "READ")


async def test_read_access_lists_but_cannot_add_events(
    server: FakeR7Server, alice: R7Client, bob: R7Client
) -> None:
    calendar = await alice.calendars.create(name="Agenda")
    await alice.events.create(T0, T0 + timedelta(hours=1), calendar_id=calendar.id)
    with pytest.raises(PermissionDeniedError):
        await bob.events.list([calendar.id])
    await alice.calendars.share([calendar.id], [server.user("bob").id], 0)
    assert len(await bob.events.list([calendar.id])) == 1
    with pytest.raises(PermissionDeniedError):
        await bob.events.create(T0, T0 + timedelta(hours=1), calendar_id=calendar.id)


async def test_full_access_may_clear_and_delete(
    server: FakeR7Server, alice: R7Client, bob: R7Client
) -> None:
    calendar = await alice.calendars.create(name="Handover")
    await alice.events.create(T0, T0 + timedelta(hours=1), calendar_id=calendar.id)
    await alice.calendars.share([calendar.id], [server.user("bob").id], "full")
    await bob.calendars.clear(calendar.id)
    assert await alice.events.list([calendar.id]) == []
    await bob.calendars.delete(calendar.id)
    assert calendar.id not in {c.id for c in await alice.calendars.list()}


async def test_share_with_an_unknown_user_is_not_found(alice: R7Client) -> None:
    calendar = await alice.calendars.create(name="X")
    with pytest.raises(NotFoundError):
        await alice.calendars.share([calendar.id], [424242])


async def test_share_is_retried_after_a_gateway_error(
    server: FakeR7Server, alice: R7Client
) -> None:
    calendar = await alice.calendars.create(name="X")
    server.faults.fail_next(1, 503, path="/api/v1/Share")
    result = await alice.calendars.share([calendar.id], [server.user("bob").id])
    assert result.ids == [calendar.id]
    assert len(server.requests_to("/api/v1/Share")) == 2


async def test_a_calendar_create_whose_answer_is_lost_is_not_sent_again(
    server: FakeR7Server, alice: R7Client
) -> None:
    await alice.login()
    server.faults.truncate_next(1, path="/api/v1/Calendars/save")
    with pytest.raises(TransportError):
        await alice.calendars.create(name="Once")
    assert server.creates["calendar"] == 1
    assert len(server.requests_to("/api/v1/Calendars/save")) == 1
