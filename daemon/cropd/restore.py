"""Loading a directory into the daemon: find its file, read, migrate or recover it,
replay the journal past it, and check it against the folder (the seed's resume
logic: scan, load, validate, filter, start from the next unprocessed image)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from crop_progress import shares
from crop_progress.model import Progress
from crop_progress.paths import default_output_dir, directory_key
from crop_progress.scan import scan_directory
from crop_progress.store import (
    DamagedFileError,
    FutureSchemaError,
    StoreError,
    UnsafeFileError,
)
from crop_progress.timefmt import iso_to_epoch
from crop_protocol.errors import ErrorCode
from cropd import leases
from cropd.directory import Directory, file_signature
from cropd.state import Refusal, State

log = logging.getLogger("cropd")


def check_directory(path_text: str) -> Path:
    """An absolute path, or a team share's key (`NAME:relative/`), made a resolved path."""
    on_share = shares.split_key(path_text) if path_text else None
    if on_share is not None:
        found = shares.resolve(*on_share)
        if found is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"{path_text}: the daemon's host has no share "
                          f"{on_share[0]!r} (`cropctl team share {on_share[0]} PATH` there)")
        path_text = str(found)
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
    try:
        scan = scan_directory(directory)
    except OSError as exc:
        raise Refusal(ErrorCode.NOT_FOUND, f"cannot read {directory}: {exc.strerror}") from None
    guess = _output_dir(output_dir, Progress(directory=directory_key(directory)), directory)
    try:
        loaded = state.storage(progress_dir).load(directory, scan.images, scan.hash,
                                                  output_dir=guess, for_write=for_write)
    except DamagedFileError as exc:
        raise Refusal(ErrorCode.DAMAGED, f"{exc}. Open the directory in multicrop or run "
                      "`cropctl rebuild DIR` to recover it") from None
    except (FutureSchemaError, UnsafeFileError) as exc:
        raise Refusal(ErrorCode.DAMAGED, str(exc)) from None
    except StoreError as exc:
        raise Refusal(ErrorCode.STORAGE_ERROR, exc.strerror or str(exc)) from None
    tracker = loaded.tracker
    out = _output_dir(output_dir, tracker.progress, directory)
    if not tracker.progress.created:
        tracker.progress.created = state.clock.now()
    for stamp in (tracker.progress.modified, tracker.progress.last_event_at):
        if stamp:
            state.clock.at_least(int(iso_to_epoch(stamp) * 1000))
    path = loaded.path
    result = Directory(key=tracker.progress.directory, path=directory, progress_dir=progress_dir,
                       progress_file=path, output_dir=out, tracker=tracker, others=scan.others,
                       scan_mtime_ns=scan.mtime_ns, signature=file_signature(path),
                       read_only=not for_write, recovered=loaded.recovered,
                       loaded_at=state.clock.now(), keep_bak=loaded.migrated)
    result.dirty = loaded.dirty and for_write
    result.size = result.signature[1] if result.signature else 0
    leases.restore(state, result)
    return result, [m for m in loaded.messages if m]


def load_for(state: State, read: Directory, output_dir: str | None) -> tuple[Directory,
                                                                            list[str]]:
    """A directory loaded for a read (migrating nothing, moving nothing), loaded again
    by its writer."""
    fresh, messages = load(state, read.path, read.progress_dir, output_dir)
    state.dirs[fresh.ident] = fresh
    return fresh, messages


def reload(state: State, old: Directory) -> tuple[Directory, list[str]]:
    """Read a directory again from disk (after a failed write, or an edit behind our
    back), keeping its leases and clients."""
    fresh, messages = load(state, old.path, old.progress_dir, str(old.output_dir))
    for message in messages:
        log.warning("%s: %s", old.key, message)
    fresh.expires.update((n, t) for n, t in old.expires.items() if n in fresh.tracker.grants)
    fresh.clients = old.clients
    fresh.history = old.history
    state.dirs[fresh.ident] = fresh
    return fresh, messages
