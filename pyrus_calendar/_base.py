"""The bases of every Pyrus model: tolerant msgspec decoding, datetimes always aware UTC."""

from __future__ import annotations

import functools
import typing
from datetime import UTC, datetime

import msgspec


def to_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already (Pyrus sends UTC)."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_utc(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC, the format ``/calendar`` takes."""
    # isoformat, not strftime: glibc's %Y does not pad years below 1000 to four digits.
    return to_utc(value).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


class PyrusModel(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, gc=False):
    """Unknown keys are ignored, omitted keys take their defaults, and empty values are not
    sent back when a model is encoded (Pyrus omits empty fields rather than sending null).

    Models are plain data with no reference cycles, so the garbage collector need not track
    them (``gc=False``): with thousands of objects per page, tracking made decoding 2x slower.
    """


class TimedModel(PyrusModel, frozen=True):
    """A model with datetime fields: each is made aware UTC after decoding.

    Only the few models that hold datetimes pay for this check; a page holds thousands of
    the others (persons, approvals, fields), and a Python hook on each would cost more than
    decoding them.
    """

    def __post_init__(self) -> None:
        # Some servers and proxies drop the "Z"; one with an offset is still a real instant.
        for name in _datetime_fields(type(self)):
            value = getattr(self, name)
            if value is not None and value.tzinfo is not UTC:
                msgspec.structs.force_setattr(self, name, to_utc(value))


@functools.cache
def _datetime_fields(cls: type[msgspec.Struct]) -> tuple[str, ...]:
    return tuple(
        field.name
        for field in msgspec.structs.fields(cls)
        if field.type is datetime or datetime in typing.get_args(field.type)
    )
