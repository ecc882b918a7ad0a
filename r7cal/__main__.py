"""``python -m r7cal``: the R7 calendar command line (see :mod:`r7cal.cli`)."""

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
