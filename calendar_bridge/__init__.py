"""What brings the two backends' items into people's calendar apps: iCalendar export
(``calendar_bridge.ical``, the ``ics`` extra).

Built on both clients; neither backend imports it.
"""
