"""FakeR7Server: an in-memory R7 calendar server on loopback, for tests and demos.

It keeps users, tokens, calendars, events and shares, enforces what the spec says (owners,
access levels, the undeletable main calendar, token expiry) and answers with the JSON shapes
of the spec's examples, quirks included: 7-digit fractions, ``0001-01-01T00:00:00``, colours
padded with spaces in listings, and an events listing of one event sent as a bare object.
"""

from __future__ import annotations

import itertools
import ssl
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, ClassVar, Final, Literal, NoReturn

import msgspec
from aiohttp import web

from calendar_transport.checks import require_int
from calendar_transport.testing import FakeServer

__all__ = [
    "ALL_DAY_STORAGE",
    "OVERLAP_RULES",
    "AllDayStorage",
    "FakeCalendar",
    "FakeEvent",
    "FakeR7Server",
    "FakeUser",
    "OverlapRule",
    "TokenExpiry",
]

#: How a server may store an all-day event's days (the API leaves it open): midnight UTC
#: with an exclusive end, the midnights of a zone (with ``StartTimeZoneOffset`` /
#: ``EndTimeZoneOffset``), or midnight UTC with an inclusive end at 23:59:59.
AllDayStorage = Literal["utc_midnight", "local_midnight", "inclusive_end"]
#: Every :data:`AllDayStorage`, for tests that run under each.
ALL_DAY_STORAGE: Final[tuple[AllDayStorage, ...]] = (
    "utc_midnight",
    "local_midnight",
    "inclusive_end",
)

#: How a server may match an event's stored ``[start, end]`` against a listing's
#: ``StartDate``/``EndDate`` (the API leaves it open): both ends count (``inclusive``),
#: neither does (``strict``), or the listing's end does not (``half_open``).
OverlapRule = Literal["inclusive", "strict", "half_open"]
#: Every :data:`OverlapRule`, for tests that run under each.
OVERLAP_RULES: Final[tuple[OverlapRule, ...]] = ("inclusive", "strict", "half_open")

READ: Final = 0
WRITE: Final = 4
FULL: Final = 512
_LEVELS: Final = {"READ": READ, "WRITE": WRITE, "FULL": FULL}
CALENDAR_ENTITY_TYPE: Final = 14
#: R7 documents no refresh endpoint; the fake offers one here for ``refresh_path``
REFRESH_PATH: Final = "/api/v2/auth/Refresh"
DEFAULT_USERS: Final = {"user_test": "TestPassword"}  # FakeR7Server.DEFAULT_LOGIN / _PASSWORD
_CUSTOMER_ID: Final = 1
_MODULES: Final = ["Disk", "Admin", "Mail", "Calendar", "Draw", "Contacts", "Projects"]

#: How the fake writes a token's ``ExpiredAt``: with ``Z``; the same clock reading without
#: ``Z``; or .NET's ``DateTime.MaxValue`` without / with ``Z`` (the token never expires)
TokenExpiry = Literal["utc", "naive", "never", "never_utc"]
_NET_MAX_VALUE: Final = "9999-12-31T23:59:59.9999999"
_NEVER: Final = datetime.max.replace(tzinfo=UTC)

_ERRORS: Final[dict[int, type[web.HTTPException]]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
}


@dataclass
class FakeUser:
    """A user the fake knows."""

    id: int
    login: str
    password: str
    name: str
    email: str
    #: the id of the calendar every user has and cannot delete
    main_calendar_id: int = 0


@dataclass
class FakeCalendar:
    """A calendar and who it is shared with (user id -> access level)."""

    id: int
    owner_id: int
    name: str | None
    short_name: str | None
    color: str | None
    type: int
    status: int
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    shares: dict[int, int] = field(default_factory=dict)


@dataclass
class FakeEvent:
    """An event in one calendar."""

    id: int
    calendar_id: int
    owner_id: int
    name: str | None
    start: datetime
    end: datetime
    all_day: bool
    #: an all-day event's days, the end exclusive (``None`` for a timed event)
    days: tuple[date, date] | None = None
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class _Token:
    user_id: int
    expires_at: datetime
    refresh_token: str


class FakeR7Server(FakeServer):
    """An R7 calendar server in memory, on an ephemeral loopback port.

    ``users`` maps logins to passwords (default: ``user_test`` / ``TestPassword``); each user
    gets a main calendar. Tokens live ``token_lifetime`` seconds. Helpers for tests:
    :meth:`add_user`, :meth:`issue_token`, :meth:`expire_tokens`, :meth:`revoke_tokens`;
    counters :attr:`logins`, :attr:`refreshes`, :attr:`creates`, :attr:`saved_names`,
    :attr:`unauthorized`.
    ``single_event_as_object`` answers an events listing of exactly one event with the bare
    object, as the spec shows. ``overlap_rule`` (one of :data:`OVERLAP_RULES`) is how a
    listing's bounds match the stored times. ``all_day_storage`` (one of
    :data:`ALL_DAY_STORAGE`) is how
    all-day events come back; for ``"local_midnight"`` the zone is ``all_day_offset``
    minutes east of UTC (180: Moscow), sent beside the dates unless ``all_day_offset_fields``
    is false. All three can be changed between calls.
    Server clocks: ``clock_offset`` (seconds; negative when the server's clock is behind
    ours) shifts the ``ExpiredAt`` it writes, not when a token really stops working;
    ``token_expiry`` (:data:`TokenExpiry`) says how it writes it.
    """

    #: The login of the one user a server made without ``users`` has.
    DEFAULT_LOGIN: ClassVar[str] = "user_test"
    #: That user's password.
    DEFAULT_PASSWORD: ClassVar[str] = "TestPassword"

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        token_lifetime: float = 3600.0,
        single_event_as_object: bool = True,
        seed: int | None = None,
        latency: float = 0.0,
        record_requests: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        all_day_storage: AllDayStorage = "utc_midnight",
        all_day_offset: int = 180,
        all_day_offset_fields: bool = True,
        overlap_rule: OverlapRule = "inclusive",
        clock_offset: float = 0.0,
        token_expiry: TokenExpiry = "utc",
    ) -> None:
        if token_expiry not in ("utc", "naive", "never", "never_utc"):
            raise ValueError(f"unknown token_expiry {token_expiry!r}")
        if all_day_storage not in ALL_DAY_STORAGE:
            raise ValueError(
                f"all_day_storage must be one of {', '.join(ALL_DAY_STORAGE)}, "
                f"got {all_day_storage!r}"
            )
        require_int(all_day_offset, "all_day_offset")
        if abs(all_day_offset) >= 24 * 60:
            raise ValueError(f"all_day_offset must be within a day, got {all_day_offset}")
        if overlap_rule not in OVERLAP_RULES:
            raise ValueError(
                f"overlap_rule must be one of {', '.join(OVERLAP_RULES)}, got {overlap_rule!r}"
            )
        self.overlap_rule: OverlapRule = overlap_rule
        self.all_day_storage: AllDayStorage = all_day_storage
        self.all_day_offset = all_day_offset
        self.all_day_offset_fields = all_day_offset_fields
        self.token_lifetime = token_lifetime
        self.clock_offset = timedelta(seconds=clock_offset)
        self.token_expiry: TokenExpiry = token_expiry
        self.single_event_as_object = single_event_as_object
        self.users: dict[int, FakeUser] = {}
        self.calendars: dict[int, FakeCalendar] = {}
        self.events: dict[int, FakeEvent] = {}
        self._tokens: dict[str, _Token] = {}
        # Separate id ranges, so an event id passed where a calendar id belongs is a 404.
        self._user_ids = itertools.count(3)
        self._calendar_ids = itertools.count(101)
        self._event_ids = itertools.count(5001)
        self.logins: Counter[str] = Counter()  # successful password logins, per login
        self.refreshes = 0  # successful refresh-token logins
        self.creates: Counter[str] = Counter()  # "calendar" / "event" saves that stored one
        # (kind, Name) of every save that stored one: a name seen twice is a duplicate create
        self.saved_names: Counter[tuple[str, str | None]] = Counter()
        self.unauthorized = 0  # 401 answers for a missing, unknown or expired token
        super().__init__(
            seed=seed, latency=latency, record_requests=record_requests, ssl_context=ssl_context
        )
        for login, password in (DEFAULT_USERS if users is None else users).items():
            self.add_user(login, password)

    # ---- test helpers --------------------------------------------------------------------

    def add_user(
        self, login: str, password: str, *, name: str | None = None, email: str | None = None
    ) -> int:
        """Add a user with a main calendar; returns the user's id."""
        if any(user.login == login for user in self.users.values()):
            raise ValueError(f"user {login!r} exists")
        user = FakeUser(
            id=next(self._user_ids),
            login=login,
            password=password,
            name=name or f"{login} {login} {login}",
            email=email if email is not None else f"{login}@fake.r7",
        )
        self.users[user.id] = user
        main = self._new_calendar(user.id, user.name, user.name, "#74C0FC", type_=0, status=1)
        user.main_calendar_id = main.id
        return user.id

    def user(self, login: str) -> FakeUser:
        """The user with this login."""
        for user in self.users.values():
            if user.login == login:
                return user
        raise KeyError(login)

    def issue_token(self, login: str) -> str:
        """A valid token for ``login``, as if it had logged in (for ``token=`` clients)."""
        return self._issue(self.user(login).id)[0]

    def expire_tokens(self, login: str | None = None) -> int:
        """Make every issued token (of ``login``, or of everyone) stale; returns how many."""
        past = datetime.now(UTC) - timedelta(seconds=1)
        count = 0
        for token in self._tokens.values():
            if login is None or self.users[token.user_id].login == login:
                token.expires_at = past
                count += 1
        return count

    def revoke_tokens(self, login: str | None = None) -> int:
        """Forget every token (of ``login``, or of everyone), refresh tokens included."""
        doomed = [
            value
            for value, token in self._tokens.items()
            if login is None or self.users[token.user_id].login == login
        ]
        for value in doomed:
            del self._tokens[value]
        return len(doomed)

    # ---- routes --------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The URL to give a client as ``base_url``: the server's root, as with a real R7
        (the Pyrus fake's has the same name, so tests read alike for both)."""
        return self.url

    def setup_routes(self, app: web.Application) -> None:
        """The R7 endpoints of the spec, plus :data:`REFRESH_PATH`."""
        app.router.add_post("/api/v2/auth/Login", self._login)
        app.router.add_post(REFRESH_PATH, self._refresh)
        app.router.add_post("/api/v1/Calendars/save", self._create_calendar)
        app.router.add_get("/api/v1/email/Calendars", self._list_calendars)
        app.router.add_delete("/api/v1/Calendars", self._delete_calendar)
        app.router.add_get("/api/v1/Calendars/Clear", self._clear_calendar)
        app.router.add_post("/api/v1/Share", self._share)
        app.router.add_post("/api/v1/events/save", self._create_event)
        app.router.add_post("/api/v1/events", self._list_events)
        app.router.add_delete("/api/v1/events", self._delete_event)

    async def _login(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        for user in self.users.values():
            if user.login == body.get("Login") and user.password == body.get("Password"):
                self.logins[user.login] += 1
                return self._login_answer(user)
        _fail(401, "Неверный логин или пароль")

    async def _refresh(self, request: web.Request) -> web.Response:
        body = await _json_object(request)
        for value, token in list(self._tokens.items()):
            if token.refresh_token == body.get("RefreshToken"):
                del self._tokens[value]  # a refresh token is good once
                self.refreshes += 1
                return self._login_answer(self.users[token.user_id])
        _fail(401, "Invalid refresh token")

    async def _create_calendar(self, request: web.Request) -> web.Response:
        user = self._authenticate(request)
        body = await _json_object(request)
        calendar = self._new_calendar(
            user.id,
            _optional_text(body, "Name"),
            _optional_text(body, "ShortName"),
            _optional_text(body, "Color"),
            type_=_required_int(body, "Type"),
            status=_required_int(body, "Status"),
        )
        self.creates["calendar"] += 1
        self.saved_names["calendar", calendar.name] += 1
        answer = self._calendar_json(calendar)
        answer["Timestamp"] = None
        return _json(answer)

    async def _list_calendars(self, request: web.Request) -> web.Response:
        user = self._authenticate(request)
        answer = []
        for calendar in self.calendars.values():
            level = _level(user, calendar)
            if level is not None:
                answer.append(self._calendar_json(calendar, access=level))
        return _json(answer)

    async def _delete_calendar(self, request: web.Request) -> web.Response:
        user = self._authenticate(request)
        calendar = self._managed_calendar(user, request)
        if calendar.id == self.users[calendar.owner_id].main_calendar_id:
            _fail(403, "Основной календарь нельзя удалить")
        del self.calendars[calendar.id]
        self._drop_events(calendar.id)
        return _json(True)

    async def _clear_calendar(self, request: web.Request) -> web.Response:
        user = self._authenticate(request)
        calendar = self._managed_calendar(user, request)
        self._drop_events(calendar.id)
        return _json(True)

    async def _share(self, request: web.Request) -> web.Response:
        user = self._authenticate(request)
        body = await _json_object(request)
        if body.get("EntityType") != CALENDAR_ENTITY_TYPE:
            _fail(400, "EntityType must be 14 for calendars")
        level = _access(body.get("Type"))
        calendar_ids = _id_list(body, "Ids")
        user_ids = _id_list(body, "UserIds")
        calendars = [self._calendar(calendar_id) for calendar_id in calendar_ids]
        for calendar in calendars:
            if _level(user, calendar) != FULL:
                _fail(403, f"No right to share calendar {calendar.id}")
        for user_id in user_ids:
            if user_id not in self.users:
                _fail(404, f"User {user_id} not found")
        for calendar in calendars:
            for user_id in user_ids:
                if user_id != calendar.owner_id:
                    calendar.shares[user_id] = level
        sharer = self._user_json(user)
        sharer["PasswordHash"] = "IWaBhVgmn6ReR6R8BS8Avju6OoFyf2POm3T1YFnUb0iqtxPgZYDu11B=="
        sharer["ApiContext"] = {
            "Ip": request.remote,
            "UserAgent": request.headers.get("User-Agent"),
            "Token": request.headers.get("Authorization"),
        }
        return _json(
            {
                "Ids": calendar_ids,
                "UserIds": user_ids,
                "RoleIds": None,
                "Type": level,
                "User": sharer,
                "EntityType": CALENDAR_ENTITY_TYPE,
                "Recursive": False,
                "Notify": False,
            }
        )

    async def _create_event(self, request: web.Request) -> web.Response:
        user = self._authenticate(request)
        body = await _json_object(request)
        calendar_id = body.get("CalendarId")
        if calendar_id is None:
            calendar = self.calendars[user.main_calendar_id]
        else:
            calendar = self._calendar(_as_int(calendar_id, "CalendarId"))
        if _level(user, calendar) not in (WRITE, FULL):
            _fail(403, f"No right to add events to calendar {calendar.id}")
        all_day = body.get("IsAllDay") is True
        start = _required_date(body, "StartDate")
        end = _optional_date(body, "EndDate")
        if end is None:
            if not all_day:
                _fail(400, "EndDate is required unless IsAllDay is true")
            end = start + timedelta(days=1)
        if end < start:
            _fail(400, "EndDate is before StartDate")
        days = None
        if all_day:
            # The server reads the days from the dates it was sent (taken in UTC), whatever
            # the time; an end is the day after the last, and at least one day is kept.
            first = start.date()
            after = end.date() if end.time() == time() else end.date() + timedelta(days=1)
            days = (first, max(after, first + timedelta(days=1)))
        event = FakeEvent(
            id=next(self._event_ids),
            calendar_id=calendar.id,
            owner_id=user.id,
            name=_optional_text(body, "Name"),
            start=start,
            end=end,
            all_day=all_day,
            days=days,
        )
        self.events[event.id] = event
        self.creates["event"] += 1
        self.saved_names["event", event.name] += 1
        return _json(self._event_json(event, participants=[], info=None))

    async def _list_events(self, request: web.Request) -> web.Response:
        user = self._authenticate(request)
        body = await _json_object(request)
        key = "CalendarIds" if "CalendarIds" in body else "CalendarsIds"  # the spec says both
        levels: dict[int, int] = {}
        for calendar_id in _id_list(body, key):
            level = _level(user, self._calendar(calendar_id))
            if level is None:
                _fail(403, f"No access to calendar {calendar_id}")
            levels[calendar_id] = level
        start = _optional_date(body, "StartDate")
        end = _optional_date(body, "EndDate")
        # Matched on the times as stored, as a server would.
        stored = {event.id: self._stored_times(event) for event in self.events.values()}
        found = sorted(
            (
                event
                for event in self.events.values()
                if event.calendar_id in levels and self._matches(stored[event.id], start, end)
            ),
            key=lambda event: (stored[event.id][0], event.id),
        )
        answer = [
            self._event_json(
                event,
                participants=None,
                info={
                    "AccessType": levels[event.calendar_id],
                    "AttendingType": None,
                    "Description": None,
                },
            )
            for event in found
        ]
        if len(answer) == 1 and self.single_event_as_object:
            return _json(answer[0])
        return _json(answer)

    async def _delete_event(self, request: web.Request) -> web.Response:
        user = self._authenticate(request)
        event_id = _query_id(request)
        event = self.events.get(event_id)
        if event is None:
            _fail(404, f"Event {event_id} not found")
        if event.owner_id != user.id:
            _fail(403, "Only the creator may delete an event")
        del self.events[event_id]
        return _json(True)

    # ---- state ---------------------------------------------------------------------------

    def _authenticate(self, request: web.Request) -> FakeUser:
        value = request.headers.get("Authorization", "")
        token = self._tokens.get(value)
        if token is None or datetime.now(UTC) >= token.expires_at:
            self.unauthorized += 1
            _fail(401, "Необходима авторизация")
        return self.users[token.user_id]

    def _issue(self, user_id: int) -> tuple[str, _Token]:
        value = str(uuid.uuid4())
        never = self.token_expiry in ("never", "never_utc")
        token = _Token(
            user_id=user_id,
            expires_at=_NEVER
            if never
            else datetime.now(UTC) + timedelta(seconds=self.token_lifetime),
            refresh_token=str(uuid.uuid4()),
        )
        self._tokens[value] = token
        return value, token

    def _new_calendar(
        self,
        owner_id: int,
        name: str | None,
        short_name: str | None,
        color: str | None,
        *,
        type_: int,
        status: int,
    ) -> FakeCalendar:
        calendar = FakeCalendar(
            id=next(self._calendar_ids),
            owner_id=owner_id,
            name=name,
            short_name=short_name,
            color=color,
            type=type_,
            status=status,
        )
        self.calendars[calendar.id] = calendar
        return calendar

    def _calendar(self, calendar_id: int) -> FakeCalendar:
        calendar = self.calendars.get(calendar_id)
        if calendar is None:
            _fail(404, f"Calendar {calendar_id} not found")
        return calendar

    def _managed_calendar(self, user: FakeUser, request: web.Request) -> FakeCalendar:
        calendar = self._calendar(_query_id(request))
        if _level(user, calendar) != FULL:
            _fail(403, "Only the owner or a user with FULL access may do this")
        return calendar

    def _matches(
        self, stored: tuple[datetime, datetime], start: datetime | None, end: datetime | None
    ) -> bool:
        # The listing's bounds against the stored times, by this server's overlap_rule.
        begins, ends = stored
        if self.overlap_rule == "strict":
            return (start is None or ends > start) and (end is None or begins < end)
        if self.overlap_rule == "half_open":
            return (start is None or ends >= start) and (end is None or begins < end)
        return (start is None or ends >= start) and (end is None or begins <= end)

    def _stored_times(self, event: FakeEvent) -> tuple[datetime, datetime]:
        # An all-day event's start and end as this server stores them (all_day_storage).
        if event.days is None:
            return event.start, event.end
        first, after = event.days
        if self.all_day_storage == "local_midnight":
            zone = timezone(timedelta(minutes=self.all_day_offset))
            return (
                datetime.combine(first, time(), tzinfo=zone).astimezone(UTC),
                datetime.combine(after, time(), tzinfo=zone).astimezone(UTC),
            )
        begins = datetime.combine(first, time(), tzinfo=UTC)
        if self.all_day_storage == "inclusive_end":
            last = after - timedelta(days=1)
            return begins, datetime.combine(last, time(23, 59, 59), tzinfo=UTC)
        return begins, datetime.combine(after, time(), tzinfo=UTC)

    def _drop_events(self, calendar_id: int) -> None:
        for event_id in [e.id for e in self.events.values() if e.calendar_id == calendar_id]:
            del self.events[event_id]

    # ---- JSON shapes of the spec's examples ----------------------------------------------

    def _login_answer(self, user: FakeUser) -> web.Response:
        value, token = self._issue(user.id)
        return _json(
            {
                "Status": 200,
                "StatusCode": 200,
                "Response": {
                    "TypeName": "AuthResponse",
                    "Data": {
                        "Tokens": {
                            "Id": user.id,
                            "User": None,
                            "ClientHash": uuid.uuid4().hex * 2,
                            "AuthToken": value,
                            "RefreshToken": token.refresh_token,
                            "UserId": user.id,
                            "ExpiredAt": self._expired_at(token),
                            "Type": None,
                        },
                        "State": "Login",
                        "User": self._user_json(user),
                        "ModulesAccess": _MODULES,
                    },
                },
            }
        )

    def _expired_at(self, token: _Token) -> str:
        if self.token_expiry == "never":
            return _NET_MAX_VALUE
        if self.token_expiry == "never_utc":
            return f"{_NET_MAX_VALUE}Z"
        written = _net_time(token.expires_at + self.clock_offset)  # by the server's clock
        return written.removesuffix("Z") if self.token_expiry == "naive" else written

    def _user_json(self, user: FakeUser) -> dict[str, Any]:
        surname, _, rest = user.name.partition(" ")
        first, _, middle = rest.partition(" ")
        return {
            "Id": user.id,
            "Login": user.login,
            "Name": user.name,
            "Surname": surname,
            "FirstName": first or None,
            "MiddleName": middle or None,
            "Company": None,
            "Email": user.email,
            "NotApproved": [{"Type": "Email", "Value": user.email}],
            "BirthDate": None,
            "Modified": "0001-01-01T00:00:00",
            "ContactId": user.id,
            "CustomerId": _CUSTOMER_ID,
            "Type": 0,
            "Status": 1,
            "Roles": [
                {
                    "Id": 3,
                    "CustomerId": _CUSTOMER_ID,
                    "Type": 4,
                    "Name": "Сотрудники",
                    "ParentId": None,
                    "ExternalId": None,
                    "Parent": None,
                    "Timestamp": "2025-06-19T13:19:53.792505Z",
                    "ChangeDate": None,
                    "OwnerId": None,
                }
            ],
            "Customer": {"Id": _CUSTOMER_ID, "Status": 1, "Title": "R7", "IsRoot": True},
            "HasAvatar": False,
        }

    def _calendar_json(
        self, calendar: FakeCalendar, *, access: int | None = None
    ) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "Id": calendar.id,
            "Name": calendar.name,
            "ShortName": calendar.short_name,
            "ImageId": None,
            "Color": calendar.color,
            "BackColor": None,
            "CustomerId": _CUSTOMER_ID,
            "OwnerId": calendar.owner_id,
            "Type": calendar.type,
            "Status": calendar.status,
            "Uid": calendar.uid,
            "TimezoneId": None,
            "ViewPeriod": 0,
            "Url": f"{self.url}/api/v1/caldav/{calendar.uid}",
        }
        if access is not None:  # the listing: padded colours and the caller's access
            answer["AccessType"] = access
            answer["ViewPeriod"] = 3
            if calendar.color is not None:
                answer["Color"] = answer["BackColor"] = f" {calendar.color} "
        return answer

    def _event_json(
        self, event: FakeEvent, *, participants: list[Any] | None, info: dict[str, Any] | None
    ) -> dict[str, Any]:
        start, end = self._stored_times(event)
        offset = 0
        if event.days is not None and self.all_day_storage == "local_midnight":
            offset = self.all_day_offset
        answer = {
            "Id": event.id,
            "Name": event.name,
            "Description": None,
            "StartDate": _api_time(start),
            "EndDate": _api_time(end),
            "CalendarId": event.calendar_id,
            "CategoryId": None,
            "OwnerId": event.owner_id,
            "Type": 0,
            "Status": 0,
            "Address": None,
            "Place": None,
            "IsPrivate": False,
            "IsAllDay": event.all_day,
            "IsFree": None,
            "HasMaterials": False,
            "HasParticipant": False,
            "CalendarTimeZoneId": None,
            "TimeZoneId": None,
            "EndTimeZoneId": None,
            "Recurring": None,
            "Exceptions": None,
            "Participants": participants,
            "ParticipantInfo": info,
            "Organizer": None,
            "SaveType": 0,
            "Uid": event.uid,
            "LastModificationDate": _net_time(event.modified),
            "ParentId": None,
            "Parent": None,
            "StartTimeZoneOffset": offset,
            "EndTimeZoneOffset": offset,
            "OrganizerId": event.owner_id,
        }
        if offset and not self.all_day_offset_fields:  # local midnights, the zone unsaid
            del answer["StartTimeZoneOffset"], answer["EndTimeZoneOffset"]
        return answer


# ---- request parsing: anything malformed is a 400 ------------------------------------------


def _fail(status: int, message: str) -> NoReturn:
    raise _ERRORS[status](
        text=msgspec.json.encode({"ErrorMessage": message}).decode(),
        content_type="application/json",
    )


def _json(data: Any) -> web.Response:
    return web.Response(body=msgspec.json.encode(data), content_type="application/json")


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = msgspec.json.decode(await request.read())
    except msgspec.DecodeError:
        _fail(400, "The request body is not JSON")
    if not isinstance(body, dict):
        _fail(400, "The request body must be a JSON object")
    return body


def _as_int(value: object, name: str) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(400, f"{name} must be an integer")
    return value


def _required_int(body: dict[str, Any], key: str) -> int:
    if body.get(key) is None:
        _fail(400, f"{key} is required")
    return _as_int(body[key], key)


def _optional_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        _fail(400, f"{key} must be a string")
    return value


def _id_list(body: dict[str, Any], key: str) -> list[int]:
    values = body.get(key)
    if not isinstance(values, list) or not values:
        _fail(400, f"{key} must be a non-empty array")
    return [_as_int(value, key) for value in values]


def _query_id(request: web.Request) -> int:
    return _as_int(request.query.get("id"), "id")


def _access(value: object) -> int:
    if isinstance(value, str) and value.strip().upper() in _LEVELS:
        return _LEVELS[value.strip().upper()]
    if isinstance(value, str | int) and not isinstance(value, bool):
        number = _as_int(value, "Type")
        if number in _LEVELS.values():
            return number
    _fail(400, f"Unknown access type {value!r}")


def _optional_date(body: dict[str, Any], key: str) -> datetime | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        _fail(400, f"{key} must be a date string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(400, f"{key} is not a date: {value!r}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _required_date(body: dict[str, Any], key: str) -> datetime:
    value = _optional_date(body, key)
    if value is None:
        _fail(400, f"{key} is required")
    return value


def _level(user: FakeUser, calendar: FakeCalendar) -> int | None:
    if calendar.owner_id == user.id:
        return FULL
    return calendar.shares.get(user.id)


def _api_time(value: datetime) -> str:
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    return f"{text}.{value.microsecond:06d}Z" if value.microsecond else f"{text}Z"


def _net_time(value: datetime) -> str:
    """.NET's round-trip format: seven fractional digits."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
