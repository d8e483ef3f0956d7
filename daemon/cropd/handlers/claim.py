"""Claim: hand out the next images of a directory as leases, never one that another
client holds; or, after a daemon restart, lease again the images a client still shows."""

from __future__ import annotations

import os

from crop_progress.tracker import PENDING
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd import leases, rescan
from cropd.directory import Directory
from cropd.handlers.common import check_name, summary
from cropd.state import Ctx, Refusal, State

MAX_CLAIM = 64


def handle(state: State, ctx: Ctx, req: m.Claim) -> m.Claimed:
    client = state.client(ctx)
    found = state.directory_of(ctx, req.directory)
    options = client.dirs[found.ident]
    if req.files is not None:
        return _reclaim(state, ctx, found, req.files, req.all_held)
    if not 0 < req.count <= MAX_CLAIM:
        raise Refusal(ErrorCode.BAD_REQUEST, f"count must be 1..{MAX_CLAIM}, not {req.count}")
    rescan.request(state, found)
    leases.check_holders(state, found)
    items: list[m.ClaimedImage] = []
    held = found.held()
    while len(items) < req.count:
        names = found.tracker.pending(req.count - len(items),
                                      exclude=held | options.retried,
                                      retry_skipped=options.retry_skipped,
                                      retry_failed=options.retry_failed)
        if not names:
            break
        for name in names:
            if found.tracker.status(name) != PENDING:
                options.retried.add(name)
            held.add(name)
            item = _lease(state, ctx, found, name)
            if item is not None:
                items.append(item)
    leases.renew(state, client.id)
    return m.Claimed(items=items, summary=summary(found), lease_ttl=state.config.lease_ttl,
                     held_by_others=found.held_by_others(client.id))


def _item(found: Directory, name: str, size: int, token: int) -> m.ClaimedImage:
    return m.ClaimedImage(file=name, path=str(found.path / name),
                          position=(found.tracker.index(name) or 0) + 1,
                          companions=found.companions(name), size=size, token=token)


def _lease(state: State, ctx: Ctx, found: Directory, name: str) -> m.ClaimedImage | None:
    """Lease one image, or record it failed when it vanished from the folder."""
    try:
        size = os.stat(found.path / name).st_size
    except OSError:
        state.emit(found, "fail", file=name, reason="vanished from the directory", ctx=ctx)
        return None
    token = leases.grant(state, found, name, state.clients[ctx.client_id])
    return _item(found, name, size, token)


def _reclaim(state: State, ctx: Ctx, found: Directory, files: list[str],
             all_held: bool) -> m.Claimed:
    """Named images leased to a client (`g`, or the images it still shows after a
    daemon restart): under the same token when the lease is still its own, else under
    a new one. With `all_held`, any other lease the daemon kept for it goes back to
    the queue: the client never learnt of it (the daemon stopped before its reply)."""
    if all_held:
        wanted = set(files)
        orphans = [n for n in found.leases_of(ctx.client_id) if n not in wanted]
        if orphans:
            leases.release(state, found, state.clients[ctx.client_id], orphans)
    items, lost = [], []
    for name in files:
        check_name(found, name)
        live = found.live(name)
        if (live is not None and live.client != ctx.client_id) \
                or found.tracker.status(name) != PENDING:
            lost.append(name)
            continue
        own = found.tracker.grants.get(name)
        if own is not None and own.client == ctx.client_id:
            try:
                size = os.stat(found.path / name).st_size
            except OSError:
                size = 0
            items.append(_item(found, name, size, own.token))
            continue
        item = _lease(state, ctx, found, name)
        if item is None:
            lost.append(name)
        else:
            items.append(item)
    leases.renew(state, ctx.client_id)
    return m.Claimed(items=items, summary=summary(found), lease_ttl=state.config.lease_ttl,
                     lost=lost, held_by_others=found.held_by_others(ctx.client_id))
