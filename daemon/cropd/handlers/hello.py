"""Hello: register a client and tell it who answers."""

from __future__ import annotations

import os
import time

import psutil

from crop_progress import __version__
from crop_protocol import messages as m
from crop_protocol.codec import PROTOCOL_VERSION
from crop_protocol.errors import ErrorCode
from cropd.clients import HOST, Client
from cropd.state import Ctx, State

MAX_CLIENTS = 1024


def handle(state: State, ctx: Ctx, req: m.Hello) -> m.Welcome | m.Err:
    if req.protocol_version and req.protocol_version != PROTOCOL_VERSION:
        return m.Err(code=ErrorCode.VERSION_MISMATCH,
                     message=f"client speaks protocol {req.protocol_version}, this daemon "
                             f"{PROTOCOL_VERSION}")
    client = state.clients.get(ctx.client_id)
    if client is None and len(state.clients) >= MAX_CLIENTS:
        return m.Err(code=ErrorCode.BUSY, message=f"too many clients ({MAX_CLIENTS})")
    if req.host == HOST and not psutil.pid_exists(req.pid):
        return m.Err(code=ErrorCode.BAD_REQUEST,
                     message=f"no process {req.pid} on this host: Hello must name the client")
    if client is None or client.pid != req.pid:
        client = Client(id=ctx.client_id, pid=req.pid, host=req.host, program=req.program,
                        create_time=req.create_time)
        state.clients[ctx.client_id] = client
    client.last_seen = time.monotonic()
    return m.Welcome(daemon_pid=os.getpid(), version=__version__,
                     protocol_version=PROTOCOL_VERSION, endpoint=state.config.endpoint,
                     progress_dir=str(state.config.progress_dir), host=HOST,
                     lease_ttl=state.config.lease_ttl,
                     break_threshold=state.config.break_threshold,
                     events_endpoint=state.config.events_endpoint)
