"""``python -m pyrus_calendar``: the Pyrus calendar command line (see :mod:`calendar_cli.pyrus`)."""

import sys

from calendar_cli.pyrus import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
