"""FakePyrusServer: an in-memory Pyrus calendar API on loopback, for tests and demos.

It answers ``POST /v4/auth`` (and the cloud accounts path ``/api/v4/auth``) and
``GET /v4/calendar`` the way the real API does, closely enough for the official
``pyrus-api`` client too: Bearer tokens that can be revoked or expired (401 with the
matching ``error_code``), selection by each ``filter_mask`` bit's meaning, at most
``item_count`` tasks per answer with ``has_more``, an answer order of your choice
(``shuffled`` included), ``X-RateLimit-*`` headers and 429 once a budget is spent.
Fault injection (``server.faults``) comes from the shared fake base.
"""

from __future__ import annotations

import math
import random
import secrets
import ssl
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal

import msgspec
from aiohttp import web

from calendar_transport.testing import FakeServer, json_response

from .._base import to_utc
from ..filters import CalendarFilter
from ..models import Meeting, Task

__all__ = ["FakePyrusServer", "Order"]

#: How matching tasks are ordered before the ``item_count`` cut.
Order = Literal["id", "insertion", "reverse", "due", "shuffled"]
_ORDERS: tuple[str, ...] = ("id", "insertion", "reverse", "due", "shuffled")
_TokenState = Literal["valid", "revoked", "expired"]
# Plain ints: IntFlag arithmetic is slow, and matching runs for every stored task.
_DUE = int(CalendarFilter.DUE)
_DUE_DATE = int(CalendarFilter.DUE_DATE)
_DUE_FOR_CURRENT_STEP = int(CalendarFilter.DUE_FOR_CURRENT_STEP)
_REMINDED = int(CalendarFilter.REMINDED)

_ERRORS: dict[str, str] = {
    "token_not_specified": "Authorization token is not specified.",
    "invalid_token": "Invalid authorization token.",
    "revoked_token": "Authorization token has been revoked.",
    "expired_token": "Authorization token has expired.",
    "invalid_credentials": "Invalid login/secret_key.",
    "account_blocked": "Account is blocked.",
    "too_many_requests": "Too many requests.",
    "invalid_request": "Invalid request.",
}


@dataclass(slots=True)
class _User:
    security_key: str
    person_id: int | None = None
    blocked: bool = False


@dataclass(slots=True)
class _Token:
    login: str
    state: _TokenState = "valid"


@dataclass(slots=True)
class _Budget:
    started: float
    used: int = 0


@dataclass(slots=True)
class _StoredTask:
    id: int
    raw: msgspec.Raw
    due: datetime | None
    due_date: date | None
    step_due: datetime | None
    reminders: tuple[datetime, ...]
    involved: bool
    sequence: int

    def matches(self, start: datetime, end: datetime, mask: int) -> bool:
        # Time-based bits: [start, end). DueDate: the calendar dates of start..end, both
        # included, since that filter ignores the time of day.
        if mask & _DUE and self.due is not None and start <= self.due < end:
            return True
        if (
            mask & _DUE_DATE
            and self.due_date is not None
            and start.date() <= self.due_date <= end.date()
        ):
            return True
        if (
            mask & _DUE_FOR_CURRENT_STEP
            and self.step_due is not None
            and start <= self.step_due < end
        ):
            return True
        return bool(mask & _REMINDED) and any(start <= moment < end for moment in self.reminders)


@dataclass(slots=True)
class _StoredMeeting:
    id: int
    raw: msgspec.Raw
    start_time: datetime | None


@dataclass
class _Counters:
    logins: int = 0
    calendar_requests: int = 0
    rate_limited: int = 0
    per_mask: dict[int, int] = field(default_factory=dict)


class FakePyrusServer(FakeServer):
    """An in-memory Pyrus calendar API; use ``async with FakePyrusServer() as server``.

    Point a client at it with ``PyrusClient(base_url=server.api_url, login=...,
    security_key=..., retry=...)``. ``users`` maps logins to security keys (default: one
    user, :attr:`DEFAULT_LOGIN` / :attr:`DEFAULT_SECURITY_KEY`). ``order``: how matching
    tasks are ordered before the ``item_count`` cut (``"shuffled"`` draws a new order for
    every request). ``rate_limit``/``rate_period``: the per-user budget (``None``: no limit,
    no headers). ``max_tokens``: tokens a user may hold; a new login revokes the oldest.
    """

    #: The login of the one user a server made without ``users`` has.
    DEFAULT_LOGIN: ClassVar[str] = "bot@example.com"
    #: That user's security key.
    DEFAULT_SECURITY_KEY: ClassVar[str] = "fake-security-key"

    def __init__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        order: Order = "id",
        rate_limit: int | None = 5000,
        rate_period: float = 600.0,
        max_tokens: int | None = None,
        send_api_url: bool = True,
        seed: int | None = None,
        latency: float = 0.0,
        record_requests: bool = True,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(
            seed=seed, latency=latency, record_requests=record_requests, ssl_context=ssl_context
        )
        self._users: dict[str, _User] = {}
        for login, key in (users or {self.DEFAULT_LOGIN: self.DEFAULT_SECURITY_KEY}).items():
            self.add_user(login, key)
        self._order: Order = "id"
        self.order = order
        self.set_rate_limit(rate_limit, rate_period)
        self.max_tokens = max_tokens
        self.send_api_url = send_api_url
        self.counters = _Counters()
        self._tokens: dict[str, _Token] = {}
        self._budgets: dict[str, _Budget] = {}
        self._tasks: dict[int, _StoredTask] = {}
        self._meetings: dict[int, _StoredMeeting] = {}
        self._sequence = 0
        self._rng = random.Random(seed)
        self._revoke_after: int | None = None

    # ---- where it listens ------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The API root to give a client as ``base_url`` (login goes to ``<api_url>auth``)."""
        return f"{self.url}/v4/"

    @property
    def auth_url(self) -> str:
        """A cloud-style login URL (the accounts host's path), for ``auth_url=``."""
        return f"{self.url}/api/v4/auth"

    def setup_routes(self, app: web.Application) -> None:
        """The Pyrus endpoints: auth (cloud and on-premise paths) and the calendar."""
        app.router.add_post("/v4/auth", self._auth)
        app.router.add_post("/api/v4/auth", self._auth)
        app.router.add_get("/v4/calendar", self._calendar)

    # ---- state -----------------------------------------------------------------------------

    @property
    def order(self) -> Order:
        """The order matching tasks are put in before the ``item_count`` cut."""
        return self._order

    @order.setter
    def order(self, value: Order) -> None:
        if value not in _ORDERS:
            raise ValueError(f"order must be one of {', '.join(_ORDERS)}, got {value!r}")
        self._order = value

    def add_user(self, login: str, security_key: str, *, person_id: int | None = None) -> None:
        """Let ``login`` log in with ``security_key``."""
        self._users[login] = _User(security_key, person_id)

    def block_user(self, login: str) -> None:
        """Make the user's logins fail with ``account_blocked``."""
        self._users[login].blocked = True

    def add_task(
        self,
        task: Task | Mapping[str, Any],
        *,
        step_due: datetime | None = None,
        reminders: Iterable[datetime] = (),
        involved: bool = True,
    ) -> Task:
        """Store a task (a :class:`Task` or its JSON as a dict, sent back exactly so).

        ``step_due``: the current step's deadline (``DueForCurrentStep``); ``reminders``:
        reminder moments (``Reminded``); ``involved=False``: only returned with
        ``all_accessed_tasks=true``. Returns the task as the client will decode it.
        """
        raw = msgspec.json.encode(task)
        parsed = task if isinstance(task, Task) else msgspec.json.decode(raw, type=Task)
        self._sequence += 1
        self._tasks[parsed.id] = _StoredTask(
            id=parsed.id,
            raw=msgspec.Raw(raw),
            due=parsed.due,
            due_date=parsed.due_date,
            step_due=None if step_due is None else to_utc(step_due),
            reminders=tuple(to_utc(moment) for moment in reminders),
            involved=involved,
            sequence=self._sequence,
        )
        return parsed

    def add_tasks(self, tasks: Iterable[Task | Mapping[str, Any]]) -> None:
        """Store several tasks (no step deadlines or reminders)."""
        for task in tasks:
            self.add_task(task)

    def add_meeting(self, meeting: Meeting | Mapping[str, Any]) -> Meeting:
        """Store a meeting; it is returned when ``start_time`` is in the window."""
        raw = msgspec.json.encode(meeting)
        parsed = meeting if isinstance(meeting, Meeting) else msgspec.json.decode(raw, type=Meeting)
        self._meetings[parsed.id] = _StoredMeeting(parsed.id, msgspec.Raw(raw), parsed.start_time)
        return parsed

    def clear(self) -> None:
        """Forget every task and meeting."""
        self._tasks.clear()
        self._meetings.clear()

    # ---- tokens ----------------------------------------------------------------------------

    @property
    def tokens(self) -> list[str]:
        """Every token issued so far, oldest first (for tests: never log them)."""
        return list(self._tokens)

    def revoke_tokens(self, login: str | None = None) -> None:
        """Revoke every valid token (of ``login``): their next use gets ``revoked_token``."""
        self._set_tokens("revoked", login)

    def expire_tokens(self, login: str | None = None) -> None:
        """Expire every valid token (of ``login``): their next use gets ``expired_token``."""
        self._set_tokens("expired", login)

    def revoke_after(self, calendar_requests: int) -> None:
        """Revoke every token once this many ``/calendar`` requests have been answered."""
        self._revoke_after = self.counters.calendar_requests + calendar_requests

    def _set_tokens(self, state: _TokenState, login: str | None) -> None:
        for token in self._tokens.values():
            if token.state == "valid" and (login is None or token.login == login):
                token.state = state

    # ---- rate limit ------------------------------------------------------------------------

    def set_rate_limit(self, limit: int | None, period: float = 600.0) -> None:
        """Allow each user ``limit`` calendar requests per ``period`` seconds (None: no limit)."""
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        if period <= 0:
            raise ValueError("period must be positive")
        self.rate_limit = limit
        self.rate_period = period
        self._budgets = {}

    def _spend(self, login: str) -> tuple[bool, dict[str, str]]:
        if self.rate_limit is None:
            return True, {}
        now = time.monotonic()
        budget = self._budgets.get(login)
        if budget is None or now - budget.started >= self.rate_period:
            budget = self._budgets[login] = _Budget(started=now)
        allowed = budget.used < self.rate_limit
        if allowed:
            budget.used += 1
        reset = max(self.rate_period - (now - budget.started), 0.0)
        headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(self.rate_limit - budget.used, 0)),
            "X-RateLimit-Reset": _seconds(reset),
        }
        return allowed, headers

    # ---- handlers --------------------------------------------------------------------------

    async def _auth(self, request: web.Request) -> web.Response:
        try:
            body = msgspec.json.decode(await request.read())
        except msgspec.DecodeError:
            return _error(400, "invalid_request")
        if not isinstance(body, dict):
            return _error(400, "invalid_request")
        login, key = body.get("login"), body.get("security_key")
        user = self._users.get(login) if isinstance(login, str) else None
        if (
            user is None
            or not isinstance(login, str)
            or not isinstance(key, str)
            or key != user.security_key
        ):
            return _error(401, "invalid_credentials")
        if user.blocked:
            return _error(401, "account_blocked")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = _Token(login)
        self.counters.logins += 1
        if self.max_tokens is not None:
            mine = [t for t in self._tokens.values() if t.login == login and t.state == "valid"]
            for old in mine[: max(len(mine) - self.max_tokens, 0)]:
                old.state = "revoked"
        answer: dict[str, str] = {"access_token": token}
        if self.send_api_url:
            answer["api_url"] = self.api_url
            answer["files_url"] = f"{self.url}/files/"
        return json_response(answer)

    async def _calendar(self, request: web.Request) -> web.Response:
        login, refusal = self._authorize(request)
        if refusal is not None:
            return refusal
        assert login is not None
        allowed, headers = self._spend(login)
        if not allowed:
            self.counters.rate_limited += 1
            return _error(429, "too_many_requests", headers)
        try:
            query = _CalendarQuery.parse(request.query)
        except ValueError as error:
            return _error(400, "invalid_request", headers, str(error))
        self.counters.calendar_requests += 1
        mask_count = self.counters.per_mask
        mask_count[query.mask] = mask_count.get(query.mask, 0) + 1
        matching = [
            task
            for task in self._tasks.values()
            if (task.involved or query.all_accessed)
            and task.matches(query.start, query.end, query.mask)
        ]
        matching = self._ordered(matching)
        answer: dict[str, Any] = {
            "tasks": [task.raw for task in matching[: query.item_count]],
            "has_more": len(matching) > query.item_count,
        }
        if query.meetings:
            answer["meetings"] = [
                meeting.raw
                for meeting in sorted(self._meetings.values(), key=lambda m: m.id)
                if meeting.start_time is not None and query.start <= meeting.start_time < query.end
            ]
        if self._revoke_after is not None and self.counters.calendar_requests >= self._revoke_after:
            self._revoke_after = None
            self.revoke_tokens()
        return json_response(answer, headers=headers)

    def _authorize(self, request: web.Request) -> tuple[str | None, web.Response | None]:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if not header:
            return None, _error(401, "token_not_specified")
        token = self._tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            return None, _error(401, "invalid_token")
        if token.state == "revoked":
            return None, _error(401, "revoked_token")
        if token.state == "expired":
            return None, _error(401, "expired_token")
        return token.login, None

    def _ordered(self, tasks: list[_StoredTask]) -> list[_StoredTask]:
        if self._order == "id":
            tasks.sort(key=lambda t: t.id)
        elif self._order == "insertion":
            tasks.sort(key=lambda t: t.sequence)
        elif self._order == "reverse":
            tasks.sort(key=lambda t: t.sequence, reverse=True)
        elif self._order == "due":
            tasks.sort(key=_due_key)
        else:
            self._rng.shuffle(tasks)
        return tasks


@dataclass(frozen=True, slots=True)
class _CalendarQuery:
    start: datetime
    end: datetime
    item_count: int
    mask: int
    all_accessed: bool
    meetings: bool

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> _CalendarQuery:
        start = _when(query, "start_date_utc")
        end = _when(query, "end_date_utc")
        if end < start:
            raise ValueError("end_date_utc is before start_date_utc")
        item_count = _integer(query, "item_count", 50)
        if not 1 <= item_count <= 100:
            raise ValueError("item_count must be between 1 and 100")
        mask = _integer(query, "filter_mask", int(CalendarFilter.DEFAULT))
        if not 0 <= mask <= int(CalendarFilter.ALL):
            raise ValueError("filter_mask must be between 0 and 15")
        return cls(
            start=start,
            end=end,
            item_count=item_count,
            mask=mask,
            all_accessed=_flag(query, "all_accessed_tasks"),
            meetings=_flag(query, "include_meetings"),
        )


def _when(query: Mapping[str, str], name: str) -> datetime:
    text = query.get(name)
    if not text:
        raise ValueError(f"{name} is required")
    # The docs show both "...T20:30Z" and "...T20:30:00Z".
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(f"{name} must look like 2024-05-01T10:00:00Z, got {text!r}")


def _integer(query: Mapping[str, str], name: str, default: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {text!r}") from None


def _flag(query: Mapping[str, str], name: str) -> bool:
    # The official Python client sends str(bool): "True"/"False".
    text = query.get(name, "false").strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0", ""):
        return False
    raise ValueError(f"{name} must be true or false, got {text!r}")


def _due_key(task: _StoredTask) -> tuple[date, datetime]:
    due = task.due or task.step_due
    day = task.due_date or (due.date() if due else date.max)
    return day, due or datetime.max.replace(tzinfo=UTC)


def _seconds(value: float) -> str:
    # Pyrus sends whole seconds; sub-second periods (tests) keep three decimals.
    if value >= 1:
        return str(math.ceil(value))
    return f"{math.ceil(value * 1000) / 1000:.3f}"


def _error(
    status: int, code: str, headers: dict[str, str] | None = None, detail: str | None = None
) -> web.Response:
    return json_response(
        {"error_code": code, "error": detail or _ERRORS.get(code, code)},
        status=status,
        headers=headers or None,
    )
