"""Release: give claimed images back to the queue (a window closing, or skipping ahead)."""

from __future__ import annotations

from crop_protocol import messages as m
from cropd import leases
from cropd.state import Ctx, State


def handle(state: State, ctx: Ctx, req: m.Release) -> m.Released:
    client = state.client(ctx)
    found = state.directory_of(ctx, req.directory)
    return m.Released(count=leases.release(state, found, client, req.files))
