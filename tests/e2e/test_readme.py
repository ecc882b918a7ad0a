"""Every code block of the README and of the reference site's pages (docs/) works: python
blocks run against the fakes, and every ``--demo`` command of a console block runs and
succeeds. The site's guide pages include README sections (pymdownx.snippets), so those blocks
are tested once, as README blocks; what is tested from docs/ is what docs/ itself holds."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from calendar_cli import pyrus as pyrus_cli
from calendar_cli import r7 as r7_cli

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").rglob("*.md"))
_FENCE = re.compile(r"^```(\S*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
# Fences that are shown, never run: shell sessions and plain text. The docs pages may also
# show program output (a benchmark table) in a bare fence.
NOT_RUN = {"sh", "console", "text"}
NOT_RUN_IN_DOCS = NOT_RUN | {""}
_TOOLS: dict[str, Callable[..., int]] = {"r7cal": r7_cli.main, "pyrus-calendar": pyrus_cli.main}


def _blocks(path: Path) -> list[tuple[str, str, str]]:
    """(language, code, where) for each fenced block of ``path``; where is ``file:line``."""
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(ROOT).as_posix()
    return [
        (match.group(1), match.group(2), f"{name}:{text.count(chr(10), 0, match.start()) + 1}")
        for match in _FENCE.finditer(text)
    ]


README_BLOCKS = _blocks(README)
DOCS_BLOCKS = [block for page in DOCS for block in _blocks(page)]
BLOCKS = README_BLOCKS + DOCS_BLOCKS
PYTHON = [(code, where) for language, code, where in BLOCKS if language == "python"]
DEMO_COMMANDS = [
    (command, where)
    for language, code, where in BLOCKS
    if language == "console"
    for command in code.splitlines()
    if "--demo" in command
]


def test_every_block_says_whether_it_runs() -> None:
    assert {language for language, _, _ in README_BLOCKS} <= NOT_RUN | {"python"}, (
        "mark a README shell snippet as sh, console or text"
    )
    assert {language for language, _, _ in DOCS_BLOCKS} <= NOT_RUN_IN_DOCS | {"python"}, (
        "mark a docs shell snippet as sh, console or text"
    )
    assert sum(where.startswith("README.md:") for _, where in PYTHON) >= 6
    assert sum(where.startswith("docs/") for _, where in PYTHON) >= 1
    assert len(DEMO_COMMANDS) >= 4


@pytest.mark.parametrize(("code", "where"), PYTHON, ids=[where for _, where in PYTHON])
def test_python_block_runs(code: str, where: str) -> None:
    # A fresh namespace per block: each block must run on its own, as a reader copies it.
    exec(compile(code, where, "exec"), {"__name__": "__readme__"})


@pytest.mark.parametrize(
    ("command", "where"), DEMO_COMMANDS, ids=[command for command, _ in DEMO_COMMANDS]
)
def test_demo_command_runs(
    command: str,
    where: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # a command may write a file
    words = shlex.split(command.removeprefix("$ "))
    tool = Path(words[0]).name
    assert tool in _TOOLS, f"{where}: unknown tool {words[0]}"
    assert _TOOLS[tool](words[1:]) == 0, capsys.readouterr().err
    assert capsys.readouterr().out or list(tmp_path.iterdir())  # it printed or wrote a file
