"""The ``filter_mask`` of ``GET /calendar``: which kinds of calendar entries a call selects."""

from __future__ import annotations

import enum
import re

__all__ = ["CalendarFilter", "FilterLike", "filter_mask"]


class CalendarFilter(enum.IntFlag):
    """Bits of Pyrus' ``filter_mask``; combine them with ``|``.

    ``DUE``: the task's ``due`` (date and time) is in the window. ``DUE_DATE``: its
    ``due_date`` falls on one of the window's calendar dates (time ignored).
    ``DUE_FOR_CURRENT_STEP``: the current step's deadline is in the window.
    ``REMINDED``: a reminder is set inside the window.
    """

    DUE = 1
    DUE_DATE = 2
    DUE_FOR_CURRENT_STEP = 4
    REMINDED = 8
    DEFAULT = 7
    ALL = 15

    @classmethod
    def parse(cls, value: FilterLike) -> CalendarFilter:
        """A mask from a ``CalendarFilter``, an int 1..15, a name or ``"due,reminded"``/``"a|b"``.

        Raises ``ValueError`` naming the valid names for an unknown name, a number outside
        1..15, or an empty selection (0 selects nothing).
        """
        if isinstance(value, bool):
            raise TypeError("filters must be a CalendarFilter, an int or a str, not bool")
        if isinstance(value, int):
            return _from_int(int(value))
        if not isinstance(value, str):
            raise TypeError(
                f"filters must be a CalendarFilter, an int or a str, not {type(value).__name__}"
            )
        text = value.strip()
        if text.isdigit():
            return _from_int(int(text))
        parts = [part for part in re.split(r"[,|+\s]+", text) if part]
        if not parts:
            raise ValueError(f"filters must name at least one filter; valid names: {_valid()}")
        mask = 0
        for part in parts:
            mask |= _by_name(part)
        return cls(mask)


FilterLike = CalendarFilter | int | str

_NAMES: dict[str, CalendarFilter] = {
    "due": CalendarFilter.DUE,
    "duedate": CalendarFilter.DUE_DATE,
    "dueforcurrentstep": CalendarFilter.DUE_FOR_CURRENT_STEP,
    "reminded": CalendarFilter.REMINDED,
    "default": CalendarFilter.DEFAULT,
    "all": CalendarFilter.ALL,
}


def _valid() -> str:
    return "due, due_date, due_for_current_step, reminded, default, all"


def _by_name(name: str) -> CalendarFilter:
    # "DueDate", "due_date", "due-date" and "DUE_DATE" all mean the same bit
    key = re.sub(r"[_\-\s]", "", name).lower()
    try:
        return _NAMES[key]
    except KeyError:
        raise ValueError(f"unknown calendar filter {name!r}; valid names: {_valid()}") from None


def _from_int(value: int) -> CalendarFilter:
    if value == 0:
        raise ValueError(f"filter mask 0 selects nothing; use 1..15 or names: {_valid()}")
    if not 0 < value <= int(CalendarFilter.ALL):
        raise ValueError(f"filter mask must be 1..15, got {value}; names: {_valid()}")
    return CalendarFilter(value)


def filter_mask(
    *names: FilterLike,
    due: bool = False,
    due_date: bool = False,
    due_for_current_step: bool = False,
    reminded: bool = False,
) -> CalendarFilter:
    """Build a mask from names and/or keyword flags: ``filter_mask("due", reminded=True)``."""
    mask = 0
    for name in names:
        mask |= CalendarFilter.parse(name)
    for flag, bit in (
        (due, CalendarFilter.DUE),
        (due_date, CalendarFilter.DUE_DATE),
        (due_for_current_step, CalendarFilter.DUE_FOR_CURRENT_STEP),
        (reminded, CalendarFilter.REMINDED),
    ):
        if not isinstance(flag, bool):
            raise TypeError(f"filter flags must be bool, got {type(flag).__name__}")
        if flag:
            mask |= bit
    if not mask:
        raise ValueError(f"filter_mask() selects nothing; pass names or flags: {_valid()}")
    return CalendarFilter(mask)
