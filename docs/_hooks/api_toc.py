"""mkdocs hook: an API page's table of contents lists its sections and objects (headings down
to ``###``), not every attribute and method of every class; those keep their anchors."""

from __future__ import annotations

from typing import Any

DEPTH = 3


def _trim(links: list[Any]) -> None:
    for link in links:
        link.children = [child for child in link.children if child.level <= DEPTH]
        _trim(link.children)


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    """Drop the member headings from the table of contents of the pages under ``api/``."""
    if page.file.src_uri.startswith("api/"):
        _trim(list(page.toc))
    return html
