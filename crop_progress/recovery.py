"""Rebuilding progress after damage or a crash: `.bak` + the audit log + the output directory.

The audit log is the journal: every acknowledged outcome is in it, so replaying
the events after the newest good state gives back everything, including the
work of the current session that the `.bak` (a session old) lacks. Where the
log is missing too, an image found in the output directory counts as completed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from crop_progress import shares
from crop_progress.audit import OUTCOME_OPS, read_events
from crop_progress.model import JournalMark, Progress
from crop_progress.paths import directory_key
from crop_progress.scan import is_image_name
from crop_progress.store import (
    DamagedFileError,
    FutureSchemaError,
    StoreError,
    bak_path,
    quarantine,
    read,
)
from crop_progress.timefmt import now_iso
from crop_progress.tracker import COMPLETED, PENDING, Tracker


def replay(tracker: Tracker, audit_dir: Path, after: str | None,
           start: JournalMark | None = None) -> int:
    """Apply the directory's audit events newer than `after` (from `start`, where its
    checkpoint stands in the journal); returns how many outcomes."""
    outcomes = 0
    where = (start.day, start.offset) if start is not None else None
    for event in read_events(audit_dir, directory=tracker.progress.directory, since=after,
                             start=where):
        tracker.apply(event)
        outcomes += event.op in OUTCOME_OPS or event.op == "undo"
    return outcomes


def caught_up(progress: Progress, audit_dir: Path) -> tuple[Progress, int]:
    """A progress record as the journal has it now: its checkpoint plus the events
    after it, for readers that list no folder (`cropctl`, `--show-progress`).
    Returns the record and how many outcomes were replayed. Reads only."""
    if not progress.directory.startswith("/") and shares.split_key(progress.directory) is None:
        return progress, 0  # a version-1 file's relative path: the journal cannot name it
    known = [*progress.completed_files, *progress.skipped_files,
             *(f.file for f in progress.failed_files)]
    tracker = Tracker(msgspec.structs.replace(progress), known, disk_hash=progress.directory_hash,
                      unlisted=0)
    tracker.unlisted = max(0, progress.total_images - tracker.total_images)
    index = progress.current_index
    replayed = replay(tracker, audit_dir, progress.modified or None, progress.journal)
    fresh = tracker.snapshot(progress.modified)
    fresh.directory_hash = progress.directory_hash
    fresh.current_index = min(fresh.total_images, index + replayed)
    return fresh, replayed


def output_images(output_dir: Path | None) -> list[str]:
    if output_dir is None or not output_dir.is_dir():
        return []
    return sorted(p.name for p in output_dir.iterdir() if is_image_name(p.name) and p.is_file())


def adopt_outputs(tracker: Tracker, output_dir: Path | None) -> int:
    """Count images already in the output directory as completed."""
    found = 0
    for name in output_images(output_dir):
        if tracker.status(name) == PENDING:
            tracker.mark(name, COMPLETED)
            found += 1
    return found


@dataclass
class Recovered:
    tracker: Tracker
    messages: list[str] = field(default_factory=list)
    set_aside: list[Path] = field(default_factory=list)


def rebuild(path: Path, directory: Path, output_dir: Path | None, audit_dir: Path,
            on_disk: list[str], threshold: float, reason: str | None = None) -> Recovered:
    """Rebuild `path` for `directory` from `.bak`, the journal and the output folder.

    The damaged file and a damaged `.bak` are set aside, never deleted. Raises
    StoreError when they cannot be set aside (a read-only progress folder).
    """
    key = directory_key(directory)
    messages = [reason] if reason else []
    set_aside = []
    moved = quarantine(path)
    if moved is not None:
        set_aside.append(moved)
        messages.append(f"the file it replaces was kept as {moved.name}")
    base: Progress | None = None
    bak = bak_path(path)
    try:
        loaded = read(bak, directory=key)
        if loaded is not None:
            base = loaded.progress
            base.directory = key
            messages.append(f"started from the backup ({bak.name}, saved {base.modified})")
    except (DamagedFileError, FutureSchemaError) as exc:
        moved_bak = quarantine(bak)
        if moved_bak is not None:
            set_aside.append(moved_bak)
        messages.append(f"the backup is unusable too ({exc}); kept as "
                        f"{moved_bak.name if moved_bak else bak.name}")
    except StoreError as exc:
        messages.append(f"the backup could not be read ({exc})")
    if base is None:
        stamp = now_iso()
        base = Progress(directory=key, output_directory=str(output_dir or ""), created=stamp,
                        modified="")
    tracker = Tracker(base, on_disk, threshold)
    replayed = replay(tracker, audit_dir, base.modified or None)
    messages.append(f"replayed {replayed} outcome(s) from the audit log")
    found = adopt_outputs(tracker, output_dir)
    if found:
        messages.append(f"{found} image(s) found in the output directory counted as completed")
    messages.append(f"recovered {len(tracker.completed)} completed, {len(tracker.skipped)} "
                    f"skipped, {len(tracker.failed)} failed, {len(tracker.deleted)} deleted")
    return Recovered(tracker, messages, set_aside)
