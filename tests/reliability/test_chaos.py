"""The chaos soak, small and with a fixed seed: the same expectations as ``make chaos``.

Run with ``-s`` to see the table.
"""

from __future__ import annotations

import pytest

from .chaos import FAULT_MIX, ChaosConfig, Report, format_table, soak_pyrus, soak_r7
from .chaos_watch import WatchChaosConfig, format_watch_table, soak_watch

# Small and quick: timeouts and spikes scaled down, still a spike longer than the timeout.
CONFIG = ChaosConfig(
    calls=250, seed=20250601, rate=0.12, concurrency=8, timeout=0.1, spike=0.15, time_limit=60
)


def _check(report: Report) -> None:
    print()
    print(format_table([report]))
    assert report.problems() == []
    assert report.total_calls == CONFIG.calls
    assert not report.stopped_early
    # every kind of fault was really injected, so every recovery path really ran
    for kind in FAULT_MIX:
        assert report.faults[kind] > 0, kind
    assert report.retries > 0
    assert report.logins > 1  # revocations forced re-logins
    # nothing lost: checked in problems() too, spelled out here
    assert report.items_lost == 0
    assert report.items_twice == 0
    assert report.paging_runs > 0
    assert report.leaked_tasks == report.open_connections == report.unclosed_warnings == 0
    # what raised, raised for a reason the SDK owns up to
    assert report.failed_with_attempts_left == []
    assert sum(report.raised.values()) == report.creates_raised + report.idempotent_exhausted


async def test_r7_soak_loses_and_duplicates_nothing() -> None:
    report = await soak_r7(CONFIG)
    _check(report)
    assert report.duplicates == 0
    assert report.creates_lost == 0
    assert report.deletes_undone == 0
    assert report.calls["create"] > 0
    assert report.calls["delete"] > 0
    # most calls get through a 12 % fault rate; the failures are creates never re-sent
    assert report.succeeded >= 0.9 * report.total_calls


async def test_pyrus_soak_pages_every_task_exactly_once() -> None:
    report = await soak_pyrus(CONFIG)
    _check(report)
    assert report.duplicates is None  # the calendar API has no creates
    assert report.paging_completed >= 0.9 * report.paging_runs
    assert report.succeeded >= 0.95 * report.total_calls


@pytest.mark.parametrize("argv", [["--calls", "0"], ["--rate", "1.5"], ["--watch-rounds", "0"]])
def test_cli_refuses_nonsense(argv: list[str]) -> None:
    from .chaos import main

    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2


async def test_watch_soak_loses_nothing_and_repeats_at_most_one_per_kill() -> None:
    config = WatchChaosConfig(rounds=30, seed=20250601, kill_rate=0.3, rate=0.12, tasks=40)
    report = await soak_watch(config)
    print()
    print(format_watch_table(report))
    assert report.problems() == []
    assert report.lost == []
    assert report.duplicates <= report.kills
    assert not report.stopped_early
    # every part really ran: kills (some right after a change), faults, and every kind
    assert report.kills >= 5
    assert report.kills_after_a_change >= 1
    assert sum(report.faults.values()) > 0
    assert report.starts == report.kills + 1
    for kind in ("added", "changed", "removed"):
        assert report.delivered[kind] > 0, kind
    for kind in ("add", "edit", "delete", "move"):
        assert report.mutations[kind] > 0, kind
