"""The single-instance claim: an exclusive flock held for the daemon's whole life.

The kernel drops a flock when its holder dies, so a crashed daemon never
blocks the next one and two daemons can never both hold it. Only the holder
may remove a stale socket and bind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

PROBE_RETRIES = 50


class AlreadyRunning(Exception):
    def __init__(self, pid: int | None) -> None:
        super().__init__(f"cropd is already running (pid {pid})" if pid else
                         "cropd is already running")
        self.pid = pid


class InstanceLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        for attempt in range(PROBE_RETRIES):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # a client's probe holds a shared lock for an instant; a daemon
                # holds it for good and has written its pid
                if holder_pid(self.path) or attempt == PROBE_RETRIES - 1:
                    os.close(fd)
                    raise AlreadyRunning(holder_pid(self.path)) from None
                time.sleep(0.01)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def holder_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None
