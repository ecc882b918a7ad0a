"""Sphinx roles in a docstring (``:class:`~x.Y```, ``:meth:`aclose```) as Markdown: a
cross-reference (``[`Y`][x.Y]``) where the target has a heading on the site, else a code span.

Targets resolve as Sphinx resolves them: a relative name against the class, then the module,
then the packages the docstring belongs to; ``~`` shows only the last part, ``!`` never links,
and ``title <target>`` shows the title. A paragraph that ends in ``::`` (reST's mark of the
literal block below it, which Markdown shows as code already) ends in ``:``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from griffe import Object

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|data|exc|mod|obj|const|type):`([^`]+)`")
_TITLED = re.compile(r"(.+?)\s*<([^<>]+)>")
_LITERAL_MARK = re.compile(r"(?<=\S)::$|^[ \t]*::\n", re.MULTILINE)

#: the anchor on the site of what a dotted path names, or None
Anchor = Callable[[str], str | None]


def scopes(obj: Object) -> Iterator[str]:
    """Where a relative name in ``obj``'s docstring is looked for, nearest first."""
    if obj.is_class:
        yield obj.path
    if obj.parent is not None and obj.parent.is_class:
        yield obj.parent.path
    module = obj.module.path
    while module:  # the module, then each package around it
        yield module
        module = module.rpartition(".")[0]


def rewrite(text: str, obj: Object, anchor: Anchor) -> str:
    """``text`` (a docstring of ``obj``) with each role a link or a code span."""

    def replace(match: re.Match[str]) -> str:
        body = match.group(1).strip()
        titled = _TITLED.fullmatch(body)
        title, target = titled.groups() if titled else (None, body)
        linkable = not target.startswith("!")
        target = target.lstrip("!")
        short = target.startswith("~")
        target = target.lstrip("~.")
        if title is None:
            title = target.rsplit(".", 1)[-1] if short else target
        name = target.removesuffix("()")
        found = None
        if linkable:
            paths = [*(f"{scope}.{name}" for scope in scopes(obj)), name]
            found = next((hit for hit in map(anchor, paths) if hit), None)
        return f"[`{title}`][{found}]" if found else f"`{title}`"

    return _LITERAL_MARK.sub(
        lambda mark: ":" if mark.group(0) == "::" else "", ROLE.sub(replace, text)
    )
