"""The reference site stays whole without building it: the README sections it includes are
marked, every public name has a place on an API page, the tools are pinned, and nothing in
mkdocs.yml fetches at build time. (`make docs` builds it with `mkdocs build --strict`.)"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
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
)
CORE = "calendar_transport"

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


def _public(package: str) -> list[str]:
    module = importlib.import_module(package)
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    return [name for name in names if not name.startswith("__")]


def _directives(package: str) -> list[str]:
    return _DIRECTIVE.findall((DOCS / "api" / f"{package}.md").read_text(encoding="utf-8"))


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_is_on_an_api_page(package: str) -> None:
    module, core = importlib.import_module(package), importlib.import_module(CORE)
    documented = set(_directives(package))
    core_documented = set(_directives(CORE))
    missing = []
    for name in _public(package):
        shared = package != CORE and getattr(core, name, None) is getattr(module, name)
        if shared:  # a re-export of the core's own class is documented once, on the core's page
            if f"{CORE}.{name}" not in core_documented:
                missing.append(f"{CORE}.{name} (docs/api/{CORE}.md)")
        elif f"{package}.{name}" not in documented:
            missing.append(f"{package}.{name} (docs/api/{package}.md)")
    assert not missing, f"add a ':::' line for: {missing}"


@pytest.mark.parametrize("package", PACKAGES)
def test_api_pages_name_only_what_exists(package: str) -> None:
    directives = _directives(package)
    assert directives
    assert len(directives) == len(set(directives)), "an object documented twice"
    for path in directives:
        module_name, _, attribute = path.rpartition(".")
        assert module_name == package or module_name.startswith(f"{package}."), (
            f"{path} belongs on its own package's page"
        )
        assert hasattr(importlib.import_module(module_name), attribute), f"no such name: {path}"


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
