"""What pyproject.toml claims is what CI tests: the Pythons of the classifiers are the ones
`make test-pythons` runs (Makefile PYTHONS), the oldest of them is `requires-python`'s floor,
and every dependency has a floor that `make test-floors` can pin."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

SOURCE = Path(os.environ.get("SDK_SOURCE") or Path(__file__).resolve().parents[2])
PROJECT = tomllib.loads((SOURCE / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _tested_pythons() -> list[str]:
    makefile = (SOURCE / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^PYTHONS := (.+)$", makefile, re.MULTILINE)
    assert match, "the Makefile names no PYTHONS"
    return match[1].split()


def test_the_classifiers_claim_exactly_the_pythons_ci_tests() -> None:
    prefix = "Programming Language :: Python :: "
    claimed = [c[len(prefix) :] for c in PROJECT["classifiers"] if re.fullmatch(r".*3\.\d+", c)]
    assert claimed == _tested_pythons()
    assert claimed


def test_requires_python_starts_at_the_oldest_tested_python() -> None:
    assert PROJECT["requires-python"] == f">={_tested_pythons()[0]}"


def test_this_python_is_one_the_classifiers_claim() -> None:
    assert f"{sys.version_info[0]}.{sys.version_info[1]}" in _tested_pythons()


def test_every_floor_is_pinned_for_the_floors_run() -> None:
    done = subprocess.run(
        [sys.executable, str(SOURCE / ".ci" / "floor-constraints")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    pins = dict(line.split("==", 1) for line in done.stdout.splitlines() if "==" in line)
    for requirement in PROJECT["dependencies"]:
        name, floor = requirement.split(">=")
        assert pins[name] == floor
    assert "aiohttp<3.14" not in done.stdout  # the test pin yields to the floor
