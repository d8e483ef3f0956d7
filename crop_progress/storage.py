"""Where progress lives, behind one small interface: load, append events, checkpoint.

`FileStorage` is the seed's layout: one progress file per work directory (the
checkpoint) and the audit log of its progress folder (the journal). Loading is
the last checkpoint plus a replay of the journal after it (migrated, repaired
or rebuilt from `.bak`, the journal and the output folder when it must be);
a checkpoint records where in the journal it stands, so replay stays short.
The daemon touches progress only through this interface, so a second backend
(a database, for teams that outgrow one daemon host) can come without
touching its handlers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from crop_progress import naming, recovery, store
from crop_progress.audit import AuditLog, Event
from crop_progress.model import JournalMark, Progress
from crop_progress.paths import audit_dir, directory_key, unsafe_progress_file
from crop_progress.tracker import Tracker


@dataclass
class Loaded:
    """A directory's progress as the storage holds it now."""
    tracker: Tracker
    path: Path                    # where its checkpoint lives
    messages: list[str] = field(default_factory=list)
    dirty: bool = False           # to be checkpointed at once (recovered, moved)
    recovered: bool = False       # rebuilt after damage
    migrated: bool = False        # from an older schema; `.bak` holds the original


class Storage(Protocol):
    def load(self, directory: Path, on_disk: list[str], disk_hash: str, *,
             output_dir: Path, for_write: bool) -> Loaded: ...

    def rebuild(self, path: Path, directory: Path, output_dir: Path, on_disk: list[str],
                reason: str) -> recovery.Recovered: ...

    def append(self, events: Iterable[Event], sync: bool) -> None: ...

    def checkpoint(self, path: Path, progress: Progress) -> os.stat_result: ...

    def backup(self, path: Path) -> None: ...

    def close(self) -> None: ...


class FileStorage:
    """The progress files and the journal of one progress folder."""

    def __init__(self, progress_dir: Path, threshold: float) -> None:
        self.progress_dir = progress_dir
        self.threshold = threshold
        self.journal = AuditLog(audit_dir(progress_dir))

    def load(self, directory: Path, on_disk: list[str], disk_hash: str, *,
             output_dir: Path, for_write: bool) -> Loaded:
        """Raises store.DamagedFileError (only when not `for_write`: a writer recovers),
        store.UnsafeFileError, store.FutureSchemaError and store.StoreError."""
        key = directory_key(directory)
        resolution = naming.resolve(self.progress_dir, directory, disk_hash, bool(on_disk))
        messages: list[str] = []
        path = resolution.path
        if resolution.source is not None:
            messages.append(resolution.message or "")
            if for_write:
                naming.adopt(resolution.source, path)
            else:
                path = resolution.source
        unsafe = unsafe_progress_file(path)
        if unsafe is not None:
            raise store.UnsafeFileError(unsafe)
        journal = audit_dir(self.progress_dir)
        try:
            found = (store.load_for_write(path, key) if for_write
                     else store.read(path, directory=key))
        except store.DamagedFileError as exc:
            if not for_write:
                raise
            rec = self.rebuild(path, directory, output_dir, on_disk,
                               f"The progress file was damaged ({exc}); recovered")
            return Loaded(rec.tracker, path, messages + rec.messages, dirty=True,
                          recovered=True)
        if found is None:
            tracker = Tracker(Progress(directory=key), on_disk, self.threshold, disk_hash)
            if recovery.replay(tracker, journal, None):
                messages.append("The progress file was missing; rebuilt from the audit log")
                return Loaded(tracker, path, messages, dirty=True)
            return Loaded(tracker, path, messages)
        progress = found.progress
        if found.messages:
            messages.append("Progress file: " + "; ".join(found.messages))
        dirty = progress.directory != key
        progress.directory = key
        before = progress.directory_hash
        tracker = Tracker(progress, on_disk, self.threshold, disk_hash)
        replayed = recovery.replay(tracker, journal, progress.modified or None,
                                   progress.journal)
        if replayed:
            messages.append(f"Recovered {replayed} outcome(s) from the audit log that the "
                            "progress file was missing (the daemon had stopped)")
        if before and before != tracker.hash:
            messages.append("The directory changed since the last save (images added or "
                            "removed outside crop-progress); the queue follows it: "
                            f"{len(tracker.on_disk)} image(s) in it now")
        return Loaded(tracker, path, messages, dirty=dirty,
                      migrated=found.migrated_from is not None)

    def rebuild(self, path: Path, directory: Path, output_dir: Path, on_disk: list[str],
                reason: str) -> recovery.Recovered:
        """Make a directory's progress again from `.bak`, the journal and its outputs;
        the file it replaces is set aside, never deleted."""
        return recovery.rebuild(path, directory, output_dir, audit_dir(self.progress_dir),
                                on_disk, self.threshold, reason=reason)

    def append(self, events: Iterable[Event], sync: bool) -> None:
        self.journal.append(events, sync=sync)

    def mark(self) -> JournalMark | None:
        return self.journal.mark()

    def checkpoint(self, path: Path, progress: Progress) -> os.stat_result:
        """Write `progress` as the checkpoint at `path`, standing where the journal is
        now (or where its last checkpoint stood, when nothing was appended since)."""
        progress.journal = self.journal.mark() or progress.journal
        return store.save(path, progress)

    def backup(self, path: Path) -> None:
        store.backup(path)

    def close(self) -> None:
        self.journal.close()
