"""Every public name of the three packages has a docstring, so no API page shows a blank entry.

Public means listed in the package's ``__all__`` (every public module attribute when there is
none), and the public methods, properties and constants those classes define themselves.
Constants and type aliases are documented the two ways the API pages read (griffe-sphinx): a
``#:`` comment on the line above the assignment, or a string literal on the line after it.
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

PACKAGES = (
    "calendar_transport",
    "r7cal",
    "r7cal.testing",
    "pyrus_calendar",
    "pyrus_calendar.testing",
    "calendar_bridge",
    "calendar_bridge.ical",
)


def _public_names(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name in vars(module) if not name.startswith("_")]
    # Dunders such as __version__ are conventions, not API entries.
    return [name for name in names if not (name.startswith("__") and name.endswith("__"))]


def _documented(body: list[ast.stmt], lines: list[str], name: str) -> bool | None:
    """Whether the assignment of ``name`` in ``body`` has a doc comment or string; None if absent.

    ``lines`` is the source ``body`` was parsed from.
    """
    for statement, following in zip(body, [*body[1:], None], strict=True):
        targets: list[ast.expr] = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            above = lines[statement.lineno - 2].strip() if statement.lineno > 1 else ""
            return (len(above) > 2 and above.startswith("#:")) or (
                isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
                and bool(following.value.value.strip())
            )
    return None


def _data_documented(module: ModuleType, name: str, depth: int = 0) -> bool:
    """Follow ``from .x import name`` to the module that assigns ``name`` and look there."""
    assert depth < 10, f"{module.__name__}.{name}: import chain too long"
    source = inspect.getsource(module)
    tree = ast.parse(source)
    found = _documented(tree.body, source.splitlines(), name)
    if found is not None:
        return found
    package = module.__name__ if hasattr(module, "__path__") else module.__package__
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and any(
            alias.name == name and alias.asname is None for alias in statement.names
        ):
            source = importlib.import_module(
                "." * statement.level + (statement.module or ""), package
            )
            return _data_documented(source, name, depth + 1)
    raise AssertionError(f"{module.__name__}.{name}: cannot find where it is assigned")


def _has_own_doc(value: Any) -> bool:
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    doc = value.__dict__.get("__doc__") if isinstance(value, type) else value.__doc__
    return bool(doc and doc.strip())


def _undocumented_members(qualname: str, cls: type) -> list[str]:
    missing: list[str] = []
    class_body: list[ast.stmt] | None = None
    class_lines: list[str] = []
    for name, value in vars(cls).items():
        if name.startswith("_") or isinstance(value, enum.Enum):
            continue
        if isinstance(value, (staticmethod, classmethod, property)) or inspect.isfunction(value):
            if not _has_own_doc(value):
                missing.append(f"{qualname}.{name}")
        elif not inspect.isdatadescriptor(value) and not isinstance(value, type):
            # A class constant: read its docstring from the class body.
            if class_body is None:
                source = textwrap.dedent(inspect.getsource(cls))
                definition = ast.parse(source).body[0]
                assert isinstance(definition, ast.ClassDef)
                class_body, class_lines = definition.body, source.splitlines()
            if not _documented(class_body, class_lines, name):
                missing.append(f"{qualname}.{name}")
    return missing


def _undocumented(package: str) -> tuple[list[str], int]:
    module = importlib.import_module(package)
    missing: list[str] = []
    names = _public_names(module)
    for name in names:
        value = getattr(module, name)
        qualname = f"{package}.{name}"
        # A class under another name (``Alias: TypeAlias = str``) is data, documented as such.
        if isinstance(value, type) and value.__name__ == name:
            if not _has_own_doc(value):
                missing.append(qualname)
            missing += _undocumented_members(qualname, value)
        elif inspect.isroutine(value) or isinstance(value, ModuleType):
            if not _has_own_doc(value):
                missing.append(qualname)
        elif not _data_documented(module, name):
            missing.append(qualname)
    return missing, len(names)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_has_a_docstring(package: str) -> None:
    missing, checked = _undocumented(package)
    assert checked >= 2, f"{package}: found only {checked} public names"
    assert not missing, "add a one-line docstring to: " + ", ".join(missing)


def test_the_walk_sees_what_it_must(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks themselves: each kind of undocumented public name is reported, nothing else."""
    package = tmp_path / "docs_walk_example"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            '''
            """An example package."""

            from .parts import Alias, Commented, Documented, Empty, Thing, act, bare

            __all__ = ["Alias", "Commented", "Documented", "Empty", "Thing", "act", "bare"]
            '''
        )
    )
    (package / "parts.py").write_text(
        textwrap.dedent(
            '''
            from typing import ClassVar, TypeAlias

            Alias: TypeAlias = int | str
            Documented: TypeAlias = int
            """An int."""
            #: A str.
            Commented: TypeAlias = str
            #:
            Empty: TypeAlias = str


            class Thing:
                """A thing."""

                LIMIT = 3
                #: How many at most.
                MAXIMUM: ClassVar[int] = 4

                def run(self) -> None:
                    pass

                @classmethod
                def make(cls) -> "Thing":
                    return cls()

                @property
                def size(self) -> int:
                    """The size."""
                    return 1

                def _private(self) -> None:
                    pass


            def act() -> None:
                """Act."""


            def bare() -> None:
                pass
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    missing, checked = _undocumented("docs_walk_example")
    assert checked == 7
    assert sorted(missing) == [
        "docs_walk_example.Alias",
        "docs_walk_example.Empty",
        "docs_walk_example.Thing.LIMIT",
        "docs_walk_example.Thing.make",
        "docs_walk_example.Thing.run",
        "docs_walk_example.bare",
    ]
