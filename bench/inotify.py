"""Count how often a file is replaced, without strace: Linux inotify through ctypes.

`store.atomic_write` ends in `os.replace(tmp, path)`, which the kernel reports
as IN_MOVED_TO on `path`'s folder. A watcher thread drains the events as they
come, so the kernel queue never overflows. `available()` is False where
inotify is missing (macOS), and callers then print no figure.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
import threading
from collections import Counter
from pathlib import Path

IN_MOVED_TO = 0x00000080
IN_Q_OVERFLOW = 0x00004000
IN_NONBLOCK = 0o4000
_HEADER = struct.Struct("iIII")


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        libc.inotify_init1  # noqa: B018 (present?)
    except (OSError, AttributeError):
        return None
    return libc


def available() -> bool:
    return _libc() is not None


class ReplaceCounter:
    """Counts IN_MOVED_TO per file name in one folder, from `start()` to `stop()`."""

    def __init__(self, folder: Path) -> None:
        libc = _libc()
        if libc is None:
            raise OSError("inotify is not available")
        self._libc = libc
        self.fd = libc.inotify_init1(IN_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        folder.mkdir(parents=True, exist_ok=True)
        wd = libc.inotify_add_watch(self.fd, os.fsencode(folder), IN_MOVED_TO)
        if wd < 0:
            os.close(self.fd)
            raise OSError(ctypes.get_errno(), "inotify_add_watch failed")
        self.counts: Counter[str] = Counter()
        self.overflowed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="inotify", daemon=True)

    def start(self) -> ReplaceCounter:
        self._thread.start()
        return self

    def _drain(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            offset = 0
            while offset < len(data):
                _wd, mask, _cookie, length = _HEADER.unpack_from(data, offset)
                offset += _HEADER.size
                name = data[offset:offset + length].rstrip(b"\0").decode(errors="replace")
                offset += length
                if mask & IN_Q_OVERFLOW:
                    self.overflowed = True
                elif mask & IN_MOVED_TO:
                    self.counts[name] += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                self._drain()

    def stop(self) -> Counter[str]:
        self._stop.set()
        self._thread.join(timeout=2)
        self._drain()
        os.close(self.fd)
        return self.counts
