"""Making changes durable: the journal is the truth, the progress file its checkpoint.

Everything the handlers of one poll round changed is appended to the journal
together (group commit): one append per audit folder, fsynced when it holds an
outcome, before any reply. That append is what an acknowledgement costs. The
progress file (the seed's format) is rewritten from memory only at
checkpoints, after the replies of the round are sent: at least every
`CHECKPOINT_EVERY` outcomes and a few seconds after the last change, as long
as that keeps what checkpoints write within `BYTES_PER_OUTCOME` per outcome
(so a 100,000-image file, 2 MB, is rewritten every two thousand outcomes, not
every ten), and always at session start and end, reset, rebuild, unload and
exit. Readers replay the journal after the checkpoint.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict

from crop_progress.audit import Event
from crop_progress.store import StoreError
from cropd.directory import Directory, Ident
from cropd.restore import reload
from cropd.state import Refusal, State

log = logging.getLogger("cropd")
CHECKPOINT_EVERY = 10       # outcomes (the seed's "save every 10 images")
CHECKPOINT_IDLE = 3.0       # seconds after the last change
BYTES_PER_OUTCOME = 1024    # what checkpoints may write per outcome, amortised


def flush(state: State) -> dict[Ident, str]:
    """Append what is pending to the journal (what an ack waits for). Returns the
    directories whose append failed, with the reason."""
    failed: dict[Ident, str] = {}
    groups: dict[object, list[Event]] = defaultdict(list)
    sync: dict[object, bool] = defaultdict(bool)
    idents: dict[object, set[Ident]] = defaultdict(set)
    for item in state.pending:
        groups[item.progress_dir].append(item.event)
        sync[item.progress_dir] |= item.sync
        idents[item.progress_dir].add(item.ident)
    state.pending = []
    for folder, events in groups.items():
        try:
            state.storage(folder).append(events, sync=sync[folder])  # type: ignore[arg-type]
        except OSError as exc:
            reason = f"cannot write the audit log in {folder}/audit: {exc.strerror or exc}"
            log.error(reason)
            for ident in idents[folder]:
                failed[ident] = reason
    for ident in failed:
        _read_back(state, ident)
    return failed


def due(directory: Directory, now: float, force: bool = False,
        dirty_only: bool = False) -> bool:
    if directory.read_only:
        return False
    if dirty_only:
        return directory.urgent
    if directory.dirty:
        return True
    if not directory.changes:
        return False
    if force:
        return True
    if directory.outcomes * BYTES_PER_OUTCOME < directory.size:
        return False  # not yet worth its bytes: the journal holds it meanwhile
    return (directory.outcomes >= CHECKPOINT_EVERY
            or now - directory.last_change_at >= CHECKPOINT_IDLE)


def checkpoint_due(state: State, force: bool = False,
                   dirty_only: bool = False) -> dict[Ident, str]:
    """Write the checkpoints that are due (all with changes when `force`; only those
    that must be on disk before the round's replies, a session's end, a reset or
    rebuild, when `dirty_only`); a failed one is retried later: the journal
    already holds everything it would say."""
    if state.pending:
        return {}  # never checkpoint ahead of the journal
    failed: dict[Ident, str] = {}
    now = time.monotonic()
    for ident, directory in list(state.dirs.items()):
        if not due(directory, now, force, dirty_only):
            continue
        storage = state.storage(directory.progress_dir)
        try:
            if directory.backup_due:  # the state the previous session ended with
                storage.backup(directory.progress_file)
                directory.backup_due = False
            directory.save(state.clock.now(), storage)
        except StoreError as exc:
            log.warning("checkpoint failed, will retry: %s", exc)
            directory.last_change_at = now  # not again before CHECKPOINT_IDLE
            failed[ident] = str(exc)
    return failed


def _read_back(state: State, ident: Ident) -> None:
    directory = state.dirs.get(ident)
    if directory is None:
        return
    try:
        reload(state, directory)  # its messages are logged there
    except Refusal as exc:
        log.error("cannot read %s back after a failed write: %s", directory.progress_file,
                  exc.message)
