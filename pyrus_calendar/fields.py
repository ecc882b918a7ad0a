"""Form fields and their typed values.

A field's JSON ``value`` changes shape with its ``type``. :class:`FormField` keeps the raw
JSON (``raw_value``, sent as ``value``) and turns it into a typed Python value on first
access (:attr:`FormField.value`). A type this SDK does not know, or a value that does not
fit its type, becomes :class:`UnknownValue` carrying the raw JSON: nothing is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any, TypeAlias

import msgspec

from ._base import PyrusModel, format_utc, to_utc

__all__ = [
    "CatalogValue",
    "FieldValue",
    "File",
    "FormField",
    "FormLinkValue",
    "MultipleChoiceValue",
    "Person",
    "Project",
    "ProjectsValue",
    "TableRow",
    "TitleValue",
    "UnknownValue",
]

logger = logging.getLogger(__name__)


def _text_or_none(value: str | int | None) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


class Person(PyrusModel, frozen=True):
    """A user, bot or role. ``external_id``/``phone``/``mobile_phone`` are always str here,
    even when a server sends them as numbers."""

    id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    type: str | None = None
    external_id: str | int | None = None
    department_id: int | None = None
    department_name: str | None = None
    banned: bool | None = None
    position: str | None = None
    skype: str | None = None
    phone: str | int | None = None
    mobile_phone: str | int | None = None
    status: str | None = None
    avatar_id: int | None = None

    def __post_init__(self) -> None:
        # One cheap test per person: a page carries hundreds of them.
        if int in (type(self.external_id), type(self.phone), type(self.mobile_phone)):
            for name in ("external_id", "phone", "mobile_phone"):
                value = getattr(self, name)
                if isinstance(value, int):
                    msgspec.structs.force_setattr(self, name, _text_or_none(value))

    @property
    def full_name(self) -> str:
        """First and last name joined, skipping empty parts."""
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class File(PyrusModel, frozen=True):
    """An attached file."""

    id: int | None = None
    name: str | None = None
    size: int | None = None
    md5: str | None = None
    url: str | None = None
    version: int | None = None
    root_id: int | None = None


class CatalogValue(PyrusModel, frozen=True):
    """Value of a ``catalog`` field: the chosen item(s) and their column texts."""

    item_id: int | None = None
    item_ids: list[int] = msgspec.field(default_factory=list)
    item_name: str | None = None
    item_names: list[str] = msgspec.field(default_factory=list)
    headers: list[str] = msgspec.field(default_factory=list)
    values: list[str] = msgspec.field(default_factory=list)
    rows: list[list[str]] = msgspec.field(default_factory=list)


class MultipleChoiceValue(PyrusModel, frozen=True):
    """Value of a ``multiple_choice`` field, with the child fields of the chosen option."""

    choice_id: int | None = None
    choice_ids: list[int] = msgspec.field(default_factory=list)
    choice_names: list[str] = msgspec.field(default_factory=list)
    fields: list[FormField] = msgspec.field(default_factory=list)


class TitleValue(PyrusModel, frozen=True):
    """Value of a ``title`` field: a group of child fields, optionally with a checkmark."""

    checkmark: str | None = None
    fields: list[FormField] = msgspec.field(default_factory=list)


class TableRow(PyrusModel, frozen=True):
    """One row of a ``table`` field."""

    row_id: int | None = None
    cells: list[FormField] = msgspec.field(default_factory=list)
    position: int | None = None
    deleted: bool | None = None


class FormLinkValue(PyrusModel, frozen=True):
    """Value of a ``form_link`` field: linked task(s)."""

    task_id: int | None = None
    task_ids: list[int] = msgspec.field(default_factory=list)
    subject: str | None = None


class Project(PyrusModel, frozen=True):
    """A project of a ``project`` field; ``parent`` chains up the project tree."""

    id: int | None = None
    name: str | None = None
    parent: Project | None = None


class ProjectsValue(PyrusModel, frozen=True):
    """Value of a ``project`` field."""

    projects: list[Project] = msgspec.field(default_factory=list)


class UnknownValue(PyrusModel, frozen=True):
    """The escape hatch: a field type this SDK does not know (or a value that does not fit
    its type), with the raw JSON value as the server sent it."""

    type: str
    raw: Any = None


#: What :attr:`FormField.value` returns: one Python type per Pyrus field type.
FieldValue: TypeAlias = (
    str
    | float
    | int
    | bool
    | date
    | datetime
    | time
    | Person
    | list[File]
    | list[TableRow]
    | CatalogValue
    | MultipleChoiceValue
    | TitleValue
    | FormLinkValue
    | ProjectsValue
    | UnknownValue
    | None
)


class FormField(PyrusModel, frozen=True):
    """A form field. ``value`` is typed by ``type``:

    text, note, email, phone, flag, status -> ``str``; money, number -> ``float``;
    checkmark -> ``bool``; step -> ``int``; date, due_date -> ``date``;
    due_date_time -> ``datetime`` (UTC); time -> ``time``; creation_date -> ``date`` or
    ``datetime``; person, author -> :class:`Person`; file -> ``list[File]`` (empty when
    missing); table -> ``list[TableRow]``; title -> :class:`TitleValue`; catalog ->
    :class:`CatalogValue`; multiple_choice -> :class:`MultipleChoiceValue`; form_link ->
    :class:`FormLinkValue`; project -> :class:`ProjectsValue`; anything else ->
    :class:`UnknownValue`. ``raw_value`` is the JSON value as sent (``value_json``: its bytes).
    """

    id: int | None = None
    type: str = ""
    name: str | None = None
    # Kept as the undecoded JSON: a page holds thousands of field values, most never read,
    # and a typed value decodes straight from these bytes when it is.
    value_json: msgspec.Raw | msgspec.UnsetType = msgspec.field(default=msgspec.UNSET, name="value")
    code: str | None = None
    parent_id: int | None = None
    row_id: int | None = None
    duration: int | None = None

    @property
    def raw_value(self) -> Any:
        """The field's JSON value as plain Python data (``None`` when the server sent none)."""
        if self.value_json is msgspec.UNSET:
            return None
        return msgspec.json.decode(self.value_json)

    @property
    def value(self) -> FieldValue:
        """The value as a Python object of the type's class (see the class docstring).

        Decoded on each access, so that decoding a page stays cheap for the fields nobody
        reads: keep the result when you use it more than once.
        """
        struct_type = _STRUCT_KINDS.get(self.type)
        if struct_type is not None and self.value_json is not msgspec.UNSET:
            try:
                return msgspec.json.decode(self.value_json, type=struct_type, strict=False)  # type: ignore[no-any-return]
            except msgspec.ValidationError:
                pass  # null, "" or an odd shape: the general path below decides
        return typed_value(self.type, self.raw_value)

    @classmethod
    def of(cls, type: str, value: Any = None, **attributes: Any) -> FormField:
        """A field built from a typed value: ``FormField.of("date", date(2024, 5, 1), id=3)``."""
        raw = raw_value(type, value)
        encoded = msgspec.UNSET if raw is None else msgspec.Raw(msgspec.json.encode(raw))
        return cls(type=type, value_json=encoded, **attributes)


def typed_value(kind: str, raw: Any) -> FieldValue:
    """Turn the raw JSON ``value`` of a field of type ``kind`` into its typed value."""
    converter = _CONVERTERS.get(kind)
    if converter is None:
        return UnknownValue(type=kind, raw=raw)
    if raw is None or (raw == "" and kind not in _TEXT_KINDS):
        return [] if kind in ("file", "table") else None
    try:
        return converter(raw)
    except (msgspec.ValidationError, ValueError, TypeError) as error:
        logger.debug("field of type %r: value kept raw (%s)", kind, error)
        return UnknownValue(type=kind, raw=raw)


def raw_value(kind: str, value: Any) -> Any:
    """The JSON form of a typed ``value`` for a field of type ``kind``."""
    if value is None:
        return None
    if isinstance(value, UnknownValue):
        return value.raw
    if kind == "checkmark" and isinstance(value, bool):
        return "checked" if value else "unchecked"
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return msgspec.to_builtins(value)


def _text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return str(raw)
    raise TypeError(f"expected text, got {type(raw).__name__}")


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        raise TypeError("expected a number, got bool")
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        return float(raw.replace(",", ".").replace(" ", ""))
    raise TypeError(f"expected a number, got {type(raw).__name__}")


def _integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise TypeError("expected an int, got bool")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        return int(raw)
    raise TypeError(f"expected an int, got {type(raw).__name__}")


def _checkmark(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw in ("checked", "unchecked"):
        return bool(raw == "checked")
    raise ValueError(f"unexpected checkmark value {raw!r}")


def _date(raw: Any) -> date:
    # A datetime string also names a day; its date part is the one the server meant.
    return date.fromisoformat(_text(raw)[:10])


def _time(raw: Any) -> time:
    return time.fromisoformat(_text(raw))


def _datetime(raw: Any) -> datetime:
    text = _text(raw)
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
    return to_utc(datetime.fromisoformat(text))


def _date_or_datetime(raw: Any) -> date | datetime:
    text = _text(raw)
    return date.fromisoformat(text) if len(text) == 10 else _datetime(text)


def _struct(kind: type[Any]) -> Callable[[Any], Any]:
    def convert(raw: Any) -> Any:
        return msgspec.convert(raw, kind, strict=False)

    return convert


_TEXT_KINDS = frozenset({"text", "note", "email", "phone", "flag", "status"})

_STRUCT_KINDS: dict[str, Any] = {
    "person": Person,
    "author": Person,
    "file": list[File],
    "table": list[TableRow],
    "title": TitleValue,
    "catalog": CatalogValue,
    "multiple_choice": MultipleChoiceValue,
    "form_link": FormLinkValue,
    "project": ProjectsValue,
}

_CONVERTERS: dict[str, Callable[[Any], FieldValue]] = {
    "text": _text,
    "note": _text,
    "email": _text,
    "phone": _text,
    "flag": _text,
    "status": _text,
    "money": _number,
    "number": _number,
    "checkmark": _checkmark,
    "step": _integer,
    "date": _date,
    "due_date": _date,
    "due_date_time": _datetime,
    "time": _time,
    "creation_date": _date_or_datetime,
    **{kind: _struct(struct_type) for kind, struct_type in _STRUCT_KINDS.items()},
}
