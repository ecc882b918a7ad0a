"""The base of every Pyrus model: tolerant msgspec decoding, datetimes always aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec


def to_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken to be UTC already (Pyrus sends UTC)."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class PyrusModel(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """Unknown keys are ignored, omitted keys take their defaults, and empty values are not
    sent back when a model is encoded (Pyrus omits empty fields rather than sending null)."""

    def __post_init__(self) -> None:
        # Some servers and proxies drop the "Z"; one with an offset is still a real instant.
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, datetime) and value.tzinfo is not UTC:
                msgspec.structs.force_setattr(self, name, to_utc(value))
