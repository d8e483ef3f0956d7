"""Stats: images and work time per day and per directory, from the audit events
(built by `crop_progress.figures`, as `cropctl stats` builds it from the files)."""

from __future__ import annotations

import msgspec

from crop_progress import figures
from crop_progress.audit import read_events
from crop_progress.paths import audit_dir
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd.state import Ctx, Refusal, State

MAX_DAYS = 36_600  # a hundred years; more reaches before year 1 (and the journal's start)


def handle(state: State, ctx: Ctx, req: m.Stats) -> m.StatsReply:
    if req.days > MAX_DAYS:
        raise Refusal(ErrorCode.BAD_REQUEST, f"--days must be at most {MAX_DAYS}, not {req.days}")
    since = figures.stats_since(req.days)
    events = read_events(audit_dir(state.config.progress_dir), since=since)
    rows, origin = figures.stats_rows(events, state.config.break_threshold)
    return m.StatsReply(rows=msgspec.convert(rows, list[m.StatsRow]), origin_seconds=origin)
