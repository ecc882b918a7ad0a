"""Test doubles for code that uses :class:`pyrus_calendar.PyrusClient`: an in-memory Pyrus
calendar API on loopback.

Loaded only when imported (``import pyrus_calendar`` does not load ``aiohttp.web``)::

    from pyrus_calendar.testing import FakePyrusServer

    async with FakePyrusServer() as server:
        async with PyrusClient(
            base_url=server.api_url,
            login=FakePyrusServer.DEFAULT_LOGIN,
            security_key=FakePyrusServer.DEFAULT_SECURITY_KEY,
        ) as pyrus:
            ...

``pyrus_calendar.testing.demo`` seeds the sample data ``pyrus-calendar --demo`` shows.
"""

from .fake import FakePyrusServer, Order

__all__ = ["FakePyrusServer", "Order"]
