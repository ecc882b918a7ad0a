"""What a backend tells the transport about its API, beyond plain HTTP, in one object.

The request path (:class:`~calendar_transport.Transport`) knows nothing of R7 or Pyrus: it
reads a :class:`Dialect` for how the API authenticates, reports errors inside a 2xx answer,
mends bodies msgspec cannot read, and rates itself. A field left ``None`` means "nothing of
the kind", and costs the request path nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ErrorEnvelope

if TYPE_CHECKING:
    from .auth import TokenAuth

__all__ = ["DecHook", "Dialect", "EnvelopeCheck", "Rating"]

#: msgspec's ``dec_hook``: builds a value of a type msgspec does not know
DecHook = Callable[[type, Any], Any]
#: reads a 2xx body: the error report it is, or ``None`` for a real answer
EnvelopeCheck = Callable[[bytes], ErrorEnvelope | None]


@dataclass(frozen=True, slots=True)
class Rating:
    """How an API's request budget is kept (Pyrus counts every request, retries and logins
    included)."""

    #: awaited before every HTTP attempt: a rate limiter takes its place here
    before_attempt: Callable[[], Awaitable[object]] | None = None
    #: awaited with the wait a 429 asked for: a budget shared by processes pauses them all
    rate_limited: Callable[[float], Awaitable[object]] | None = None
    #: given the headers of every answer (Pyrus' ``X-RateLimit-*``)
    saw_headers: Callable[[Mapping[str, str]], object] | None = None


@dataclass(frozen=True, slots=True)
class Dialect:
    """A backend's ways, for the transport: ``Transport(url, dialect=Dialect(...))``.

    ``name`` is the client's name in reprs and errors (``R7Client``); ``auth`` logs in and
    puts the token on requests; ``error_envelope`` finds an error report in a 2xx body;
    ``repair_body`` rewrites a body that did not decode, which is then decoded once more (a
    body that decodes is never scanned); ``dec_hook`` is msgspec's; ``rating`` keeps the
    request budget.
    """

    name: str = "Transport"
    auth: TokenAuth | None = None
    error_envelope: EnvelopeCheck | None = None
    repair_body: Callable[[bytes], bytes] | None = None
    dec_hook: DecHook | None = None
    rating: Rating = Rating()
