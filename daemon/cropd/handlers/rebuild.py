"""Rebuild: make a directory's progress file again from `.bak`, the audit log and
the output directory; the file it replaces is kept aside, never deleted."""

from __future__ import annotations

from pathlib import Path

from crop_protocol import messages as m
from cropd.directory import file_signature
from cropd.handlers.common import summary, tracked_directory
from cropd.state import Ctx, State


def handle(state: State, ctx: Ctx, req: m.Rebuild) -> m.Ok:
    found, notes = tracked_directory(state, req.directory, req.progress_dir, req.output_dir,
                                     for_write=True)
    if found.recovered and notes:
        found.recovered = False  # loading it just now was the rebuild: don't do it twice
        state.emit(found, "rebuild", client=state.clients.get(ctx.client_id), ctx=ctx,
                   reason="; ".join(notes))
        return m.Ok(message=f"Rebuilt {found.progress_file.name}", summary=summary(found),
                    messages=notes)
    if req.output_dir:
        found.output_dir = Path(req.output_dir).expanduser().resolve()
    rec = state.storage(found.progress_dir).rebuild(
        found.progress_file, found.path, found.output_dir, sorted(found.tracker.on_disk),
        "Rebuilt on request")
    found.tracker = rec.tracker
    found.signature = file_signature(found.progress_file)
    state.emit(found, "rebuild", client=state.clients.get(ctx.client_id), ctx=ctx,
               reason="; ".join(rec.messages))
    return m.Ok(message=f"Rebuilt {found.progress_file.name}", summary=summary(found),
                messages=notes + rec.messages)
