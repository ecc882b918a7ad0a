"""Every code block of the README works: python blocks run against the fakes, and every
``--demo`` command of a console block runs and succeeds."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from pyrus_calendar import cli as pyrus_cli
from r7cal import cli as r7_cli

README = Path(__file__).resolve().parents[2] / "README.md"
_FENCE = re.compile(r"^```(\S*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
# Fences that are shown, never run: shell sessions and plain text.
NOT_RUN = {"sh", "console", "text"}
_TOOLS: dict[str, Callable[..., int]] = {"r7cal": r7_cli.main, "pyrus-calendar": pyrus_cli.main}


def _blocks() -> list[tuple[str, str, int]]:
    text = README.read_text(encoding="utf-8")
    return [
        (match.group(1), match.group(2), text.count("\n", 0, match.start()) + 1)
        for match in _FENCE.finditer(text)
    ]


BLOCKS = _blocks()
PYTHON = [(code, line) for language, code, line in BLOCKS if language == "python"]
DEMO_COMMANDS = [
    (command, line)
    for language, code, line in BLOCKS
    if language == "console"
    for command in code.splitlines()
    if "--demo" in command
]


def test_every_block_says_whether_it_runs() -> None:
    languages = {language for language, _, _ in BLOCKS}
    assert languages <= NOT_RUN | {"python"}, "mark a shell snippet as sh, console or text"
    assert len(PYTHON) >= 6
    assert len(DEMO_COMMANDS) >= 4


@pytest.mark.parametrize(("code", "line"), PYTHON, ids=[f"line {line}" for _, line in PYTHON])
def test_python_block_runs(code: str, line: int) -> None:
    # A fresh namespace per block: each block must run on its own, as a reader copies it.
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "__readme__"})


@pytest.mark.parametrize(
    ("command", "line"), DEMO_COMMANDS, ids=[command for command, _ in DEMO_COMMANDS]
)
def test_demo_command_runs(
    command: str,
    line: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # a command may write a file
    words = shlex.split(command.removeprefix("$ "))
    tool = Path(words[0]).name
    assert tool in _TOOLS, f"README.md:{line}: unknown tool {words[0]}"
    assert _TOOLS[tool](words[1:]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out or list(tmp_path.iterdir())  # it printed or wrote a file
