"""Typed R7 answers: msgspec Structs with snake_case attributes and PascalCase wire names.

The decoders are tolerant the way the R7 server needs: unknown fields are ignored, .NET
timestamps with 7 fractional digits are read, ``0001-01-01T00:00:00`` (MinValue) means "no
value" and ``9999-12-31T23:59:59.9999999`` (MaxValue) "no end" (both become ``None``), naive
timestamps are taken as UTC, and colours lose the spaces the server pads them with.
Every datetime a model holds is timezone-aware UTC.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeAlias

import msgspec
from msgspec.structs import force_setattr

__all__ = [
    "AccessLevel",
    "AuthTokens",
    "Calendar",
    "Event",
    "JSONValue",
    "LoginResult",
    "Role",
    "ShareResult",
    "User",
]

#: A JSON value kept as decoded, for fields whose format R7 does not document.
JSONValue: TypeAlias = dict[str, Any] | list[Any] | str | int | float | bool | None


class AccessLevel(enum.IntEnum):
    """Access to a shared calendar. Other numbers the server sends decode as ``LEVEL_<n>``."""

    READ = 0
    WRITE = 4
    FULL = 512

    @classmethod
    def _missing_(cls, value: object) -> AccessLevel | None:
        # R7 sends levels it does not document (1, 2, 8, 256...); a listing must not fail on
        # them, so they become pseudo-members that compare equal to their number.
        if isinstance(value, int) and not isinstance(value, bool):
            member = int.__new__(cls, value)
            member._name_ = f"LEVEL_{value}"
            member._value_ = value
            return member
        return None

    @classmethod
    def parse(cls, value: object) -> AccessLevel:
        """One of READ/WRITE/FULL from a member, its name in any case, or its number."""
        level: AccessLevel | None = None
        if isinstance(value, AccessLevel):
            level = value
        elif isinstance(value, str):
            text = value.strip()
            if text.upper() in cls.__members__:
                level = cls[text.upper()]
            elif text.isdigit():
                level = cls(int(text))
        elif isinstance(value, int) and not isinstance(value, bool):
            level = cls(value)
        else:
            raise TypeError(
                f"access must be an AccessLevel, a name or a number, not {type(value).__name__}"
            )
        if level is None or level.name not in cls.__members__:
            raise ValueError(f"unknown access level {value!r}; use one of READ, WRITE, FULL")
        return level


# The last second .NET can write (DateTime.MaxValue is 23:59:59.9999999 of it): "no end".
_MAX_VALUE_SECOND = datetime(9999, 12, 31, 23, 59, 59)
_LAST_SECOND = b'"9999-12-31T23:59:59.'


def without_max_value_fractions(body: bytes) -> bytes:
    """``body`` with the fraction dropped from every time field set in the last second of 9999.

    msgspec rounds .NET's seven fractional digits to microseconds, and MaxValue's
    ``.9999999`` rounds past the last datetime Python has: one such value would fail a
    whole answer. Without the fraction it decodes, and :func:`_utc` reads it as "no end".
    Only the values of the models' time fields (``"EndDate": "..."``) are touched: a name, or
    raw JSON such as ``Recurring``, keeps what the server sent.
    """
    if _LAST_SECOND not in body:  # a plain substring scan: most answers end here
        return body
    return _time_field_fraction().sub(rb"\1", body)


@functools.cache
def _time_field_fraction() -> re.Pattern[bytes]:
    # The wire names of every datetime field of the R7 models (read once, after they exist).
    names = sorted(
        {
            field.encode_name
            for model in _all_models(_Model)
            for field in msgspec.structs.fields(model)
            if "datetime" in str(field.type)
        }
    )
    keys = b"|".join(re.escape(name.encode()) for name in names)
    return re.compile(rb'("(?:' + keys + rb')"\s*:\s*"9999-12-31T23:59:59)\.[0-9]+')


def _all_models(base: type[msgspec.Struct]) -> list[type[msgspec.Struct]]:
    found = []
    for model in base.__subclasses__():
        found += [model, *_all_models(model)]
    return found


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.year == 1:  # .NET's DateTime.MinValue: "not set"
        return None
    if value.year == 9999 and value.replace(tzinfo=None, microsecond=0) >= _MAX_VALUE_SECOND:
        return None  # .NET's DateTime.MaxValue: "no end", "never expires"
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None  # an offset that carries a time of 9999 past Python's range: "no end"


def _normalise_times(struct: msgspec.Struct, *names: str) -> None:
    for name in names:
        value = getattr(struct, name)
        if value is not None:
            force_setattr(struct, name, _utc(value))


class _Model(msgspec.Struct, rename="pascal", kw_only=True, frozen=True, gc=False):
    """Base of every R7 model: PascalCase on the wire, immutable; plain data with no
    reference cycles, so the garbage collector need not track it (gc=False)."""


class Role(_Model, frozen=True):
    """A role (group) a user belongs to."""

    id: int
    customer_id: int | None = None
    type: int | None = None
    name: str | None = None
    parent_id: int | None = None
    external_id: str | None = None
    parent: JSONValue = None
    timestamp: datetime | None = None
    change_date: datetime | None = None
    owner_id: int | None = None

    def __post_init__(self) -> None:
        _normalise_times(self, "timestamp", "change_date")


class User(_Model, frozen=True):
    """An R7 user, as the login answer and the share answer describe it.

    Secrets the server puts next to it (``PasswordHash``, ``ApiContext.Token``) are
    deliberately not kept.
    """

    id: int
    login: str | None = None
    name: str | None = None
    surname: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    company: str | None = None
    department: str | None = None
    position: str | None = None
    jid: str | None = None
    birth_date: datetime | None = None
    phone_number: str | None = None
    mobile_phone: str | None = None
    work_phone: str | None = None
    email: str | None = None
    not_approved: JSONValue = None
    about: str | None = None
    modified: datetime | None = None
    date_of_create: datetime | None = None
    contact_id: int | None = None
    customer_id: int | None = None
    type: int | None = None
    status: int | None = None
    gender: int | None = None
    culture: str | None = None
    roles: list[Role] | None = None
    group: JSONValue = None
    avatar: JSONValue = None
    interests: JSONValue = None
    city: JSONValue = None
    customer: JSONValue = None
    contact: JSONValue = None
    data_storage_quota: JSONValue = None
    profile: JSONValue = None
    photo_id: int | str | None = None
    has_avatar: bool | None = None

    def __post_init__(self) -> None:
        _normalise_times(self, "birth_date", "modified", "date_of_create")


class AuthTokens(_Model, frozen=True):
    """The tokens a login issues. Their values never appear in the repr."""

    auth_token: str
    refresh_token: str | None = None
    expired_at: datetime | None = None
    user_id: int | None = None
    id: int | None = None
    client_hash: str | None = None
    type: JSONValue = None
    user: JSONValue = None

    def __post_init__(self) -> None:
        _normalise_times(self, "expired_at")

    def __repr__(self) -> str:
        return (
            f"AuthTokens(auth_token='***', refresh_token='***', "
            f"expired_at={self.expired_at!r}, user_id={self.user_id!r})"
        )


class LoginResult(_Model, frozen=True):
    """What ``POST /api/v2/auth/Login`` returns inside its envelope: tokens, user, modules."""

    tokens: AuthTokens
    state: str | None = None
    user: User | None = None
    modules_access: list[str] = msgspec.field(default_factory=list)


class Calendar(_Model, frozen=True):
    """A calendar, owned by the user or shared with them (``access_type`` says how)."""

    id: int
    name: str | None = None
    short_name: str | None = None
    image_id: int | str | None = None
    color: str | None = None
    back_color: str | None = None
    customer_id: int | None = None
    owner_id: int | None = None
    type: int | None = None
    status: int | None = None
    #: the caller's access; a level sent as text (``"512"``, ``"WRITE"``) is read too, and
    #: text that names no level is kept as it came
    access_type: AccessLevel | str | None = None
    uid: str | None = None
    timezone_id: int | str | None = None
    view_period: int | None = None
    timestamp: datetime | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        # Inline rather than through the helpers: a listing decodes one per calendar, and
        # this hook is most of what the SDK adds to a small GET.
        if self.color is not None:
            force_setattr(self, "color", self.color.strip())
        if self.back_color is not None:
            force_setattr(self, "back_color", self.back_color.strip())
        stamp = self.timestamp
        # Most stamps arrive as plain UTC ("...Z"): nothing to normalise, nothing to set.
        if stamp is not None and not (stamp.tzinfo is UTC and 1 < stamp.year < 9999):
            force_setattr(self, "timestamp", _utc(stamp))
        if isinstance(self.access_type, str):
            force_setattr(self, "access_type", _access_from_text(self.access_type))


def _access_from_text(text: str) -> AccessLevel | str:
    # Unlike AccessLevel.parse (for what a caller asks), any number the server sends is kept.
    word = text.strip()
    if word.upper() in AccessLevel.__members__:
        return AccessLevel[word.upper()]
    if word.isdigit():
        return AccessLevel(int(word))
    return text


class Event(_Model, frozen=True):
    """A calendar event. ``recurring``, ``exceptions`` and the participant fields are kept
    as the server sent them: their formats are not documented.

    An all-day event is a set of days: read them from :attr:`start_day` and :attr:`end_day`
    (exclusive) or :attr:`last_day` (inclusive), not from ``start_date``/``end_date``, whose
    times depend on how the server stores such events.
    """

    id: int
    name: str | None = None
    description: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    calendar_id: int | None = None
    category_id: int | None = None
    owner_id: int | None = None
    type: int | None = None
    status: int | None = None
    address: str | None = None
    place: str | None = None
    is_private: bool | None = None
    is_all_day: bool = False
    is_free: bool | int | None = None
    has_materials: bool | None = None
    has_participant: bool | None = None
    calendar_time_zone_id: int | str | None = None
    time_zone_id: int | str | None = None
    end_time_zone_id: int | str | None = None
    recurring: JSONValue = None
    exceptions: JSONValue = None
    participants: JSONValue = None
    participant_info: JSONValue = None
    organizer: JSONValue = None
    save_type: int | None = None
    uid: str | None = None
    last_modification_date: datetime | None = None
    parent_id: int | None = None
    parent: JSONValue = None
    #: minutes east of UTC of the zone the start was saved in (R7 may store an all-day
    #: event's days as that zone's midnights)
    start_time_zone_offset: int | None = None
    end_time_zone_offset: int | None = None
    organizer_id: int | None = None

    def __post_init__(self) -> None:
        _normalise_times(self, "start_date", "end_date", "last_modification_date")

    @property
    def start_day(self) -> date | None:
        """An all-day event's first day (``None`` for a timed event or one without a start)."""
        if not self.is_all_day or self.start_date is None:
            return None
        return _nearest_day(self.start_date, self.start_time_zone_offset)

    @property
    def end_day(self) -> date | None:
        """An all-day event's end, exclusive: the day after its last day (iCalendar's DTEND).

        ``None`` for a timed event. An all-day event without an end lasts one day.
        """
        first = self.start_day
        if first is None:
            return None
        after = None
        if self.end_date is not None:
            offset = self.end_time_zone_offset
            after = _nearest_day(
                self.end_date, self.start_time_zone_offset if offset is None else offset
            )
        if after is None or after <= first:  # no end, or an end on the first day itself
            return first + _DAY if first < date.max else first
        return after

    @property
    def last_day(self) -> date | None:
        """An all-day event's last day, inclusive (``None`` for a timed event)."""
        first, after = self.start_day, self.end_day
        if first is None or after is None:
            return None
        return max(first, after - _DAY) if after > date.min else first


_DAY = timedelta(days=1)
_HALF_DAY_SECONDS = 12 * 3600
#: UTC offsets span -12:00..+14:00; anything beyond a day is not an offset to trust
_MAX_OFFSET_MINUTES = 24 * 60


def _nearest_day(moment: datetime, offset_minutes: int | None) -> date:
    # The day whose midnight is nearest to ``moment`` in the zone the server saved it in.
    # R7 servers store an all-day day as midnight UTC, as a local midnight (with or without
    # the offset beside it), or end it at 23:59:59: each is within half a day of the
    # midnight it means, for any zone between UTC-12 and UTC+12, and exactly that midnight
    # when the offset is given.
    offset = offset_minutes if isinstance(offset_minutes, int) else 0
    if abs(offset) > _MAX_OFFSET_MINUTES:
        offset = 0
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second + offset * 60
    shift = (seconds + _HALF_DAY_SECONDS) // 86400
    try:
        return moment.date() + timedelta(days=shift)
    except OverflowError:  # next to 0001-01-01 or 9999-12-31
        return date.max if shift > 0 else date.min


class ShareResult(_Model, frozen=True):
    """The answer to a share: which calendars, which users, which level, and who shared."""

    ids: list[int] = msgspec.field(default_factory=list)
    user_ids: list[int] = msgspec.field(default_factory=list)
    role_ids: list[int] | None = None
    type: AccessLevel | str | None = None
    user: User | None = None
    entity_type: int | None = None
    recursive: bool | None = None
    notify: bool | None = None

    def __post_init__(self) -> None:
        # The level may come back in either of the forms the request accepts.
        if isinstance(self.type, str):
            with contextlib.suppress(ValueError):
                force_setattr(self, "type", AccessLevel.parse(self.type))


# ---- the login envelope (private: callers get LoginResult) --------------------------------


class _LoginResponse(_Model, frozen=True):
    type_name: str | None = None
    data: LoginResult | None = None


class LoginEnvelope(_Model, frozen=True):
    """``{Status, StatusCode, Response: {TypeName, Data}}`` around the login answer."""

    status: int | None = None
    status_code: int | None = None
    response: _LoginResponse | None = None
    error_message: str | None = None

    @property
    def result(self) -> LoginResult | None:
        """The login data, when the envelope carries any."""
        return self.response.data if self.response is not None else None
