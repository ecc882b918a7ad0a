"""The one error for a missing optional dependency: which extra to install, and how."""

from __future__ import annotations

__all__ = ["MissingExtraError", "missing_extra"]

#: the distribution users install, as its extras are named after it
DISTRIBUTION = "r7-pyrus-calendar"


class MissingExtraError(ImportError):
    """A feature needs an optional dependency that is not installed; ``extra`` names the
    extra that brings it (``pip install 'r7-pyrus-calendar[EXTRA]'``)."""

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        self.extra = extra


def missing_extra(extra: str, feature: str) -> MissingExtraError:
    """The error to raise (``from`` the original ImportError) when ``feature`` needs
    ``extra``: "the Redis state needs the 'redis' extra: pip install
    'r7-pyrus-calendar[redis]'"."""
    install = f"pip install '{DISTRIBUTION}[{extra}]'"
    return MissingExtraError(f"{feature} needs the '{extra}' extra: {install}", extra=extra)
