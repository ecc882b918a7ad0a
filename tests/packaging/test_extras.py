"""A module behind an extra, used without it, says which extra to install, in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

#: (what the user imports or calls, the third-party package it needs, the extra that brings it)
CASES = [
    ("import calendar_transport.redis", "redis", "redis"),
    ("import calendar_watch.redis", "redis", "redis"),
    ("import calendar_transport.otel", "opentelemetry", "otel"),
    ("from calendar_bridge.sync import RedisSyncState", "redis", "redis"),
    ("from calendar_bridge.ical import require_icalendar; require_icalendar()", "icalendar", "ics"),
    (
        "from calendar_bridge.sync.caldav import CalDAVTarget; CalDAVTarget('https://d.example/c')",
        "caldav",
        "caldav",
    ),
]


def test_every_public_name_of_the_sync_imports_without_the_redis_extra() -> None:
    code = "import sys; sys.modules['redis'] = None\nfrom calendar_bridge.sync import *; Sync"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


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
    assert last.startswith("calendar_transport.extras.MissingExtraError: "), done.stderr
    assert f"'{extra}' extra: pip install 'r7-pyrus-calendar[{extra}]'" in last


@pytest.mark.parametrize(
    ("tool", "argv", "package", "extra"),
    [
        ("r7", ["--demo", "sync", "caldav", "http://127.0.0.1:9/c/"], "caldav", "caldav"),
        ("pyrus", ["--demo", "sync", "caldav", "http://127.0.0.1:9/c/"], "caldav", "caldav"),
        ("r7", ["--demo", "feed"], "icalendar", "ics"),
        ("pyrus", ["--demo", "feed"], "icalendar", "ics"),
    ],
)
def test_a_command_that_needs_an_extra_says_so_in_one_line_before_anything(
    tool: str, argv: list[str], package: str, extra: str, tmp_path: Path
) -> None:
    state = tmp_path / "state.sqlite"
    code = (
        f"import sys; sys.modules[{package!r}] = None\n"
        f"from calendar_cli.{tool} import main\n"
        f"sys.exit(main({[*argv, '--state', str(state)]!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.endswith(f"needs the '{extra}' extra: pip install 'r7-pyrus-calendar[{extra}]'")
    assert not state.exists()  # no state made for a command that cannot run
