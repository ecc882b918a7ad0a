"""Decoding real-shaped calendar answers into the typed models."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import msgspec
import pytest

from pyrus_calendar import (
    CalendarPage,
    CatalogValue,
    File,
    FormField,
    FormLinkValue,
    Meeting,
    MeetingJoinParameters,
    MultipleChoiceValue,
    Person,
    ProjectsValue,
    TableRow,
    Task,
    TitleValue,
    UnknownValue,
)

PAGE = (Path(__file__).parent / "data" / "calendar_page.json").read_bytes()


@pytest.fixture(scope="module")
def page() -> CalendarPage:
    return msgspec.json.decode(PAGE, type=CalendarPage)


@pytest.fixture(scope="module")
def task(page: CalendarPage) -> Task:
    return page.tasks[0]


def test_task_attributes(task: Task) -> None:
    assert task.id == 501
    assert task.subject == "Договор №17"
    assert task.create_date == datetime(2024, 4, 30, 8, 15, tzinfo=UTC)
    assert task.due == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert task.due_date == date(2024, 5, 1)
    assert task.scheduled_date == date(2024, 5, 3)
    assert task.scheduled_datetime_utc == datetime(2024, 5, 3, 7, 0, tzinfo=UTC)
    assert (task.duration, task.form_id, task.current_step) == (45, 3001, 2)
    assert task.is_closed is True
    assert (task.list_ids, task.linked_task_ids, task.parent_task_id) == ([41, 42], [777], 400)
    assert task.last_note_id == 9001
    assert task.attachments[0] == File(
        id=1,
        name="contract.pdf",
        size=2048,
        md5="ABC",
        url="https://files.example/1",
        version=2,
        root_id=1,
    )
    assert task.participants[0].full_name == "Иван Сидоров"
    assert task.subscribers[0].person is not None
    assert task.subscribers[0].person.type == "role"
    assert [[a.approval_choice for a in step] for step in task.approvals] == [
        ["approved"],
        ["waiting", "rejected"],
    ]


def test_every_datetime_is_aware_utc(task: Task) -> None:
    # "+03:00" and a missing "Z" both come out as UTC instants
    assert task.last_modified_date == datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
    assert task.close_date == datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
    for value in (task.create_date, task.last_modified_date, task.close_date, task.due):
        assert value is not None
        assert value.utcoffset() is not None
        assert value.tzinfo is UTC


def test_person_numbers_where_text_is_documented(task: Task) -> None:
    author = task.author
    assert author is not None
    assert author.external_id == "98765"
    assert author.mobile_phone == "79990001122"
    assert author.position == ""  # empty strings stay as they are


def test_last_comment(task: Task) -> None:
    (comment,) = task.comments
    assert comment.text == "Согласовано"
    assert comment.action == "finished"
    assert comment.reassigned_to == Person(id=12, type="bot")
    assert (comment.approval_choice, comment.approval_step, comment.changed_step) == (
        "approved",
        2,
        3,
    )
    assert comment.due_date == date(2024, 5, 21)
    assert comment.approvals_added[0][0].step == 2
    assert comment.field_updates[0].value == 125000.5
    assert comment.subscribers_added[0].id == 14


@pytest.mark.parametrize(
    ("field_id", "expected"),
    [
        (1, "Поставка бумаги"),
        (2, 125000.5),
        (3, 40.0),
        (4, date(2024, 5, 10)),
        (5, time(9, 45)),
        (6, False),
        (7, "red"),
        (8, date(2024, 5, 20)),
        (9, datetime(2024, 5, 20, 15, 0, tzinfo=UTC)),
        (13, []),  # "value": null
        (14, []),  # no value at all
        (21, 2),
        (22, "closed"),
        (23, date(2024, 4, 30)),  # creation_date, date only
        (24, datetime(2024, 4, 30, 8, 15, tzinfo=UTC)),  # creation_date with time
        (25, "Только для чтения"),
        (26, "boss@example.org"),
        (27, "74950000000"),  # a phone sent as a number
        (29, None),  # an empty date
        (30, 12.5),  # a number sent as text with a decimal comma
    ],
)
def test_scalar_field_values(task: Task, field_id: int, expected: object) -> None:
    field = task.field(field_id)
    assert field is not None
    assert field.value == expected
    assert type(field.value) is type(expected)


def test_structured_field_values(task: Task) -> None:
    catalog = task.field("Поставщик")
    assert catalog is not None
    assert catalog.value == CatalogValue(
        item_id=55,
        item_ids=[55],
        headers=["Название", "ИНН"],
        values=["Бумажный двор", "7700000000"],
        rows=[["Бумажный двор", "7700000000"]],
    )
    choice = task.field(11)
    assert choice is not None
    assert isinstance(choice.value, MultipleChoiceValue)
    assert choice.value.choice_names == ["Расходники"]
    assert choice.value.fields[0].value == "плотная"
    files = task.field(12)
    assert files is not None
    assert files.value == [File(id=2, name="scan.png", size=100)]
    curator = task.field(15)
    assert curator is not None
    assert curator.value == Person(id=17, first_name="Олег", type="user")
    author = task.field(16)
    assert author is not None
    assert isinstance(author.value, Person)
    table = task.field(17)
    assert table is not None
    assert isinstance(table.value, list)
    first, deleted = table.value
    assert isinstance(first, TableRow)
    assert isinstance(deleted, TableRow)
    assert [cell.value for cell in first.cells] == ["Бумага", 40.0]
    assert deleted.deleted is True
    title = task.field(18)
    assert title is not None
    assert isinstance(title.value, TitleValue)
    assert title.value.checkmark == "checked"
    assert title.value.fields[0].value == "buy@example.org"
    link = task.field(19)
    assert link is not None
    assert link.value == FormLinkValue(task_id=888, task_ids=[888, 889], subject="Счёт 5")
    project = task.field(20)
    assert project is not None
    assert isinstance(project.value, ProjectsValue)
    parent = project.value.projects[0].parent
    assert parent is not None
    assert parent.name == "Хозяйство"
    due = task.field(8)
    assert due is not None
    assert due.duration == 60


def test_unknown_type_and_unfit_value_keep_the_raw_json(task: Task) -> None:
    new_type = task.field(28)
    assert new_type is not None
    assert new_type.value == UnknownValue(
        type="signature_v2", raw={"who": 11, "when": "2024-05-01"}
    )
    odd = task.field(31)
    assert odd is not None
    assert odd.value == UnknownValue(type="checkmark", raw="maybe")


def test_every_field_type_is_covered(task: Task) -> None:
    documented = {
        "text", "money", "number", "date", "time", "checkmark", "flag", "due_date",
        "due_date_time", "catalog", "multiple_choice", "file", "person", "author", "table",
        "title", "form_link", "project", "step", "status", "creation_date", "note", "email",
        "phone",
    }  # fmt: skip
    types = {field.type for field in task.fields}
    assert documented <= types
    for field in task.fields:
        if field.type in documented and field.id not in (29, 31):
            assert not isinstance(field.value, UnknownValue), field


def test_minimal_task_and_unknown_keys(page: CalendarPage) -> None:
    minimal = page.tasks[1]
    assert minimal == Task(id=502, text="Минимальная задача")
    assert minimal.fields == []
    assert minimal.due is None
    assert minimal.is_closed is False
    assert minimal.field("nothing") is None


def test_meetings(page: CalendarPage) -> None:
    zoom, deleted = page.meetings
    assert zoom.start_time == datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
    assert zoom.join_parameters is not None
    assert zoom.join_parameters.url == "https://meet.example/71"
    assert zoom.join_parameters.external_id == "84512345678"
    assert zoom.join_parameters.password == "4321"
    assert (zoom.creator_id, zoom.task_id, zoom.duration) == (11, 501, 30)
    assert zoom.shared_to_email is True
    assert deleted.deleted is True
    assert not zoom.deleted


def test_round_trip_keeps_raw_values_and_omits_empty_fields(task: Task) -> None:
    encoded = msgspec.json.encode(task)
    again = msgspec.json.decode(encoded, type=Task)
    assert again == task
    assert msgspec.json.decode(msgspec.json.encode(Task(id=1)), type=dict) == {"id": 1}


def test_form_field_of_builds_raw_values() -> None:
    assert FormField.of("date", date(2024, 5, 1)).raw_value == "2024-05-01"
    assert FormField.of("time", time(9, 5)).raw_value == "09:05"
    assert FormField.of("checkmark", True).raw_value == "checked"
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert FormField.of("due_date_time", moment).value == moment
    person = FormField.of("person", Person(id=3, first_name="Ян"), id=9)
    assert person.raw_value == {"id": 3, "first_name": "Ян"}
    assert person.value == Person(id=3, first_name="Ян")


def test_meeting_join_password_stays_out_of_reprs() -> None:
    meeting = Meeting(id=1, join_parameters=MeetingJoinParameters(url="https://m", password=4321))
    assert "4321" not in repr(meeting)
    assert meeting.join_parameters is not None
    assert meeting.join_parameters.password == "4321"  # still there for the caller
