"""Typed models of what ``GET /calendar`` returns: tasks, comments, approvals, meetings.

Decoding is tolerant: omitted keys take defaults, unknown keys are ignored, datetimes come
out timezone-aware in UTC and date-only fields as :class:`datetime.date`.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from ._base import PyrusModel, TimedModel
from .fields import File, FormField, Person

__all__ = [
    "Approval",
    "CalendarPage",
    "Comment",
    "Meeting",
    "MeetingJoinParameters",
    "Subscriber",
    "Task",
]


class Approval(PyrusModel, frozen=True):
    """One approver on an approval step; ``step`` is set in a comment's ``approvals_added``."""

    person: Person | None = None
    approval_choice: str | None = None
    step: int | None = None


class Subscriber(PyrusModel, frozen=True):
    """A task subscriber (watcher)."""

    person: Person | None = None
    approval_choice: str | None = None


class Comment(TimedModel, frozen=True):
    """A task comment: text plus whatever the comment changed on the task."""

    id: int
    text: str | None = None
    create_date: datetime | None = None
    author: Person | None = None
    action: str | None = None
    reassigned_to: Person | None = None
    attachments: list[File] = msgspec.field(default_factory=list)
    field_updates: list[FormField] = msgspec.field(default_factory=list)
    approvals_added: list[list[Approval]] = msgspec.field(default_factory=list)
    approvals_removed: list[list[Approval]] = msgspec.field(default_factory=list)
    approvals_rerequested: list[list[Approval]] = msgspec.field(default_factory=list)
    subscribers_added: list[Person] = msgspec.field(default_factory=list)
    subscribers_removed: list[Person] = msgspec.field(default_factory=list)
    participants_added: list[Person] = msgspec.field(default_factory=list)
    participants_removed: list[Person] = msgspec.field(default_factory=list)
    added_list_ids: list[int] = msgspec.field(default_factory=list)
    removed_list_ids: list[int] = msgspec.field(default_factory=list)
    mentions: list[int] = msgspec.field(default_factory=list)
    approval_choice: str | None = None
    approval_step: int | None = None
    changed_step: int | None = None
    reset_to_step: int | None = None
    subject: str | None = None
    due: datetime | None = None
    due_date: date | None = None
    duration: int | None = None
    cancel_due: bool | None = None
    scheduled_date: date | None = None
    scheduled_datetime_utc: datetime | None = None
    cancel_schedule: bool | None = None
    spent_minutes: int | None = None


class Task(TimedModel, frozen=True):
    """A Pyrus task as the calendar returns it (with its last comment only).

    ``due`` is a deadline with time (UTC), ``due_date`` a deadline day; ``approvals`` is a
    list of steps, each a list of approvers.
    """

    id: int
    text: str | None = None
    subject: str | None = None
    create_date: datetime | None = None
    last_modified_date: datetime | None = None
    close_date: datetime | None = None
    author: Person | None = None
    responsible: Person | None = None
    due: datetime | None = None
    due_date: date | None = None
    duration: int | None = None
    scheduled_date: date | None = None
    scheduled_datetime_utc: datetime | None = None
    form_id: int | None = None
    current_step: int | None = None
    is_closed: bool = False
    fields: list[FormField] = msgspec.field(default_factory=list)
    approvals: list[list[Approval]] = msgspec.field(default_factory=list)
    subscribers: list[Subscriber] = msgspec.field(default_factory=list)
    participants: list[Person] = msgspec.field(default_factory=list)
    attachments: list[File] = msgspec.field(default_factory=list)
    list_ids: list[int] = msgspec.field(default_factory=list)
    linked_task_ids: list[int] = msgspec.field(default_factory=list)
    parent_task_id: int | None = None
    last_note_id: int | None = None
    comments: list[Comment] = msgspec.field(default_factory=list)

    def field(self, name_or_id: str | int) -> FormField | None:
        """The first top-level field with this name (str) or id (int), or ``None``."""
        for item in self.fields:
            if item.id == name_or_id if isinstance(name_or_id, int) else item.name == name_or_id:
                return item
        return None


class MeetingJoinParameters(PyrusModel, frozen=True):
    """How to join a meeting. ``external_id``/``password`` are str even when sent as numbers."""

    url: str | None = None
    external_id: str | int | None = None
    password: str | int | None = None

    def __post_init__(self) -> None:
        for name in ("external_id", "password"):
            value = getattr(self, name)
            if isinstance(value, int):
                msgspec.structs.force_setattr(self, name, str(value))

    def __repr__(self) -> str:
        # The join password is a secret like any other: never in a repr or a log line.
        password = None if self.password is None else "***"
        return (
            f"MeetingJoinParameters(url={self.url!r}, external_id={self.external_id!r}, "
            f"password={password!r})"
        )


class Meeting(TimedModel, frozen=True):
    """A video meeting attached to a task; ``duration`` is in minutes."""

    id: int
    type: str | None = None
    start_time: datetime | None = None
    duration: int | None = None
    join_parameters: MeetingJoinParameters | None = None
    creator_id: int | None = None
    task_id: int | None = None
    shared_calendar_event_id: str | int | None = None
    shared_to_email: bool | None = None
    deleted: bool = False


class CalendarPage(PyrusModel, frozen=True):
    """One answer of ``GET /calendar``. ``has_more``: the server cut the list at
    ``item_count``; there is no cursor, so narrow the window (``iter_calendar`` does)."""

    tasks: list[Task] = msgspec.field(default_factory=list)
    meetings: list[Meeting] = msgspec.field(default_factory=list)
    has_more: bool = False


class AuthAnswer(PyrusModel, frozen=True):
    """The answer of ``POST /auth``."""

    access_token: str
    api_url: str | None = None
    files_url: str | None = None

    def __repr__(self) -> str:
        return f"AuthAnswer(access_token='***', api_url={self.api_url!r})"
