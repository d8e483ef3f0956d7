"""Who is connected: clients by id, with their process identity and open directories.

A client is alive while its process is (same host: psutil, pid plus create
time, so a reused pid cannot pass), or, for a client on another host, while
it keeps sending within the lease TTL.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

import psutil

HOST = socket.gethostname()


@dataclass
class DirOptions:
    retry_skipped: bool = False
    retry_failed: bool = False
    move: bool = False
    retried: set[str] = field(default_factory=set)  # skipped/failed offered again, once


@dataclass
class Client:
    id: str
    pid: int
    host: str
    program: str = ""
    create_time: float = 0.0
    last_seen: float = field(default_factory=time.monotonic)
    # directory key -> options of its Open; the directories this client works in
    dirs: dict[tuple[str, str], DirOptions] = field(default_factory=dict)

    def alive(self, stale_after: float) -> bool:
        if self.host == HOST and self.pid > 0:
            try:
                process = psutil.Process(self.pid)
                if self.create_time and abs(process.create_time() - self.create_time) > 0.5:
                    return False
                return process.status() != psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                return False
            except psutil.AccessDenied:
                return True
        return time.monotonic() - self.last_seen < stale_after
