"""What every backend client shares: ``async with`` and ``aclose()`` over its transport."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import Self

from .transport import Transport


def from_environment(names: Mapping[str, str]) -> dict[str, str]:
    """``{argument: value}`` of the variables ``names`` maps arguments to, those set and not
    empty (what a client's ``from_env`` reads; values never go into a message)."""
    found = {argument: os.environ.get(variable, "") for argument, variable in names.items()}
    return {argument: value for argument, value in found.items() if value}


class ClientBase:
    """Lifecycle of a backend client; the subclass sets :attr:`transport` in ``__init__``."""

    transport: Transport

    async def __aenter__(self) -> Self:
        await self.transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop calls in flight (they raise ``ClientClosedError``) and close the HTTP session
        if the client opened it (a session you passed in stays open)."""
        await self.transport.aclose()
