"""Reset: forget a directory's progress; the old file is kept as `.bak`."""

from __future__ import annotations

from crop_protocol import messages as m
from cropd.handlers.common import summary, tracked_directory
from cropd.state import Ctx, State


def handle(state: State, ctx: Ctx, req: m.Reset) -> m.Ok:
    found, notes = tracked_directory(state, req.directory, req.progress_dir, for_write=True)
    state.storage(found.progress_dir).backup(found.progress_file)
    found.expires.clear()
    found.keep_bak, found.backup_due = True, False
    state.emit(found, "reset", client=state.clients.get(ctx.client_id), ctx=ctx)
    return m.Ok(message=f"Progress of {found.key} reset; the old file is kept as "
                        f"{found.progress_file.name}.bak", summary=summary(found),
                messages=notes)
