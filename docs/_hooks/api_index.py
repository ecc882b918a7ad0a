"""What the API pages document: the objects their ``:::`` lines name, the members
mkdocstrings renders under each (public ones, less those a ``filters`` option of the line
leaves out), and where on the site a dotted path (any import path of an object) has its
anchor."""

from __future__ import annotations

import re
import textwrap
from functools import cached_property
from pathlib import Path

import yaml  # type: ignore[import-untyped]
from griffe import Alias, AliasResolutionError, CyclicAliasError, ModulesCollection, Object

# a ':::' line and the indented options under it
DIRECTIVE = re.compile(r"^::: ([\w.]+)[ \t]*\n((?:[ \t]+\S.*\n?)*)", re.MULTILINE)


def directives(pages: Path) -> dict[str, list[str]]:
    """The objects the API pages in ``pages`` name, each with the member names its
    ``filters`` option leaves out (the ``"!..."`` patterns)."""
    found: dict[str, list[str]] = {}
    for page in sorted(pages.glob("*.md")):
        for path, block in DIRECTIVE.findall(page.read_text(encoding="utf-8") + "\n"):
            options = (yaml.safe_load(textwrap.dedent(block)) or {}).get("options") or {}
            filters = options.get("filters") or []
            found[path] = [pattern[1:] for pattern in filters if pattern.startswith("!")]
    return found


class ApiIndex:
    """The documented objects of ``collection``: ``paths`` are the ``:::`` lines, each with
    the patterns of the members it leaves out."""

    def __init__(self, collection: ModulesCollection, paths: dict[str, list[str]]) -> None:
        self._collection = collection
        self._left_out = paths
        self.objects: dict[str, Object | Alias] = {}
        self._home: dict[str, str] = {}  # an object's canonical path -> its documented path
        for path in paths:
            found = self.lookup(path)
            if found is not None:
                self.objects[path] = found
                self._home[found.canonical_path] = path

    def lookup(self, path: str) -> Object | Alias | None:
        """The object at ``path``, or ``None`` (no such object, or an alias out of reach)."""
        try:
            found: Object | Alias = self._collection[path]
            if isinstance(found, Alias):
                found.final_target  # noqa: B018  (raises when the alias cannot be resolved)
        except (KeyError, ValueError, AliasResolutionError, CyclicAliasError):
            return None
        return found

    def documented(self, obj: Object | Alias) -> bool:
        """Whether ``obj`` has a ``:::`` line of its own."""
        return obj.canonical_path in self._home

    @cached_property
    def anchors(self) -> frozenset[str]:
        """Every heading the API pages get: each documented object and, for a class, its
        public members (read once, after the members are final)."""
        found = set(self.objects)
        for path, obj in self.objects.items():
            if obj.is_class:
                left_out = [re.compile(pattern) for pattern in self._left_out[path]]
                found.update(
                    f"{path}.{name}"
                    for name in obj.members
                    if not name.startswith("_") and not any(p.search(name) for p in left_out)
                )
        return frozenset(found)

    def anchor(self, path: str) -> str | None:
        """The anchor of what ``path`` names, if the site documents it (``None`` otherwise)."""
        if self.lookup(path) is None:
            return None
        parts = path.split(".")
        for length in range(len(parts), 0, -1):
            prefix = self.lookup(".".join(parts[:length]))
            home = prefix and self._home.get(prefix.canonical_path)
            if home:
                anchor = ".".join([home, *parts[length:]])
                return anchor if anchor in self.anchors else None
        return None
