"""Side-by-side benchmarks against the fakes: ``python -m benchmarks`` (see docs/performance.md).

Never part of ``make test``. One module per comparison; ``report`` holds the shared timing
and table code, ``servers`` runs the fakes in a separate process, ``data`` builds the tasks.
"""
