"""Loading a directory into the daemon: find its file, read, migrate or recover it,
replay the journal past it, and check it against the folder (the seed's resume
logic: scan, load, validate, filter, start from the next unprocessed image)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from crop_progress import naming, recovery, store
from crop_progress.model import Progress
from crop_progress.paths import default_output_dir, directory_key, unsafe_progress_file
from crop_progress.scan import scan_directory
from crop_progress.store import DamagedFileError, FutureSchemaError, StoreError
from crop_progress.timefmt import iso_to_epoch
from crop_progress.tracker import Tracker
from crop_protocol.errors import ErrorCode
from cropd.directory import Directory, file_signature
from cropd.state import Refusal, State

log = logging.getLogger("cropd")


def check_directory(path_text: str) -> Path:
    if not path_text or not os.path.isabs(path_text):
        raise Refusal(ErrorCode.BAD_REQUEST, f"not an absolute path: {path_text!r}")
    path = Path(path_text).resolve()
    if not path.exists():
        raise Refusal(ErrorCode.NOT_FOUND, f"no such directory: {path_text}")
    if not path.is_dir():
        raise Refusal(ErrorCode.BAD_REQUEST, f"not a directory: {path_text}")
    return path


def _output_dir(requested: str | None, progress: Progress, directory: Path) -> Path:
    if requested:
        return Path(requested).expanduser().resolve()
    recorded = progress.output_directory
    if recorded and os.path.isabs(recorded):
        return Path(recorded)
    return default_output_dir(directory)


def load(state: State, directory: Path, progress_dir: Path, output_dir: str | None = None,
         *, for_write: bool = True) -> tuple[Directory, list[str]]:
    """Raises Refusal for what cannot be loaded (newer schema, unreadable folder)."""
    key = directory_key(directory)
    threshold = state.config.break_threshold
    try:
        scan = scan_directory(directory)
    except OSError as exc:
        raise Refusal(ErrorCode.NOT_FOUND, f"cannot read {directory}: {exc.strerror}") from None
    disk_hash = scan.hash
    resolution = naming.resolve(progress_dir, directory, disk_hash, bool(scan.images))
    messages: list[str] = []
    path = resolution.path
    if resolution.source is not None:
        messages.append(resolution.message or "")
        if for_write:
            naming.adopt(resolution.source, path)
        else:
            path = resolution.source
    if (unsafe := unsafe_progress_file(path)) is not None:
        raise Refusal(ErrorCode.DAMAGED, unsafe)
    audit_dir = progress_dir / "audit"
    dirty = recovered = False
    try:
        loaded = (store.load_for_write(path, key) if for_write
                  else store.read(path, directory=key))
    except DamagedFileError as exc:
        if not for_write:
            raise Refusal(ErrorCode.DAMAGED, f"{exc}. Open the directory in multicrop or run "
                          "`cropctl rebuild DIR` to recover it") from None
        guess = Progress(directory=key)
        out = _output_dir(output_dir, guess, directory)
        try:
            rec = recovery.rebuild(path, directory, out, audit_dir, scan.images, threshold,
                                   reason=f"The progress file was damaged ({exc}); recovered")
        except StoreError as err:
            raise Refusal(ErrorCode.STORAGE_ERROR, str(err)) from None
        tracker, dirty, recovered = rec.tracker, True, True
        messages += rec.messages
    except FutureSchemaError as exc:
        raise Refusal(ErrorCode.DAMAGED, str(exc)) from None
    except StoreError as exc:
        raise Refusal(ErrorCode.STORAGE_ERROR, str(exc)) from None
    else:
        if loaded is None:
            tracker = Tracker(Progress(directory=key), scan.images, threshold, disk_hash)
            if recovery.replay(tracker, audit_dir, None):
                messages.append("The progress file was missing; rebuilt from the audit log")
                dirty = True
        else:
            progress = loaded.progress
            if loaded.messages:
                messages.append("Progress file: " + "; ".join(loaded.messages))
            if progress.directory != key:
                progress.directory = key
                dirty = True
            tracker = Tracker(progress, scan.images, threshold, disk_hash)
            replayed = recovery.replay(tracker, audit_dir, progress.modified or None)
            if replayed:
                messages.append(f"Recovered {replayed} outcome(s) from the audit log that the "
                                "progress file was missing (the daemon had stopped)")
                dirty = True
            messages += validate(tracker, progress_before=loaded.progress)
    out = _output_dir(output_dir, tracker.progress, directory)
    if not tracker.progress.created:
        tracker.progress.created = state.clock.now()
    for stamp in (tracker.progress.modified, tracker.progress.last_event_at):
        if stamp:
            state.clock.at_least(int(iso_to_epoch(stamp) * 1000))
    result = Directory(key=key, path=directory, progress_dir=progress_dir, progress_file=path,
                       output_dir=out, tracker=tracker, others=scan.others,
                       scan_mtime_ns=scan.mtime_ns,
                       signature=file_signature(path), read_only=not for_write,
                       recovered=recovered)
    result.dirty = dirty and for_write
    return result, [m for m in messages if m]


def validate(tracker: Tracker, progress_before: Progress) -> list[str]:
    """The seed's consistency check: has the folder changed since the file was written?"""
    if not progress_before.directory_hash or progress_before.directory_hash == tracker.hash:
        return []
    return [f"The directory changed since the last save (images added or removed outside "
            f"crop-progress); the queue follows it: {len(tracker.on_disk)} image(s) in it now"]


def reload(state: State, old: Directory) -> tuple[Directory, list[str]]:
    """Read a directory again from disk (after a failed write, or an edit behind our
    back), keeping its leases and clients."""
    fresh, messages = load(state, old.path, old.progress_dir, str(old.output_dir))
    for message in messages:
        log.warning("%s: %s", old.key, message)
    fresh.leases = old.leases
    fresh.clients = old.clients
    state.dirs[fresh.ident] = fresh
    return fresh, messages
