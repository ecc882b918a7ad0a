"""Small helpers both resources share: R7's date format, its ``true`` answers, its lists,
and what an R7 error report in a 2xx answer looks like."""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import msgspec

from calendar_transport import APIError, DecodeError, NotFoundError, Transport
from calendar_transport.errors import ErrorEnvelope

from .models import without_max_value_fractions

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)

#: R7 documents no length limits; this only stops an accidental megabyte in a name.
MAX_TEXT: Final = 4096

logger = logging.getLogger("r7cal")


class _Envelope(msgspec.Struct, rename="pascal"):
    # Any: the fields are only looked at, and a body of another shape must not fail here.
    status_code: Any = None
    error_message: Any = None


_envelope_decoder = msgspec.json.Decoder(_Envelope)


def error_envelope(data: bytes) -> ErrorEnvelope | None:
    """An R7 error report in a 2xx answer: ``{"ErrorMessage": "..."}`` (as a sibling R7 API
    sends), or the login envelope with a ``StatusCode`` of 400 or more."""
    if data[:64].lstrip()[:1] != b"{":  # a listing or `true`: nothing to look for
        return None
    if b'"ErrorMessage"' not in data and b'"StatusCode"' not in data:
        return None
    try:
        envelope = _envelope_decoder.decode(data)
    except msgspec.DecodeError:
        return None  # not an object: the normal decoding reports it
    status = envelope.status_code
    if isinstance(status, str) and status.strip().isdigit():
        status = int(status)
    named = status if isinstance(status, int) and not isinstance(status, bool) else None
    message = envelope.error_message if isinstance(envelope.error_message, str) else None
    if message or (named is not None and named >= 400):
        return ErrorEnvelope(named, None, message or None)
    return None


def format_datetime(value: datetime) -> str:
    """An aware datetime as R7 writes it: UTC with a ``Z`` (``2025-03-10T10:00:00Z``)."""
    # isoformat, not strftime: glibc's %Y does not pad years below 1000 to four digits.
    value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds") + "Z"


def decode_listing(
    transport: Transport, raw: bytes, model: type[S], listing: Any, *, method: str, path: str
) -> list[S]:
    """A listing of ``model`` (``listing`` is ``list[model] | model | None``).

    When it does not decode, each item is read again with a ``null`` or an empty string
    taken as the field's default (``"StartDate": ""`` is no date, ``"IsAllDay": null`` is
    false), so one odd value does not fail a whole listing; anything else still raises.
    """
    try:
        answer: list[S] | S | None = transport.decode(raw, listing, method=method, path=path)
    except DecodeError as error:
        return _decode_leniently(raw, model, error)
    return as_list(answer)


def _decode_leniently(raw: bytes, model: type[S], error: DecodeError) -> list[S]:
    try:
        # The transport's repair is not applied to a raw body: MaxValue must not fail here.
        answer = msgspec.json.decode(without_max_value_fractions(raw))
    except msgspec.DecodeError:
        raise error from None
    items = as_list(answer)
    optional = _optional_fields(model)
    cleaned = [
        {key: value for key, value in item.items() if not (key in optional and value in _BLANK)}
        if isinstance(item, dict)
        else item
        for item in items
    ]
    try:
        decoded = msgspec.convert(cleaned, list[model])  # type: ignore[valid-type]
    except msgspec.ValidationError:
        raise error from None
    logger.info("%s: nulls or empty strings in the answer were read as defaults", error.url)
    return decoded


_BLANK: Final = ("", None)


@functools.cache
def _optional_fields(model: type[msgspec.Struct]) -> frozenset[str]:
    # The wire names of the fields that have a default to fall back on.
    return frozenset(
        field.encode_name
        for field in msgspec.structs.fields(model)
        if field.default is not msgspec.NODEFAULT or field.default_factory is not msgspec.NODEFAULT
    )


def as_list(answer: list[T] | T | None) -> list[T]:
    """A listing as a list, also when the server answered a single object or ``null``.

    The resources ask the transport for ``list[X] | X | None``; a union is not a ``type[T]``
    for its overloads, so they keep it in an ``Any`` constant and type the stored answer.
    """
    if answer is None:
        return []
    if isinstance(answer, list):
        return answer
    return [answer]


async def call_expecting_true(
    transport: Transport, method: str, path: str, *, params: dict[str, int]
) -> None:
    """Send a call whose success answer is ``true``; any other answer raises :class:`APIError`."""
    raw = await transport.request(method, path, params=params, response_type=bytes)
    answer: Any
    try:
        answer = msgspec.json.decode(raw) if raw.strip() else None
    except msgspec.DecodeError:
        answer = raw.decode("utf-8", "replace")
    if answer is True:
        return
    query = "&".join(f"{key}={value}" for key, value in params.items())
    raise APIError(
        status=200,
        method=method,
        url=f"{transport.base_url}{path}?{query}",
        code=str(answer).lower() if isinstance(answer, bool) else None,
        message=f"the server did not confirm the operation (answered {answer!r:.100})",
        body=raw.decode("utf-8", "replace"),
    )


async def delete_expecting_true(transport: Transport, path: str, *, params: dict[str, int]) -> None:
    """A ``DELETE`` answered ``true``. A 404 to a retry counts as done only when an earlier
    attempt may have reached the server (its connection dropped after sending, it timed out,
    a gateway answered 502/504): that attempt deleted it. After clean refusals (503, 429)
    a 404 means there was nothing to delete, and raises :class:`NotFoundError`."""
    try:
        await call_expecting_true(transport, "DELETE", path, params=params)
    except NotFoundError as error:
        if not error.earlier_attempt_may_have_reached:
            raise
        logger.info(
            "DELETE %s %s: not found on attempt %d; an earlier attempt may have deleted it",
            path,
            params,
            error.attempt,
        )
