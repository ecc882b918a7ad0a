"""A real redis-server on a free loopback port, in a temporary directory, for tests and the soak."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

MISSING = "redis-server is not on PATH: install the Debian package redis-server (make redis-server)"
_READY = "Ready to accept connections"
_MAX_LOG_LINES = 200  # redis-server prints a handful of lines before it is ready


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """``redis-server`` without persistence; :meth:`stop` and :meth:`start` again keep the port
    (a restarted Redis is empty, as one without persistence is after a crash)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(MISSING)
        self.binary = binary
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="redis-test-")
        self._process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self) -> None:
        """Start and return once the server says it accepts connections."""
        if self._process is not None:
            raise RuntimeError("already running")
        process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir.name,
                "--daemonize",
                "no",
                "--logfile",
                "",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=Path(self._dir.name),
        )
        assert process.stdout is not None
        seen = []
        for _ in range(_MAX_LOG_LINES):
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line.rstrip())
            if _READY in line:
                self._process = process
                return
        process.kill()
        process.wait(timeout=10)
        raise RuntimeError("redis-server did not start:\n" + "\n".join(seen[-10:]))

    def stop(self, *, kill: bool = False) -> None:
        """Stop it (``kill``: SIGKILL, as a crash) and wait for the process to end."""
        process, self._process = self._process, None
        if process is None:
            return
        if kill:
            process.kill()
        else:
            process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self._dir.cleanup()
