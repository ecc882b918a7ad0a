"""The ``r7cal`` and ``pyrus-calendar`` command-line tools, built on the two clients.

``calendar_cli.common`` holds what both share (typed arguments, tables, exit codes, output);
``calendar_cli.r7`` and ``calendar_cli.pyrus`` are the tools. ``--ics`` needs the ``ics``
extra (``pip install 'r7-pyrus-calendar[cli]'`` brings it).
"""
