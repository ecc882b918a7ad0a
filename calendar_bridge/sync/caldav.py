"""The CalDAV target: a calendar collection written through the ``caldav`` library's async
client (``caldav.aio.AsyncDAVClient``; the ``caldav`` extra).

Each item goes to an href made from its key (``sync-<hash>.ics``), so a create can be
repeated safely: ``If-None-Match: *`` makes a second one fail with 412, and the item found
there is adopted if it is ours (its tag and UID), a conflict otherwise. Updates and deletes
send ``If-Match`` with the etag the state holds: a 412 means someone edited the item, which
is reported as a conflict and left alone unless ``force``.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from calendar_transport.extras import missing_extra

from .engine import TAG, UID_PREFIX, Item, SyncConflictError, SyncTargetError, Written
from .state import Entry, Intent

__all__ = ["CalDAVTarget", "require_caldav"]

# What a refused MKCALENDAR most often means (RFC 4791 5.3.1), said after the status.
_MKCALENDAR_HINTS = {
    403: " (not allowed to create calendars there)",
    405: " (something that is not a calendar is already at that URL)",
    409: " (the collection that would hold it does not exist: check the URL's path; "
    "Radicale makes a user's own /USER/ at that user's first sign-in)",
}

_ICS = {"Content-Type": "text/calendar; charset=utf-8"}
_MKCALENDAR = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>'
    "<D:displayname>{name}</D:displayname></D:prop></D:set></C:mkcalendar>"
)


def require_caldav() -> None:
    """Raise :class:`~calendar_transport.extras.MissingExtraError` unless the ``caldav``
    extra is installed."""
    _caldav()


def _caldav() -> tuple[Any, type[Exception], type[Exception]]:
    """The async client class and the two errors it raises that we tell apart."""
    try:
        from caldav.aio import AsyncDAVClient
        from caldav.lib.error import AuthorizationError, DAVError
    except ImportError as missing:
        raise missing_extra("caldav", "the CalDAV target") from missing
    return AsyncDAVClient, DAVError, AuthorizationError


class CalDAVTarget:
    """A CalDAV calendar at ``url``; ``username`` / ``password`` for HTTP auth (never shown
    in reprs or messages). ``create_calendar``: make the calendar if it does not exist."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        create_calendar: bool = False,
        timeout: int = 30,
    ) -> None:
        if not isinstance(url, str):
            raise TypeError(f"url must be a str, not {type(url).__name__}")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url must be an http(s) URL of a calendar, got {url!r:.80}")
        if parts.username or parts.password:
            raise ValueError("url must not carry credentials: pass username and password")
        require_caldav()  # a missing extra is named here, before any sync starts
        self.url = url if url.endswith("/") else f"{url}/"
        self.identity = self.url
        self._username = username
        self._password = password
        self._create_calendar = create_calendar
        self._timeout = timeout
        self._client: Any = None
        #: writes sent (PUT and DELETE), for the figures
        self.writes = 0

    def __repr__(self) -> str:
        return f"CalDAVTarget({self.url!r}, username={self._username!r})"

    def href(self, key: str) -> str:
        """Where the item of ``key`` lives."""
        digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
        return f"{self.url}sync-{digest}.ics"

    async def open(self) -> None:
        """Check the calendar exists and the credentials work (create it if asked)."""
        if self._client is not None:
            return
        client_class, _, _ = _caldav()
        self._client = client_class(
            url=self.url,
            username=self._username,
            password=self._password,
            timeout=self._timeout,
            enable_rfc6764=False,
        )
        try:
            answer = await self._send(self.url, "PROPFIND", _PROPFIND, {"Depth": "0"})
            if answer.status == 404 and self._create_calendar:
                body = _MKCALENDAR.format(name=self.url.rstrip("/").rsplit("/", 1)[-1])
                made = await self._send(self.url, "MKCALENDAR", body, {})
                if made.status not in (200, 201):
                    hint = _MKCALENDAR_HINTS.get(made.status, "")
                    raise SyncTargetError(
                        f"cannot create the calendar {self.url}: HTTP {made.status}{hint}"
                    )
                return
            if answer.status == 404:
                raise SyncTargetError(
                    f"no calendar at {self.url} (pass --create-calendar to create it)"
                )
            if answer.status != 207:
                raise SyncTargetError(f"{self.url} answered HTTP {answer.status} to PROPFIND")
            if b"calendar" not in _body(answer):
                raise SyncTargetError(f"{self.url} is not a calendar collection")
        except BaseException:
            await self.close()
            raise

    def fingerprint(self, item: Item) -> str:
        """The hash of the whole VEVENT: a CalDAV calendar keeps all of it."""
        return item.hash

    async def create(self, item: Item) -> Written:
        """PUT with ``If-None-Match: *``; a 412 finds what an earlier try left there."""
        href = self.href(item.key)
        answer = await self._put(href, item, {"If-None-Match": "*"})
        if answer.status in (200, 201, 204):
            return Written(href, await self._etag(href, answer))
        if answer.status != 412:
            raise SyncTargetError(f"PUT {href} answered HTTP {answer.status}")
        found = await self._ours(href, item.key, item.payload)
        if found is None:
            raise SyncConflictError(f"{href} exists and was not written by this sync")
        # Ours, left by a run that did not finish: overwrite it with the current version.
        answer = await self._put(href, item, {"If-Match": found.etag or "*"})
        if answer.status not in (200, 201, 204):
            raise SyncConflictError(f"{href} changed while it was adopted (HTTP {answer.status})")
        return Written(href, await self._etag(href, answer), adopted=True)

    async def update(self, item: Item, entry: Entry, *, force: bool) -> Written:
        """PUT with ``If-Match``; a 412 is a conflict unless ``force``."""
        headers = {} if force or entry.etag is None else {"If-Match": entry.etag}
        answer = await self._put(entry.target_id, item, headers)
        if answer.status == 412:
            raise SyncConflictError(
                f"{entry.target_id} was edited on the server since the last sync; "
                "left as it is (pass --force to overwrite)"
            )
        if answer.status not in (200, 201, 204):
            raise SyncTargetError(f"PUT {entry.target_id} answered HTTP {answer.status}")
        return Written(entry.target_id, await self._etag(entry.target_id, answer))

    async def delete(self, entry: Entry, *, force: bool) -> None:
        """DELETE with ``If-Match``; already gone is fine, a 412 a conflict unless ``force``."""
        headers = {} if force or entry.etag is None else {"If-Match": entry.etag}
        self.writes += 1
        answer = await self._send(entry.target_id, "DELETE", "", headers)
        if answer.status == 412:
            raise SyncConflictError(
                f"{entry.target_id} was edited on the server since the last sync; "
                "not deleted (pass --force to delete it)"
            )
        if answer.status not in (200, 204, 404):
            raise SyncTargetError(f"DELETE {entry.target_id} answered HTTP {answer.status}")

    async def recover(self, intent: Intent, known: Iterable[str]) -> Written | None:
        """The item at the key's href, if this sync wrote it and it is the intent's write
        (an update whose etag did not move never landed: ``None``, the plan writes it)."""
        found = await self._ours(self.href(intent.key), intent.key, intent.payload)
        if found is None or intent.op != "update" or intent.previous is None:
            return found
        previous = intent.previous.etag
        if previous is None or found.etag is None or found.etag == previous:
            return None  # cannot tell it landed: writing it again is safe, missing it is not
        return found

    async def close(self) -> None:
        """Close the HTTP session."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    # ---- requests --------------------------------------------------------------------------

    async def _send(self, url: str, method: str, body: str, headers: dict[str, str]) -> Any:
        if self._client is None:
            raise SyncTargetError(f"{self!r} is not open")
        _, dav_error, refused = _caldav()
        try:
            return await self._client.request(url, method, body, headers)
        except dav_error as error:
            if isinstance(error, refused) and _forbidden(error):
                raise SyncTargetError(
                    f"{method} {url}: HTTP 403, not allowed for this account (is the URL "
                    "a calendar of the user in CALDAV_USERNAME?)"
                ) from None
            if isinstance(error, refused):
                raise SyncTargetError(
                    f"{self.url} refused the credentials (set CALDAV_USERNAME / CALDAV_PASSWORD)"
                ) from None
            raise SyncTargetError(f"{method} {url}: {type(error).__name__}") from None
        except OSError as error:
            raise SyncTargetError(f"cannot reach {self.url}: {_why_unreachable(error)}") from None

    async def _put(self, href: str, item: Item, condition: dict[str, str]) -> Any:
        self.writes += 1
        return await self._send(href, "PUT", item.payload.decode(), {**_ICS, **condition})

    async def _etag(self, href: str, answer: Any) -> str | None:
        etag = answer.headers.get("ETag")
        if etag:
            return str(etag)
        got = await self._send(href, "GET", "", {})  # a server that sends no ETag on PUT
        return str(got.headers.get("ETag")) if got.headers.get("ETag") else None

    async def _ours(self, href: str, key: str, written: bytes) -> Written | None:
        # Adopted only when provably this sync's own write: the UID it derives from the
        # key, and its tag with this sync's name (as in what it wrote), on their own lines.
        got = await self._send(href, "GET", "", {})
        if got.status != 200:
            return None
        lines = set(_body(got).splitlines())
        tags = {line for line in _unfolded(written).splitlines() if line.startswith(TAG.encode())}
        uid = f"UID:{UID_PREFIX}{key}".encode()
        if uid not in lines or not tags or not tags <= lines:
            return None
        etag = got.headers.get("ETag")
        return Written(href, str(etag) if etag else None)


_PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:">'
    "<D:prop><D:resourcetype/></D:prop></D:propfind>"
)


def _body(answer: Any) -> bytes:
    # Unfolded (RFC 5545 continuation lines), whichever line ends the client left.
    return _unfolded(str(answer.raw).encode())


def _unfolded(text: bytes) -> bytes:
    return text.replace(b"\r\n", b"\n").replace(b"\n ", b"")


def _forbidden(error: BaseException) -> bool:
    # A 403 (the account may not go there), not a 401 (the credentials are wrong): caldav
    # 3.1 says so in ``status``; 3.0 only in the HTTP reason phrase.
    status = getattr(error, "status", None)
    if status is not None:
        return bool(status == 403)
    return "forbidden" in str(getattr(error, "reason", "")).lower()


def _why_unreachable(error: BaseException) -> str:
    """The root of a connection failure in a few words: the HTTP library under caldav wraps
    it in pools and connection objects whose reprs mean nothing to a user."""
    root, seen = error, 0
    while seen < 10:
        below = root.__cause__ or root.__context__ or getattr(root, "reason", None)
        if not isinstance(below, BaseException):
            break
        root, seen = below, seen + 1
    if isinstance(root, socket.gaierror):
        return "host name not found"
    if isinstance(root, ConnectionRefusedError):
        return "connection refused"
    if isinstance(root, ssl.SSLError) or "SSL" in type(root).__name__:
        return f"TLS failed ({type(root).__name__})"
    if isinstance(root, TimeoutError) or "Timeout" in type(root).__name__:
        return "no answer in time"
    if isinstance(root, OSError) and root.strerror:
        return root.strerror
    return type(root).__name__
