"""The layering docs/architecture.md draws: imports point down only, extras stay behind their
modules, and importing a client loads no test double, web server or iCalendar."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: package -> the project packages it may import (besides itself)
MAY_IMPORT: dict[str, set[str]] = {
    "calendar_transport": set(),
    "calendar_watch": {"calendar_transport"},
    "r7cal": {"calendar_transport", "calendar_watch"},
    "pyrus_calendar": {"calendar_transport", "calendar_watch"},
    "calendar_bridge": {"calendar_transport", "calendar_watch", "r7cal", "pyrus_calendar"},
    "calendar_cli": {
        "calendar_transport",
        "calendar_watch",
        "r7cal",
        "pyrus_calendar",
        "calendar_bridge",
    },
}
#: modules allowed one step more: an entry point reaches the layer above it
ENTRY_POINTS: dict[str, set[str]] = {
    "r7cal/__main__.py": {"calendar_cli"},
    "pyrus_calendar/__main__.py": {"calendar_cli"},
}
#: third-party modules only the named files of a package may import
CONFINED: dict[str, tuple[str, ...]] = {
    "aiohttp.web": (
        "calendar_transport/testing.py",
        "r7cal/testing/",
        "pyrus_calendar/testing/",
        "calendar_bridge/",
    ),
    # The sync state's Redis layout is the bridge's: its entries and intents are bridge
    # types the transport may not import (it reuses the transport's prefix rule).
    "redis": (
        "calendar_transport/redis.py",
        "calendar_watch/redis.py",
        "calendar_bridge/sync/redis.py",
    ),
    "opentelemetry": ("calendar_transport/otel.py",),
    "icalendar": ("calendar_bridge/",),
    "caldav": ("calendar_bridge/sync/caldav.py",),
}


def _modules(path: Path) -> set[str]:
    """Every module an import statement in ``path`` names (also inside functions)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _home(package: str) -> Path:
    """The folder ``package`` is imported from: the source tree, or site-packages when the suite
    runs against the installed wheel (make test-installed)."""
    spec = importlib.util.find_spec(package)
    assert spec is not None
    assert spec.origin is not None, f"{package} is not installed"
    return Path(spec.origin).parent


def _where(package: str, path: Path) -> str:
    """``path`` as the tree names it: ``r7cal/events.py``."""
    return f"{package}/{path.relative_to(_home(package)).as_posix()}"


def _files() -> list[tuple[str, Path]]:
    return [
        (package, path) for package in MAY_IMPORT for path in sorted(_home(package).rglob("*.py"))
    ]


@pytest.mark.parametrize(
    ("package", "path"), _files(), ids=[_where(package, path) for package, path in _files()]
)
def test_imports_point_down_only(package: str, path: Path) -> None:
    where = _where(package, path)
    allowed = MAY_IMPORT[package] | ENTRY_POINTS.get(where, set()) | {package}
    wrong = sorted(
        name
        for name in _modules(path)
        if name.split(".")[0] in MAY_IMPORT and name.split(".")[0] not in allowed
    )
    assert not wrong, f"{where} imports {wrong}, above or beside its layer"
    for module, homes in CONFINED.items():
        used = [name for name in _modules(path) if name == module or name.startswith(f"{module}.")]
        assert not used or where.startswith(homes), f"{where} imports {used}: only {homes} may"


def test_no_client_module_imports_a_test_double() -> None:
    for package in ("calendar_transport", "r7cal", "pyrus_calendar"):
        for path in _home(package).rglob("*.py"):
            where = _where(package, path)
            if "testing" in where:
                continue
            doubles = [name for name in _modules(path) if ".testing" in name]
            assert not doubles, f"{where} imports the test doubles {doubles}"


def test_importing_the_clients_loads_no_web_server_icalendar_or_fake() -> None:
    code = (
        "import sys, r7cal, pyrus_calendar, calendar_transport\n"
        "print(sorted(m for m in sys.modules if m.startswith(('aiohttp.web', 'icalendar',"
        " 'redis', 'opentelemetry')) or m.endswith('.testing')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("package", ["r7cal", "pyrus_calendar"])
def test_the_fakes_live_only_in_testing(package: str) -> None:
    """Nothing is released yet: no shim serves the fakes from the client package."""
    module = __import__(package)
    for name in ("FakeR7Server", "FakePyrusServer", "demo_data"):
        assert not hasattr(module, name), f"{package}.{name}"


def test_importing_the_sync_loads_neither_redis_nor_caldav() -> None:
    code = (
        "import sys, calendar_bridge.sync\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('redis', 'caldav')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"


def test_docs_architecture_names_every_package_and_module() -> None:
    """docs/architecture.md is the picture: a module it does not name is a room nobody drew."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [package for package in MAY_IMPORT if f"`{package}`" not in text]
    for package, path in _files():
        if path.name in ("__init__.py", "__main__.py") or "testing" in path.parts:
            continue
        if f"`{path.name}`" not in text and f"`{path.parent.name}/`" not in text:
            missing.append(_where(package, path))
    assert not missing, f"docs/architecture.md does not name {missing}"


def _runtime_imports(package: str, path: Path) -> set[str]:
    """The package's own modules ``path`` imports when it loads (not inside functions, not
    under ``if TYPE_CHECKING``: those are no import circle)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _where(package, path)[: -len(".py")].replace("/", ".")
    parent = here.rsplit(".", 1)[0] if not here.endswith("__init__") else here[: -len(".__init__")]
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = parent.rsplit(".", node.level - 1)[0] if node.level > 1 else parent
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_module_imports_itself_round_a_circle() -> None:
    modules = {
        _where(package, path)[: -len(".py")].replace("/", ".").removesuffix(".__init__"): (
            package,
            path,
        )
        for package, path in _files()
    }
    # A package's __init__ gathers its modules; a module reading a name from it (the
    # version) is how packages work, not a circle between two rooms.
    inits = {name for name, (_, path) in modules.items() if path.name == "__init__.py"}
    graph = {
        name: {m for m in _runtime_imports(*where) if m in modules and m != name} - inits
        for name, where in modules.items()
    }
    circles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:  # bounded: each module is expanded once per start
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    circles.append(trail)
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert not circles, f"import circles: {circles[:3]}"
