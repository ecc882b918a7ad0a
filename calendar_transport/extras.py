"""The one message for a missing optional dependency: which extra to install, and how."""

from __future__ import annotations

__all__ = ["missing_extra"]

#: the distribution users install, as its extras are named after it
DISTRIBUTION = "r7-pyrus-calendar"


def missing_extra(extra: str, feature: str) -> ImportError:
    """The ImportError to raise (``from`` the original) when ``feature`` needs ``extra``:
    ``"the Redis state needs the 'redis' extra: pip install 'r7-pyrus-calendar[redis]'"``."""
    install = f"pip install '{DISTRIBUTION}[{extra}]'"
    return ImportError(f"{feature} needs the '{extra}' extra: {install}")
