"""``python -m tests.scale``: the fleet soak (``make scale``)."""

from .soak import main

main()
