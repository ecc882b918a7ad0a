"""What `pip install` gives: the wheel and the sdist hold every package of the tree, the typing
marker of each, the command-line entry points, and nothing of the developers' own.

The artifacts are the ones `make dist` built when ``SDK_DIST`` names their folder (`make
test-installed` sets it, with ``SDK_SOURCE`` naming the tree they were built from); otherwise
they are built here from a copy of this tree without its build leftovers (setuptools reads an
old ``*.egg-info/SOURCES.txt`` back into a new sdist), offline, as `python -m build` builds them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

SOURCE = Path(os.environ.get("SDK_SOURCE") or Path(__file__).resolve().parents[2])
#: top-level folders of the tree that are the developers', never shipped
NOT_SHIPPED = {"tests", "benchmarks", "examples", "docs", "build", "dist"}


def _source_packages() -> dict[str, list[str]]:
    """Every package folder of the tree (one with an ``__init__.py``) -> its modules, as paths
    relative to the tree (``calendar_watch/engine.py``)."""
    packages: dict[str, list[str]] = {}
    for top in sorted(SOURCE.iterdir()):
        shipped = top.name not in NOT_SHIPPED and not top.name.startswith(".")
        if not (shipped and (top / "__init__.py").exists()):
            continue
        for init in sorted(top.rglob("__init__.py")):
            folder = init.parent
            if "__pycache__" in folder.parts:
                continue
            name = folder.relative_to(SOURCE).as_posix()
            packages[name] = sorted(
                path.relative_to(SOURCE).as_posix() for path in folder.glob("*.py")
            )
    return packages


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wheel and the sdist: `make dist`'s, or built here (sdist first, the wheel from it)."""
    folder = os.environ.get("SDK_DIST")
    if not folder:
        tree, out = tmp_path_factory.mktemp("tree") / "tree", tmp_path_factory.mktemp("dist")
        leftovers = (".git", ".venv*", "*.egg-info", "build", "dist", "*cache*")
        shutil.copytree(SOURCE, tree, ignore=shutil.ignore_patterns(*leftovers))
        subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", "-o", str(out), str(tree)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        folder = str(out)
    wheels, sdists = sorted(Path(folder).glob("*.whl")), sorted(Path(folder).glob("*.tar.gz"))
    assert len(wheels) == 1, f"expected one wheel in {folder}, found {wheels}"
    assert len(sdists) == 1, f"expected one sdist in {folder}, found {sdists}"
    return wheels[0], sdists[0]


def test_the_tree_has_the_packages_this_test_reads() -> None:
    # Guards the test itself: a wrong SOURCE would make every check below pass on nothing.
    packages = _source_packages()
    assert {"calendar_transport", "calendar_watch", "r7cal/testing"} <= set(packages)
    assert "calendar_transport/transport.py" in packages["calendar_transport"]


def test_the_wheel_holds_every_package_and_module_of_the_tree(dist: tuple[Path, Path]) -> None:
    names = set(zipfile.ZipFile(dist[0]).namelist())
    modules = [module for package in _source_packages().values() for module in package]
    missing = [module for module in modules if module not in names]
    assert not missing, f"the wheel leaves out {missing}"


def test_the_wheel_ships_py_typed_and_nothing_of_the_developers(dist: tuple[Path, Path]) -> None:
    names = zipfile.ZipFile(dist[0]).namelist()
    tops = {package.split("/")[0] for package in _source_packages()}
    assert {f"{top}/py.typed" for top in tops} <= set(names)
    stray = [n for n in names if n.split("/")[0] in NOT_SHIPPED or "__pycache__" in n]
    assert not stray, f"the wheel ships {stray}"


def test_the_wheel_declares_both_command_line_tools(dist: tuple[Path, Path]) -> None:
    wheel = zipfile.ZipFile(dist[0])
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "r7cal = calendar_cli.r7:main" in text
    assert "pyrus-calendar = calendar_cli.pyrus:main" in text


def test_the_wheel_declares_the_dependencies_and_extras_of_pyproject(
    dist: tuple[Path, Path],
) -> None:
    wheel = zipfile.ZipFile(dist[0])
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    lines = wheel.read(metadata).decode().splitlines()
    project = tomllib.loads((SOURCE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = {line.split(": ", 1)[1] for line in lines if line.startswith("Provides-Extra: ")}
    assert extras == set(project["optional-dependencies"])
    requires = " ".join(line for line in lines if line.startswith("Requires-Dist: "))
    for requirement in project["dependencies"]:
        name, floor = requirement.split(">=")
        assert f"{name}>={floor}" in requires


def test_the_sdist_holds_what_a_rebuild_needs_and_no_caches(dist: tuple[Path, Path]) -> None:
    with tarfile.open(dist[1]) as sdist:
        names = [name.split("/", 1)[1] for name in sdist.getnames() if "/" in name]
    needed = {"README.md", "CHANGELOG.md", "LICENSE", "pyproject.toml"}
    needed |= {m for modules in _source_packages().values() for m in modules}
    needed |= {f"{package.split('/')[0]}/py.typed" for package in _source_packages()}
    assert not needed - set(names), f"the sdist leaves out {sorted(needed - set(names))}"
    stray = [
        name
        for name in names
        if name.split("/")[0] in NOT_SHIPPED | {".venv", ".git"}
        or "__pycache__" in name
        or name.endswith((".pyc", ".ics"))
        or name.startswith(".venv")
    ]
    assert not stray, f"the sdist ships {stray}"
