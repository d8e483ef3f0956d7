"""One module per request: `handle(state, ctx, request) -> reply`, plain functions
of the state, testable without a socket. HANDLERS maps request types to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crop_protocol import messages as m
from cropd.handlers import (
    claim,
    discover,
    goodbye,
    hello,
    log,
    open_dir,
    rebuild,
    release,
    renew,
    report,
    reset,
    show,
    shutdown,
    stats,
    status,
    undo,
)

HANDLERS: dict[type, Callable[..., Any]] = {
    m.Hello: hello.handle,
    m.Discover: discover.handle,
    m.Open: open_dir.handle,
    m.Claim: claim.handle,
    m.Renew: renew.handle,
    m.Report: report.handle,
    m.Release: release.handle,
    m.Undo: undo.handle,
    m.Goodbye: goodbye.handle,
    m.Status: status.handle,
    m.Show: show.handle,
    m.Log: log.handle,
    m.Stats: stats.handle,
    m.Reset: reset.handle,
    m.Rebuild: rebuild.handle,
    m.Shutdown: shutdown.handle,
}
