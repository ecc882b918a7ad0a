"""The local time zone with its rules for every date, for what people type and read."""

from __future__ import annotations

import contextlib
import os
import zoneinfo
from datetime import UTC, datetime, tzinfo

__all__ = ["local_zone"]


def local_zone() -> tzinfo:
    """The system's time zone with its rules for every date (``TZ``, else /etc/localtime).

    Unlike ``datetime.now().astimezone().tzinfo``, which is only today's UTC offset, this
    puts a July time typed in winter in summer time.
    """
    name = (os.environ.get("TZ") or "").removeprefix(":")
    if name:
        with contextlib.suppress(ValueError, zoneinfo.ZoneInfoNotFoundError):
            return zoneinfo.ZoneInfo(name)
    else:
        with contextlib.suppress(OSError, ValueError), open("/etc/localtime", "rb") as file:
            return zoneinfo.ZoneInfo.from_file(file, key="localtime")
    # A TZ that is not a zone name (e.g. "CET-1CEST") or no zone file: the C library's
    # rules for this moment are the best left.
    return datetime.now().astimezone().tzinfo or UTC
