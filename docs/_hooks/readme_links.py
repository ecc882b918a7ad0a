"""mkdocs hook: a README link to one of its own sections (``#how-paging-works``) points, on
the site, at the page that includes that section; a README link into ``docs/`` points at
that page."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

_INCLUDE = re.compile(r'^--8<-- "README\.md:([\w-]+)"$', re.MULTILINE)
_HEADING_THEN_START = re.compile(r"^#+ (.+)\n<!-- --8<-- \[start:([\w-]+)\] -->$", re.MULTILINE)
_LINK = re.compile(r"\]\(#([\w-]+)\)")
# README's links into docs/ ("docs/scale.md"), which on the site are pages beside the page
_DOCS_LINK = re.compile(r"\]\(docs/([\w./-]+)\)")
# pymdownx.snippets runs at priority 32; this must see the text it included.
_AFTER_SNIPPETS = 31

# README section anchor -> the docs page (path under docs/) that includes that section
_targets: dict[str, str] = {}
_current: list[str] = [""]  # the page being rendered (mkdocs renders one at a time)


def _slug(heading: str) -> str:
    """The anchor GitHub and Python-Markdown's toc both give a plain heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


class _Retarget(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        page = _current[0]

        def retarget(match: re.Match[str]) -> str:
            target = _targets.get(match.group(1))
            if target is None or target == page:
                return match.group(0)
            relative = posixpath.relpath(target, posixpath.dirname(page) or ".")
            return f"]({relative}#{match.group(1)})"

        def into_docs(match: re.Match[str]) -> str:
            return f"]({posixpath.relpath(match.group(1), posixpath.dirname(page) or '.')})"

        return [_DOCS_LINK.sub(into_docs, _LINK.sub(retarget, line)) for line in lines]


class _RetargetExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(_Retarget(md), "readme_links", _AFTER_SNIPPETS)


def on_config(config: Any) -> Any:
    """Add the link rewriter to the Markdown extensions."""
    config.markdown_extensions.append(_RetargetExtension())
    return config


def on_files(files: Any, config: Any) -> Any:
    """Map each README section's anchor to the page that includes it."""
    readme = (Path(config.config_file_path).parent / "README.md").read_text(encoding="utf-8")
    anchor_of = {name: _slug(title) for title, name in _HEADING_THEN_START.findall(readme)}
    _targets.clear()
    for file in files.documentation_pages():
        for name in _INCLUDE.findall(Path(file.abs_src_path).read_text(encoding="utf-8")):
            if name in anchor_of:
                _targets[anchor_of[name]] = file.src_uri
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Remember which page the preprocessor is about to render."""
    _current[0] = page.file.src_uri
    return markdown
