"""``python -m pyrus_calendar``: the Pyrus calendar command line (see :mod:`pyrus_calendar.cli`)."""

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
