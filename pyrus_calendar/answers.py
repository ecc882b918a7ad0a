"""A ``/calendar`` answer read in the parts a walk needs: first a skim (ids and deadlines),
then, only for the windows whose entries are given, the tasks alone or the meetings alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from .models import Meeting, Task
from .paging import Answer, Skim

__all__ = ["answer_of"]

#: decodes a body into a type, naming the call in its error (``Transport.decode`` bound)
Decode = Callable[[bytes, Any], Any]


# A page's tasks or its meetings alone: a walk asks for each apart, and decoding the
# whole CalendarPage for either would build the other's models too.
class _Tasks(msgspec.Struct):
    tasks: list[Task] = msgspec.field(default_factory=list)


class _Meetings(msgspec.Struct):
    meetings: list[Meeting] = msgspec.field(default_factory=list)


def answer_of(raw: bytes, decode: Decode) -> Answer:
    """The walk's view of one answer: skimmed now, its models built only when asked for
    (a cut page's parts bring its tasks again, and building models costs more than
    skipping the JSON)."""
    skim: Skim = decode(raw, Skim)

    def tasks() -> list[Task]:
        found: _Tasks = decode(raw, _Tasks)
        return found.tasks

    def meetings() -> list[Meeting]:
        found: _Meetings = decode(raw, _Meetings)
        return found.meetings

    return Answer(skim, tasks, meetings)
