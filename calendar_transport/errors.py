"""The error hierarchy shared by both backends.

Every error names what failed (method and URL, never a header or a token) and keeps
the raw response text, truncated, so a caller can log it.
"""

from __future__ import annotations

from typing import NamedTuple

BODY_LIMIT = 2000


def truncate(text: str, limit: int = BODY_LIMIT) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


class CalendarError(Exception):
    """Base class of every error this SDK raises on purpose."""


class TransportError(CalendarError):
    """The request did not get an HTTP answer: connection refused or dropped, or a timeout.

    ``request_sent`` is False only when the failure happened before any byte of the
    request left this process, which makes even a create safe to send again.
    ``earlier_attempt_may_have_reached`` says whether an earlier attempt of the same call may
    have reached the server (see :class:`APIError`).
    """

    def __init__(self, message: str, *, method: str, url: str, request_sent: bool) -> None:
        super().__init__(f"{method} {url}: {message}" if method else message)
        self.method = method
        self.url = url
        self.request_sent = request_sent
        self.earlier_attempt_may_have_reached = False


class RequestTimeoutError(TransportError):
    """An attempt took longer than its timeout, or the whole call overran its deadline."""


class ClientClosedError(TransportError):
    """The client was closed (``aclose()`` or the end of ``async with``): calls in flight
    and every later call raise this. A closed client stays closed; never retried."""

    def __init__(
        self, message: str, *, method: str = "", url: str = "", request_sent: bool = False
    ) -> None:
        super().__init__(message, method=method, url=url, request_sent=request_sent)


class TLSError(TransportError):
    """The TLS handshake failed: an untrusted or expired certificate, a host name that the
    certificate does not cover, a fingerprint mismatch. Never retried: it cannot heal."""


class ProxyError(TransportError):
    """The proxy could not be reached or refused the connection. Never retried."""


class WrongEventLoopError(CalendarError, RuntimeError):
    """A client was used from an event loop other than the one it was first used in.

    A client (like the ``aiohttp.ClientSession`` under it) belongs to one event loop:
    create one client per event loop, inside the code that loop runs.
    """


class APIError(CalendarError):
    """The server answered with an error status."""

    def __init__(
        self,
        *,
        status: int,
        method: str,
        url: str,
        code: str | None = None,
        message: str | None = None,
        body: str = "",
        retry_after: float | None = None,
        attempt: int = 1,
    ) -> None:
        self.status = status
        self.method = method
        self.url = url
        self.code = code
        self.message = message
        self.body = truncate(body)
        #: seconds the server asked to wait (Retry-After / X-RateLimit-Reset), when it said
        self.retry_after = retry_after
        #: which attempt of the call got this answer (1 = the first; later ones are retries)
        self.attempt = attempt
        #: whether an earlier attempt of this call may have reached the server and acted
        #: (its connection dropped after sending, it timed out, a gateway answered 502/504);
        #: False after clean refusals such as 503 or 429, which say the server did nothing
        self.earlier_attempt_may_have_reached = False
        detail = " ".join(part for part in (code, message) if part) or self.body[:200] or "no body"
        super().__init__(f"{method} {url} -> HTTP {status}: {detail}")


class BadRequestError(APIError):
    """HTTP 400: the server rejected the request's content."""


class AuthenticationError(APIError):
    """HTTP 401, or a login that failed: the credentials or the token were not accepted."""


class PermissionDeniedError(APIError):
    """HTTP 403: the user may not do this."""


class NotFoundError(APIError):
    """HTTP 404: no such object (or no such endpoint)."""


class RateLimitError(APIError):
    """HTTP 429. ``retry_after`` is the wait the server asked for, in seconds, when it said."""


class ServerError(APIError):
    """HTTP 5xx: the server (or a gateway in front of it) failed."""


class ErrorEnvelopeError(APIError):
    """A 2xx answer whose body is the backend's error envelope instead of the data
    (Pyrus ``{"error_code": ..., "error": ...}``, R7 ``{"ErrorMessage": ...}``).

    ``status`` is the HTTP status (e.g. 200); ``code`` and ``message`` come from the envelope.
    An envelope that names an error status itself (R7's ``StatusCode``) raises the class of
    that status instead, e.g. :class:`AuthenticationError` for 401.
    """


class ErrorEnvelope(NamedTuple):
    """What a backend found in a 2xx body that is really an error report."""

    status: int | None  # the error status the envelope names, if any
    code: str | None
    message: str | None


class DecodeError(CalendarError):
    """A successful answer whose body is not what the endpoint promises.

    The message names the JSON path that did not match, e.g. ``$.tasks[3].due``.
    """

    def __init__(self, detail: str, *, status: int, method: str, url: str, body: str) -> None:
        super().__init__(f"{method} {url} -> HTTP {status}: unexpected response body: {detail}")
        self.detail = detail
        self.status = status
        self.method = method
        self.url = url
        self.body = truncate(body)


class ResponseTooLargeError(DecodeError):
    """The answer was larger than the transport's ``max_response_bytes``."""


class IncompleteResultsError(CalendarError):
    """A listing could not be completed without losing items (e.g. a paging window that
    cannot be split further still reports more). Everything found was already yielded."""


_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[APIError]:
    """The most specific :class:`APIError` subclass for an HTTP status."""
    if status >= 500:
        return ServerError
    return _STATUS_ERRORS.get(status, APIError)
