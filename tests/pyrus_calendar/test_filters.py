"""CalendarFilter and filter_mask: names, numbers and the errors a user sees."""

from __future__ import annotations

import pytest

from pyrus_calendar import CalendarFilter, filter_mask


def test_values_match_the_api() -> None:
    assert int(CalendarFilter.DUE) == 1
    assert int(CalendarFilter.DUE_DATE) == 2
    assert int(CalendarFilter.DUE_FOR_CURRENT_STEP) == 4
    assert int(CalendarFilter.REMINDED) == 8
    assert CalendarFilter.DEFAULT == CalendarFilter.DUE | CalendarFilter.DUE_DATE | 4
    assert int(CalendarFilter.ALL) == 15


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("due", 1),
        ("DueDate", 2),
        ("due_date", 2),
        ("due-for-current-step", 4),
        ("due|reminded", 9),
        ("due, due_date", 3),
        ("DUE_DATE|DueForCurrentStep", 6),
        ("all", 15),
        ("default", 7),
        ("12", 12),
    ],
)
def test_parse_names(text: str, expected: int) -> None:
    assert CalendarFilter.parse(text) == CalendarFilter(expected)


def test_parse_ints_and_members() -> None:
    assert CalendarFilter.parse(5) is CalendarFilter(5)
    assert CalendarFilter.parse(CalendarFilter.REMINDED) == CalendarFilter.REMINDED


def test_filter_mask_names_and_flags() -> None:
    assert filter_mask("due", "due_date") == CalendarFilter(3)
    assert filter_mask(due=True, reminded=True) == CalendarFilter(9)
    assert filter_mask("due", due_for_current_step=True) == CalendarFilter(5)
    assert filter_mask(CalendarFilter.ALL) == CalendarFilter.ALL


@pytest.mark.parametrize("bad", ["overdue", "due|nope", "", " , "])
def test_unknown_names_list_the_valid_ones(bad: str) -> None:
    with pytest.raises(ValueError, match="due_date, due_for_current_step, reminded"):
        CalendarFilter.parse(bad)


@pytest.mark.parametrize("bad", [0, 16, -1, 255])
def test_numbers_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError, match=r"1\.\.15|selects nothing"):
        CalendarFilter.parse(bad)


def test_zero_selects_nothing() -> None:
    with pytest.raises(ValueError, match="selects nothing"):
        CalendarFilter.parse("0")
    with pytest.raises(ValueError, match="selects nothing"):
        filter_mask()


def test_wrong_types() -> None:
    with pytest.raises(TypeError):
        CalendarFilter.parse(True)
    with pytest.raises(TypeError):
        CalendarFilter.parse(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        filter_mask(due=1)  # type: ignore[arg-type]
