"""FeedServer over a Pyrus fake on loopback: a calendar two independent parsers accept, stable
UIDs with SEQUENCE that counts changes across restarts, HTTP caching, the secret URL, one poll
per interval for many clients, and the last good calendar when the upstream fails."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import icalendar
import pytest
from ical.calendar_stream import IcsCalendarStream
from multidict import CIMultiDict

from calendar_bridge.feed import (
    BOOK,
    FeedServer,
    FeedState,
    FeedStateError,
    MemoryFeedState,
    SqliteFeedState,
)
from calendar_bridge.feed_state import FeedBook
from calendar_watch import MemoryWatchState
from pyrus_calendar import Meeting, Task
from pyrus_calendar.testing import FakePyrusServer
from tests.pyrus_calendar.support import FAST, client_for
from tests.watch.support import NOW, FakeClock

from .feed_support import Gate, pyrus_feed

HOUR = timedelta(hours=1)
MOSCOW = timedelta(hours=3)
LONG = "A description long enough that the line must be folded: " + "ж" * 60


def _seed(fake: FakePyrusServer) -> None:
    fake.add_task(
        Task(
            id=1,
            text=f"Report\n{LONG}",
            subject="Quarterly report",
            due=NOW + 2 * HOUR,
            duration=30,
            last_modified_date=NOW - HOUR,
        )
    )
    fake.add_task(
        Task(id=2, text="Holiday", due_date=date(2024, 5, 12), last_modified_date=NOW - HOUR)
    )
    fake.add_meeting(Meeting(id=7, type="zoom", start_time=NOW + 5 * HOUR, duration=60, task_id=1))


@pytest.fixture
def gate() -> Gate:
    return Gate(FakeClock())


@pytest.fixture
async def fake() -> Any:
    async with FakePyrusServer(seed=3) as server:
        _seed(server)
        yield server


async def _get(url: str, **headers: str) -> tuple[int, CIMultiDict[str], bytes]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as answer:
        return answer.status, answer.headers.copy(), await answer.read()


def _events(body: bytes) -> dict[str, icalendar.Component]:
    cal = icalendar.Calendar.from_ical(body)
    return {str(event["uid"]): event for event in cal.walk("VEVENT")}


async def test_the_calendar_is_valid_for_two_independent_parsers(
    fake: FakePyrusServer, gate: Gate
) -> None:
    async with client_for(fake) as pyrus, pyrus_feed(pyrus, gate, MemoryWatchState()) as feed:
        status, headers, body = await _get(feed.url)
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    text = body.decode("utf-8")
    lines = text.split("\r\n")
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)  # folded (RFC 5545 3.1)
    assert any(line.startswith(" ") for line in lines)
    assert "TZID" not in text  # times in UTC: no zone without its VTIMEZONE
    assert "X-WR-CALNAME:Pyrus deadlines" in lines
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT5M" in lines
    assert "X-PUBLISHED-TTL:PT5M" in lines

    events = _events(body)
    assert set(events) == {
        "pyrus-task-1@pyrus.com",
        "pyrus-task-2@pyrus.com",
        "pyrus-meeting-7@pyrus.com",
    }
    task = events["pyrus-task-1@pyrus.com"]
    assert task.decoded("dtstart") == NOW + 2 * HOUR
    assert task.decoded("dtend") == NOW + 2 * HOUR + timedelta(minutes=30)
    assert task.decoded("sequence") == 0
    assert task.decoded("dtstamp") == NOW - HOUR
    assert LONG in str(task["description"])
    holiday = events["pyrus-task-2@pyrus.com"]
    assert holiday.decoded("dtstart") == date(2024, 5, 12)  # all day: dates, DTEND exclusive
    assert holiday.decoded("dtend") == date(2024, 5, 13)

    # The second parser, with its own reading of RFC 5545 (pydantic models, strict).
    other = IcsCalendarStream.calendar_from_ics(text)
    by_uid = {event.uid: event for event in other.events}
    assert set(by_uid) == set(events)
    assert by_uid["pyrus-task-1@pyrus.com"].dtstart == NOW + 2 * HOUR
    assert by_uid["pyrus-task-1@pyrus.com"].sequence == 0
    assert by_uid["pyrus-task-2@pyrus.com"].dtstart == date(2024, 5, 12)
    assert by_uid["pyrus-task-2@pyrus.com"].dtend == date(2024, 5, 13)
    assert by_uid["pyrus-meeting-7@pyrus.com"].dtstamp == NOW
    assert other.prodid.startswith("-//r7-pyrus-calendar//")


async def test_times_in_another_zone_are_written_in_utc(gate: Gate) -> None:
    zone = datetime(2024, 5, 10, 18, 0, tzinfo=UTC).astimezone(timezone(MOSCOW))
    async with FakePyrusServer(seed=3) as fake:
        fake.add_task(Task(id=5, text="Call", due=zone, last_modified_date=NOW))
        async with client_for(fake) as pyrus, pyrus_feed(pyrus, gate, None) as feed:
            _, _, body = await _get(feed.url)
    assert "DTSTART:20240510T180000Z" in body.decode()


async def test_uids_stay_and_sequence_counts_changes_across_restarts(
    fake: FakePyrusServer, gate: Gate, tmp_path: Path
) -> None:
    state = tmp_path / "feed.db"
    async with client_for(fake) as pyrus:
        async with pyrus_feed(pyrus, gate, state) as feed:
            url = feed.url
            fake.add_task(Task(id=1, text="Report v2", due=NOW + 3 * HOUR, last_modified_date=NOW))
            await gate.poll()
            _, _, body = await _get(url)
            assert _events(body)["pyrus-task-1@pyrus.com"].decoded("sequence") == 1
            assert _events(body)["pyrus-task-2@pyrus.com"].decoded("sequence") == 0
        # A new process on the same state: the same URL, the sequences kept.
        async with pyrus_feed(pyrus, gate, state) as again:
            assert again.url.split("/", 3)[3] == url.split("/", 3)[3]  # (port 0: a new port)
            url = again.url
            _, _, body = await _get(url)
            assert _events(body)["pyrus-task-1@pyrus.com"].decoded("sequence") == 1
            fake.add_task(
                Task(id=1, text="Report v3", due=NOW + 3 * HOUR, last_modified_date=NOW + HOUR)
            )
            fake.remove_task(2)
            await gate.poll()
            _, _, body = await _get(url)
    events = _events(body)
    assert set(events) == {"pyrus-task-1@pyrus.com", "pyrus-meeting-7@pyrus.com"}
    assert events["pyrus-task-1@pyrus.com"].decoded("sequence") == 2
    assert str(events["pyrus-task-1@pyrus.com"]["summary"]) == "Report v3"


async def test_an_item_the_window_leaves_behind_leaves_the_calendar(
    fake: FakePyrusServer, gate: Gate, tmp_path: Path
) -> None:
    # The watch forgets what falls off the back of its window without a "removed" change;
    # the feed drops it all the same (and from its stored book: a restart does not bring it
    # back).
    state = tmp_path / "feed.db"
    async with client_for(fake) as pyrus:
        async with pyrus_feed(pyrus, gate, state) as feed:
            gate.clock.move(timedelta(days=1, hours=3))  # task 1 (due in 2 h) now > 1 day ago
            await gate.poll()
            _, _, body = await _get(feed.url)
            assert "pyrus-task-1@pyrus.com" not in _events(body)
            assert "pyrus-meeting-7@pyrus.com" in _events(body)  # 5 h after NOW: still in
        async with pyrus_feed(pyrus, gate, state) as again:
            _, _, body = await _get(again.url)
    assert "pyrus-task-1@pyrus.com" not in _events(body)


async def test_conditional_requests_get_304_until_the_content_changes(
    fake: FakePyrusServer, gate: Gate
) -> None:
    async with client_for(fake) as pyrus, pyrus_feed(pyrus, gate, None) as feed:
        status, headers, body = await _get(feed.url)
        etag, modified = headers["ETag"], headers["Last-Modified"]
        assert status == 200
        assert etag.startswith('"')  # strong: no W/
        assert modified == "Fri, 10 May 2024 12:00:00 GMT"  # the poll that made it

        assert (await _get(feed.url, **{"If-None-Match": etag}))[0] == 304
        assert (await _get(feed.url, **{"If-None-Match": f'"other", W/{etag}'}))[0] == 304
        assert (await _get(feed.url, **{"If-Modified-Since": modified}))[0] == 304
        earlier = "Fri, 10 May 2024 11:59:59 GMT"
        assert (await _get(feed.url, **{"If-Modified-Since": earlier}))[0] == 200
        # If-None-Match decides when both are sent (RFC 9110 13.2.2)
        both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
        assert (await _get(feed.url, **both))[0] == 200
        assert feed.not_modified == 3

        await gate.poll()  # nothing changed upstream: the same version
        status, same, _ = await _get(feed.url, **{"If-None-Match": etag})
        assert (status, same["ETag"], same["Last-Modified"]) == (304, etag, modified)

        fake.remove_task(2)
        await gate.poll()
        status, changed, new_body = await _get(feed.url, **{"If-None-Match": etag})
    assert status == 200
    assert changed["ETag"] != etag
    assert changed["Last-Modified"] == "Fri, 10 May 2024 12:10:00 GMT"
    assert new_body != body


async def test_a_wrong_token_or_path_is_a_plain_404(fake: FakePyrusServer, gate: Gate) -> None:
    async with client_for(fake) as pyrus, pyrus_feed(pyrus, gate, None) as feed:
        base, token, tail = feed.url.rsplit("/", 2)
        wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
        for url in (f"{base}/{wrong}/{tail}", f"{base}/{token}", f"{base}/", f"{base}/x/{tail}"):
            status, _, body = await _get(url)
            assert status == 404, url
            assert b"BEGIN:VCALENDAR" not in body
        assert token not in repr(feed)
    assert feed.webcal_url == "webcal://" + feed.url.split("://", 1)[1]
    assert len(token) >= 40  # 32 random bytes


async def test_the_url_is_the_public_one_behind_a_proxy(fake: FakePyrusServer, gate: Gate) -> None:
    async with (
        client_for(fake) as pyrus,
        pyrus_feed(pyrus, gate, None, public_url="https://cal.example.com/team/") as feed,
    ):
        assert feed.url.startswith("https://cal.example.com/team/")
        assert feed.url.endswith("/calendar.ics")
        assert feed.webcal_url.startswith("webcal://cal.example.com/team/")
        assert feed.host == "127.0.0.1"  # loopback unless told otherwise


async def test_fifty_clients_cause_one_poll_per_interval(fake: FakePyrusServer, gate: Gate) -> None:
    async with client_for(fake) as pyrus:
        # Held before the first poll: the early requests all wait for that one poll.
        watch = functools.partial(
            pyrus.watch, filters="due,due_date", include_meetings=True, interval=300
        )
        feed = FeedServer(watch, clock=gate.clock, sleep=gate.sleep)
        fake.latency = 0.05
        async with feed, aiohttp.ClientSession() as session:

            async def client() -> list[int]:
                codes = []
                etag = ""
                for _ in range(4):
                    headers = {"If-None-Match": etag} if etag else {}
                    async with session.get(feed.url, headers=headers) as answer:
                        codes.append(answer.status)
                        etag = answer.headers["ETag"]
                        await answer.read()
                return codes

            first = await asyncio.gather(*(client() for _ in range(50)))
            assert pyrus.stats.calendar_requests == 1  # one poll, one request, for 200 fetches
            for _ in range(3):
                await gate.poll()
                await asyncio.gather(*(client() for _ in range(50)))
    assert pyrus.stats.calendar_requests == 4  # four intervals: four polls
    assert all(codes == [200, 304, 304, 304] for codes in first)
    assert feed.served == 50 * 4  # each client's first fetch of each interval
    assert feed.not_modified == 50 * 3 * 4


async def test_upstream_failure_serves_the_last_good_calendar_and_says_so(
    fake: FakePyrusServer, gate: Gate, caplog: pytest.LogCaptureFixture
) -> None:
    async with client_for(fake) as pyrus, pyrus_feed(pyrus, gate, None) as feed:
        _, good, body = await _get(feed.url)
        assert "X-Feed-Stale" not in good
        fake.faults.fail_next(FAST.attempts, 503, path="/v4/calendar")  # every retry of a poll
        with caplog.at_level(logging.WARNING, logger="calendar_bridge.feed"):
            await gate.poll()
        status, headers, stale_body = await _get(feed.url)
        assert status == 200
        assert stale_body == body  # never an empty calendar
        assert headers["ETag"] == good["ETag"]
        assert "failed" in headers["X-Feed-Stale"]
        assert "serving the calendar of 2024-05-10 12:00:00Z" in caplog.text
        assert feed.stale is not None
        # the upstream answers again: current, and said so
        await gate.poll()
        _, headers, _ = await _get(feed.url, **{"If-None-Match": good["ETag"]})
    assert "X-Feed-Stale" not in headers
    assert feed.stale is None


async def test_no_calendar_yet_is_a_503_not_an_empty_calendar(gate: Gate) -> None:
    async with FakePyrusServer(seed=3) as fake, client_for(fake) as pyrus:
        fake.faults.fail_next(10, 503, path="/v4/calendar")
        watch = functools.partial(pyrus.watch, filters="due", interval=120)
        async with FeedServer(watch, clock=gate.clock, sleep=gate.sleep) as feed:
            status, headers, body = await _get(feed.url)
    assert status == 503
    assert headers["Retry-After"] == "120"
    assert b"BEGIN:VCALENDAR" not in body


async def test_a_state_from_another_source_is_refused(
    fake: FakePyrusServer, gate: Gate, tmp_path: Path
) -> None:
    state = tmp_path / "feed.db"
    async with client_for(fake) as pyrus:
        async with pyrus_feed(pyrus, gate, state):
            pass
        other = functools.partial(pyrus.watch, filters="reminded", state=state)
        feed = FeedServer(other, clock=gate.clock, sleep=gate.sleep)
        with pytest.raises(FeedStateError, match="keeps the feed of 'pyrus/"):
            async with feed:
                pass
    assert pyrus.stats.calendar_requests == 1  # the refused feed sent nothing


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"port": 70000}, "port must be between 0 and 65535"),
        ({"public_url": "ftp://x"}, "public_url must be an https:// address"),
        ({"name": " "}, "name must be a non-empty str"),
    ],
)
async def test_bad_arguments_fail_before_anything(
    fake: FakePyrusServer, options: dict[str, Any], error: str
) -> None:
    async with client_for(fake) as pyrus:
        with pytest.raises(ValueError, match=error):
            FeedServer(functools.partial(pyrus.watch), **options)
    assert fake.requests == [] or all("/calendar" not in str(r) for r in fake.requests)


# ---- the feed's own state ------------------------------------------------------------------


async def test_the_feed_keeps_its_book_in_tables_of_its_own_not_as_a_watch(
    fake: FakePyrusServer, gate: Gate, tmp_path: Path
) -> None:
    state = tmp_path / "feed.db"
    async with client_for(fake) as pyrus, pyrus_feed(pyrus, gate, state) as feed:
        token = feed.url.split("/")[3]
    with contextlib.closing(sqlite3.connect(state)) as db:
        (meta,) = db.execute("SELECT meta FROM feed_meta").fetchone()
        items = db.execute("SELECT count(*) FROM feed_items").fetchone()[0]
        watches = {row[0] for row in db.execute("SELECT watch FROM watches")}
    assert json.loads(meta)["token"] == token
    assert items == 3  # two tasks and a meeting
    assert BOOK not in watches  # no longer posing as a watch


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_feed_state_saves_and_loads_what_it_was_given(kind: str, tmp_path: Path) -> None:
    state = MemoryFeedState() if kind == "memory" else SqliteFeedState(tmp_path / "f.db")
    assert isinstance(state, FeedState)
    await state.open()
    try:
        assert await state.load("a") == FeedBook()
        await state.save("a", meta=b"m1", put={"x": b"1", "y": b"2"}, drop=())
        await state.save("a", meta=None, put={"y": b"3"}, drop=["x"])
        await state.save("b", meta=b"other", put={"x": b"9"}, drop=())
        assert await state.load("a") == FeedBook(b"m1", {"y": b"3"})
    finally:
        await state.close()


async def test_a_watch_kept_elsewhere_needs_a_feed_state_of_its_own(
    fake: FakePyrusServer, gate: Gate
) -> None:
    class Elsewhere:
        """A watch state the feed cannot put a book beside (as Redis's)."""

        def __init__(self) -> None:
            inner = MemoryWatchState()
            self.open, self.load, self.items = inner.open, inner.load, inner.items
            self.commit, self.ack, self.close = inner.commit, inner.ack, inner.close

    async with client_for(fake) as pyrus:
        with pytest.raises(ValueError, match="give the feed one of its own"):
            async with pyrus_feed(pyrus, gate, Elsewhere()):
                pass
        async with pyrus_feed(pyrus, gate, Elsewhere(), feed_state=MemoryFeedState()) as feed:
            status, _, body = await _get(feed.url)
    assert status == 200
    assert b"pyrus-task-1@pyrus.com" in body


async def test_a_file_that_is_not_a_feed_state_is_named_so(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n", encoding="utf-8")
    state = SqliteFeedState(notes)
    with pytest.raises(FeedStateError, match="not a feed state"):
        await state.open()
    assert notes.read_text(encoding="utf-8") == "my notes\n"
