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
from .client import PyrusClient, RateLimit
from .fake import FakePyrusServer
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

__all__ = [
    "APIError",
    "Approval",
    "AuthenticationError",
    "BadRequestError",
    "CalendarError",
    "CalendarFilter",
    "CalendarPage",
    "CatalogValue",
    "ClientClosedError",
    "Comment",
    "DecodeError",
    "ErrorEnvelopeError",
    "FakePyrusServer",
    "FieldValue",
    "File",
    "FormField",
    "FormLinkValue",
    "Hooks",
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
    "WrongEventLoopError",
    "filter_mask",
]
