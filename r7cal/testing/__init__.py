"""Test doubles for code that uses :class:`r7cal.R7Client`: an in-memory R7 server on loopback.

Loaded only when imported (``import r7cal`` does not load ``aiohttp.web``)::

    from r7cal.testing import FakeR7Server

    async with FakeR7Server() as server:
        async with R7Client(server.url, login="user_test", password="TestPassword") as r7:
            ...

``r7cal.testing.demo`` seeds the sample data ``r7cal --demo`` shows.
"""

from .fake import (
    ALL_DAY_STORAGE,
    OVERLAP_RULES,
    AllDayStorage,
    FakeCalendar,
    FakeEvent,
    FakeR7Server,
    FakeUser,
    OverlapRule,
    TokenExpiry,
)

__all__ = [
    "ALL_DAY_STORAGE",
    "OVERLAP_RULES",
    "AllDayStorage",
    "FakeCalendar",
    "FakeEvent",
    "FakeR7Server",
    "FakeUser",
    "OverlapRule",
    "TokenExpiry",
]
