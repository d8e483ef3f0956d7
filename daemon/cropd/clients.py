"""Who is connected: clients by id, with their process identity and open directories.

A client is alive while its process is (same host: psutil, pid plus create
time, so a reused pid cannot pass), or, for a client on another host or a team
member over tcp (whose pid and host name are only what it says), while it keeps
sending within the lease TTL.

Admission: the table is bounded, and a liar cannot fill it for the others. A
Hello that would pass a limit (per claimed process, per connection, in total)
first makes room by forgetting the entries that hold no lease, the longest
silent first (those with no open directory before those with one); only when
every entry in the way holds a lease is the newcomer told BUSY. An entry
without leases that has been silent for IDLE_EXPIRY is forgotten anyway.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import psutil

HOST = socket.gethostname()
MAX_CLIENTS = 1024       # entries in the client table
MAX_PER_PROCESS = 32     # client ids that one claimed (host, pid) holds at once
MAX_PER_PEER = 8         # client ids that said Hello over one connection
IDLE_EXPIRY = 600.0      # seconds: a silent entry without leases is forgotten
RETRY_AFTER = 2.0        # seconds: the hint a BUSY refusal carries


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
    peer: bytes = b""     # the routing id of the connection its Hello came over
    user: str | None = None  # the team member (over tcp): alive while it keeps sending
    # directory key -> options of its Open; the directories this client works in
    dirs: dict[tuple[str, str], DirOptions] = field(default_factory=dict)

    def alive(self, stale_after: float) -> bool:
        if self.user is None and self.host == HOST and self.pid > 0:
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


class Full(Exception):
    """No room can be made: every entry in the way holds a lease."""


def expired(clients: dict[str, Client], holders: set[str], now: float) -> list[str]:
    """Entries without leases that have been silent longer than IDLE_EXPIRY."""
    return [cid for cid, c in clients.items()
            if cid not in holders and now - c.last_seen > IDLE_EXPIRY]


def make_room(clients: dict[str, Client], newcomer: Client, holders: set[str]) -> list[str]:
    """The ids to forget so that `newcomer` fits every limit; raises Full when the
    entries in the way all hold leases."""
    gone: set[str] = set()

    def evict(group: Iterable[Client], limit: int, what: str) -> None:
        present = [c for c in group if c.id not in gone and c.id != newcomer.id]
        while len(present) >= limit:
            idle = [c for c in present if c.id not in holders]
            if not idle:
                raise Full(f"{len(present)} client(s) {what}, every one holding claimed images")
            victim = min(idle, key=lambda c: (bool(c.dirs), c.last_seen))
            gone.add(victim.id)
            present.remove(victim)

    key = (newcomer.host, newcomer.pid)
    evict((c for c in clients.values() if (c.host, c.pid) == key), MAX_PER_PROCESS,
          f"of process {newcomer.pid} on {newcomer.host}")
    if newcomer.peer:
        evict((c for c in clients.values() if c.peer == newcomer.peer), MAX_PER_PEER,
              "on this connection")
    evict(clients.values(), MAX_CLIENTS, "in all")
    return sorted(gone)
