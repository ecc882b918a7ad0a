"""A module behind an extra, used without it, says which extra to install, in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: (what the user imports or calls, the third-party package it needs, the extra that brings it)
CASES = [
    ("import calendar_transport.redis", "redis", "redis"),
    ("import calendar_transport.otel", "opentelemetry", "otel"),
    ("from calendar_bridge.sync import RedisSyncState", "redis", "redis"),
    ("from calendar_bridge.ical import require_icalendar; require_icalendar()", "icalendar", "ics"),
    (
        "from calendar_bridge.sync.caldav import CalDAVTarget; CalDAVTarget('https://d.example/c')",
        "caldav",
        "caldav",
    ),
]


@pytest.mark.parametrize(("code", "package", "extra"), CASES, ids=[c[0] for c in CASES])
def test_a_missing_extra_is_named_with_its_install_command(
    code: str, package: str, extra: str
) -> None:
    # A None in sys.modules makes `import package` fail as if it were not installed.
    hide = f"import sys; sys.modules[{package!r}] = None\n"
    done = subprocess.run(
        [sys.executable, "-c", hide + code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: "), done.stderr
    assert f"'{extra}' extra: pip install 'r7-pyrus-calendar[{extra}]'" in last
