"""Claims are leases: granted per image, renewed by heartbeats, returned to the queue
when they expire or when their client's process is gone."""

from __future__ import annotations

import logging
import time

from cropd.directory import Directory, Lease
from cropd.sessions import end_if_unattended
from cropd.state import State

log = logging.getLogger("cropd")


def grant(state: State, directory: Directory, name: str, client_id: str) -> None:
    directory.leases[name] = Lease(client_id, time.monotonic() + state.config.lease_ttl)


def renew(state: State, client_id: str) -> int:
    """Extend every lease of a client; returns how many it holds."""
    expires = time.monotonic() + state.config.lease_ttl
    count = 0
    for directory in state.dirs.values():
        for lease in directory.leases.values():
            if lease.client == client_id:
                lease.expires = expires
                count += 1
    return count


def release(directory: Directory, client_id: str, names: list[str] | None = None) -> int:
    held = directory.leases_of(client_id)
    chosen = held if names is None else [n for n in names if n in held]
    for name in chosen:
        del directory.leases[name]
    return len(chosen)


def expire(state: State) -> None:
    now = time.monotonic()
    for directory in state.dirs.values():
        for name in [n for n, lease in directory.leases.items() if lease.expires < now]:
            log.info("lease of %s in %s expired", name, directory.key)
            del directory.leases[name]


def drop_client(state: State, client_id: str, why: str) -> None:
    """The client is gone: its images go back to the queue, its sessions may end."""
    client = state.clients.get(client_id)
    if client is None:
        return
    state.forget_client(client_id)
    log.info("client %s (pid %s, %s) %s", client_id, client.pid, client.program, why)
    for ident in client.dirs:
        directory = state.dirs.get(ident)
        if directory is None:
            continue
        release(directory, client_id)
        directory.clients.discard(client_id)
        end_if_unattended(state, directory)


def reap(state: State) -> None:
    """Expire leases and drop clients whose process is gone."""
    stale_after = max(2 * state.config.lease_ttl, 30.0)
    for client_id, client in list(state.clients.items()):
        if not client.alive(stale_after):
            drop_client(state, client_id, "is gone")
    expire(state)
