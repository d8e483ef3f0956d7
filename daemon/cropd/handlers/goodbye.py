"""Goodbye: a client leaves; its leases go back at once, its sessions may end."""

from __future__ import annotations

from crop_protocol import messages as m
from cropd import leases
from cropd.state import Ctx, State


def handle(state: State, ctx: Ctx, req: m.Goodbye) -> m.Ok:
    client = state.clients.get(ctx.client_id)
    if client is not None:
        ctx.touched.update(client.dirs)
        leases.drop_client(state, ctx.client_id, "said goodbye")
    return m.Ok(message="goodbye")
