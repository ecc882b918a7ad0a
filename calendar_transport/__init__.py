"""Shared async HTTP transport for the R7 and Pyrus calendar clients."""

__version__ = "0.1.0"

from .auth import IssuedToken, LoginInfo, Secret, TokenAuth
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
from .rate_limit import RateLimit
from .retry import RetryPolicy
from .token_store import MemoryTokenStore, TokenStore
from .transport import Transport

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "CalendarError",
    "ClientClosedError",
    "DecodeError",
    "ErrorEnvelopeError",
    "IncompleteResultsError",
    "IssuedToken",
    "LoginInfo",
    "MemoryTokenStore",
    "NotFoundError",
    "PermissionDeniedError",
    "ProxyError",
    "RateLimit",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "TLSError",
    "TokenAuth",
    "TokenStore",
    "Transport",
    "TransportError",
    "WrongEventLoopError",
    "__version__",
]
