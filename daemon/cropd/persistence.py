"""Making changes durable: the journal first, then the progress files, in one go.

Everything the handlers of one poll round changed is written together (group
commit): one append (fsynced when it holds an outcome) per audit file, then
one atomic write per changed directory. A directory whose write failed is read
back from disk, so memory never claims more than the disk holds.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict

from crop_progress.audit import Event
from crop_progress.store import StoreError
from cropd.config import LAZY_SAVE_SECONDS
from cropd.directory import Ident
from cropd.restore import reload
from cropd.state import Refusal, State

log = logging.getLogger("cropd")


def flush(state: State) -> dict[Ident, str]:
    """Write what is pending; returns the directories that failed, with the reason."""
    failed: dict[Ident, str] = {}
    groups: dict[object, list[Event]] = defaultdict(list)
    sync: dict[object, bool] = defaultdict(bool)
    idents: dict[object, set[Ident]] = defaultdict(set)
    for item in state.pending:
        groups[item.audit_dir].append(item.event)
        sync[item.audit_dir] |= item.sync
        idents[item.audit_dir].add(item.ident)
    state.pending = []
    for audit_dir, events in groups.items():
        try:
            state.audit_log(audit_dir).append(events, sync=sync[audit_dir])  # type: ignore[arg-type]
        except OSError as exc:
            reason = f"cannot write the audit log in {audit_dir}: {exc.strerror or exc}"
            log.error(reason)
            for ident in idents[audit_dir]:
                failed[ident] = reason
    journalled = {i for ids in idents.values() for i in ids} - failed.keys()
    for ident, directory in list(state.dirs.items()):
        if ident in failed or not directory.dirty:
            continue
        try:
            directory.save(state.clock.now())
        except StoreError as exc:
            log.error("%s", exc)
            if ident in journalled:
                continue  # the journal holds the change; the file (a checkpoint) stays dirty
            failed[ident] = exc.strerror or str(exc)
    for ident in failed:
        _read_back(state, ident)
    return failed


def save_lazy(state: State, force: bool = False) -> None:
    """Save directories changed only by claims, a little later and without hurry."""
    now = time.monotonic()
    for directory in state.dirs.values():
        if directory.lazy_since is None or directory.dirty:
            continue
        if force or now - directory.lazy_since >= LAZY_SAVE_SECONDS:
            try:
                directory.save(state.clock.now())
            except StoreError as exc:
                log.warning("deferred save failed, will retry: %s", exc)
                directory.lazy_since = now


def _read_back(state: State, ident: Ident) -> None:
    directory = state.dirs.get(ident)
    if directory is None:
        return
    try:
        reload(state, directory)  # its messages are logged there
    except Refusal as exc:
        log.error("cannot read %s back after a failed write: %s", directory.progress_file,
                  exc.message)
        directory.dirty = True  # keep the memory state; retry on the next flush
