"""Sample data for the embedded fake Pyrus server (``pyrus-calendar --demo``, ``make demo``).

A few hundred tasks over a month around today, spread over the four filter bits (a deadline
with a time, a deadline day, a step deadline, a reminder), some visible only with
``all_accessed_tasks``, a few due within the hour, and video meetings attached to tasks.
The data is the same on every run for the same ``now``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Final

from ..fields import Person
from ..models import Meeting, MeetingJoinParameters, Task
from .fake import FakePyrusServer

__all__ = ["DemoData", "demo_server", "seed"]

PEOPLE: Final = (
    Person(id=1001, first_name="Anna", last_name="Orlova", email="anna@demo.pyrus"),
    Person(id=1002, first_name="Boris", last_name="Popov", email="boris@demo.pyrus"),
    Person(id=1003, first_name="Vera", last_name="Sokolova", email="vera@demo.pyrus"),
    Person(id=1004, first_name="Gleb", last_name="Morozov", email="gleb@demo.pyrus"),
    Person(id=1005, first_name="Dina", last_name="Volkova", email="dina@demo.pyrus"),
)
_CLIENTS: Final = ("Romashka LLC", "Vector JSC", "Sever Trade", "Polyus", "Atlant Group")
_SUBJECTS: Final = (
    "Approve invoice #{n}",
    "Prepare the contract for {client}",
    "Call {client} about the delivery",
    "Review pull request #{n}",
    "Update the price list for {client}",
    "Order office supplies",
    "Send the monthly report to {client}",
    "Check the warehouse stock",
    "Renew the {client} licence",
    "Plan the team offsite",
)
#: tasks the demo stores (ids from FIRST_TASK_ID on)
TASKS: Final = 320
FIRST_TASK_ID: Final = 10_001
MEETINGS: Final = 40


@dataclass(frozen=True)
class DemoData:
    """What :func:`seed` stored."""

    tasks: int
    meetings: int
    due_within_hour: int
    start: datetime
    end: datetime


def demo_server() -> FakePyrusServer:
    """A fake Pyrus server that answers in a new order on every request, as the real one may
    (start it with ``async with``)."""
    return FakePyrusServer(order="shuffled", seed=5)


def seed(server: FakePyrusServer, *, now: datetime | None = None, seed: int = 5) -> DemoData:
    """Store the demo tasks and meetings in ``server`` (started or not), around ``now``."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    rng = random.Random(seed)
    start = datetime.combine(now.date() - timedelta(days=7), time(), tzinfo=UTC)
    end = start + timedelta(days=30)
    span = int((end - start).total_seconds())
    due_soon = 3
    for number in range(TASKS):
        task_id = FIRST_TASK_ID + number
        if number < due_soon:  # something for the "due in the next hour" service to find
            moment = now + timedelta(minutes=15 + 15 * number)
        else:
            moment = start + timedelta(seconds=rng.randrange(0, span, 300))
        # Office hours, so the table reads like a real calendar.
        moment = moment if number < due_soon else moment.replace(hour=rng.randrange(6, 16))
        if number >= due_soon and now <= moment <= now + timedelta(hours=1):
            # Only the first few are "due in the next hour", whatever the time of day.
            moment += timedelta(hours=2)
        responsible = rng.choice(PEOPLE)
        pattern, client = rng.choice(_SUBJECTS), rng.choice(_CLIENTS)
        subject: str | None = pattern.format(n=rng.randrange(100, 999), client=client)
        created = moment - timedelta(days=rng.randrange(1, 20))
        kinds = ["due", "due", "due_date", "step", "reminder"]
        kind = "due" if number < due_soon else rng.choice(kinds)
        text: str | None = f"{subject}."
        step_due: datetime | None = None
        reminders: list[datetime] = []
        if kind == "step":
            # A form task has no subject; its current step has a deadline.
            subject, text = None, f"Expense claim #{task_id}: {rng.randrange(500, 90000)} RUB"
            step_due = moment
        elif kind == "reminder":
            reminders = [moment]
        task = Task(
            id=task_id,
            subject=subject,
            text=text,
            author=rng.choice(PEOPLE),
            responsible=responsible,
            create_date=created,
            last_modified_date=created + timedelta(hours=rng.randrange(1, 48)),
            is_closed=moment < now and rng.random() < 0.6,
            due=moment if kind == "due" else None,
            duration=rng.choice([None, 30, 60, 90]) if kind == "due" else None,
            due_date=moment.date() if kind == "due_date" else None,
            form_id=321 if kind == "step" else None,
            current_step=rng.randrange(1, 4) if kind == "step" else None,
        )
        involved = number < due_soon or rng.random() < 0.85
        server.add_task(task, step_due=step_due, reminders=reminders, involved=involved)
    for number in range(MEETINGS):
        moment = start + timedelta(days=rng.randrange(30))
        moment = moment.replace(hour=rng.randrange(6, 15), minute=rng.choice([0, 30]))
        external = str(rng.randrange(10**8, 10**9))
        server.add_meeting(
            Meeting(
                id=501 + number,
                type=rng.choice(["Zoom", "Telemost", "Jitsi"]),
                start_time=moment,
                duration=rng.choice([30, 45, 60]),
                join_parameters=MeetingJoinParameters(
                    url=f"https://meet.example.com/j/{external}", external_id=external
                ),
                creator_id=rng.choice(PEOPLE).id,
                task_id=FIRST_TASK_ID + rng.randrange(TASKS),
            )
        )
    return DemoData(TASKS, MEETINGS, due_soon, start, end)
