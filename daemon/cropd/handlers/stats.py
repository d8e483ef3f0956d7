"""Stats: images and work time per day and per directory, from the audit events."""

from __future__ import annotations

from datetime import timedelta

from crop_progress.audit import read_events
from crop_progress.paths import audit_dir
from crop_progress.timefmt import now, to_iso
from crop_progress.worktime import breakdown, origin_binned_seconds
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd.state import Ctx, Refusal, State

MAX_DAYS = 36_600  # a hundred years; more reaches before year 1 (and the journal's start)


def handle(state: State, ctx: Ctx, req: m.Stats) -> m.StatsReply:
    if req.days > MAX_DAYS:
        raise Refusal(ErrorCode.BAD_REQUEST, f"--days must be at most {MAX_DAYS}, not {req.days}")
    since = to_iso(now() - timedelta(days=max(1, req.days)))
    events = list(read_events(audit_dir(state.config.progress_dir), since=since))
    table = breakdown(events, state.config.break_threshold)
    rows = [m.StatsRow(day=day, directory=directory, images=tally.images,
                       work_seconds=round(tally.work_seconds, 3))
            for (day, directory), tally in sorted(table.cells.items())]
    return m.StatsReply(rows=rows, origin_seconds=origin_binned_seconds(events))
