"""The memory and SQLite states: the protocol, one transaction per poll, and files that
are not ours, newer, corrupt or not writable."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from calendar_watch import (
    MemoryWatchState,
    SqliteWatchState,
    WatchConflictError,
    WatchState,
    WatchStateError,
)
from calendar_watch.sqlite import SCHEMA_VERSION
from calendar_watch.state import Mark, Record, SnapshotDelta, StoredChange, stored_kind

WHEN = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)


def _change(seq: int, key: str = "task:1") -> StoredChange:
    return StoredChange(seq, "added", key, f"{key}@{seq}", WHEN, b'{"id":1}', None)


def _put(key: str = "task:1", fingerprint: str = "f1") -> SnapshotDelta:
    return SnapshotDelta(put={key: Record(Mark(fingerprint, WHEN), b'{"id":1}')})


@pytest.fixture(params=["memory", "sqlite"])
async def state(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[WatchState]:
    made: WatchState = (
        MemoryWatchState() if request.param == "memory" else SqliteWatchState(tmp_path / "w.db")
    )
    await made.open()
    yield made
    await made.close()


async def test_a_poll_is_committed_whole_and_changes_wait_for_their_ack(state: WatchState) -> None:
    assert (await state.load("w")).poll_id == 0
    await state.commit("w", 1, [_change(1), _change(2, "task:2")], _put())
    snapshot = await state.load("w")
    assert snapshot.poll_id == 1
    assert snapshot.marks == {"task:1": Mark("f1", WHEN)}
    assert [change.seq for change in snapshot.pending] == [1, 2]
    assert snapshot.pending[0] == _change(1)
    assert await state.items("w", ["task:1", "task:9"]) == {"task:1": b'{"id":1}'}
    await state.ack("w", 1)
    assert [change.seq for change in (await state.load("w")).pending] == [2]
    await state.commit("w", 2, [], SnapshotDelta(drop=["task:1"]))
    assert (await state.load("w")).marks == {}
    # another watch in the same state sees none of it
    assert (await state.load("other")).poll_id == 0


async def test_a_commit_out_of_turn_is_refused_and_changes_nothing(state: WatchState) -> None:
    await state.commit("w", 1, [], _put())
    with pytest.raises(WatchConflictError, match="poll 1 does not follow poll 1"):
        await state.commit("w", 1, [_change(1)], _put("task:2"))
    snapshot = await state.load("w")
    assert set(snapshot.marks) == {"task:1"}
    assert snapshot.pending == []


async def test_the_sqlite_file_is_ours_in_wal_mode_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    first = SqliteWatchState(path)
    await first.open()
    await first.commit("w", 1, [_change(1)], _put())
    await first.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    again = SqliteWatchState(path)
    await again.open()
    try:
        snapshot = await again.load("w")
    finally:
        await again.close()
    assert snapshot.poll_id == 1
    assert snapshot.pending == [_change(1)]


async def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    with pytest.raises(WatchStateError, match="not an SQLite file"):
        await SqliteWatchState(path).open()
    assert path.read_text() == "my notes\n"


async def test_another_programs_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE orders (id INTEGER)")
        db.execute("INSERT INTO orders VALUES (7)")
    before = path.read_bytes()
    with pytest.raises(WatchStateError, match="another program"):
        await SqliteWatchState(path).open()
    assert path.read_bytes() == before


async def test_a_state_from_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    state = SqliteWatchState(path)
    await state.open()
    await state.close()
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = path.read_bytes()
    with pytest.raises(WatchStateError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        await SqliteWatchState(path).open()
    assert path.read_bytes() == before


async def test_a_corrupt_state_is_reported_not_recreated(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    state = SqliteWatchState(path)
    await state.open()
    await state.commit("w", 1, [_change(n) for n in range(1, 400)], _put())
    await state.close()
    data = bytearray(path.read_bytes())
    assert len(data) > 8192
    data[4096:8192] = b"\xff" * 4096  # a page of garbage past the header
    path.write_bytes(bytes(data))
    with pytest.raises(WatchStateError, match="is corrupt"):
        await SqliteWatchState(path).open()
    assert path.read_bytes() == bytes(data)


async def test_a_path_that_cannot_be_written_fails_on_open(tmp_path: Path) -> None:
    # /proc takes no new files, even from root
    with pytest.raises(WatchStateError, match="cannot"):
        await SqliteWatchState("/proc/watch-state.db").open()
    with pytest.raises(WatchStateError, match="not a directory"):
        await SqliteWatchState(tmp_path / "missing" / "w.db").open()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
async def test_a_read_only_file_fails_on_open(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    state = SqliteWatchState(path)
    await state.open()
    await state.close()
    _read_only(path, tmp_path, 0o444, 0o555)
    try:
        with pytest.raises(WatchStateError, match="cannot be written"):
            await SqliteWatchState(path).open()
    finally:
        _read_only(path, tmp_path, 0o644, 0o755)


def _read_only(path: Path, folder: Path, file_mode: int, folder_mode: int) -> None:
    path.chmod(file_mode)
    folder.chmod(folder_mode)


def test_a_directory_is_not_a_state_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        SqliteWatchState(tmp_path)
    with pytest.raises(TypeError, match="path must be"):
        SqliteWatchState(42)  # type: ignore[arg-type]


def test_a_stored_kind_is_read_back_or_named_as_damage() -> None:
    assert [stored_kind(kind) for kind in ("added", "changed", "removed")] == [
        "added",
        "changed",
        "removed",
    ]
    with pytest.raises(WatchStateError, match="unknown change kind 'moved' in a stored watch"):
        stored_kind("moved")
