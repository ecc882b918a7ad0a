"""``r7cal events create --all-day`` -> list -> table -> .ics, for users in three zones and
servers that store all-day events in each of the ways they do."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from r7cal.testing import FakeR7Server
from r7cal.testing.fake import ALL_DAY_STORAGE, AllDayStorage

from .conftest import Runner
from .support import served

ZONES = ["Europe/Moscow", "Europe/Berlin", "America/New_York"]


@pytest.fixture
def local_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The process runs in the zone named by the test's ``zone`` parameter."""
    name: str = request.param
    monkeypatch.setenv("TZ", name)
    time.tzset()
    yield name
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("storage", ALL_DAY_STORAGE)
@pytest.mark.parametrize("local_zone", ZONES, indirect=True)
def test_typed_days_are_the_days_listed_and_exported(
    r7: Runner,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    storage: AllDayStorage,
    local_zone: str,
) -> None:
    offset = datetime(2026, 12, 1, tzinfo=ZoneInfo(local_zone)).utcoffset()
    assert offset is not None
    fake = FakeR7Server(all_day_storage=storage, all_day_offset=int(offset.total_seconds() // 60))
    with served(fake):
        monkeypatch.setenv("R7_BASE_URL", fake.url)
        monkeypatch.setenv("R7_LOGIN", "user_test")
        monkeypatch.setenv("R7_PASSWORD", "TestPassword")
        one = r7("events", "create", "One", "--all-day", "--start", "2026-12-01")
        assert one.code == 0, one
        # --end is the last day, as the table shows it
        two = r7(
            "events", "create", "Two", "--all-day", "--start", "2026-12-03", "--end", "2026-12-04"
        )
        assert two.code == 0, two
        assert two.out.splitlines()[-1].split()[:3] == ["2026-12-03", "2026-12-04", "Two"]

        window = ("--from", "2026-12-01", "--to", "2026-12-06")
        table = r7("events", "list", *window)
        assert table.code == 0, table
        rows = {line.split()[2]: line.split()[:2] for line in table.out.splitlines()[2:]}
        assert rows == {"One": ["2026-12-01", "2026-12-01"], "Two": ["2026-12-03", "2026-12-04"]}

        path = tmp_path / "days.ics"
        exported = r7("events", "list", *window, "--ics", "--output", str(path))
        assert exported.code == 0, exported
    data = path.read_bytes()
    assert b"DTSTART;VALUE=DATE:20261201" in data
    assert b"DTEND;VALUE=DATE:20261202" in data
    events = {str(e["summary"]): e for e in icalendar.Calendar.from_ical(data).walk("VEVENT")}
    assert events["Two"].decoded("dtstart") == date(2026, 12, 3)
    assert events["Two"].decoded("dtend") == date(2026, 12, 5)
