"""Open: start or resume work on a directory; the reply carries what the resume
message shows (the state before this session) and any recovery notes. Opening
also finishes or removes what a killed window left in the output folder."""

from __future__ import annotations

from crop_progress.display import is_resume
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd import leftovers, rescan, sessions
from cropd.clients import DirOptions
from cropd.handlers.common import directory, summary
from cropd.state import Ctx, Refusal, State
from cropd.team_view import same_images


def handle(state: State, ctx: Ctx, req: m.Open) -> m.Opened:
    client = state.client(ctx)
    try:
        found, notes = directory(state, req.directory, req.progress_dir, req.output_dir,
                                 for_write=not req.read_only)
    except Refusal as exc:
        if req.client_path and exc.code == ErrorCode.NOT_FOUND:
            raise Refusal(exc.code, f"{req.client_path} on this workstation is "
                          f"{req.directory} on the daemon's host, which has no such "
                          "directory: check `cropctl team share` on both") from None
        raise
    notes += same_images(found, req)
    if req.read_only:
        before = summary(found)
        return m.Opened(summary=before, resumed=is_resume(before), messages=notes,
                        new_session=False)
    ctx.touched.add(found.ident)
    if req.reset:
        state.storage(found.progress_dir).backup(found.progress_file)
        found.keep_bak, found.backup_due = True, False
        state.emit(found, "reset", client=client, ctx=ctx)
        notes.append("Progress reset: starting afresh (the old file is kept as .bak)")
    notes += rescan.at_open(state, found)
    notes += leftovers.settle(found)
    if req.output_shape and req.output_shape != found.tracker.progress.output_shape:
        state.emit(found, "shape", client=client, ctx=ctx, shape=req.output_shape)
        notes.append(f"Outputs are shaped: {req.output_shape}")
    before = summary(found)
    started = sessions.begin(state, found, client)
    found.clients.add(client.id)
    client.dirs[found.ident] = DirOptions(retry_skipped=req.retry_skipped,
                                          retry_failed=req.retry_failed, move=req.move)
    return m.Opened(summary=before, resumed=is_resume(before), messages=notes,
                    new_session=started)
