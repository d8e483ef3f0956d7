"""Undo: take back this client's last submitted batch in a directory.

The images become pending again and are leased to the same client, which
removes the outputs (or restores from the trash) and shows them again.
An image whose outcome changed since (another window) is left alone.
"""

from __future__ import annotations

from crop_progress.tracker import OP_STATUS, PENDING
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd import leases
from cropd.handlers.common import OP_OUTCOME, summary
from cropd.state import Ctx, Refusal, State


def handle(state: State, ctx: Ctx, req: m.Undo) -> m.Undone:
    client = state.client(ctx)
    found = state.directory_of(ctx, req.directory)
    batches = client.batches.get(found.ident) or []
    if not batches:
        raise Refusal(ErrorCode.NOTHING_TO_UNDO, "nothing to undo in this window")
    batch = batches.pop()
    items = []
    for event in batch:
        name = event.file or ""
        if found.tracker.status(name) != OP_STATUS.get(event.op, PENDING):
            continue
        holder = found.leases.get(name)
        if holder is not None and holder.client != client.id:
            continue
        state.emit(found, "undo", client=client, ctx=ctx, file=name, undone=event.op,
                   dest=event.dest, companions=list(event.companions))
        leases.grant(state, found, name, client.id)
        items.append(m.UndoneItem(file=name, outcome=OP_OUTCOME[event.op], dest=event.dest,
                                  companions=list(event.companions), moved=event.moved,
                                  trashed=list(event.trashed), box=event.box))
    return m.Undone(items=items, summary=summary(found))

