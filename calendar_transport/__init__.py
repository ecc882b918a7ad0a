"""Shared async HTTP transport for the R7 and Pyrus calendar clients."""

__version__ = "0.1.0"

from .auth import IssuedToken, Secret, TokenAuth
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
    RateLimitError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ServerError,
    TransportError,
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
    "MemoryTokenStore",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "TokenAuth",
    "TokenStore",
    "Transport",
    "TransportError",
    "__version__",
]
