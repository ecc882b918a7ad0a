"""Shared async HTTP transport for the R7 and Pyrus calendar clients."""

__version__ = "0.1.0"

from .auth import IssuedToken, LoginInfo, Secret, TokenAuth
from .dialect import Dialect, Rating
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CalendarError,
    ClientClosedError,
    DecodeError,
    ErrorEnvelopeError,
    IncompleteResultsError,
    NotFoundError,
    PermissionDeniedError,
    ProxyError,
    RateLimitError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ServerError,
    TLSError,
    TransportError,
    WrongEventLoopError,
)
from .hooks import (
    CallEndRecord,
    CallRecord,
    Hooks,
    LoginRecord,
    RateLimitWaitRecord,
    RequestRecord,
    ResponseRecord,
    RetryRecord,
    WindowRecord,
)
from .rate_limit import RateLimit, RateLimitStatus
from .retry import RetryPolicy
from .stats import ClientStats
from .token_store import MemoryTokenStore, TokenStore
from .transport import Transport
from .window import TimeWindow

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "CalendarError",
    "CallEndRecord",
    "CallRecord",
    "ClientClosedError",
    "ClientStats",
    "DecodeError",
    "Dialect",
    "ErrorEnvelopeError",
    "Hooks",
    "IncompleteResultsError",
    "IssuedToken",
    "LoginInfo",
    "LoginRecord",
    "MemoryTokenStore",
    "NotFoundError",
    "PermissionDeniedError",
    "ProxyError",
    "RateLimit",
    "RateLimitError",
    "RateLimitStatus",
    "RateLimitWaitRecord",
    "Rating",
    "RequestRecord",
    "RequestTimeoutError",
    "ResponseRecord",
    "ResponseTooLargeError",
    "RetryPolicy",
    "RetryRecord",
    "Secret",
    "ServerError",
    "TLSError",
    "TimeWindow",
    "TokenAuth",
    "TokenStore",
    "Transport",
    "TransportError",
    "WindowRecord",
    "WrongEventLoopError",
    "__version__",
]
