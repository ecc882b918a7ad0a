"""The real entry points: ``python -m r7cal`` / ``python -m pyrus_calendar`` in a new process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160"}
    for name in ("R7_BASE_URL", "R7_LOGIN", "R7_PASSWORD", "R7_TOKEN", "PYRUS_TOKEN"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_python_m_r7cal_demo_lists_the_week() -> None:
    done = _run("-m", "r7cal", "--demo", "events", "list", "--from", "today", "--to", "+7d")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].split() == ["START", "END", "NAME", "CALENDAR", "ID"]
    assert "demo" in done.stderr
    assert "Traceback" not in done.stderr


def test_python_m_pyrus_calendar_demo_prints_json_lines() -> None:
    done = _run("-m", "pyrus_calendar", "--demo", "tasks", "--filter", "due,due_date", "--json")
    assert done.returncode == 0, done.stderr
    tasks = [json.loads(line) for line in done.stdout.splitlines()]
    assert tasks
    assert all("id" in task for task in tasks)


def test_an_expected_failure_exits_with_its_code_and_no_traceback() -> None:
    done = _run("-m", "r7cal", "calendars", "list")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "R7_BASE_URL" in done.stderr


@pytest.mark.parametrize("script", ["r7cal", "pyrus-calendar"])
def test_console_scripts_are_installed(script: str) -> None:
    path = Path(sys.executable).parent / script
    if not path.exists():
        pytest.skip(f"{script} is not installed next to {sys.executable}")
    done = subprocess.run(
        [str(path), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert f"usage: {script}" in done.stdout


def test_models_and_tools_import_without_the_ics_extra() -> None:
    code = (
        "import sys; sys.modules['icalendar'] = None\n"
        "import calendar_cli.r7, calendar_cli.pyrus\n"
        "from datetime import date\n"
        "from pyrus_calendar import Task\n"
        "from calendar_bridge.ical import to_ical\n"
        "try:\n"
        "    to_ical(Task(id=1, due_date=date(2026, 12, 1)))\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = _run("-c", code)
    assert done.returncode == 0, done.stderr
    assert "pip install 'r7-pyrus-calendar[ics]'" in done.stdout
