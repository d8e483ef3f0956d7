"""Show: one directory in full: counts, lists with reasons, sessions."""

from __future__ import annotations

from crop_protocol import messages as m
from cropd.handlers.common import summary, tracked_directory
from cropd.state import Ctx, State


def handle(state: State, ctx: Ctx, req: m.Show) -> m.ShowReply:
    found, _ = tracked_directory(state, req.directory, req.progress_dir, for_write=False)
    tracker = found.tracker
    return m.ShowReply(
        summary=summary(found),
        skipped_files=list(tracker.skipped),
        failed_files=[m.FailedEntry(name, reason) for name, reason in tracker.failed.items()],
        deleted_files=list(tracker.deleted),
        sessions=[m.SessionEntry(start=s.start, end=s.end, images=s.images,
                                 work_seconds=round(s.work_seconds, 3))
                  for s in tracker.progress.sessions])
