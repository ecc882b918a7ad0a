"""PyrusClient: the Pyrus calendar (``GET /calendar``) over the shared transport."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, TypedDict, TypeVar, Unpack, overload

import aiohttp
from aiolimiter import AsyncLimiter

from calendar_transport import ClientStats, Hooks, LoginInfo, RetryPolicy, Secret, Transport
from calendar_transport.checks import (
    require_bool,
    require_credential,
    require_id,
    require_int,
)
from calendar_transport.client_base import ClientBase, from_environment
from calendar_transport.clocks import Now, Sleep
from calendar_transport.dialect import Dialect
from calendar_transport.hooks import WindowRecord, emit
from calendar_transport.rate_limit import RateLimit, RateLimitStatus, SharedRateLimit
from calendar_transport.token_store import TokenStore, store_key
from calendar_transport.transport import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, ParamValue
from calendar_transport.urls import validate_base_url
from calendar_watch.engine import StateLike, Watch, default_name

from ._wire import error_envelope
from .answers import answer_of
from .auth import CLOUD_API_URL, PyrusAuth, auth_url_for
from .filters import CalendarFilter, FilterLike
from .models import CalendarPage, Meeting, Task
from .paging import (
    DEFAULT_MAX_REQUESTS,
    Answer,
    CalendarWalk,
    Window,
    format_utc,
)
from .rating import PyrusRating
from .watch import PyrusWatchSource
from .windows import calendar_window, keeper

T = TypeVar("T", Task, Meeting)

__all__ = ["PyrusClient", "RateLimit", "WalkOptions"]

logger = logging.getLogger("pyrus_calendar")

MAX_ITEM_COUNT = 100


class WalkOptions(TypedDict, total=False):
    """What every walk takes besides its window (:meth:`PyrusClient.iter_calendar`,
    :meth:`PyrusClient.iter_meetings`, :meth:`PyrusClient.walk`), with their defaults.

    ``filters`` (default ``CalendarFilter.DEFAULT``): which deadlines select a task.
    ``all_accessed_tasks`` (``False``): every task you can see, not only yours.
    ``concurrency`` (4): windows fetched at a time. ``allow_incomplete`` (``False``): log a
    window that could not be read whole instead of raising at the end.
    ``item_count`` (100): the page size asked for. ``max_requests`` (1,000; ``None``: no
    limit): the requests the walk may make.
    """

    filters: FilterLike
    all_accessed_tasks: bool
    concurrency: int
    allow_incomplete: bool
    item_count: int
    max_requests: int | None


class PyrusClient(ClientBase):
    """An async client for the Pyrus calendar.

    Give ``login`` and ``security_key`` (the client logs in on first use and again after a
    401 with an expired or revoked token), or a ``token`` you already have. ``person_id``:
    act as another person (Pyrus' auth parameter). ``base_url``: the API root; for an
    on-premise server (any ``base_url`` other than the cloud one) login goes to
    ``<base_url>/auth`` unless ``auth_url`` says otherwise. ``session``: an aiohttp session
    you own; ``retry``: a :class:`RetryPolicy`; ``timeout``: seconds per attempt.
    ``rate_limit``: an optional client-side budget (:class:`RateLimit`, e.g.
    :attr:`CLOUD_RATE_LIMIT`, an ``aiolimiter.AsyncLimiter`` shared between clients, or a
    budget shared by processes such as ``calendar_transport.redis.RedisRateLimit``).
    ``token_store``: share the token with other clients or processes of the same login
    (:class:`~calendar_transport.TokenStore`, e.g. ``RedisTokenStore``); without it the client
    keeps its token to itself.
    ``max_response_bytes``: a larger answer raises :class:`ResponseTooLargeError`.
    ``allow_insecure``: allow plain ``http://`` to a host that is not loopback.
    ``hooks``: a :class:`~calendar_transport.Hooks` told of every request, response, retry,
    login, rate-limit wait and paging window (see :attr:`stats` for the counts).

    Use it as ``async with PyrusClient(...) as pyrus:`` or call :meth:`aclose`.
    """

    #: Pyrus cloud's documented limit: 5,000 requests per 10 minutes per user
    CLOUD_RATE_LIMIT: ClassVar[RateLimit] = RateLimit(5000, 600.0)

    #: the environment variables :meth:`from_env` reads (the ``pyrus-calendar`` tool's)
    ENVIRONMENT: ClassVar[Mapping[str, str]] = {
        "base_url": "PYRUS_BASE_URL",
        "login": "PYRUS_LOGIN",
        "security_key": "PYRUS_SECURITY_KEY",
        "token": "PYRUS_TOKEN",
    }

    @classmethod
    def from_env(cls, **options: Any) -> PyrusClient:
        """A client configured as services configure themselves: ``PYRUS_LOGIN`` +
        ``PYRUS_SECURITY_KEY`` or ``PYRUS_TOKEN``, and ``PYRUS_BASE_URL`` when it is not the
        cloud, from the environment; ``options`` as for the constructor, winning over the
        environment. A missing variable is named in a ``ValueError`` (a value never is)."""
        given = {**from_environment(cls.ENVIRONMENT), **options}
        if given.get("token") is None:
            missing = [
                cls.ENVIRONMENT[name] for name in ("login", "security_key") if not given.get(name)
            ]
            if missing:
                raise ValueError(f"set {' and '.join(missing)} (or PYRUS_TOKEN) in the environment")
        return cls(**given)

    def __init__(
        self,
        base_url: str = CLOUD_API_URL,
        *,
        login: str | None = None,
        security_key: str | Secret | None = None,
        person_id: int | None = None,
        token: str | None = None,
        auth_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float | None = None,
        rate_limit: RateLimit | AsyncLimiter | SharedRateLimit | None = None,
        token_store: TokenStore | None = None,
        allow_insecure: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        hooks: Hooks | None = None,
    ) -> None:
        if login is not None and not isinstance(login, str):
            raise TypeError(f"login must be a str, not {type(login).__name__}")
        if login is not None and security_key is None:
            raise ValueError("login needs security_key (the bot's or user's secret key)")
        if security_key is not None and login is None:
            raise ValueError("security_key needs login")
        if login is None and token is None:
            raise ValueError("pass login= and security_key=, or token=")
        require_credential(token, "token")
        if person_id is not None:
            require_id(person_id, "person_id")
        if security_key is not None and not isinstance(security_key, Secret):
            if not isinstance(security_key, str) or not security_key:
                raise TypeError("security_key must be a non-empty str")
            security_key = Secret(security_key)
        require_bool(allow_insecure, "allow_insecure")  # used below, before the transport checks it
        base_url = validate_base_url(base_url, allow_insecure=allow_insecure)
        if auth_url is None:
            auth_url = auth_url_for(base_url)
        validate_base_url(auth_url, allow_insecure=allow_insecure, name="auth_url")
        self.auth = PyrusAuth(
            auth_url=auth_url,
            login=login,
            security_key=security_key,
            person_id=person_id,
            token=token,
        )
        # The budget is the user's (whoever they act for); a token is per person acted for.
        account = store_key("pyrus", auth_url, login or "")
        if token_store is not None:
            if login is None:
                raise ValueError("token_store needs login= and security_key= (to log in)")
            self.auth.use_store(
                token_store, store_key("pyrus", auth_url, login, person_id=person_id)
            )
        self._rating = PyrusRating(rate_limit, account, self._waited)
        #: what this client has done: requests, attempts, retries, logins, waits, windows
        self.stats = ClientStats()
        self.transport = Transport(
            base_url,
            dialect=Dialect(
                name="PyrusClient",
                auth=self.auth,
                error_envelope=error_envelope,
                # Pyrus counts every request against the budget, retries and logins included.
                rating=self._rating.rating,
            ),
            session=session,
            retry=retry,
            timeout=timeout,
            deadline=deadline,
            allow_insecure=allow_insecure,
            max_response_bytes=max_response_bytes,
            hooks=hooks,
            stats=self.stats,
        )

    def __repr__(self) -> str:
        return f"PyrusClient(base_url={self.transport.base_url!r}, login={self.auth.login_name!r})"

    # ---- what the client has seen ----------------------------------------------------------

    @property
    def rate_limit_status(self) -> RateLimitStatus | None:
        """Pyrus' own budget as its last answer with ``X-RateLimit-*`` headers told it
        (``None`` before any such answer)."""
        return self._rating.status

    async def _waited(self, seconds: float, reason: str) -> None:
        await self.transport.note_rate_limit_wait(seconds, reason)

    async def login(self) -> LoginInfo:
        """Log in now and say who as (other calls log in on their own when they need to).

        The token itself is :attr:`token`.
        """
        if not self.auth.can_login:
            raise ValueError("login() needs a client created with login= and security_key=")
        issued = await self.auth.login_now(self.transport)
        return LoginInfo(
            backend="pyrus",
            login=self.auth.login_name,
            user_id=self.auth.person_id,
            expires_at=issued.expires_at,
        )

    @property
    def token(self) -> str | None:
        """The current token, to persist and pass as ``token=`` later (never logged)."""
        return self.auth.token

    # ---- the calendar --------------------------------------------------------------------

    async def calendar(
        self,
        start: datetime,
        end: datetime,
        *,
        filters: FilterLike = CalendarFilter.DEFAULT,
        item_count: int = MAX_ITEM_COUNT,
        all_accessed_tasks: bool = False,
        include_meetings: bool = False,
    ) -> CalendarPage:
        """One ``GET /calendar`` call: at most ``item_count`` tasks of ``[start, end]`` as the
        server selects them (its own boundary rule; the bounds rounded out to whole seconds).

        ``page.has_more`` means the server cut the list; :meth:`iter_calendar` follows it and
        keeps exactly what the window holds (README "Time windows").
        """
        window, _ = calendar_window(start, end, filters, include_meetings, margin=False)
        require_bool(all_accessed_tasks, "all_accessed_tasks")
        item_count = _check_item_count(item_count)
        return await self._fetch(window, item_count=item_count, all_accessed=all_accessed_tasks)

    def iter_calendar(
        self,
        start: datetime,
        end: datetime,
        *,
        include_meetings: bool = False,
        **options: Unpack[WalkOptions],
    ) -> CalendarWalk[Task]:
        """Every task in ``[start, end)``, each once, following ``has_more`` to the end.

        A task is in by its ``due`` (``start <= due < end``) or its ``due_date`` (a date of
        the window in ``start``'s zone), whatever the server's boundary rules: the server is
        asked wider and the answer kept by that rule (README "Time windows"). A task that
        may have come for ``DueForCurrentStep`` or ``Reminded``, whose moments no task field
        shows, is kept as the server selects it, within a second of the window's edges.

        Returns a :class:`CalendarWalk`: ``async for`` it, and read what it did from it
        (requests, windows split, windows left incomplete). Cut windows are split where the
        load is and fetched ``concurrency`` at a time; tasks come out in window order. If a
        window cannot be read completely (see the README's paging section), what it held is
        yielded and :class:`IncompleteResultsError` is raised at the end, or, with
        ``allow_incomplete=True``, a warning is logged. ``max_requests`` (``None``: no
        limit) bounds the requests; reaching it raises :class:`IncompleteResultsError`.
        ``item_count``: page size asked for. ``include_meetings`` only decides what each
        request asks for; :meth:`walk` yields tasks and meetings together. Stopping early?
        ``await walk.aclose()`` (or ``async with``) cancels the look-ahead requests at once.
        The client's ``deadline`` bounds each request of the walk, not the walk: bound it
        with ``asyncio.timeout()``.
        """
        return self._walk(start, end, tasks=True, meetings=False, ask=include_meetings, **options)

    def iter_meetings(
        self, start: datetime, end: datetime, **options: Unpack[WalkOptions]
    ) -> CalendarWalk[Meeting]:
        """Every meeting overlapping ``[start, end)`` (one of no duration when it starts in
        it), each once; one that began up to :data:`MEETING_LOOKBACK` before ``start`` and
        runs into the window is found too (the server selects meetings by their start).

        One request unless the window holds ``item_count`` meetings or more (a server may
        cap meetings too): cut tasks alone do not make it split.
        """
        return self._walk(start, end, tasks=False, meetings=True, ask=True, **options)

    def walk(
        self, start: datetime, end: datetime, **options: Unpack[WalkOptions]
    ) -> CalendarWalk[Task | Meeting]:
        """Every task and every meeting in ``[start, end)``, each once, in one walk.

        Like :meth:`iter_calendar`, but each request also asks for meetings and the walk
        yields :class:`Task` and :class:`Meeting` objects as they come; windows are split
        for meetings only when a page holds ``item_count`` of them.
        """
        return self._walk(start, end, tasks=True, meetings=True, ask=True, **options)

    # Typed by what it reports: tasks only, unless meetings are asked for.
    @overload
    def watch(
        self,
        *,
        filters: FilterLike = CalendarFilter.DEFAULT,
        lookback: timedelta = timedelta(days=1),
        horizon: timedelta = timedelta(days=30),
        interval: float = 60.0,
        state: StateLike = None,
        include_meetings: Literal[False] = False,
        all_accessed_tasks: bool = False,
        kinds: Iterable[str] | None = None,
        name: str | None = None,
        max_requests: int | None = DEFAULT_MAX_REQUESTS,
        clock: Now | None = None,
        sleep: Sleep | None = None,
    ) -> Watch[Task]: ...

    @overload
    def watch(
        self,
        *,
        filters: FilterLike = CalendarFilter.DEFAULT,
        lookback: timedelta = timedelta(days=1),
        horizon: timedelta = timedelta(days=30),
        interval: float = 60.0,
        state: StateLike = None,
        include_meetings: bool,
        all_accessed_tasks: bool = False,
        kinds: Iterable[str] | None = None,
        name: str | None = None,
        max_requests: int | None = DEFAULT_MAX_REQUESTS,
        clock: Now | None = None,
        sleep: Sleep | None = None,
    ) -> Watch[Task | Meeting]: ...

    def watch(
        self,
        *,
        filters: FilterLike = CalendarFilter.DEFAULT,
        lookback: timedelta = timedelta(days=1),
        horizon: timedelta = timedelta(days=30),
        interval: float = 60.0,
        state: StateLike = None,
        include_meetings: bool = False,
        all_accessed_tasks: bool = False,
        kinds: Iterable[str] | None = None,
        name: str | None = None,
        max_requests: int | None = DEFAULT_MAX_REQUESTS,
        clock: Now | None = None,
        sleep: Sleep | None = None,
    ) -> Watch[Task] | Watch[Task | Meeting]:
        """The changes of the calendar's rolling window, polled every ``interval`` seconds.

        Returns a :class:`~calendar_watch.Watch`: an async iterator of
        :class:`~calendar_watch.Change` records (``added``, ``changed``,
        ``removed``; tasks, and meetings with ``include_meetings=True``) for the window
        ``[now - lookback, now + horizon)``; use it in ``async with``. ``state``: a path (an
        SQLite file, kept across restarts), a :class:`~calendar_watch.WatchState`,
        or ``None`` (memory). ``kinds``: report only these kinds. ``name``: the watch's name
        in the state (by default made of the server, login and query). ``clock`` / ``sleep``:
        what tells the time and waits (tests pass their own). Delivery is at-least-once:
        see the README's "Watching for changes". Arguments are checked on this call.
        """
        try:
            mask = CalendarFilter.parse(filters)
        except ValueError as error:
            raise ValueError(f"filters={filters!r:.60}: {error}") from None
        meetings = require_bool(include_meetings, "include_meetings")
        accessed = require_bool(all_accessed_tasks, "all_accessed_tasks")
        budget = _check_max_requests(max_requests)

        def walk(start: datetime, end: datetime) -> CalendarWalk[Any]:
            return self._walk(
                start,
                end,
                tasks=True,
                meetings=meetings,
                ask=meetings,
                filters=mask,
                all_accessed_tasks=accessed,
                max_requests=budget,
            )

        if name is None:
            query = f"mask={int(mask)}/meetings={int(meetings)}/all={int(accessed)}"
            if self.auth.person_id is not None:
                query = f"person={self.auth.person_id}/{query}"
            name = default_name("pyrus", self.transport.base_url, self.auth.login_name, query)
        return Watch(
            PyrusWatchSource(walk, mask),
            name=name,
            lookback=lookback,
            horizon=horizon,
            interval=interval,
            state=state,
            kinds=kinds,
            clock=clock,
            sleep=sleep,
        )

    def _walk(
        self,
        start: datetime,
        end: datetime,
        *,
        tasks: bool,
        meetings: bool,
        ask: bool,
        filters: FilterLike = CalendarFilter.DEFAULT,
        all_accessed_tasks: bool = False,
        concurrency: int = 4,
        allow_incomplete: bool = False,
        item_count: int = MAX_ITEM_COUNT,
        max_requests: int | None = DEFAULT_MAX_REQUESTS,
    ) -> CalendarWalk[Any]:
        # The one walk behind iter_calendar, iter_meetings, walk and watch: ``tasks`` and
        # ``meetings`` say what it yields, ``ask`` whether its requests ask for meetings.
        # Checked here, on the call, so bad input fails before any request (the walk only
        # starts when first iterated).
        window, rule = calendar_window(start, end, filters, ask, tasks=tasks)
        count = _check_item_count(item_count)
        accessed = require_bool(all_accessed_tasks, "all_accessed_tasks")

        async def fetch(part: Window) -> Answer:
            answer = await self._fetch_answer(part, item_count=count, all_accessed=accessed)
            await self._window_answered(part, answer.skim.has_more)
            return answer

        return CalendarWalk(
            fetch,
            window,
            tasks=tasks,
            meetings=meetings,
            item_count=count,
            concurrency=_check_concurrency(concurrency),
            allow_incomplete=require_bool(allow_incomplete, "allow_incomplete"),
            max_requests=_check_max_requests(max_requests),
            keep=keeper(rule),
            needed_days=rule.days if window.mask & CalendarFilter.DUE_DATE else None,
        )

    async def _window_answered(self, window: Window, cut: bool) -> None:
        # The walk's call point: one per window answered.
        self.stats.windows += 1
        hooks = self.transport.hooks
        if hooks is not None and hooks.on_window is not None:
            record = WindowRecord(
                start=window.start,
                end=window.end,
                mask=int(window.mask),
                meetings=window.meetings,
                cut=cut,
            )
            await emit(hooks.on_window, record)

    async def _get(self, window: Window, *, item_count: int, all_accessed: bool) -> bytes:
        params: Mapping[str, ParamValue] = {
            "start_date_utc": format_utc(window.start),
            "end_date_utc": format_utc(window.end),
            "item_count": item_count,
            "all_accessed_tasks": all_accessed,
            "filter_mask": int(window.mask),
            "include_meetings": window.meetings,
        }
        self.stats.calendar_requests += 1
        raw = await self.transport.request("GET", "calendar", params=params, response_type=bytes)
        logger.debug(
            "calendar %s..%s mask=%s -> %d bytes",
            params["start_date_utc"],
            params["end_date_utc"],
            params["filter_mask"],
            len(raw),
        )
        return raw

    async def _fetch(
        self,
        window: Window,
        *,
        item_count: int = MAX_ITEM_COUNT,
        all_accessed: bool,
    ) -> CalendarPage:
        raw = await self._get(window, item_count=item_count, all_accessed=all_accessed)
        page: CalendarPage = self.transport.decode(raw, CalendarPage, method="GET", path="calendar")
        return page

    async def _fetch_answer(self, window: Window, *, item_count: int, all_accessed: bool) -> Answer:
        raw = await self._get(window, item_count=item_count, all_accessed=all_accessed)
        transport = self.transport
        return answer_of(
            raw, lambda data, kind: transport.decode(data, kind, method="GET", path="calendar")
        )


def _check_item_count(value: object) -> int:
    return require_int(value, "item_count", low=1, high=MAX_ITEM_COUNT)


def _check_concurrency(value: object) -> int:
    return require_int(value, "concurrency", low=1)


def _check_max_requests(value: object) -> int | None:
    if value is None:
        return None
    return require_int(value, "max_requests", low=1)
