"""FakePyrusServer: an in-memory Pyrus calendar API on loopback, for tests and demos.

It answers ``POST /v4/auth`` (and the cloud accounts path ``/api/v4/auth``) and
``GET /v4/calendar`` the way the real API does, closely enough for the official
``pyrus-api`` client too: Bearer tokens that can be revoked or expired (401 with the
matching ``error_code``), selection by each ``filter_mask`` bit's meaning, at most
``item_count`` tasks per answer with ``has_more``, an answer order of your choice
(``shuffled`` included), ``X-RateLimit-*`` headers and 429 once a budget is spent.
Fault injection (``server.faults``) comes from the shared fake base.

What the API leaves open is switchable, so a client can be tested under each plausible
behaviour: whether the window's bounds are inclusive (``time_bounds``, ``due_date_bounds``),
whether ``has_more`` counts tasks the user cannot see (``has_more``), whether ``item_count``
also caps meetings (``meetings_capped``) and the answer order (``order``).
"""

from __future__ import annotations

import bisect
import math
import random
import secrets
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Final, Literal, TypeVar

import msgspec
from aiohttp import web

from calendar_transport.checks import require_aware, require_bool, require_int
from calendar_transport.testing import FakeServer, json_response

from .._base import to_utc
from ..filters import CalendarFilter
from ..models import Meeting, Task

__all__ = [
    "BOUNDS",
    "HAS_MORE",
    "ORDERS",
    "Bounds",
    "CalendarQuery",
    "FakePyrusServer",
    "HasMore",
    "Order",
]

#: How matching tasks are ordered before the ``item_count`` cut.
Order = Literal["id", "insertion", "reverse", "due", "shuffled"]
#: every answer order the fake can be switched to
ORDERS: Final[tuple[Order, ...]] = ("id", "insertion", "reverse", "due", "shuffled")
Bounds = Literal["closed", "half_open", "open_closed", "open"]
#: every boundary rule: [a, b], [a, b), (a, b], (a, b)
BOUNDS: Final[tuple[Bounds, ...]] = ("closed", "half_open", "open_closed", "open")
HasMore = Literal["after_access", "before_access"]
#: whether ``has_more`` counts only what the user may see, or every matching task
HAS_MORE: Final[tuple[HasMore, ...]] = ("after_access", "before_access")
_TokenState = Literal["valid", "revoked", "expired"]
# Plain ints: IntFlag arithmetic is slow, and matching runs for every stored task.
_DUE = int(CalendarFilter.DUE)
_DUE_DATE = int(CalendarFilter.DUE_DATE)
_DUE_FOR_CURRENT_STEP = int(CalendarFilter.DUE_FOR_CURRENT_STEP)
_REMINDED = int(CalendarFilter.REMINDED)

# A rule as a comparison of low <= / < value <= / < high (meetings are few: no index).
_Within = Callable[[Any, Any, Any], bool]
_WITHIN: Final[dict[str, _Within]] = {
    "closed": lambda low, value, high: low <= value <= high,
    "half_open": lambda low, value, high: low <= value < high,
    "open_closed": lambda low, value, high: low < value <= high,
    "open": lambda low, value, high: low < value < high,
}
_UNSET: Any = object()

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


@dataclass(frozen=True, slots=True)
class _Window:
    """One request's selection: the window (and its UTC dates, for ``DueDate``) and the mask."""

    start: datetime
    end: datetime
    mask: int
    start_day: date
    end_day: date


@dataclass(slots=True)
class _StoredMeeting:
    id: int
    raw: msgspec.Raw
    start_time: datetime | None
    sequence: int


_Item = TypeVar("_Item", _StoredTask, _StoredMeeting)

# Where each boundary rule puts a window's ends in a sorted list of moments: the first
# index at or after the start, and the first index past the end.
_LOW: Final[dict[str, Callable[[list[Any], Any], int]]] = {
    "closed": bisect.bisect_left,
    "half_open": bisect.bisect_left,
    "open_closed": bisect.bisect_right,
    "open": bisect.bisect_right,
}
_HIGH: Final[dict[str, Callable[[list[Any], Any], int]]] = {
    "closed": bisect.bisect_right,
    "half_open": bisect.bisect_left,
    "open_closed": bisect.bisect_right,
    "open": bisect.bisect_left,
}


@dataclass(slots=True)
class _Sorted:
    """One filter bit's moments (or days), sorted, with the task each belongs to."""

    keys: list[Any]
    ids: list[int]

    @classmethod
    def of(cls, pairs: Iterable[tuple[Any, int]]) -> _Sorted:
        ordered = sorted(pairs)
        return cls([key for key, _ in ordered], [task_id for _, task_id in ordered])

    def between(self, low: Any, high: Any, rule: str) -> list[int]:
        return self.ids[_LOW[rule](self.keys, low) : _HIGH[rule](self.keys, high)]


@dataclass(slots=True)
class _Index:
    """The stored tasks sorted by each filter bit's moment, so a request costs what it
    selects rather than a scan of every task (the benchmarks store 10,000 and more)."""

    due: _Sorted
    due_date: _Sorted
    step_due: _Sorted
    reminders: _Sorted

    @classmethod
    def of(cls, tasks: Iterable[_StoredTask]) -> _Index:
        tasks = list(tasks)
        return cls(
            due=_Sorted.of((t.due, t.id) for t in tasks if t.due is not None),
            due_date=_Sorted.of((t.due_date, t.id) for t in tasks if t.due_date is not None),
            step_due=_Sorted.of((t.step_due, t.id) for t in tasks if t.step_due is not None),
            reminders=_Sorted.of((m, t.id) for t in tasks for m in set(t.reminders)),
        )

    def select(self, window: _Window, time_rule: str, date_rule: str) -> set[int]:
        mask, start, end = window.mask, window.start, window.end
        ids: set[int] = set()
        if mask & _DUE:
            ids.update(self.due.between(start, end, time_rule))
        if mask & _DUE_DATE:
            ids.update(self.due_date.between(window.start_day, window.end_day, date_rule))
        if mask & _DUE_FOR_CURRENT_STEP:
            ids.update(self.step_due.between(start, end, time_rule))
        if mask & _REMINDED:
            ids.update(self.reminders.between(start, end, time_rule))
        return ids


# The window of a server that ignores the one asked (honours_window=False).
_FAR_PAST: Final = datetime(1, 1, 2, tzinfo=UTC)
_FAR_FUTURE: Final = datetime(9999, 12, 30, tzinfo=UTC)


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
    tasks (and meetings) are ordered before the ``item_count`` cut (``"shuffled"`` draws a
    new order for every request). ``rate_limit``/``rate_period``: the per-user budget
    (``None``: no limit, no headers). ``max_tokens``: tokens a user may hold; a new login
    revokes the oldest.

    The behaviours the API leaves open (each also settable on a running server):

    - ``time_bounds``: how the ``Due``, ``DueForCurrentStep`` and ``Reminded`` moments and
      meetings' ``start_time`` compare with ``start_date_utc``/``end_date_utc``:
      ``"closed"`` [a, b], ``"half_open"`` [a, b) (the default), ``"open_closed"`` (a, b],
      ``"open"`` (a, b).
    - ``due_date_bounds``: the same for a task's ``due_date`` against the window's UTC
      dates; the default ``"closed"`` counts both the start's and the end's date.
    - ``has_more``: ``"after_access"`` (the default) counts only the tasks the answer may
      hold; ``"before_access"`` counts the tasks the user is not involved in too, so a
      short page can say ``has_more`` and splitting need not make it false.
    - ``meetings_capped``: ``item_count`` also caps the meetings, and ``has_more`` is then
      true when meetings were cut too (default ``False``: every meeting of the window).
    - ``honours_window=False``: the tasks are chosen as if ``start_date_utc`` and
      ``end_date_utc`` were not sent (the mask still counts), so every window answers with
      the same tasks and the same ``has_more`` (a broken server or proxy cache).

    :meth:`glitch_next` makes a passing glitch: answers of ``tasks: []`` with ``has_more``.
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
        time_bounds: Bounds = "half_open",
        due_date_bounds: Bounds = "closed",
        has_more: HasMore = "after_access",
        meetings_capped: bool = False,
        honours_window: bool = True,
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
        self._time_bounds: Bounds = "half_open"
        self.time_bounds = time_bounds
        self._due_date_bounds: Bounds = "closed"
        self.due_date_bounds = due_date_bounds
        self._has_more: HasMore = "after_access"
        self.has_more = has_more
        self._meetings_capped = False
        self.meetings_capped = meetings_capped
        self._honours_window = True
        self.honours_window = honours_window
        self._glitches = 0  # answers left to give as tasks [] with has_more (glitch_next)
        self.set_rate_limit(rate_limit, rate_period)
        self.max_tokens = max_tokens
        self.send_api_url = send_api_url
        self.counters = _Counters()
        self._tokens: dict[str, _Token] = {}
        self._budgets: dict[str, _Budget] = {}
        self._tasks: dict[int, _StoredTask] = {}
        self._meetings: dict[int, _StoredMeeting] = {}
        self._sequence = 0
        self._index: _Index | None = None  # rebuilt on the first request after a change
        self._rng = random.Random(seed)
        # (answered /calendar requests, action): what to do once that many were answered
        self._scheduled: list[tuple[int, Callable[[], None]]] = []

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
        self._order = _choice("order", value, ORDERS)

    @property
    def time_bounds(self) -> Bounds:
        """Whether the window's ends count for moments (``Due``, reminders, meetings)."""
        return self._time_bounds

    @time_bounds.setter
    def time_bounds(self, value: Bounds) -> None:
        self._time_bounds = _choice("time_bounds", value, BOUNDS)

    @property
    def due_date_bounds(self) -> Bounds:
        """Whether the window's start and end dates count for ``DueDate``."""
        return self._due_date_bounds

    @due_date_bounds.setter
    def due_date_bounds(self, value: Bounds) -> None:
        self._due_date_bounds = _choice("due_date_bounds", value, BOUNDS)

    @property
    def has_more(self) -> HasMore:
        """Whether ``has_more`` counts the tasks the user is not involved in too."""
        return self._has_more

    @has_more.setter
    def has_more(self, value: HasMore) -> None:
        self._has_more = _choice("has_more", value, HAS_MORE)

    @property
    def meetings_capped(self) -> bool:
        """Whether ``item_count`` also caps the meetings of an answer."""
        return self._meetings_capped

    @meetings_capped.setter
    def meetings_capped(self, value: bool) -> None:
        self._meetings_capped = require_bool(value, "meetings_capped")

    @property
    def honours_window(self) -> bool:
        """Whether the tasks answered are those of the window asked (``False``: of any)."""
        return self._honours_window

    @honours_window.setter
    def honours_window(self, value: bool) -> None:
        self._honours_window = require_bool(value, "honours_window")

    def glitch_next(self, count: int = 1, *, after: int = 0) -> None:
        """Answer the next ``count`` ``/calendar`` requests with no tasks (and no meetings)
        and ``has_more: true``, then behave again. ``after``: once this many more
        ``/calendar`` requests have been answered (0: from the next one)."""
        count = require_int(count, "count")
        if require_int(after, "after") == 0:
            self._glitches += count
            return

        def start() -> None:
            self._glitches += count

        self._scheduled.append((self.counters.calendar_requests + after, start))

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

        A task with an id already stored replaces it whole, from the next request on, and
        counts as inserted last (``order="insertion"``); :meth:`move_task` changes only its
        deadlines and keeps its place.
        """
        raw = msgspec.json.encode(task)
        parsed = task if isinstance(task, Task) else msgspec.json.decode(raw, type=Task)
        self._sequence += 1
        self._index = None
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

    def move_task(
        self,
        task_id: int,
        *,
        due: datetime | None = _UNSET,
        due_date: date | None = _UNSET,
        step_due: datetime | None = _UNSET,
        reminders: Iterable[datetime] = _UNSET,
        after_requests: int = 0,
    ) -> None:
        """Change a stored task's deadlines (``None`` removes one; omitted ones stay).

        The task's JSON changes with them, and its place in every order but ``"due"`` is
        kept. ``after_requests``: apply the move once this many more ``/calendar`` requests
        have been answered (0: now), to move a task in the middle of a walk.
        """
        task_id = require_int(task_id, "task_id")
        if task_id not in self._tasks:
            raise ValueError(f"task_id {task_id} is not stored")
        if due is not None and due is not _UNSET:
            due = to_utc(require_aware(due, "due"))
        if (
            due_date is not None
            and due_date is not _UNSET
            and (isinstance(due_date, datetime) or not isinstance(due_date, date))
        ):
            raise TypeError(f"due_date must be a date, not {type(due_date).__name__}")
        if step_due is not None and step_due is not _UNSET:
            step_due = to_utc(require_aware(step_due, "step_due"))
        moments: tuple[datetime, ...] | None = None
        if reminders is not _UNSET:
            moments = tuple(to_utc(require_aware(m, "reminders")) for m in reminders)
        after_requests = require_int(after_requests, "after_requests")
        if after_requests < 0:
            raise ValueError(f"after_requests must be >= 0, got {after_requests}")

        def move() -> None:
            stored = self._tasks.get(task_id)
            if stored is None:  # removed by clear() in the meantime
                return
            wire = msgspec.json.decode(stored.raw)
            for key, value in (("due", due), ("due_date", due_date)):
                if value is _UNSET:
                    continue
                setattr(stored, key, value)
                if value is None:
                    wire.pop(key, None)
                else:
                    wire[key] = msgspec.to_builtins(value)
            stored.raw = msgspec.Raw(msgspec.json.encode(wire))
            if step_due is not _UNSET:
                stored.step_due = step_due
            if moments is not None:
                stored.reminders = moments
            self._index = None

        self._schedule(after_requests, move)

    def remove_task(self, task_id: int) -> None:
        """Forget a stored task (deleted, or no longer shown to the user)."""
        task_id = require_int(task_id, "task_id")
        if self._tasks.pop(task_id, None) is None:
            raise ValueError(f"task_id {task_id} is not stored")
        self._index = None

    def add_meeting(self, meeting: Meeting | Mapping[str, Any]) -> Meeting:
        """Store a meeting; it is returned when ``start_time`` is in the window."""
        raw = msgspec.json.encode(meeting)
        parsed = meeting if isinstance(meeting, Meeting) else msgspec.json.decode(raw, type=Meeting)
        self._sequence += 1
        self._meetings[parsed.id] = _StoredMeeting(
            parsed.id, msgspec.Raw(raw), parsed.start_time, self._sequence
        )
        return parsed

    def selects(
        self,
        start: datetime,
        end: datetime,
        mask: int = int(CalendarFilter.DEFAULT),
        *,
        all_accessed: bool = False,
    ) -> frozenset[int]:
        """The ids of the stored tasks a request for this window and mask would match under
        the current rules, before the ``item_count`` cut (pure: no counters, no server)."""
        window = self._window(_moment(start, "start"), _moment(end, "end"), _mask(mask))
        visible = require_bool(all_accessed, "all_accessed")
        return frozenset(task.id for task in self._select(window) if task.involved or visible)

    def selects_meetings(self, start: datetime, end: datetime) -> frozenset[int]:
        """The ids of the stored meetings a request for this window would match under the
        current ``time_bounds``, before any ``item_count`` cut."""
        low, high = _moment(start, "start"), _moment(end, "end")
        return frozenset(meeting.id for meeting in self._meetings_in(low, high))

    def clear(self) -> None:
        """Forget every task and meeting."""
        self._tasks.clear()
        self._meetings.clear()
        self._index = None

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
        self._schedule(calendar_requests, self.revoke_tokens)

    def _schedule(self, after_requests: int, action: Callable[[], None]) -> None:
        if after_requests <= 0:
            action()
        else:
            self._scheduled.append((self.counters.calendar_requests + after_requests, action))

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
            query = CalendarQuery.parse(request.query)
        except ValueError as error:
            return _error(400, "invalid_request", headers, str(error))
        self.counters.calendar_requests += 1
        mask_count = self.counters.per_mask
        mask_count[query.mask] = mask_count.get(query.mask, 0) + 1
        if self._glitches:
            self._glitches -= 1
            self._run_scheduled()
            glitch: dict[str, Any] = {"tasks": [], "has_more": True}
            if query.meetings:
                glitch["meetings"] = []
            return json_response(glitch, headers=headers)
        if self._honours_window:
            window = self._window(query.start, query.end, query.mask)
        else:
            window = self._window(_FAR_PAST, _FAR_FUTURE, query.mask)
        selected = self._select(window)
        matching = [task for task in selected if task.involved or query.all_accessed]
        counted = len(selected) if self._has_more == "before_access" else len(matching)
        answer: dict[str, Any] = {
            "tasks": [task.raw for task in self._first(matching, query.item_count, _task_due_key)],
            "has_more": counted > query.item_count,
        }
        if query.meetings:
            meetings = self._meetings_in(query.start, query.end)
            if self._meetings_capped:
                answer["has_more"] = answer["has_more"] or len(meetings) > query.item_count
                meetings = self._first(meetings, query.item_count, _meeting_key)
            else:
                meetings = self._first(meetings, len(meetings), _meeting_key)
            answer["meetings"] = [meeting.raw for meeting in meetings]
        self._run_scheduled()
        return json_response(answer, headers=headers)

    def _select(self, window: _Window) -> list[_StoredTask]:
        # The stored tasks the window and mask match, before the access check. The time-based
        # bits compare moments with start..end; DueDate compares the day with the calendar
        # dates of start..end, since that filter ignores the time of day.
        if self._index is None:
            self._index = _Index.of(self._tasks.values())
        ids = self._index.select(window, self._time_bounds, self._due_date_bounds)
        return [self._tasks[task_id] for task_id in ids]

    def _window(self, start: datetime, end: datetime, mask: int) -> _Window:
        return _Window(
            start=start,
            end=end,
            mask=mask,
            start_day=start.date(),
            end_day=end.date(),
        )

    def _meetings_in(self, start: datetime, end: datetime) -> list[_StoredMeeting]:
        within = _WITHIN[self._time_bounds]
        return [
            meeting
            for meeting in self._meetings.values()
            if meeting.start_time is not None and within(start, meeting.start_time, end)
        ]

    def _run_scheduled(self) -> None:
        answered = self.counters.calendar_requests
        due = [action for at, action in self._scheduled if at <= answered]
        if due:
            self._scheduled = [(at, action) for at, action in self._scheduled if at > answered]
            for action in due:
                action()

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

    def _first(
        self, items: list[_Item], count: int, due_key: Callable[[_Item], Any]
    ) -> list[_Item]:
        """The first ``count`` of ``items`` in the server's order."""
        if self._order == "shuffled":
            # A random sample comes in random order: the head of a shuffle, for O(count).
            return self._rng.sample(items, min(count, len(items)))
        if self._order == "id":
            items.sort(key=lambda item: item.id)
        elif self._order == "insertion":
            items.sort(key=lambda item: item.sequence)
        elif self._order == "reverse":
            items.sort(key=lambda item: item.sequence, reverse=True)
        else:
            items.sort(key=due_key)
        return items[:count]


@dataclass(frozen=True, slots=True)
class CalendarQuery:
    """A ``GET /calendar`` query as the fake reads it (also for servers of your own that
    answer as Pyrus does: ``CalendarQuery.parse(request.query)``)."""

    start: datetime
    end: datetime
    item_count: int
    mask: int
    all_accessed: bool
    meetings: bool

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> CalendarQuery:
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


_NEVER = datetime.max.replace(tzinfo=UTC)


def _task_due_key(task: _StoredTask) -> tuple[date, datetime, int]:
    due = task.due or task.step_due
    day = task.due_date or (due.date() if due else date.max)
    return day, due or _NEVER, task.id


def _meeting_key(meeting: _StoredMeeting) -> tuple[datetime, int]:
    return meeting.start_time or _NEVER, meeting.id


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _moment(value: object, name: str) -> datetime:
    # What the wire carries: UTC, whole seconds (the client sends "%Y-%m-%dT%H:%M:%SZ").
    return to_utc(require_aware(value, name)).replace(microsecond=0)


def _mask(value: object) -> int:
    mask = require_int(int(value) if isinstance(value, CalendarFilter) else value, "mask")
    if not 0 <= mask <= int(CalendarFilter.ALL):
        raise ValueError(f"mask must be between 0 and 15, got {mask}")
    return mask


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
