"""One work directory inside the daemon: its tracker, leases, clients and file state."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from crop_progress import history, overview
from crop_progress.audit import Event, read_events
from crop_progress.model import Grant
from crop_progress.paths import audit_dir
from crop_progress.scan import companions_in
from crop_progress.storage import Storage
from crop_progress.timefmt import parse_iso, to_iso
from crop_progress.tracker import Tracker

HISTORY_REACH = timedelta(days=1)

Ident = tuple[str, str]  # (progress dir, directory key)


def file_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


@dataclass
class Directory:
    key: str                 # resolved path with trailing slash
    path: Path
    progress_dir: Path
    progress_file: Path
    output_dir: Path
    tracker: Tracker
    # non-image files by stem, from the last scan (the tracker holds the image names)
    others: dict[str, list[str]]
    scan_mtime_ns: int
    # When each lease of `tracker.grants` runs out (time.monotonic()); a grant past
    # it no longer keeps others off the image, but its token stays good until a
    # newer lease replaces it.
    expires: dict[str, float] = field(default_factory=dict)
    # client id -> the batches it reported, newest last (rebuilt from the journal
    # after a restart, see crop_progress.history)
    history: dict[str, list[list[Event]]] = field(default_factory=dict)
    clients: set[str] = field(default_factory=set)
    dirty: bool = False               # a checkpoint is due after this round's replies
    urgent: bool = False              # ... before them
    backup_due: bool = False          # .bak to be taken before the next checkpoint
    changes: int = 0                  # journal events applied since the last checkpoint
    outcomes: int = 0                 # ... of which outcomes (and undos)
    last_change_at: float = 0.0       # time.monotonic() of the newest of them
    signature: tuple[int, int, int] | None = None  # of the file as we last wrote or read it
    scanned_at: float = field(default_factory=time.monotonic)  # last mtime look
    read_only: bool = False           # loaded for a read; nothing written until opened
    recovered: bool = False           # rebuilt from .bak + journal when it was loaded
    size: int = 0                     # bytes of the last checkpoint
    keep_bak: bool = False            # .bak holds the migrated original: keep it, once
    idle_since: float = field(default_factory=time.monotonic)
    loaded_at: str = ""               # journal time when this daemon loaded it

    @property
    def ident(self) -> Ident:
        return (str(self.progress_dir), self.key)

    @property
    def audit_dir(self) -> Path:
        return audit_dir(self.progress_dir)

    def companions(self, name: str) -> list[str]:
        return companions_in(self.others, name)

    def changed_on_disk(self) -> bool:
        return self.signature is not None and file_signature(self.progress_file) != self.signature

    def save(self, stamp: str, storage: Storage) -> None:
        """Write the checkpoint: the tracker's state, where the journal stands now."""
        progress = self.tracker.snapshot(stamp)
        progress.output_directory = _with_slash(self.output_dir)
        info = storage.checkpoint(self.progress_file, progress)
        self.signature = (info.st_mtime_ns, info.st_size, info.st_ino)
        self.size = info.st_size
        self.dirty = self.urgent = False
        self.changes = self.outcomes = 0
        self.read_only = False

    def note_change(self, outcome: bool) -> None:
        self.changes += 1
        self.outcomes += outcome
        self.last_change_at = self.idle_since = time.monotonic()

    # -- leases ----------------------------------------------------------------
    def live(self, name: str, now: float | None = None) -> Grant | None:
        """The lease on `name` that keeps others off it now, if any."""
        grant = self.tracker.grants.get(name)
        if grant is None:
            return None
        return grant if self.expires.get(name, 0.0) > (now or time.monotonic()) else None

    def held(self) -> set[str]:
        now = time.monotonic()
        return {name for name in self.tracker.grants if self.expires.get(name, 0.0) > now}

    def leases_of(self, client: str) -> list[str]:
        return [name for name, grant in self.tracker.grants.items() if grant.client == client]

    def held_by_others(self, client: str) -> int:
        now = time.monotonic()
        return sum(1 for name, grant in self.tracker.grants.items()
                   if grant.client != client and self.expires.get(name, 0.0) > now)

    def undo_stack(self, client_id: str) -> list[list[Event]]:
        """The batches `client_id` may undo; read back from the journal (this
        session's events) the first time after a restart."""
        stack = self.history.get(client_id)
        if stack is None:
            # what this daemon did not see (before it loaded the directory) the journal
            # did; a window's history reaches back a day at most
            since = to_iso(parse_iso(self.loaded_at) - HISTORY_REACH)
            events = (e for e in read_events(self.audit_dir, directory=self.key, since=since)
                      if e.ts < self.loaded_at)
            stack = self.history[client_id] = history.undo_stack(events, client_id)
        return stack

    def summary_fields(self) -> dict[str, Any]:
        fields = overview.from_tracker(self.tracker, str(self.progress_file), len(self.held()))
        fields["active_windows"] = len(self.clients)
        fields["output_directory"] = _with_slash(self.output_dir)
        return fields


def _with_slash(path: Path) -> str:
    text = str(path)
    return text if text.endswith(os.sep) else text + os.sep
