"""Claims are leases: journalled with a token, renewed by heartbeats, fenced.

A lease is a `claim` journal event carrying a token that is monotonic per
directory, so a restarted daemon rebuilds every lease it had given. A lease
keeps others off its image until it expires (its client's heartbeat stops, or
its process is gone); its token stays good for a report until a newer lease on
the same image replaces it, so a late report of a frozen window is refused
only when someone else really took the image over.
"""

from __future__ import annotations

import logging
import time

import psutil

from crop_progress.model import Grant
from cropd import leftovers
from cropd.clients import HOST, Client
from cropd.directory import Directory
from cropd.sessions import end_if_unattended
from cropd.state import Ctx, State

log = logging.getLogger("cropd")


def grant(state: State, directory: Directory, name: str, client: Client,
          ctx: Ctx | None = None, op: str = "claim", **fields: object) -> int:
    """Lease `name` to `client` under a new token; journalled (applied) now. The
    parts a former holder of the image wrote are removed: they can never count."""
    token = directory.tracker.next_token()
    former = directory.tracker.grants.get(name)
    state.emit(directory, op, client=client, file=name, token=token, ctx=ctx, **fields)
    directory.expires[name] = time.monotonic() + state.config.lease_ttl
    if former is not None:
        leftovers.discard(directory, name, former.token)
    return token


def renew(state: State, client_id: str) -> int:
    """Extend every lease of a client; returns how many it holds."""
    expires = time.monotonic() + state.config.lease_ttl
    count = 0
    for directory in state.dirs.values():
        for name, held in directory.tracker.grants.items():
            if held.client == client_id:
                directory.expires[name] = expires
                count += 1
    return count


def release(state: State, directory: Directory, client: Client,
            names: list[str] | None = None) -> int:
    """Give images back to the queue; the release is journalled, so a restart keeps it."""
    held = directory.leases_of(client.id)
    chosen = held if names is None else [n for n in names if n in held]
    for name in chosen:
        token = directory.tracker.grants[name].token
        state.emit(directory, "release", client=client, file=name, token=token)
        directory.expires.pop(name, None)
    return len(chosen)


def lapse(directory: Directory, client_id: str) -> int:
    """The client is gone: its images are free for others at once (tokens stay good)."""
    count = 0
    for name, held in directory.tracker.grants.items():
        if held.client == client_id and directory.expires.get(name, 0.0) > 0.0:
            directory.expires[name] = 0.0
            count += 1
    return count


def restore(state: State, directory: Directory) -> None:
    """After a restart: every lease goes back to its holder first, for one TTL; those
    of a process on this host that is gone are free at once."""
    until = time.monotonic() + state.config.lease_ttl
    for name, held in directory.tracker.grants.items():
        gone = _local(held) and not psutil.pid_exists(held.pid)
        directory.expires[name] = 0.0 if gone else until


def check_holders(state: State, directory: Directory) -> None:
    """Free at once the leases of processes on this host that are gone but never said
    so to this daemon (a window killed after it restarted): their images would
    otherwise wait out a TTL."""
    now = time.monotonic()
    for name, held in directory.tracker.grants.items():
        if held.client in state.clients or not _local(held):
            continue
        if directory.expires.get(name, 0.0) > now and not psutil.pid_exists(held.pid):
            directory.expires[name] = 0.0


def _local(held: Grant) -> bool:
    """A lease of a process of this host, whose pid can be asked; a team member's (over
    tcp) ends by TTL only, whatever host name and pid it gave."""
    return held.user is None and held.host == HOST and held.pid > 0


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
        lapse(directory, client_id)
        directory.clients.discard(client_id)
        end_if_unattended(state, directory)


def reap(state: State) -> None:
    """Drop clients whose process is gone (their leases lapse with them)."""
    stale_after = max(2 * state.config.lease_ttl, 30.0)
    for client_id, client in list(state.clients.items()):
        if not client.alive(stale_after):
            drop_client(state, client_id, "is gone")
    for directory in state.dirs.values():
        check_holders(state, directory)
