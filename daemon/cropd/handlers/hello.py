"""Hello: register a client and tell it who answers; admission lives in `clients`."""

from __future__ import annotations

import logging
import os
import time

import psutil

from crop_progress import __version__, shares
from crop_protocol import messages as m
from crop_protocol.codec import PROTOCOL_VERSION
from crop_protocol.errors import ErrorCode
from cropd import clients, leases
from cropd.clients import HOST, Client
from cropd.state import Ctx, State

MAX_CLIENTS = clients.MAX_CLIENTS
log = logging.getLogger("cropd")


def handle(state: State, ctx: Ctx, req: m.Hello) -> m.Welcome | m.Err:
    if req.protocol_version and req.protocol_version != PROTOCOL_VERSION:
        return m.Err(code=ErrorCode.VERSION_MISMATCH,
                     message=f"client speaks protocol {req.protocol_version}, this daemon "
                             f"{PROTOCOL_VERSION}")
    if not 0 < req.pid < 2**31:
        return m.Err(code=ErrorCode.BAD_REQUEST, message=f"not a process id: {req.pid}")
    if ctx.user is None and req.host == HOST and not psutil.pid_exists(req.pid):
        return m.Err(code=ErrorCode.BAD_REQUEST,
                     message=f"no process {req.pid} on this host: Hello must name the client")
    client = state.clients.get(ctx.client_id)
    if client is None or client.pid != req.pid or client.host != req.host:
        client = Client(id=ctx.client_id, pid=req.pid, host=req.host, program=req.program,
                        create_time=req.create_time, peer=ctx.peer, user=ctx.user)
        refusal = _admit(state, client)
        if refusal is not None:
            return refusal
        state.clients[ctx.client_id] = client
        if ctx.user is not None:
            log.info("team: member %s connected from %s (%s, pid %s on %s)", ctx.user,
                     ctx.address, req.program or "a client", req.pid, req.host)
    client.last_seen = time.monotonic()
    return m.Welcome(daemon_pid=os.getpid(), version=__version__,
                     protocol_version=PROTOCOL_VERSION, endpoint=state.config.endpoint,
                     progress_dir=str(state.config.progress_dir), host=HOST,
                     lease_ttl=state.config.lease_ttl,
                     break_threshold=state.config.break_threshold,
                     events_endpoint=state.config.events_endpoint, user=ctx.user,
                     shares={name: str(path) for name, path in shares.load().items()})


def _admit(state: State, newcomer: Client) -> m.Err | None:
    """Make room for a new entry, forgetting idle ones; BUSY when none can go."""
    holders = {d.tracker.grants[n].client for d in state.dirs.values() for n in d.held()}
    for cid in clients.expired(state.clients, holders, time.monotonic()):
        leases.drop_client(state, cid, "was silent too long and held nothing: forgotten")
    try:
        victims = clients.make_room(state.clients, newcomer, holders)
    except clients.Full as exc:
        return m.Err(code=ErrorCode.BUSY,
                     message=f"cropd is busy: {exc}; retry in {clients.RETRY_AFTER:g} s")
    for cid in victims:
        leases.drop_client(state, cid, "held nothing and made room for a new client")
    return None
