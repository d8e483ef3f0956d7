"""Log: the audit trail of one directory, oldest first."""

from __future__ import annotations

import msgspec

from crop_progress.audit import read_events
from crop_progress.paths import audit_dir, directory_key
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd.handlers.common import progress_dir_of
from cropd.restore import check_directory
from cropd.state import Ctx, Refusal, State

MAX_EVENTS = 20000


def handle(state: State, ctx: Ctx, req: m.Log) -> m.LogReply:
    key = directory_key(check_directory(req.directory))
    folder = audit_dir(progress_dir_of(state, req.progress_dir))
    try:
        events = list(read_events(folder, directory=key, since=req.since))
    except ValueError as exc:
        raise Refusal(ErrorCode.BAD_REQUEST, f"bad --since: {exc}") from None
    return m.LogReply(events=[msgspec.to_builtins(e) for e in events[-MAX_EVENTS:]])
