"""``python -m r7cal``: the R7 calendar command line (see :mod:`calendar_cli.r7`)."""

import sys

from calendar_cli.r7 import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
