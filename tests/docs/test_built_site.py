"""The built reference site shows users the public API in words they can read: no Sphinx role
left raw (``:class:`X```), no private member and no internal type as an entry, and API pages
of a readable size.

The site is built once, with the tools `make docs` installs (.venv-docs), into a temporary
folder; without them these tests are skipped. ``DOCS_SITE=build/docs`` checks a site already
built instead."""

from __future__ import annotations

import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = ROOT / ".venv-docs" / "bin" / "mkdocs"
# A role as Markdown leaves it: the backticks become <code>, or stay when inside code.
RAW_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|data|exc|mod|obj|const):(?:`|<code>)")
# calendar_watch's records for writing a state, and what a backend hands the watch engine
INTERNAL = frozenset(
    {"Snapshot", "SnapshotDelta", "Mark", "Record", "StoredChange", "WatchSource", "Observed"}
)
# the SDK's packages: a base class of theirs that no page documents is internal
PACKAGES = frozenset(
    {"calendar_transport", "calendar_watch", "r7cal", "pyrus_calendar", "calendar_bridge"}
)
MAX_PAGE_BYTES = 150 * 1024


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if built := os.environ.get("DOCS_SITE"):
        return Path(built)
    if not MKDOCS.exists():
        pytest.skip("the docs tools are not installed (make docs installs them)")
    site_dir = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stderr[-3000:]}"
    return site_dir


def _pages(site: Path) -> list[Path]:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 10, f"no site in {site}"
    return pages


def _api_pages(site: Path) -> list[Path]:
    pages = sorted((site / "api").glob("*/index.html"))
    assert len(pages) >= 10, f"no API pages in {site}"
    return pages


class _Entries(HTMLParser):
    """The documented objects of a page (mkdocstrings' ``doc-heading`` ids) and the bases its
    classes list without a link (by the dotted path in their ``title``; the first name in each
    ``<code>``, so not a type parameter)."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[str] = []
        self.unlinked_bases: list[str] = []
        self._in_bases = False
        self._first_in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if re.fullmatch(r"h[1-6]", tag) and "doc-heading" in classes and found.get("id"):
            self.entries.append(found["id"] or "")
        elif "doc-class-bases" in classes:
            self._in_bases = True
        elif self._in_bases and tag in ("a", "code", "span"):
            if self._first_in_code and tag == "span" and found.get("title"):
                self.unlinked_bases.append(found["title"] or "")
            self._first_in_code = tag == "code"

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_bases = False


def _internal(path: str) -> bool:
    parts = path.split(".")
    return any(part.startswith("_") for part in parts) or parts[-1] in INTERNAL


def raw_roles(page: str) -> list[str]:
    """The Sphinx roles left raw in a built page, with a little context."""
    return [page[max(0, m.start() - 60) : m.end() + 40] for m in RAW_ROLE.finditer(page)]


def internal_entries(page: str) -> list[str]:
    """The private or internal objects a built page documents, and the classes of the SDK's
    own it lists as a base without a link (so no page documents them)."""
    parser = _Entries()
    parser.feed(page)
    return [name for name in parser.entries if _internal(name)] + [
        base for base in parser.unlinked_bases if _internal(base) or base.split(".")[0] in PACKAGES
    ]


def test_no_sphinx_role_reaches_a_page(site: Path) -> None:
    found = {
        page.relative_to(site).as_posix(): roles
        for page in _pages(site)
        if (roles := raw_roles(page.read_text(encoding="utf-8")))
    }
    assert not found, f"{sum(map(len, found.values()))} raw roles: {found}"


def test_no_private_member_or_internal_type_is_an_entry(site: Path) -> None:
    found = {
        page.relative_to(site).as_posix(): names
        for page in _api_pages(site)
        if (names := internal_entries(page.read_text(encoding="utf-8")))
    }
    assert not found, f"internal names documented: {found}"


def test_api_pages_are_of_readable_size(site: Path) -> None:
    sizes = {page.relative_to(site).as_posix(): page.stat().st_size for page in _api_pages(site)}
    large = {page: f"{size // 1024} KB" for page, size in sizes.items() if size > MAX_PAGE_BYTES}
    assert not large, f"split these pages by concern: {large}"


def test_the_checks_see_what_they_must() -> None:
    assert raw_roles("raises :class:<code>AuthenticationError</code>.")
    assert raw_roles("see :meth:`aclose`")
    assert not raw_roles('raises <a href="#x"><code>AuthenticationError</code></a>: 401')
    page = (
        '<h3 id="calendar_watch.Watch" class="doc doc-heading">Watch</h3>'
        '<h4 id="calendar_watch.Watch._poll" class="doc doc-heading">_poll</h4>'
        '<h3 id="calendar_watch.state.Snapshot" class="doc doc-heading">Snapshot</h3>'
        '<h2 id="snapshot">Snapshot</h2>'
        '<p class="doc doc-class-bases">Bases: '
        '<code><span title="calendar_transport.client_base.ClientBase">ClientBase</span></code>, '
        '<code><span title="typing.Generic">Generic</span>[T]</code>, '
        '<code><a title="CalendarError (calendar_transport.CalendarError)" href="#">'
        "CalendarError</a></code></p>"
    )
    assert internal_entries(page) == [
        "calendar_watch.Watch._poll",
        "calendar_watch.state.Snapshot",
        "calendar_transport.client_base.ClientBase",
    ]
