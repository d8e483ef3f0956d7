"""Report: record the outcome of one image, durably, before the reply says so.

A report is fenced by the token of its lease: it counts only under the lease
that is current for the image. One whose lease another client has since been
given (or that never held one) is LEASE_LOST and counts nothing; the client
then discards its output. A retry of a report already recorded under the
same token changes nothing and is answered as a duplicate.
"""

from __future__ import annotations

from crop_progress import history
from crop_progress.audit import OUTCOME_OP
from crop_progress.tracker import OP_STATUS, PENDING
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd.handlers.common import check_name, check_paths, summary
from cropd.state import Ctx, Refusal, State


def handle(state: State, ctx: Ctx, req: m.Report) -> m.Reported:
    client = state.client(ctx)
    found = state.directory_of(ctx, req.directory)
    check_name(found, req.file)
    check_paths(found, req)
    tracker = found.tracker
    op = OUTCOME_OP[req.outcome]
    ctx.touched.add(found.ident)
    if tracker.recent.get(req.file) == req.token and tracker.status(req.file) == OP_STATUS[op]:
        return m.Reported(summary=summary(found), duplicate=True, file=req.file,
                          outcome=req.outcome)
    held = tracker.grants.get(req.file)
    if held is None or held.token != req.token:
        raise Refusal(ErrorCode.LEASE_LOST, _lost(tracker.status(req.file), held is not None,
                                                  req.file))
    event = state.emit(found, op, client=client, ctx=ctx, file=req.file, dest=req.dest,
                       companions=list(req.companions), reason=req.reason or (
                           "failed" if op == "fail" else None),
                       box=req.box, batch=req.batch, moved=req.moved,
                       trashed=list(req.trashed), token=req.token, out_size=req.out_size)
    found.expires.pop(req.file, None)
    history.push(found.undo_stack(client.id), event)
    return m.Reported(summary=summary(found), file=req.file, outcome=req.outcome)


def _lost(status: str, regranted: bool, name: str) -> str:
    if status != PENDING:
        return f"{name} went to another window, which recorded it {status}"
    if regranted:
        return f"{name} went to another window (this window's lease had expired)"
    return f"{name} is not leased to this window (its lease was released or never given)"
