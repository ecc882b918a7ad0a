"""``r7.calendars``: create, list, delete, clear and share calendars."""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable
from typing import Any, Final

from calendar_transport import Transport
from calendar_transport.checks import require_id, require_ids, require_int, require_text

from ._wire import MAX_TEXT, call_expecting_true, decode_listing, delete_expecting_true
from .models import AccessLevel, Calendar, ShareResult

#: ``EntityType`` of a calendar in ``POST /api/v1/Share``
CALENDAR_ENTITY_TYPE: Final = 14

_LISTING: Any = list[Calendar] | Calendar | None
_COLOR = re.compile(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})")


def check_color(value: object) -> str:
    """A ``#RGB`` or ``#RRGGBB`` colour (surrounding spaces dropped)."""
    if not isinstance(value, str):
        raise TypeError(f"color must be a str like '#FFC078', not {type(value).__name__}")
    color = value.strip()
    if not _COLOR.fullmatch(color):
        raise ValueError(f"color must be '#RGB' or '#RRGGBB', got {value!r:.40}")
    return color


class Calendars:
    """The calendar endpoints. Reached as ``R7Client.calendars``."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def create(
        self,
        *,
        name: str | None = None,
        short_name: str | None = None,
        type: int = 1,
        status: int = 1,
        color: str | None = None,
    ) -> Calendar:
        """Create a calendar (``POST /api/v1/Calendars/save``); keyword arguments only.

        ``name`` may be empty; ``type`` and ``status`` are R7's numbers (1 and 1 unless you
        know better), passed on as they are.
        """
        fields = {
            "Name": require_text(name, "name", max_length=MAX_TEXT),
            "ShortName": require_text(short_name, "short_name", max_length=MAX_TEXT),
            "Type": require_int(type, "type"),
            "Status": require_int(status, "status"),
            "Color": None if color is None else check_color(color),
        }
        body = {key: value for key, value in fields.items() if value is not None}
        # A save is not idempotent: sent twice it makes two calendars, so it is never re-sent.
        return await self._transport.request(
            "POST", "/api/v1/Calendars/save", json=body, response_type=Calendar, idempotent=False
        )

    async def list(self) -> builtins.list[Calendar]:
        """The user's calendars and those shared with them (``GET /api/v1/email/Calendars``)."""
        path = "/api/v1/email/Calendars"
        raw = await self._transport.request("GET", path, response_type=bytes)
        return decode_listing(self._transport, raw, Calendar, _LISTING, method="GET", path=path)

    async def delete(self, calendar_id: int) -> None:
        """Delete a calendar and its events. The user's main calendar cannot be deleted."""
        calendar_id = require_id(calendar_id, "calendar_id")
        await delete_expecting_true(
            self._transport, "/api/v1/Calendars", params={"id": calendar_id}
        )

    async def clear(self, calendar_id: int) -> None:
        """Delete every event of a calendar, keeping the calendar."""
        calendar_id = require_id(calendar_id, "calendar_id")
        await call_expecting_true(
            self._transport, "GET", "/api/v1/Calendars/Clear", params={"id": calendar_id}
        )

    async def share(
        self,
        calendar_ids: Iterable[int],
        user_ids: Iterable[int],
        access: AccessLevel | str | int = AccessLevel.READ,
    ) -> ShareResult:
        """Give ``user_ids`` ``access`` (READ, WRITE or FULL) to ``calendar_ids``."""
        body = {
            "Ids": require_ids(calendar_ids, "calendar_ids"),
            "UserIds": require_ids(user_ids, "user_ids"),
            "Type": AccessLevel.parse(access).name,
            "EntityType": CALENDAR_ENTITY_TYPE,
        }
        # Granting the same access twice changes nothing, so a lost answer is asked for again.
        return await self._transport.request(
            "POST", "/api/v1/Share", json=body, response_type=ShareResult, idempotent=True
        )
