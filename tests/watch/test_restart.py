"""Restarts with a real SQLite file across processes: a watcher killed (SIGKILL) between
handling a change and committing it gets that change again, once; a clean restart repeats
nothing; changes made while no watcher ran are reported once."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from pyrus_calendar import Task
from pyrus_calendar.testing import FakePyrusServer

from .support import NOW

ROOT = Path(__file__).resolve().parents[2]


async def _run(server: FakePyrusServer, state: Path, kill_at: int | None = None) -> Any:
    args = [sys.executable, "-m", "tests.watch.worker", server.api_url, str(state)]
    if kill_at is not None:
        args.append(str(kill_at))
    process = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    lines = [json.loads(line) for line in out.decode().splitlines()]
    return process.returncode, [(line["kind"], line["id"], line["key"]) for line in lines], err


def _task(task_id: int, text: str = "") -> Task:
    return Task(id=task_id, text=text or f"task {task_id}", due=NOW + timedelta(hours=task_id))


async def test_sigkill_between_handling_and_commit_redelivers_that_change_once(
    pyrus_server: FakePyrusServer, tmp_path: Path
) -> None:
    state = tmp_path / "watch.db"
    for task_id in range(1, 6):
        pyrus_server.add_task(_task(task_id))

    code, handled, _ = await _run(pyrus_server, state, kill_at=3)
    assert code == -signal.SIGKILL
    assert [(kind, item) for kind, item, _ in handled] == [("added", 1), ("added", 2), ("added", 3)]

    code, after, err = await _run(pyrus_server, state)
    assert code == 0, err.decode()
    # the third was handled but not committed: delivered again, with the same key; none lost
    assert [(kind, item) for kind, item, _ in after] == [("added", 3), ("added", 4), ("added", 5)]
    assert after[0][2] == handled[2][2]

    code, again, err = await _run(pyrus_server, state)
    assert (code, again) == (0, []), err.decode()  # a clean restart repeats nothing

    # changes made while no watcher runs are reported once when one comes back
    pyrus_server.remove_task(1)
    pyrus_server.add_task(_task(2, text="edited"))
    pyrus_server.add_task(_task(6))
    code, down, err = await _run(pyrus_server, state)
    assert code == 0, err.decode()
    assert [(kind, item) for kind, item, _ in down] == [
        ("changed", 2),
        ("added", 6),
        ("removed", 1),
    ]
    code, again, _ = await _run(pyrus_server, state)
    assert again == []


async def test_a_kill_before_the_first_change_is_handled_loses_nothing(
    pyrus_server: FakePyrusServer, tmp_path: Path
) -> None:
    state = tmp_path / "watch.db"
    for task_id in range(1, 4):
        pyrus_server.add_task(_task(task_id))
    code, handled, _ = await _run(pyrus_server, state, kill_at=1)
    assert code == -signal.SIGKILL
    assert [item for _, item, _ in handled] == [1]
    code, after, err = await _run(pyrus_server, state)
    assert code == 0, err.decode()
    assert [item for _, item, _ in after] == [1, 2, 3]
