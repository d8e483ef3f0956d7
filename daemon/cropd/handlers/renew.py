"""Renew: the heartbeat that keeps a client's leases while a person thinks."""

from __future__ import annotations

from crop_protocol import messages as m
from cropd import leases
from cropd.state import Ctx, State


def handle(state: State, ctx: Ctx, req: m.Renew) -> m.Renewed:
    client = state.client(ctx)
    return m.Renewed(leases=leases.renew(state, client.id))
