"""Names that moved to another module keep working, with a warning, for one release."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["moved_names"]


def moved_names(package: str, moves: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that serves each moved name from its new home.

    ``moves`` maps an old name to ``"module"`` (the name was a module) or ``"module:attr"``.
    """

    def __getattr__(name: str) -> Any:
        target = moves.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attribute = target.partition(":")
        new = f"{module_name}.{attribute}" if attribute else module_name
        warnings.warn(
            f"{package}.{name} moved to {new}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        module = importlib.import_module(module_name)
        return getattr(module, attribute) if attribute else module

    return __getattr__
