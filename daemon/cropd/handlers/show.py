"""Show: one directory in full: counts, lists with reasons, sessions (the lists built by
`crop_progress.figures`, as `cropctl show` builds them from the files)."""

from __future__ import annotations

import msgspec

from crop_progress import figures
from crop_protocol import messages as m
from cropd.handlers.common import summary, tracked_directory
from cropd.state import Ctx, State


def handle(state: State, ctx: Ctx, req: m.Show) -> m.ShowReply:
    found, _ = tracked_directory(state, req.directory, req.progress_dir, for_write=False)
    tracker = found.tracker
    lists = figures.show_lists(tracker.skipped, tracker.failed.items(), tracker.deleted,
                               tracker.progress.sessions)
    return msgspec.convert({"summary": summary(found), **lists}, m.ShowReply,
                           from_attributes=True)
