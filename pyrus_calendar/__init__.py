"""Async client for the Pyrus calendar API (tasks and meetings in a time window).

::

    async with PyrusClient(login="bot@x.ru", security_key="...") as pyrus:
        page = await pyrus.calendar(a, b, filters=CalendarFilter.DUE | CalendarFilter.REMINDED)
        async for task in pyrus.iter_calendar(a, b, filters="due,reminded"):
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

from .auth import PyrusAuth
from .client import PyrusClient, RateLimit, WalkOptions
from .fields import (
    CatalogValue,
    FieldValue,
    File,
    FormField,
    FormLinkValue,
    MultipleChoiceValue,
    Person,
    Project,
    ProjectsValue,
    TableRow,
    TitleValue,
    UnknownValue,
)
from .filters import CalendarFilter, filter_mask
from .models import (
    Approval,
    CalendarPage,
    Comment,
    Meeting,
    MeetingJoinParameters,
    Subscriber,
    Task,
)
from .paging import CalendarWalk, Incomplete
from .windows import MEETING_LOOKBACK

__all__ = [
    "MEETING_LOOKBACK",
    "APIError",
    "Approval",
    "AuthenticationError",
    "BadRequestError",
    "CalendarError",
    "CalendarFilter",
    "CalendarPage",
    "CalendarWalk",
    "CatalogValue",
    "ClientClosedError",
    "Comment",
    "DecodeError",
    "ErrorEnvelopeError",
    "FieldValue",
    "File",
    "FormField",
    "FormLinkValue",
    "Hooks",
    "Incomplete",
    "IncompleteResultsError",
    "LoginInfo",
    "Meeting",
    "MeetingJoinParameters",
    "MultipleChoiceValue",
    "NotFoundError",
    "PermissionDeniedError",
    "Person",
    "Project",
    "ProjectsValue",
    "ProxyError",
    "PyrusAuth",
    "PyrusClient",
    "RateLimit",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "Subscriber",
    "TLSError",
    "TableRow",
    "Task",
    "TitleValue",
    "TransportError",
    "UnknownValue",
    "WalkOptions",
    "WrongEventLoopError",
    "filter_mask",
]
