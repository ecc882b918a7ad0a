"""FakeR7Server itself: the JSON shapes it serves and how it guards its endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import msgspec
import pytest

from pyrus_calendar import PyrusClient
from pyrus_calendar.testing import FakePyrusServer
from r7cal import AuthenticationError, BadRequestError, R7Client
from r7cal.testing import FakeR7Server

from . import examples
from .conftest import PASSWORDS, client_for

T0 = datetime(2025, 6, 30, 10, tzinfo=UTC)


def keys(data: bytes) -> set[str]:
    decoded = msgspec.json.decode(data)
    return set(decoded[0] if isinstance(decoded, list) else decoded)


async def raw(client: R7Client, method: str, path: str, **kwargs: Any) -> bytes:
    return await client.transport.request(method, path, response_type=bytes, **kwargs)


async def test_answers_have_the_fields_of_the_spec_examples(
    server: FakeR7Server, alice: R7Client
) -> None:
    login = await raw(
        alice,
        "POST",
        "/api/v2/auth/Login",
        json={"Login": "alice", "Password": PASSWORDS["alice"]},
        authenticate=False,
    )
    envelope = msgspec.json.decode(login)
    spec = msgspec.json.decode(examples.LOGIN)
    assert set(envelope["Response"]["Data"]["Tokens"]) == set(spec["Response"]["Data"]["Tokens"])
    assert set(envelope["Response"]["Data"]) == set(spec["Response"]["Data"])
    assert envelope["Response"]["Data"]["Tokens"]["ExpiredAt"].endswith("0Z")  # 7 digits

    created = await raw(alice, "POST", "/api/v1/Calendars/save", json={"Type": 1, "Status": 1})
    assert keys(created) == keys(examples.CALENDAR_CREATED)
    calendar_id = msgspec.json.decode(created)["Id"]
    listing = await raw(alice, "GET", "/api/v1/email/Calendars")
    assert keys(listing) >= keys(examples.CALENDARS) - {"SomethingNew"}

    body = {
        "CalendarId": calendar_id,
        "StartDate": "2025-06-30T10:00:00Z",
        "EndDate": "2025-06-30T11:30:00Z",
        "IsAllDay": False,
    }
    event = await raw(alice, "POST", "/api/v1/events/save", json=body)
    assert keys(event) == keys(examples.EVENT_CREATED)
    one = await raw(alice, "POST", "/api/v1/events", json={"CalendarIds": [calendar_id]})
    assert isinstance(msgspec.json.decode(one), dict)  # one event: a bare object, as in the spec
    assert keys(one) == keys(examples.EVENTS_ONE_OBJECT)

    bob_id = server.user("bob").id
    share = {"Ids": [calendar_id], "UserIds": [bob_id], "Type": "WRITE", "EntityType": 14}
    assert keys(await raw(alice, "POST", "/api/v1/Share", json=share)) == keys(examples.SHARE)


async def test_events_listing_can_always_answer_a_list() -> None:
    async with (
        FakeR7Server(single_event_as_object=False) as server,
        R7Client(server.url, login="user_test", password="TestPassword") as r7,
    ):
        await r7.events.create(T0, T0 + timedelta(hours=1))
        main = server.user("user_test").main_calendar_id
        answer = await raw(r7, "POST", "/api/v1/events", json={"CalendarIds": [main]})
    assert isinstance(msgspec.json.decode(answer), list)


async def test_the_spec_s_other_spelling_of_calendar_ids_is_accepted(alice: R7Client) -> None:
    event = await alice.events.create(T0, T0 + timedelta(hours=1))
    answer = await raw(alice, "POST", "/api/v1/events", json={"CalendarsIds": [event.calendar_id]})
    assert msgspec.json.decode(answer)["Id"] == event.id


@pytest.mark.parametrize("authorization", [None, "", "Bearer {token}", "not-a-token"])
async def test_calls_without_a_valid_bare_token_are_unauthorized(
    server: FakeR7Server, authorization: str | None
) -> None:
    token = server.issue_token("alice")
    headers = {} if authorization is None else {"Authorization": authorization.format(token=token)}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{server.url}/api/v1/email/Calendars", headers=headers) as answer:
            assert answer.status == 401
            assert "ErrorMessage" in await answer.json()
        ok = {"Authorization": token}
        async with session.get(f"{server.url}/api/v1/email/Calendars", headers=ok) as answer:
            assert answer.status == 200


async def test_tokens_live_token_lifetime_seconds() -> None:
    async with FakeR7Server(users=PASSWORDS, token_lifetime=0) as server:
        token = server.issue_token("alice")  # expires the moment it is issued
        async with R7Client(server.url, token=token) as r7:
            with pytest.raises(AuthenticationError):
                await r7.calendars.list()


async def test_revoked_tokens_cannot_be_refreshed(server: FakeR7Server) -> None:
    async with client_for(server, "alice", refresh_path="/api/v2/auth/Refresh") as alice:
        await alice.calendars.list()
        assert server.revoke_tokens("alice") == 1
        await alice.calendars.list()  # the refresh token is gone too: the password is used
    assert server.refreshes == 0
    assert server.logins["alice"] == 2


async def test_bad_bodies_are_bad_requests(alice: R7Client) -> None:
    with pytest.raises(BadRequestError):
        await raw(alice, "POST", "/api/v1/Calendars/save", json={"Name": "no type"})
    with pytest.raises(BadRequestError):
        await raw(
            alice,
            "POST",
            "/api/v1/Share",
            json={"Ids": [1], "UserIds": [1], "Type": "OWNER", "EntityType": 14},
        )
    with pytest.raises(BadRequestError):
        await raw(alice, "POST", "/api/v1/events/save", json={"StartDate": "2025-06-30T10:00:00Z"})


def test_users_have_distinct_main_calendars() -> None:
    server = FakeR7Server(users=PASSWORDS)
    alice, bob = server.user("alice"), server.user("bob")
    assert alice.main_calendar_id != bob.main_calendar_id
    with pytest.raises(ValueError, match="exists"):
        server.add_user("alice", "x")


async def test_the_default_user_is_named_as_on_the_pyrus_fake() -> None:
    assert FakeR7Server.DEFAULT_LOGIN == "user_test"
    async with FakeR7Server() as server:
        login, password = FakeR7Server.DEFAULT_LOGIN, FakeR7Server.DEFAULT_PASSWORD
        async with R7Client(server.url, login=login, password=password) as r7:
            assert [c.owner_id for c in await r7.calendars.list()] == [server.user(login).id]


async def test_both_fakes_and_both_clients_are_pointed_alike() -> None:
    """``server.api_url`` is what either client takes as ``base_url``, given first or by name."""
    async with FakeR7Server() as r7_server, FakePyrusServer() as pyrus_server:
        assert r7_server.api_url == r7_server.url
        r7_options = {"login": r7_server.DEFAULT_LOGIN, "password": r7_server.DEFAULT_PASSWORD}
        pyrus_options = {
            "login": pyrus_server.DEFAULT_LOGIN,
            "security_key": pyrus_server.DEFAULT_SECURITY_KEY,
        }
        for r7 in (
            R7Client(r7_server.api_url, **r7_options),
            R7Client(base_url=r7_server.api_url, **r7_options),
        ):
            async with r7:
                assert len(await r7.calendars.list()) == 1
        for pyrus in (
            PyrusClient(pyrus_server.api_url, **pyrus_options),
            PyrusClient(base_url=pyrus_server.api_url, **pyrus_options),
        ):
            async with pyrus:
                day = datetime(2026, 12, 8, tzinfo=UTC)
                assert (await pyrus.calendar(day, day + timedelta(days=1))).tasks == []
    assert pyrus_server.counters.logins == 2
