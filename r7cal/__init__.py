"""Async client for the R7-Office organizer calendar API (calendars, events, sharing).

::

    async with R7Client("https://r7.example.ru", login="u", password="p") as r7:
        cal = await r7.calendars.create(name="Team", color="#FFC078")
        async for event in r7.events.iterate([cal.id], start=a, end=b):
            ...
"""

from calendar_transport import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CalendarError,
    ClientClosedError,
    DecodeError,
    ErrorEnvelopeError,
    Hooks,
    IncompleteResultsError,
    LoginInfo,
    NotFoundError,
    PermissionDeniedError,
    ProxyError,
    RateLimitError,
    RequestTimeoutError,
    ResponseTooLargeError,
    RetryPolicy,
    Secret,
    ServerError,
    TLSError,
    TransportError,
    WrongEventLoopError,
)

from .auth import R7Auth, R7LoginInfo
from .calendars import Calendars
from .client import R7Client
from .events import Events
from .models import (
    AccessLevel,
    AuthTokens,
    Calendar,
    Event,
    JSONValue,
    LoginResult,
    Role,
    ShareResult,
    User,
)

__all__ = [
    "APIError",
    "AccessLevel",
    "AuthTokens",
    "AuthenticationError",
    "BadRequestError",
    "Calendar",
    "CalendarError",
    "Calendars",
    "ClientClosedError",
    "DecodeError",
    "ErrorEnvelopeError",
    "Event",
    "Events",
    "Hooks",
    "IncompleteResultsError",
    "JSONValue",
    "LoginInfo",
    "LoginResult",
    "NotFoundError",
    "PermissionDeniedError",
    "ProxyError",
    "R7Auth",
    "R7Client",
    "R7LoginInfo",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "Role",
    "Secret",
    "ServerError",
    "ShareResult",
    "TLSError",
    "TransportError",
    "User",
    "WrongEventLoopError",
]
