"""A real Radicale CalDAV server on a free loopback port (a temporary folder, stopped after
the test), read back with the ``caldav`` client; and a FakeR7Server."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from r7cal.testing import FakeR7Server
from tests.e2e.support import Background, served

pytest.importorskip("radicale", reason="the sync tests need radicale (pip install radicale)")
caldav = pytest.importorskip("caldav")

USER, PASSWORD = "alice", "s3cret-pw"
_R7_LOGIN, _R7_PASSWORD = "user_test", "TestPassword"


@dataclass
class Radicale:
    """A running Radicale: its base URL and what reads it back."""

    base: str
    folder: Path
    auth: bool

    def calendar_url(self, name: str = "work") -> str:
        """The URL of ``name`` in the test user's home."""
        return f"{self.base}/{USER}/{name}/"

    def client(self) -> caldav.DAVClient:
        """A synchronous caldav client, for reading back what the sync wrote."""
        return caldav.DAVClient(url=self.base, username=USER, password=PASSWORD)

    def make_calendar(self, name: str = "work") -> str:
        """Create a calendar (and the user's home); return its URL."""
        with self.client() as client:
            client.principal().make_calendar(name=name, cal_id=name)
        return self.calendar_url(name)

    def events(self, name: str = "work") -> dict[str, str]:
        """href -> iCalendar text of every object in the calendar."""
        with self.client() as client:
            calendar = client.calendar(url=self.calendar_url(name))
            return {str(event.url): event.data for event in calendar.events()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def radicale_running(folder: Path, *, auth: bool, rights: str | None = None) -> Iterator[Radicale]:
    """A Radicale on a free port for the ``with`` block (``rights``: its rights type)."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "radicale",
        "--server-hosts",
        f"127.0.0.1:{port}",
        "--storage-filesystem-folder",
        str(folder / "collections"),
        "--logging-level",
        "warning",
    ]
    if auth:
        users = folder / "users"
        users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
        command += ["--auth-type", "htpasswd", "--auth-htpasswd-filename", str(users)]
        command += ["--auth-htpasswd-encryption", "plain"]
    else:
        command += ["--auth-type", "none"]
    if rights is not None:
        command += ["--rights-type", rights]
    log = (folder / "radicale.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:  # bounded by the deadline: until Radicale accepts connections
            if process.poll() is not None:
                raise RuntimeError(f"radicale exited: {(folder / 'radicale.log').read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("radicale did not start in 20 s")
            time.sleep(0.05)  # waiting for a subprocess to listen, not ordering our own code
        yield Radicale(f"http://127.0.0.1:{port}", folder, auth)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    """Radicale without authentication (any user name is accepted)."""
    with radicale_running(tmp_path, auth=False) as server:
        yield server


@pytest.fixture
def radicale_auth(tmp_path: Path) -> Iterator[Radicale]:
    """Radicale with one htpasswd user (``USER`` / ``PASSWORD``)."""
    with radicale_running(tmp_path, auth=True) as server:
        yield server


@pytest.fixture
async def r7_server() -> AsyncIterator[FakeR7Server]:
    """A FakeR7Server on loopback."""
    async with FakeR7Server(seed=5) as fake:
        yield fake


@pytest.fixture
def served_r7(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeR7Server, Background]]:
    """A FakeR7Server on its own loop (the command runs its own), credentials in the env."""
    with served(FakeR7Server(seed=3)) as (fake, background):
        monkeypatch.delenv("R7_TOKEN", raising=False)
        monkeypatch.setenv("R7_BASE_URL", fake.url)
        monkeypatch.setenv("R7_LOGIN", _R7_LOGIN)
        monkeypatch.setenv("R7_PASSWORD", _R7_PASSWORD)
        monkeypatch.setenv("CALDAV_USERNAME", USER)
        monkeypatch.setenv("CALDAV_PASSWORD", PASSWORD)
        yield fake, background
