"""What brings the two backends' items together: a bot's day in one call (:class:`Agenda`),
iCalendar export (``calendar_bridge.ical``, the ``ics`` extra), the live feed and the sync.

Built on both clients; neither backend imports it.
"""

from .agenda import Agenda, AgendaError, AgendaItem, free_between

__all__ = ["Agenda", "AgendaError", "AgendaItem", "free_between"]
