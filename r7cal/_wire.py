"""Small helpers both resources share: R7's date format, its ``true`` answers, its lists."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec

from calendar_transport import APIError, Transport

T = TypeVar("T")


def format_datetime(value: datetime) -> str:
    """An aware datetime as R7 writes it: UTC with a ``Z`` (``2025-03-10T10:00:00Z``)."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def as_list(answer: list[T] | T | None) -> list[T]:
    """A listing as a list, also when the server answered a single object or ``null``."""
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
