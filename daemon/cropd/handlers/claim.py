"""Claim: hand out the next images of a directory as leases, never one that another
client holds; or, after a daemon restart, lease again the images a client still shows."""

from __future__ import annotations

import os

from crop_progress.tracker import PENDING
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd import leases
from cropd.directory import Directory
from cropd.handlers.common import check_name, summary
from cropd.state import Ctx, Refusal, State

MAX_CLAIM = 64


def handle(state: State, ctx: Ctx, req: m.Claim) -> m.Claimed:
    client = state.client(ctx)
    found = state.directory_of(ctx, req.directory)
    options = client.dirs[found.ident]
    if req.files is not None:
        return _reclaim(state, ctx, found, req.files)
    if not 0 < req.count <= MAX_CLAIM:
        raise Refusal(ErrorCode.BAD_REQUEST, f"count must be 1..{MAX_CLAIM}, not {req.count}")
    found.refresh_scan()
    items: list[m.ClaimedImage] = []
    while len(items) < req.count:
        names = found.tracker.pending(req.count - len(items),
                                      exclude=found.leases.keys() | options.retried,
                                      retry_skipped=options.retry_skipped,
                                      retry_failed=options.retry_failed)
        if not names:
            break
        for name in names:
            if found.tracker.status(name) != PENDING:
                options.retried.add(name)
            item = _lease(state, ctx, found, name)
            if item is not None:
                items.append(item)
    leases.renew(state, client.id)
    return m.Claimed(items=items, summary=summary(found), lease_ttl=state.config.lease_ttl,
                     held_by_others=sum(1 for held in found.leases.values()
                                        if held.client != ctx.client_id))


def _lease(state: State, ctx: Ctx, found: Directory, name: str) -> m.ClaimedImage | None:
    """Lease one image, or record it failed when it vanished from the folder."""
    path = found.path / name
    try:
        size = os.stat(path).st_size
    except OSError:
        state.emit(found, "fail", file=name, reason="vanished from the directory", ctx=ctx)
        return None
    leases.grant(state, found, name, ctx.client_id)
    state.emit(found, "claim", client=state.clients[ctx.client_id], file=name, sync=False)
    return m.ClaimedImage(file=name, path=str(path), position=(found.tracker.index(name) or 0) + 1,
                          companions=found.companions(name), size=size)


def _reclaim(state: State, ctx: Ctx, found: Directory, files: list[str]) -> m.Claimed:
    items, lost = [], []
    for name in files:
        check_name(found, name)
        lease = found.leases.get(name)
        taken = lease is not None and lease.client != ctx.client_id
        if taken or found.tracker.status(name) != PENDING:
            lost.append(name)
            continue
        item = _lease(state, ctx, found, name)
        if item is None:
            lost.append(name)
        else:
            items.append(item)
    return m.Claimed(items=items, summary=summary(found), lease_ttl=state.config.lease_ttl,
                     lost=lost, held_by_others=sum(1 for held in found.leases.values()
                                                   if held.client != ctx.client_id))
