"""The reference site stays whole without building it: the README sections it includes are
marked, every public name has a place on exactly one API page (pages per concern, under
docs/api/) and nothing else does, the tools are pinned, and nothing in mkdocs.yml fetches at
build time. (`make docs` builds it with `mkdocs build --strict`; test_built_site.py checks
the built pages.)"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
API = DOCS / "api"
# The packages whose `__all__` is their public API, all of it on the API pages.
PACKAGES = (
    "calendar_transport",
    "calendar_watch",
    "r7cal",
    "r7cal.testing",
    "pyrus_calendar",
    "pyrus_calendar.testing",
    "calendar_bridge",
    "calendar_bridge.ical",
    "calendar_bridge.feed",
    "calendar_bridge.sync",
)
# Submodules imported by name (most for an extra); their `__all__` is public as well.
SUBMODULES = (
    "calendar_transport.otel",
    "calendar_transport.redis",
    "calendar_watch.redis",
    "calendar_watch.replicas",
    "calendar_bridge.sync.caldav",
    "calendar_bridge.sync.redis",
)
PUBLIC = PACKAGES + SUBMODULES
# What those modules export for the SDK's own packages (the sync's Redis state, the engine,
# the CLI), not for users: no page shows it.
PLUMBING = frozenset(
    {
        "calendar_transport.redis.REDIS_UNAVAILABLE",
        "calendar_transport.redis.check_client",
        "calendar_transport.redis.check_prefix",
        "calendar_transport.redis.redis_client_for",
        "calendar_watch.replicas.check_watch_name",
    }
)

_MARKER = re.compile(r"^<!-- --8<-- \[(start|end):([\w-]+)\] -->$")
_INCLUDE = re.compile(r'^--8<-- "README\.md:([\w-]+)"$', re.MULTILINE)
_DIRECTIVE = re.compile(r"^::: ([\w.]+)$", re.MULTILINE)
# The title and the "##" headings are sections of the site; "###" subheadings stay inside one.
_SECTION_HEADING = re.compile(r"^#{1,2} ")


def _sections(text: str) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """README's marked sections (name -> start and end line) and what is wrong with them."""
    sections: dict[str, tuple[int, int]] = {}
    problems: list[str] = []
    open_name: str | None = None
    open_line = 0
    in_fence = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            in_fence = not in_fence
        marker = None if in_fence else _MARKER.match(line)
        if marker is None:
            if not in_fence and _SECTION_HEADING.match(line) and open_name is not None:
                problems.append(f"line {number}: heading {line!r} inside section {open_name}")
            continue
        kind, name = marker.groups()
        if kind == "start":
            if open_name is not None:
                problems.append(f"line {number}: {name} starts inside {open_name}")
            if name in sections:
                problems.append(f"line {number}: section {name} marked twice")
            open_name, open_line = name, number
        elif name != open_name:
            problems.append(f"line {number}: end of {name}, but {open_name} is open")
        else:
            sections[name] = (open_line, number)
            open_name = None
    if open_name is not None:
        problems.append(f"section {open_name} never ends")
    return sections, problems


def _unmarked_headings(text: str, sections: dict[str, tuple[int, int]]) -> list[str]:
    """README headings whose section is not marked (so it would be missing from the site)."""
    lines = text.splitlines()
    starts = {start for start, _ in sections.values()}
    missing, in_fence = [], False
    for number, line in enumerate(lines, start=1):
        if line.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and _SECTION_HEADING.match(line) and number + 1 not in starts:
            missing.append(line)
    return missing


def _includes() -> dict[str, list[str]]:
    """Section name -> the docs pages that include it."""
    pages: dict[str, list[str]] = {}
    for page in sorted(DOCS.rglob("*.md")):
        for name in _INCLUDE.findall(page.read_text(encoding="utf-8")):
            pages.setdefault(name, []).append(page.relative_to(DOCS).as_posix())
    return pages


def test_readme_sections_are_marked_and_all_on_the_site() -> None:
    text = README.read_text(encoding="utf-8")
    sections, problems = _sections(text)
    assert not problems, problems
    assert len(sections) >= 10
    unmarked = _unmarked_headings(text, sections)
    assert not unmarked, (
        "mark these README sections (a start marker on the line after the heading, an end "
        f"marker after the section) and include them from a docs page: {unmarked}"
    )
    included = _includes()
    unknown = set(included) - set(sections)
    assert not unknown, f"no such README section: {unknown}"
    assert set(sections) <= set(included), f"on no docs page: {set(sections) - set(included)}"
    twice = {name: pages for name, pages in included.items() if len(pages) > 1}
    assert not twice, f"included on more than one page: {twice}"


def test_the_marker_checks_catch_mistakes() -> None:
    good = "# T\n<!-- --8<-- [start:a] -->\ntext\n<!-- --8<-- [end:a] -->\n"
    assert _sections(good) == ({"a": (2, 4)}, [])
    assert _unmarked_headings(good + "## New\nmore\n", _sections(good)[0]) == ["## New"]
    assert _sections("<!-- --8<-- [start:a] -->\n")[1] == ["section a never ends"]
    crossed = "<!-- --8<-- [start:a] -->\n<!-- --8<-- [end:b] -->\n<!-- --8<-- [end:a] -->\n"
    assert _sections(crossed)[1] == ["line 2: end of b, but a is open"]
    swallowed = "<!-- --8<-- [start:a] -->\n## Next\n<!-- --8<-- [end:a] -->\n"
    assert _sections(swallowed)[1] == ["line 2: heading '## Next' inside section a"]
    fenced = "```python\n# a comment, not a heading\n```\n"
    assert _unmarked_headings(fenced, {}) == []


def _public(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    return [name for name in names if not name.startswith("__")]


def _home(module_name: str, name: str) -> str:
    """Where a public name is documented: a class or function exported by several modules
    (the core's errors, re-exported by both backends) once, under the first of PUBLIC that
    exports it; anything else under its own module."""
    value = getattr(importlib.import_module(module_name), name)
    if isinstance(value, type) or callable(value):
        for other in PUBLIC:
            if name in _public(other) and getattr(importlib.import_module(other), name) is value:
                return f"{other}.{name}"
    return f"{module_name}.{name}"


def _directives() -> dict[str, list[str]]:
    """What the ':::' lines of the API pages name -> the pages that name it."""
    found: dict[str, list[str]] = {}
    for page in sorted(API.glob("*.md")):
        for path in _DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            found.setdefault(path, []).append(page.name)
    return found


@pytest.mark.parametrize("module_name", PUBLIC)
def test_every_public_name_is_on_an_api_page(module_name: str) -> None:
    documented = _directives()
    missing = [
        _home(module_name, name)
        for name in _public(module_name)
        if f"{module_name}.{name}" not in PLUMBING and _home(module_name, name) not in documented
    ]
    assert not missing, f"add a ':::' line to the page of its concern (docs/api/) for: {missing}"


def test_each_name_is_on_one_page_once() -> None:
    twice = {path: pages for path, pages in _directives().items() if len(pages) > 1}
    assert not twice, f"documented more than once: {twice}"
    for page in sorted(API.glob("*.md")):
        paths = _DIRECTIVE.findall(page.read_text(encoding="utf-8"))
        assert len(paths) == len(set(paths)), f"{page.name}: an object documented twice"


def test_api_pages_name_only_public_names_that_exist() -> None:
    homes = {_home(module, name) for module in PUBLIC for name in _public(module)}
    for path, pages in _directives().items():
        module_name, _, attribute = path.rpartition(".")
        assert hasattr(importlib.import_module(module_name), attribute), (
            f"{pages}: no such name: {path}"
        )
        assert path in homes, (
            f"{pages}: {path} is not public (in no __all__ of {PUBLIC}), or is documented under "
            "another of its names"
        )
        assert path not in PLUMBING, f"{pages}: {path} is for the SDK's own packages"


def test_the_plumbing_is_exported_and_kept_off_the_pages() -> None:
    exported = {f"{module}.{name}" for module in SUBMODULES for name in _public(module)}
    assert exported >= PLUMBING, f"no longer exported, drop from PLUMBING: {PLUMBING - exported}"
    assert not PLUMBING & set(_directives())


def test_docs_tools_are_pinned() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["docs"]
    names = {re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower() for requirement in extras}
    lines = (ROOT / "constraints" / "docs.txt").read_text(encoding="utf-8").splitlines()
    pinned = {line.split("==")[0].strip().lower() for line in lines if "==" in line}
    assert {"mkdocs", "mkdocs-material", "mkdocstrings-python"} <= names
    assert names <= pinned, f"pin in constraints/docs.txt: {names - pinned}"


def test_the_build_fetches_nothing() -> None:
    config = [
        line.split(" #")[0].rstrip()
        for line in (ROOT / "mkdocs.yml").read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    assert "  font: false" in config, "material must not load fonts from a font service"
    plugins = {line.strip()[2:] for line in config if re.fullmatch(r"  - [\w-]+:?", line)}
    assert plugins & {"privacy", "privacy:", "social", "social:"} == set()
    assert not any(line.strip().startswith(("inventories:", "import:")) for line in config), (
        "mkdocstrings inventories are downloaded at build time"
    )
    assert not any("://" in line for line in config if not line.startswith("site_url")), (
        "a remote resource in mkdocs.yml"
    )
