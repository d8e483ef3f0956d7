"""Report: record the outcome of one image, durably, before the reply says so.

A report for an image another client now holds is LEASE_LOST; one for an image
nobody holds is accepted. A retried report for an outcome already recorded
changes nothing and counts nothing twice.
"""

from __future__ import annotations

import os

from crop_progress.audit import Event
from crop_progress.tracker import OP_STATUS
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd.handlers.common import OUTCOME_OP, check_name, summary
from cropd.state import Ctx, Refusal, State


def handle(state: State, ctx: Ctx, req: m.Report) -> m.Reported:
    client = state.client(ctx)
    found = state.directory_of(ctx, req.directory)
    check_name(found, req.file)
    for path in [req.dest, *req.trashed]:
        if path and not os.path.isabs(path):
            raise Refusal(ErrorCode.BAD_REQUEST, f"not an absolute path: {path!r}")
    lease = found.leases.get(req.file)
    if lease is not None and lease.client != client.id:
        raise Refusal(ErrorCode.LEASE_LOST,
                      f"{req.file} is now held by another window (the lease had expired)")
    op = OUTCOME_OP[req.outcome]
    ctx.touched.add(found.ident)
    if found.tracker.status(req.file) == OP_STATUS[op]:
        found.leases.pop(req.file, None)
        found.mark_dirty()  # a retry after a failed write: make sure it is on disk now
        return m.Reported(summary=summary(found), duplicate=True, file=req.file,
                          outcome=req.outcome)
    if lease is not None:
        ctx.ended.append((found.ident, req.file, lease))
    event = state.emit(found, op, client=client, ctx=ctx, file=req.file, dest=req.dest,
                       companions=list(req.companions), reason=req.reason or (
                           "failed" if op == "fail" else None),
                       box=req.box, batch=req.batch, moved=req.moved,
                       trashed=list(req.trashed), out_size=req.out_size)
    found.leases.pop(req.file, None)
    batches = client.batches.setdefault(found.ident, [])
    if batches and req.batch is not None and _batch_of(batches[-1]) == req.batch:
        batches[-1].append(event)
    else:
        batches.append([event])
        del batches[:-50]
    return m.Reported(summary=summary(found), file=req.file, outcome=req.outcome)


def _batch_of(events: list[Event]) -> str | None:
    return events[-1].batch if events else None

