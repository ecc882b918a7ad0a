"""Decoding the spec's example answers into the public models."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from r7cal import AccessLevel, Calendar, Event, ShareResult
from r7cal.models import LoginEnvelope

from . import examples


def test_login_envelope_gives_tokens_user_and_modules() -> None:
    result = msgspec.json.decode(examples.LOGIN, type=LoginEnvelope).result
    assert result is not None
    assert result.tokens.auth_token == examples.AUTH_TOKEN
    assert result.tokens.refresh_token == examples.REFRESH_TOKEN
    # seven fractional digits are read, rounded to microseconds, and the value is UTC
    assert result.tokens.expired_at == datetime(2025, 6, 20, 13, 30, 39, 147183, tzinfo=UTC)
    assert result.user is not None
    assert result.user.first_name == "Федор"
    assert result.user.modified is None  # 0001-01-01T00:00:00 means "no value"
    assert result.user.roles is not None
    assert result.user.roles[0].timestamp == datetime(2025, 6, 19, 13, 19, 53, 792505, tzinfo=UTC)
    assert "Calendar" in result.modules_access


def test_auth_tokens_repr_hides_both_tokens() -> None:
    result = msgspec.json.decode(examples.LOGIN, type=LoginEnvelope).result
    assert result is not None
    text = repr(result)
    assert examples.AUTH_TOKEN not in text
    assert examples.REFRESH_TOKEN not in text


def test_created_calendar_decodes_every_documented_field() -> None:
    calendar = msgspec.json.decode(examples.CALENDAR_CREATED, type=Calendar)
    assert calendar.id == 45
    assert calendar.short_name == "testVKA"
    assert calendar.owner_id == 14
    assert calendar.color == "#FFC078"
    assert calendar.view_period == 0
    assert calendar.timestamp is None
    assert calendar.url is not None
    assert calendar.url.endswith(calendar.uid or "?")


def test_calendar_listing_strips_colours_and_keeps_unknown_access_levels() -> None:
    first, second = msgspec.json.decode(examples.CALENDARS, type=list[Calendar])
    assert first.color == "#74C0FC"
    assert first.back_color == "#74C0FC"
    assert first.access_type is AccessLevel.FULL
    # 8 is not READ/WRITE/FULL, yet the listing decodes and the number survives
    assert second.access_type == 8
    assert second.access_type is not None
    assert second.access_type.name == "LEVEL_8"


def test_share_answer_keeps_the_user_but_drops_its_secrets() -> None:
    share = msgspec.json.decode(examples.SHARE, type=ShareResult)
    assert share.ids == [2]
    assert share.user_ids == [4, 3]
    assert share.type is AccessLevel.WRITE
    assert share.user is not None
    assert share.user.login == "vka1"
    assert share.user.date_of_create == datetime(2025, 6, 30, 3, 40, 29, 587162, tzinfo=UTC)
    text = repr(share)
    assert examples.SHARER_TOKEN not in text
    assert examples.PASSWORD_HASH not in text


def test_share_answer_with_the_level_as_a_name() -> None:
    share = msgspec.json.decode(b'{"Ids":[2],"UserIds":[4],"Type":"full"}', type=ShareResult)
    assert share.type is AccessLevel.FULL


def test_created_event_has_aware_utc_dates() -> None:
    event = msgspec.json.decode(examples.EVENT_CREATED, type=Event)
    assert event.name == "События из API"
    assert event.start_date == datetime(2025, 6, 30, 10, 0, tzinfo=UTC)
    assert event.end_date == datetime(2025, 6, 30, 11, 30, tzinfo=UTC)
    assert event.last_modification_date == datetime(2025, 6, 30, 6, 28, 58, 635964, tzinfo=UTC)
    assert event.participants == []
    assert event.is_all_day is False


def test_listing_event_keeps_undocumented_fields_raw() -> None:
    event = msgspec.json.decode(examples.EVENTS_ONE_OBJECT, type=Event)
    assert event.recurring == {"Freq": "WEEKLY", "Interval": 1}
    assert event.exceptions == ["2025-07-07T10:00:00Z"]
    assert event.participant_info == {"AccessType": 512, "AttendingType": None, "Description": None}


def test_naive_and_offset_times_become_utc() -> None:
    event = msgspec.json.decode(
        b'{"Id":1,"StartDate":"2025-01-01T10:00:00","EndDate":"2025-01-01T13:00:00+03:00"}',
        type=Event,
    )
    assert event.start_date == datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert event.end_date == datetime(2025, 1, 1, 10, tzinfo=UTC)
    assert event.end_date is not None
    assert event.end_date.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (AccessLevel.WRITE, AccessLevel.WRITE),
        ("read", AccessLevel.READ),
        (" Full ", AccessLevel.FULL),
        (4, AccessLevel.WRITE),
        ("512", AccessLevel.FULL),
    ],
)
def test_access_level_parse_accepts_members_names_and_numbers(
    value: object, expected: AccessLevel
) -> None:
    assert AccessLevel.parse(value) is expected


@pytest.mark.parametrize("value", ["owner", "", 8, AccessLevel(256)])
def test_access_level_parse_refuses_unknown_levels(value: object) -> None:
    with pytest.raises(ValueError, match="unknown access level"):
        AccessLevel.parse(value)


def test_access_level_parse_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        AccessLevel.parse(True)
    with pytest.raises(TypeError):
        AccessLevel.parse(4.0)
