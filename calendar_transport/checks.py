"""Argument checks shared by both backends: they raise before any request goes out and
name the argument that is wrong."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime


def require_aware(value: object, name: str) -> datetime:
    """``value`` as a UTC datetime; naive datetimes and other types are refused."""
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} must be timezone-aware (got naive {value.isoformat()}); "
            "e.g. datetime(..., tzinfo=timezone.utc)"
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # datetime.min east of UTC (or datetime.max west of it) is outside years 1..9999.
        raise ValueError(
            f"{name} {value.isoformat()} is outside the years 1..9999 in UTC; "
            f"use datetime.min/max with tzinfo=timezone.utc for an open end"
        ) from None


def require_range(
    start: datetime, end: datetime, *, names: tuple[str, str] = ("start", "end"), strict: bool
) -> None:
    """Refuse ``start`` after ``end`` (or equal to it, when ``strict``)."""
    if start > end or (strict and start == end):
        relation = "before" if strict else "before or equal to"
        raise ValueError(
            f"{names[0]} must be {relation} {names[1]} "
            f"(got {start.isoformat()} .. {end.isoformat()})"
        )


def require_id(value: object, name: str) -> int:
    """A positive integer id: ids are put into URLs, so nothing else may pass."""
    value = require_int(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be a positive id, got {value}")
    return value


def require_ids(values: object, name: str) -> list[int]:
    """A non-empty list of ids (any iterable of ints except a str or a single int)."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list of ints, not {type(values).__name__}")
    ids = [require_id(value, f"{name}[{index}]") for index, value in enumerate(values)]
    if not ids:
        raise ValueError(f"{name} must not be empty")
    return ids


def require_text(value: object, name: str, *, max_length: int, optional: bool = True) -> str | None:
    """A string no longer than ``max_length`` (``None`` allowed when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if len(value) > max_length:
        raise ValueError(f"{name} is {len(value)} characters long; the limit is {max_length}")
    return value


class WrongTypeError(TypeError, ValueError):
    """An argument of the wrong type: a :class:`TypeError`, and a :class:`ValueError` too,
    since a bad value of any kind is what a caller catches."""


def require_int(
    value: object, name: str, *, low: int | None = None, high: int | None = None
) -> int:
    """An int (a bool is refused, though Python counts it as one), within ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongTypeError(f"{name} must be an int, not {type(value).__name__} {value!r:.40}")
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            bounds = f"between {low} and {high}"
        else:
            bounds = f"at least {low}" if low is not None else f"at most {high}"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return value


def require_seconds(value: object, name: str, *, low: float = 0.0, above: bool = False) -> float:
    """A finite number of seconds, at least ``low`` (above it, with ``above``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WrongTypeError(f"{name} must be a number of seconds, got {value!r:.40}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    if value < low or (above and value == low):
        if above and low == 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        bound = f"above {low:g}" if above else f"at least {low:g}"
        raise ValueError(f"{name} must be {bound} seconds, got {value!r}")
    return float(value)


def require_bool(value: object, name: str) -> bool:
    """A real bool (``1`` or ``"yes"`` are refused: they usually mean a mistake)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return value


def require_credential(value: object, name: str) -> str | None:
    """``None`` or a non-empty str; the message never repeats the value (it may be a secret)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value


def require_finite_positive(value: object, name: str, *, allow_zero: bool = False) -> float:
    """A finite number of seconds above 0 (or at least 0 with ``allow_zero``); ``nan``,
    infinities, bools and strings are refused."""
    return require_seconds(value, name, above=not allow_zero)
