"""griffe extension (mkdocs.yml, mkdocstrings' ``extensions``): once every package the API
pages name is loaded, documented classes lose their set-up code and internal bases
(``public_api``) and every docstring's Sphinx roles become links or code spans
(``sphinx_roles``), against what the pages document (``api_index``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from griffe import Alias, Class, Extension, Function, GriffeLoader, Module, Object

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # griffe loads this file by path: its siblings are not importable
    sys.path.insert(0, str(HERE))

from api_index import ApiIndex, directives  # noqa: E402
from public_api import flatten_internal_bases, tidy_attributes, tidy_defaults  # noqa: E402
from sphinx_roles import rewrite  # noqa: E402

PAGES = HERE.parent / "api"


def _walk(obj: Object) -> Iterator[Object]:
    """``obj`` and everything defined in it (not what it imports)."""
    yield obj
    for member in obj.members.values():
        if not isinstance(member, Alias):
            yield from _walk(member)


class ApiReference(Extension):
    """Runs once per build, when the last of the documented packages has loaded."""

    def __init__(self) -> None:
        super().__init__()
        self._paths = directives(PAGES)  # documented path -> the member patterns left out
        self._packages = sorted({path.split(".", 1)[0] for path in self._paths})
        self._done = False

    def on_package(self, *, pkg: Module, loader: GriffeLoader, **kwargs: Any) -> None:
        if self._done or pkg.name not in self._packages:
            return
        collection = loader.modules_collection
        for name in self._packages:
            if name not in collection:
                loader.load(name, try_relative_path=False)  # runs this hook for it too
        if self._done:
            return
        self._done = True
        index = ApiIndex(collection, self._paths)
        objects = [obj for name in self._packages for obj in _walk(collection[name])]
        for obj in objects:
            if isinstance(obj, Class):
                tidy_attributes(obj)
            elif isinstance(obj, Function):
                tidy_defaults(obj)
        for documented in index.objects.values():
            target = documented.final_target if isinstance(documented, Alias) else documented
            if isinstance(target, Class):
                flatten_internal_bases(
                    target,
                    lambda cls: cls.package.name in self._packages and not index.documented(cls),
                )
        for obj in objects:
            if obj.docstring is not None:
                obj.docstring.value = rewrite(obj.docstring.value, obj, index.anchor)
                obj.docstring.__dict__.pop("parsed", None)  # parsed again from the new text
