"""Undo: take back this client's last submitted batch in a directory.

The images become pending again and are leased to the same client (the undo
event carries the new lease token), which removes the outputs (or restores
from the trash) and shows them again. An image whose outcome changed since
(another window) is left alone. The history comes from memory, or from the
journal after a daemon restart (see Directory.undo_stack).
"""

from __future__ import annotations

from crop_progress.audit import OP_OUTCOME
from crop_progress.tracker import OP_STATUS, PENDING
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd import leases
from cropd.handlers.common import summary
from cropd.state import Ctx, Refusal, State


def handle(state: State, ctx: Ctx, req: m.Undo) -> m.Undone:
    client = state.client(ctx)
    found = state.directory_of(ctx, req.directory)
    batches = found.undo_stack(client.id)
    if not batches:
        raise Refusal(ErrorCode.NOTHING_TO_UNDO, "nothing to undo in this window")
    batch = batches.pop()
    items = []
    for event in batch:
        name = event.file or ""
        if found.tracker.status(name) != OP_STATUS.get(event.op, PENDING):
            continue
        if found.live(name) is not None:
            continue
        token = leases.grant(state, found, name, client, ctx, op="undo", undone=event.op,
                             dest=event.dest, companions=list(event.companions))
        items.append(m.UndoneItem(file=name, outcome=OP_OUTCOME[event.op], dest=event.dest,
                                  companions=list(event.companions), moved=event.moved,
                                  trashed=list(event.trashed), box=event.box, token=token))
    return m.Undone(items=items, summary=summary(found))
