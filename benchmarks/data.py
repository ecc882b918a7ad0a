"""Realistic Pyrus calendar data for the benchmarks: tasks with form fields of many types,
two approval steps, subscribers and a last comment, as the real ``/calendar`` sends them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

#: the first day of the 30-day span the calendar benchmarks read
SPAN_START = datetime(2024, 5, 1, tzinfo=UTC)
SPAN_DAYS = 30
SPAN_END = SPAN_START + timedelta(days=SPAN_DAYS)

_NAMES = [("Анна", "Петрова"), ("Иван", "Сидоров"), ("Олег", "Кузнецов"), ("Мария", "Орлова")]


def _stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _person(rng: random.Random, *, full: bool = False) -> dict[str, Any]:
    first, last = rng.choice(_NAMES)
    person: dict[str, Any] = {
        "id": rng.randint(10, 500),
        "first_name": first,
        "last_name": last,
        "type": "user",
    }
    if full:
        person |= {
            "email": f"user{person['id']}@example.org",
            "department_id": rng.randint(1, 30),
            "department_name": "Закупки",
            "position": "Менеджер",
            "banned": False,
        }
    return person


def due_times(count: int, *, seed: int = 1) -> list[datetime]:
    """``count`` deadlines spread uniformly at random over the span, whole seconds."""
    rng = random.Random(seed)
    seconds = SPAN_DAYS * 86400
    return [SPAN_START + timedelta(seconds=rng.randrange(seconds)) for _ in range(count)]


MOSCOW = ZoneInfo("Europe/Moscow")
#: the afternoon of the burst in :func:`uneven_due_times` (Moscow time), a Thursday
BURST_START = datetime(2024, 5, 16, 14, 0, tzinfo=MOSCOW)
BURST_HOURS = 3
BURST_SHARE = 0.15
#: of the tasks outside the burst, the share due outside working hours (nights, weekends)
OFF_HOURS_SHARE = 0.1
_WORKDAY = (time(9), time(18))


def uneven_due_times(count: int, *, seed: int = 1) -> list[datetime]:
    """``count`` deadlines (UTC, whole seconds) loaded as a real office calendar is: 15 % in
    a burst on one afternoon (:data:`BURST_START`, three hours), most of the rest in
    working hours, 09:00-18:00 Monday to Friday Moscow time, the last tenth of it at any
    time of the 30 days."""
    rng = random.Random(seed)
    burst = round(count * BURST_SHARE)
    burst_start = BURST_START.astimezone(UTC)
    dues = [
        burst_start + timedelta(seconds=rng.randrange(BURST_HOURS * 3600)) for _ in range(burst)
    ]
    # Working hours by the zone's rules for each day (Moscow has no DST now, but the rule
    # for the date is what counts), as UTC second ranges to draw from.
    days = [(SPAN_START + timedelta(days=n)).astimezone(MOSCOW).date() for n in range(SPAN_DAYS)]
    hours = [
        (
            datetime.combine(day, _WORKDAY[0], MOSCOW).astimezone(UTC),
            int(
                (
                    datetime.combine(day, _WORKDAY[1], MOSCOW)
                    - datetime.combine(day, _WORKDAY[0], MOSCOW)
                ).total_seconds()
            ),
        )
        for day in days
        if day.weekday() < 5
    ]
    span = SPAN_DAYS * 86400
    for _ in range(count - burst):
        if rng.random() < OFF_HOURS_SHARE:
            dues.append(SPAN_START + timedelta(seconds=rng.randrange(span)))
        else:
            opens, length = rng.choice(hours)
            dues.append(opens + timedelta(seconds=rng.randrange(length)))
    rng.shuffle(dues)
    return dues


def make_task(task_id: int, due: datetime, rng: random.Random) -> dict[str, Any]:
    """One task as JSON: 16 form fields (text, money, number, date, time, checkmark, catalog,
    multiple_choice, person, table, title, form_link, due_date_time, step, status, phone),
    two approval steps, subscribers, a participant, an attachment and a last comment."""
    created = due - timedelta(days=rng.randint(1, 20), seconds=rng.randrange(86400))
    author = _person(rng, full=True)
    return {
        "id": task_id,
        "text": f"Согласовать договор поставки №{task_id}: бумага, картриджи и доставка",
        "subject": f"Договор №{task_id}",
        "create_date": _stamp(created),
        "last_modified_date": _stamp(created + timedelta(hours=rng.randint(1, 48))),
        "author": author,
        "responsible": _person(rng, full=True),
        "due": _stamp(due),
        "duration": rng.choice([15, 30, 45, 60]),
        "form_id": 3001,
        "current_step": 2,
        "is_closed": False,
        "list_ids": [41, 42],
        "linked_task_ids": [task_id + 7],
        "attachments": [
            {"id": task_id * 10, "name": "contract.pdf", "size": 20480, "version": 1},
        ],
        "participants": [_person(rng)],
        "subscribers": [
            {"person": _person(rng), "approval_choice": "waiting"},
            {"person": {"id": 14, "last_name": "Юристы", "type": "role"}},
        ],
        "approvals": [
            [{"person": _person(rng), "approval_choice": "approved"}],
            [
                {"person": _person(rng), "approval_choice": "waiting"},
                {"person": _person(rng), "approval_choice": "waiting"},
            ],
        ],
        "fields": [
            {"id": 1, "type": "text", "name": "Описание", "value": "Поставка офисной бумаги A4"},
            {"id": 2, "type": "money", "name": "Сумма", "value": rng.randint(1000, 900000) / 4},
            {"id": 3, "type": "number", "name": "Количество", "value": rng.randint(1, 500)},
            {"id": 4, "type": "date", "name": "Дата поставки", "value": due.date().isoformat()},
            {"id": 5, "type": "time", "name": "Время", "value": "09:45"},
            {"id": 6, "type": "checkmark", "name": "Срочно", "value": "unchecked"},
            {
                "id": 7,
                "type": "catalog",
                "name": "Поставщик",
                "value": {
                    "item_id": 55,
                    "item_ids": [55],
                    "headers": ["Название", "ИНН"],
                    "values": ["Бумажный двор", "7700000000"],
                    "rows": [["Бумажный двор", "7700000000"]],
                },
            },
            {
                "id": 8,
                "type": "multiple_choice",
                "name": "Тип",
                "value": {"choice_id": 2, "choice_ids": [2], "choice_names": ["Расходники"]},
            },
            {"id": 9, "type": "person", "name": "Куратор", "value": _person(rng)},
            {
                "id": 10,
                "type": "table",
                "name": "Позиции",
                "value": [
                    {
                        "row_id": row,
                        "cells": [
                            {"id": 101, "type": "text", "name": "Товар", "value": "Бумага"},
                            {"id": 102, "type": "number", "name": "Штук", "value": 40 + row},
                        ],
                    }
                    for row in range(2)
                ],
            },
            {
                "id": 11,
                "type": "title",
                "name": "Реквизиты",
                "value": {
                    "checkmark": "checked",
                    "fields": [
                        {"id": 111, "type": "email", "name": "Почта", "value": "buy@example.org"}
                    ],
                },
            },
            {
                "id": 12,
                "type": "form_link",
                "name": "Счёт",
                "value": {"task_id": 888, "subject": "Счёт 5"},
            },
            {"id": 13, "type": "due_date_time", "name": "Срок", "value": _stamp(due)},
            {"id": 14, "type": "step", "name": "Этап", "value": 2},
            {"id": 15, "type": "status", "name": "Статус", "value": "open"},
            {"id": 16, "type": "phone", "name": "Телефон", "value": "+7 495 000-00-00"},
        ],
        "comments": [
            {
                "id": task_id * 100,
                "text": "Согласовано, передаю дальше",
                "create_date": _stamp(created + timedelta(hours=2)),
                "author": author,
                "action": "finished",
                "approval_choice": "approved",
                "approval_step": 1,
                "changed_step": 2,
                "field_updates": [
                    {"id": 2, "type": "money", "name": "Сумма", "value": 125000.5},
                ],
            }
        ],
    }


def make_tasks(count: int, *, seed: int = 1, first_id: int = 1) -> list[dict[str, Any]]:
    """``count`` tasks whose deadlines are :func:`due_times` (same seed, same deadlines)."""
    rng = random.Random(seed + 1)
    return [make_task(first_id + i, due, rng) for i, due in enumerate(due_times(count, seed=seed))]


def calendar_page(count: int = 100, *, seed: int = 1) -> dict[str, Any]:
    """One ``/calendar`` answer with ``count`` tasks."""
    return {"tasks": make_tasks(count, seed=seed), "has_more": False}
