"""A live iCalendar feed of a watch's rolling window, served by aiohttp.web at a secret URL.

:class:`FeedServer` runs a backend's ``watch()`` on the feed's state and keeps the calendar
from its changes: each item's UID is fixed when it is first seen, its ``SEQUENCE`` counts the
changes seen for it, and both are kept in the feed's own state (a :class:`FeedState`, by
default beside the watch's: the same SQLite file), with the URL's token, so a restart serves
the same calendar at the same URL.

The upstream API is polled by the watch alone, once per interval, however many clients fetch:
requests are answered from the calendar last published (with a strong ``ETag``,
``Last-Modified`` and ``304`` for conditional requests); the requests that arrive before the
first poll all wait for that one poll. When a poll fails, the last good calendar is served
with an ``X-Feed-Stale`` header (and a warning in the log), never an empty one.

The server speaks plain HTTP and binds to loopback by default: a reverse proxy in front of it
provides TLS and the public name.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiohttp import web

from calendar_transport.checks import require_int
from calendar_transport.clocks import Now, Sleep
from calendar_transport.urls import is_loopback
from calendar_watch import Change, MemoryWatchState, SqliteWatchState, Watch, WatchState

from .feed_state import FeedState, FeedStateError, MemoryFeedState, SqliteFeedState
from .ical import assemble_calendar, require_icalendar, to_ical

__all__ = [
    "BOOK",
    "FEED_PATH",
    "FeedServer",
    "FeedState",
    "FeedStateError",
    "MemoryFeedState",
    "SqliteFeedState",
    "WatchFactory",
]

logger = logging.getLogger(__name__)

#: the name under which a feed keeps its token, UIDs and sequences in its state
BOOK = "calendar-bridge-feed"
#: the calendar's path after the token
FEED_PATH = "calendar.ics"
_CONTENT_TYPE = "text/calendar"


class WatchFactory(Protocol):
    """What makes the feed's watch: a backend's ``watch`` with its options bound, e.g.
    ``functools.partial(pyrus.watch, state="feed.db", interval=300)``; the feed passes the
    ``clock`` and ``sleep`` it follows the polls with."""

    def __call__(self, *, clock: Now, sleep: Sleep) -> Watch[Any]:
        """The watch to publish."""


@dataclass(frozen=True, slots=True)
class _Entry:
    """One item of the feed: its UID (kept for good), how many changes were seen for it,
    the change applied last (a re-delivery is not a new version) and its VEVENT."""

    uid: str
    sequence: int
    last: str
    vevent: bytes

    def data(self) -> bytes:
        value = {
            "uid": self.uid,
            "sequence": self.sequence,
            "last": self.last,
            "vevent": self.vevent.decode("utf-8"),
        }
        return json.dumps(value).encode("utf-8")

    @classmethod
    def read(cls, data: bytes) -> _Entry:
        value = json.loads(data)
        return cls(value["uid"], int(value["sequence"]), value["last"], value["vevent"].encode())


@dataclass(frozen=True, slots=True)
class _Published:
    body: bytes
    etag: str
    modified: datetime


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _stamp(item: object, seen_at: datetime) -> datetime:
    # DTSTAMP of a published calendar: when the item was last revised (RFC 5545 3.8.7.2).
    for name in ("last_modified_date", "last_modification_date"):
        value = getattr(item, name, None)
        if isinstance(value, datetime):
            return value
    return seen_at


class FeedServer:
    """The calendar of ``watch``'s rolling window as ``text/calendar`` at a secret URL.

    ``watch``: a :class:`WatchFactory` (the backend's ``watch`` with its options bound).
    ``state``: where the feed keeps its URL and UIDs: a :class:`FeedState` or the path of an
    SQLite file; by default the watch's own file (a :class:`SqliteFeedState` beside it), or
    memory for a watch kept in memory; a watch kept elsewhere (Redis) needs one. ``name``:
    the calendar's ``X-WR-CALNAME``. ``host`` / ``port``: where to listen (loopback by
    default; port 0 picks a free one). ``public_url``: the ``https://`` address a reverse
    proxy serves this server at, for :attr:`url`. ``clock`` / ``sleep``: what tells the time
    and waits (tests pass their own). Use it as ``async with FeedServer(...) as feed:``, then
    ``await feed.serve_forever()``.
    """

    def __init__(
        self,
        watch: WatchFactory,
        *,
        name: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        public_url: str | None = None,
        clock: Now | None = None,
        sleep: Sleep | None = None,
        state: FeedState | str | os.PathLike[str] | None = None,
    ) -> None:
        if not callable(watch):
            raise TypeError(f"watch must be a callable that makes a Watch, not {watch!r:.60}")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"name must be a non-empty str, got {name!r:.60}")
        if not isinstance(host, str) or not host:
            raise ValueError(f"host must be a non-empty str, got {host!r:.60}")
        require_int(port, "port", low=0, high=65535)
        self._public = _check_public_url(public_url)
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be callable, not {type(clock).__name__}")
        if sleep is not None and not callable(sleep):
            raise TypeError(f"sleep must be callable, not {type(sleep).__name__}")
        require_icalendar()  # the 'ics' extra: named here, not as a feed that never fills
        self.name = name
        self.host = host
        self.port = port
        self._clock: Now = clock or _utcnow
        self._sleep: Sleep = sleep or asyncio.sleep
        made = watch(clock=self._tick, sleep=self._wait)
        if not isinstance(made, Watch):
            raise TypeError(f"watch() must return a Watch, not {type(made).__name__}")
        self.watch: Watch[Any] = made
        self._state = _feed_state(state, made.state)
        self._token = ""
        self._entries: dict[str, _Entry] = {}
        self._published: _Published | None = None
        self._lock = asyncio.Lock()
        self._ready = asyncio.Event()
        self._settled = asyncio.Event()
        self._seen = (0, 0)
        self._publishing: asyncio.Task[None] | None = None
        self._again = False
        self._follower: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._stale: str | None = None
        self._closed = False
        self._left_out: set[str] = set()
        self._left_out_told = 0
        #: requests answered with the calendar (200)
        self.served = 0
        #: conditional requests answered with 304 Not Modified
        self.not_modified = 0
        #: times a new version of the calendar was published
        self.publications = 0

    def __repr__(self) -> str:
        # (never the token: the URL is the feed's only secret)
        return (
            f"FeedServer({self.watch.name!r}, host={self.host!r}, port={self.port}, "
            f"items={len(self._entries)}, stale={self._stale is not None})"
        )

    # ---- what a user reads -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The address to subscribe to (``https://`` with ``public_url``); a secret."""
        if not self._token:
            raise RuntimeError("the feed has no URL before start()")
        base = self._public
        if base is None:
            host = f"[{self.host}]" if ":" in self.host else self.host
            base = f"http://{host}:{self.port}"
        return f"{base}/{self._token}/{FEED_PATH}"

    @property
    def webcal_url(self) -> str:
        """:attr:`url` with the ``webcal://`` scheme that opens a calendar app."""
        return "webcal://" + self.url.split("://", 1)[1]

    @property
    def stale(self) -> str | None:
        """Why the calendar served is not the upstream's current one, or ``None``."""
        return self._stale

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the state (refusing one that holds another source's feed), publish the
        calendar it kept, listen, and start following the watch."""
        if self._runner is not None or self._closed:
            raise RuntimeError("a FeedServer starts once")
        app = web.Application()
        app.router.add_get("/{token}/" + FEED_PATH, self._handle)
        # No access log: every line would carry the token in its path.
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        # The state after the port: a port in use leaves the state as it was.
        await self._state.open()
        await self._load_book()
        address = runner.addresses[0]
        self.port = int(address[1])
        if not is_loopback(self.host):
            logger.warning(
                "feed listens on %s in plain HTTP: put a reverse proxy with TLS in front", self.host
            )
        self._follower = asyncio.get_running_loop().create_task(self._follow())

    async def serve_forever(self) -> None:
        """Serve until cancelled, or until the watch stops on an error that cannot heal
        (bad credentials, say), which is raised here."""
        if self._follower is None:
            raise RuntimeError("call start() first")
        await self._follower

    async def wait_ready(self) -> None:
        """Return once a calendar is published (from the state, or the first poll)."""
        await self._ready.wait()

    async def aclose(self) -> None:
        """Stop listening and stop the watch (its state closed if it made it)."""
        if self._closed:
            return
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        for task in (self._follower, self._publishing):
            if task is not None and not task.done():
                task.cancel()
        for task in (self._follower, self._publishing):
            if task is not None:
                await asyncio.gather(task, return_exceptions=True)
        if self._follower is None:
            await self.watch.aclose()
        await self._state.close()

    async def __aenter__(self) -> FeedServer:
        try:
            await self.start()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ---- the book: token, UIDs, sequences --------------------------------------------------

    async def _load_book(self) -> None:
        book = await self._state.load(BOOK)
        meta = None if book.meta is None else json.loads(book.meta)
        if meta is not None and meta.get("source") != self.watch.name:
            raise FeedStateError(
                f"this state keeps the feed of {meta.get('source')!r}, not of "
                f"{self.watch.name!r}: use another state for this feed"
            )
        self._entries = {key: _Entry.read(data) for key, data in book.items.items()}
        if meta is None:
            self._token = secrets.token_urlsafe(32)
            await self._save_book({}, (), meta=self._meta(None))
            return
        self._token = str(meta["token"])
        if meta.get("etag") and meta.get("modified"):
            # The last good calendar survives a restart: served before the first poll ends.
            body = self._render()
            modified = datetime.fromisoformat(meta["modified"])
            etag = _etag(body)
            if etag != meta["etag"]:  # another version of the mapping renders it otherwise
                modified = self._clock().astimezone(UTC).replace(microsecond=0)
            self._published = _Published(body, etag, modified)
            self._ready.set()
            self._settled.set()

    def _meta(self, published: _Published | None) -> bytes:
        data = {"source": self.watch.name, "token": self._token}
        if published is not None:
            data["etag"] = published.etag
            data["modified"] = published.modified.isoformat()
        return json.dumps(data).encode("utf-8")

    async def _save_book(
        self, put: dict[str, bytes], drop: Iterable[str], *, meta: bytes | None = None
    ) -> None:
        await self._state.save(BOOK, meta=meta, put=put, drop=drop)

    # ---- following the watch ---------------------------------------------------------------

    async def _follow(self) -> None:
        try:
            async with self.watch as changes:
                async for change in changes:
                    async with self._lock:
                        await self._apply(change)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._mark_stale(f"the watch stopped: {type(error).__name__}: {error}")
            raise

    async def _apply(self, change: Change[Any]) -> None:
        key = change.key.rsplit("@", 1)[0]  # a change's key is "<item key>@<poll>"
        entry = self._entries.get(key)
        if entry is not None and entry.last == change.key:
            return  # delivered again after a restart: already in the book
        if change.kind == "removed":
            if entry is not None:
                await self._save_book({}, [key])
                del self._entries[key]
            return
        sequence = 0 if entry is None else entry.sequence + 1
        try:
            event = to_ical(
                change.item,
                uid=None if entry is None else entry.uid,
                sequence=sequence,
                stamp=_stamp(change.item, change.seen_at),
            )
        except (ValueError, OverflowError) as error:
            logger.debug("%s is left out of the feed: %s", key, error)
            self._left_out.add(key)
            if entry is not None:
                await self._save_book({}, [key])
                del self._entries[key]
            return
        self._left_out.discard(key)
        new = _Entry(str(event["uid"]), sequence, change.key, bytes(event.to_ical()))
        await self._save_book({key: new.data()}, ())
        self._entries[key] = new

    def _tick(self) -> datetime:
        # The watch asks the time before each poll and before each wait, with every change
        # of the poll before taken: the moment to publish what they made, and to learn
        # from its counters whether that poll reached the upstream.
        now = self._clock()
        watch = getattr(self, "watch", None)
        if watch is None:
            return now
        done = (watch.polls, watch.polls_skipped)
        if done == self._seen:
            return now
        polled, skipped = done[0] > self._seen[0], done[1] > self._seen[1]
        self._seen = done
        if skipped:
            self._mark_stale(f"a poll of the upstream API failed at {now:%Y-%m-%d %H:%M:%S}Z")
        elif self._stale is not None:
            logger.info("the feed's upstream answers again; the calendar is current")
            self._stale = None
        if polled:
            if self._publishing is not None and not self._publishing.done():
                self._again = True
            else:
                self._publishing = asyncio.get_running_loop().create_task(self._publish())
        return now

    async def _wait(self, seconds: float) -> None:
        publishing = self._publishing
        if publishing is not None:
            await publishing  # a failure to store the feed ends the watch, not silently
        await self._sleep(seconds)

    def _mark_stale(self, why: str) -> None:
        if self._stale is None:
            last = self._published
            since = f"the calendar of {last.modified:%Y-%m-%d %H:%M:%S}Z" if last else "nothing"
            logger.warning("the feed is stale: %s; serving %s until it answers again", why, since)
        self._stale = why
        self._settled.set()

    async def _publish(self) -> None:
        for _ in range(1000):  # bounded: one more round per poll that ended meanwhile
            self._again = False
            async with self._lock:
                await self._publish_once()
            if not self._again:
                return

    async def _publish_once(self) -> None:
        # Items that fell off the back of the window are forgotten by the watch silently
        # (it knows its committed window in memory: no need to read the state for it).
        gone = [key for key in self._entries if not self.watch.knows(key)]
        for key in gone:
            del self._entries[key]
        if len(self._left_out) > self._left_out_told:
            logger.warning(
                "%d item(s) have no date a VEVENT needs and are left out of the feed",
                len(self._left_out),
            )
        self._left_out_told = len(self._left_out)
        body = self._render()
        etag = _etag(body)
        last = self._published
        if last is not None and last.etag == etag:
            if gone:
                await self._save_book({}, gone)
        else:
            modified = self._clock().astimezone(UTC).replace(microsecond=0)
            if last is not None and modified <= last.modified:
                # Last-Modified must move with the content, even on a clock set back.
                modified = last.modified + timedelta(seconds=1)
            published = _Published(body, etag, modified)
            await self._save_book({}, gone, meta=self._meta(published))
            self._published = published
            self.publications += 1
        self._ready.set()
        self._settled.set()

    def _render(self) -> bytes:
        events = (self._entries[key].vevent for key in sorted(self._entries))
        every = timedelta(seconds=math.ceil(self.watch.interval))
        return assemble_calendar(events, name=self.name, refresh=every)

    # ---- serving -----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        given = request.match_info["token"].encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._token.encode("ascii")):
            raise web.HTTPNotFound()
        if not self._ready.is_set():
            await self._settled.wait()  # every early request waits for the same first poll
        published = self._published
        if published is None:
            retry = str(max(1, math.ceil(self.watch.interval)))
            return web.Response(
                status=503,
                text=f"no calendar yet: {self._stale or 'the first poll has not ended'}\n",
                headers={"Retry-After": retry},
            )
        headers = {
            "ETag": published.etag,
            "Last-Modified": _http_date(published.modified),
            "Cache-Control": "private, no-cache",
        }
        if self._stale is not None:
            headers["X-Feed-Stale"] = self._stale
        if _not_modified(request, published):
            self.not_modified += 1
            return web.Response(status=304, headers=headers)
        self.served += 1
        headers["Content-Disposition"] = f'inline; filename="{FEED_PATH}"'
        return web.Response(
            body=published.body, content_type=_CONTENT_TYPE, charset="utf-8", headers=headers
        )


def _not_modified(request: web.Request, published: _Published) -> bool:
    # RFC 9110 13.2.2: If-None-Match (weak comparison) decides; If-Modified-Since only
    # without it.
    tags = request.if_none_match
    if tags is not None:
        wanted = published.etag.strip('"')
        return any(tag.value in ("*", wanted) for tag in tags)
    since = request.if_modified_since
    return since is not None and published.modified <= since


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _http_date(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _check_public_url(url: object) -> str | None:
    if url is None:
        return None
    if not isinstance(url, str):
        raise TypeError(f"public_url must be a str, not {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"public_url must be an https:// address without query, got {url!r:.80}")
    return url.rstrip("/")


def _feed_state(given: FeedState | str | os.PathLike[str] | None, beside: WatchState) -> FeedState:
    # The feed's own state: the one given, a file named, or one beside the watch's.
    if isinstance(given, str | os.PathLike):
        return SqliteFeedState(given)
    if given is not None:
        if not isinstance(given, FeedState):
            raise TypeError(f"state must be a FeedState or a path, not {type(given).__name__}")
        return given
    if isinstance(beside, SqliteWatchState):
        return SqliteFeedState(beside.path)
    if isinstance(beside, MemoryWatchState):
        return MemoryFeedState()
    raise ValueError(
        f"the watch keeps its state in {type(beside).__name__}: give the feed one of its own "
        "(state= a path or a FeedState) so its URL survives a restart"
    )
