"""Shutdown: stop taking work, flush, release the lock, exit 0 (as on SIGTERM)."""

from __future__ import annotations

from crop_protocol import messages as m
from cropd.state import Ctx, State


def handle(state: State, ctx: Ctx, req: m.Shutdown) -> m.Ok:
    state.stopping = True
    return m.Ok(message="cropd is shutting down")
