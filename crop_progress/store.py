"""Progress files on disk: durable atomic writes, `.bak`, and a load that validates,
migrates and repairs, or refuses with a clear reason.

Writes go through `fsio.atomic_write` (a temp file in the same folder, fsynced,
renamed over the target, the folder fsynced), so a crash leaves either the old
or the new file, never a mix. Damaged files are never deleted:
recovery (see `recovery`) sets them aside as `<name>.corrupt-<timestamp>`.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from crop_progress import fsio, migrate
from crop_progress.model import SCHEMA_VERSION, Progress, decode, encode
from crop_progress.timefmt import now

BAK_SUFFIX = ".bak"
MAX_FILE_DEPTH = 64          # a progress file nests 4 deep (record, list, entry, field)
MAX_FILE_SIZE = 256 << 20    # bytes: some 2 million file names; larger is not ours


class StoreError(OSError):
    """A write failed (disk full, read-only folder, permissions); the old file is intact."""


class DamagedFileError(ValueError):
    """The file cannot be read as a progress file (truncated, invalid, wrong shape)."""


class UnsafeFileError(ValueError):
    """The progress file is a link, a folder or a device: refused, never written over."""


class FutureSchemaError(ValueError):
    """The file was written by a newer crop-progress; it is refused, never overwritten."""


def bak_path(path: Path) -> Path:
    return path.with_name(path.name + BAK_SUFFIX)


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(exc.errno or errno.EIO, f"cannot read {path}: {exc}", str(path)) from exc


def atomic_write(path: Path, data: bytes) -> os.stat_result:
    """Durably replace `path` with `data` (`fsio.atomic_write`); raises StoreError and
    leaves `path` as it was."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fsio.atomic_write(path, data)
        return path.stat()
    except OSError as exc:
        raise StoreError(exc.errno or errno.EIO, f"cannot write {path}: {exc.strerror or exc}",
                         str(path)) from exc


def save(path: Path, progress: Progress) -> os.stat_result:
    return atomic_write(path, encode(progress))


def backup(path: Path) -> bool:
    """Copy the current file to `.bak` (the state at the end of the previous session)."""
    data = _read_bytes(path)
    if data is None:
        return False
    atomic_write(bak_path(path), data)
    return True


def quarantine(path: Path) -> Path | None:
    """Set a damaged file aside as `<name>.corrupt-<timestamp>`; never delete it."""
    if not path.exists():
        return None
    stamp = now().strftime("%Y%m%dT%H%M%S%fZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        fsio.rename(path, target)
    except OSError as exc:
        raise StoreError(exc.errno or errno.EIO, f"cannot set aside {path}: {exc}",
                         str(path)) from exc
    return target


@dataclass
class Loaded:
    progress: Progress
    messages: list[str] = field(default_factory=list)
    migrated_from: int | None = None

    @property
    def needs_save(self) -> bool:
        return bool(self.messages) or self.migrated_from is not None


def parse(data: bytes, *, directory: str | None = None, source: str = "progress file") -> Loaded:
    """Bytes to a valid version-2 progress record, migrated and repaired.

    `directory` is the resolved work directory (with trailing `/`) when known;
    a version-1 file's relative `directory` is replaced by it.
    """
    if not data.strip():
        raise DamagedFileError(f"{source} is empty")
    _check_size_and_depth(data, source)
    try:
        raw = msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise DamagedFileError(f"{source} is not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise DamagedFileError(f"{source} holds JSON of the wrong shape (not an object)")
    version = raw.get("schema_version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise DamagedFileError(f"{source} has a schema_version that is not a number")
    if version > SCHEMA_VERSION:
        raise FutureSchemaError(
            f"{source} has schema version {version}, newer than this crop-progress knows "
            f"({SCHEMA_VERSION}); upgrade crop-progress. The file was left untouched.")
    migrated_from = None
    try:
        if version < SCHEMA_VERSION:
            progress = migrate.from_v1(raw, directory)
            migrated_from = version
        else:
            progress = decode(data)
    except (msgspec.ValidationError, TypeError, ValueError) as exc:
        raise DamagedFileError(f"{source} has fields of the wrong shape ({exc})") from exc
    messages = repair(progress)
    return Loaded(progress, messages, migrated_from)


_JSON_SPECIAL = re.compile(rb'[\[\]{}"\\]')
_PLAIN_STRING = re.compile(rb'"[^"]*"')  # a string without escapes


def _check_size_and_depth(data: bytes, source: str) -> None:
    """A file too large or nested too deep to be ours is damaged, before msgspec
    recurses into it (it has no depth limit of its own)."""
    if len(data) > MAX_FILE_SIZE:
        raise DamagedFileError(f"{source} is {len(data)} bytes, more than a progress file "
                               f"can be ({MAX_FILE_SIZE})")
    if data.count(b"[") + data.count(b"{") <= MAX_FILE_DEPTH:
        return  # cannot nest deeper than it has brackets
    if b"\\" not in data:  # no escapes: strings end at the next quote
        data = _PLAIN_STRING.sub(b"", data)
    depth = 0
    in_string = False
    escaped_at = -1  # the position a backslash in a string makes literal
    for match in _JSON_SPECIAL.finditer(data):
        pos, char = match.start(), data[match.start()]
        if pos == escaped_at:
            continue
        if in_string:
            if char == 0x5C:  # backslash
                escaped_at = pos + 1
            elif char == 0x22:  # quote
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in b"[{":
            depth += 1
            if depth > MAX_FILE_DEPTH:
                raise DamagedFileError(f"{source} nests deeper than {MAX_FILE_DEPTH} levels; "
                                       "a progress file never does")
        elif char in b"]}":
            depth -= 1


def read(path: Path, *, directory: str | None = None) -> Loaded | None:
    """Load `path`; None when it does not exist. Raises DamagedFileError or
    FutureSchemaError (and StoreError when it cannot be read at all)."""
    data = _read_bytes(path)
    return None if data is None else parse(data, directory=directory, source=str(path))


def load_for_write(path: Path, directory: str) -> Loaded | None:
    """`read` for the writer: a file of an older schema is migrated and saved, its
    original bytes kept as `.bak` first; repairs are saved too. None when `path`
    does not exist; raises as `read` does, and then has written nothing."""
    data = _read_bytes(path)
    if data is None:
        return None
    loaded = parse(data, directory=directory, source=str(path))
    if loaded.migrated_from is not None:
        atomic_write(bak_path(path), data)
        loaded.messages.append(f"migrated from schema version {loaded.migrated_from} to "
                               f"{SCHEMA_VERSION}; the original was kept as "
                               f"{bak_path(path).name}")
    if loaded.needs_save:
        save(path, loaded.progress)
    return loaded


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def repair(progress: Progress) -> list[str]:
    """Fix duplicates, overlaps and counts that disagree; say what was fixed."""
    messages = []
    for name in ("completed_files", "skipped_files", "deleted_files"):
        items = getattr(progress, name)
        unique = _dedupe(items)
        if len(unique) != len(items):
            messages.append(f"removed {len(items) - len(unique)} duplicate(s) from {name}")
            setattr(progress, name, unique)
    seen_failed: dict[str, object] = {}
    for entry in progress.failed_files:
        seen_failed.setdefault(entry.file, entry)
    if len(seen_failed) != len(progress.failed_files):
        messages.append(f"removed {len(progress.failed_files) - len(seen_failed)} duplicate(s) "
                        "from failed_files")
        progress.failed_files = list(seen_failed.values())  # type: ignore[arg-type]
    done = set(progress.completed_files)
    overlap = [f for f in progress.skipped_files if f in done]
    overlap += [f.file for f in progress.failed_files if f.file in done]
    overlap += [f for f in progress.deleted_files if f in done]
    if overlap:
        messages.append(f"{len(overlap)} completed image(s) were also listed as skipped, failed "
                        "or deleted; completed wins")
        progress.skipped_files = [f for f in progress.skipped_files if f not in done]
        progress.failed_files = [f for f in progress.failed_files if f.file not in done]
        progress.deleted_files = [f for f in progress.deleted_files if f not in done]
    if progress.completed_count != len(progress.completed_files):
        messages.append(f"completed_count said {progress.completed_count} but "
                        f"{len(progress.completed_files)} images are listed; corrected")
        progress.completed_count = len(progress.completed_files)
    if progress.session_count < len(progress.sessions):
        messages.append("session_count was lower than the sessions listed; corrected")
        progress.session_count = len(progress.sessions)
    if progress.work_seconds < 0:
        messages.append("work_seconds was negative; set to 0")
        progress.work_seconds = 0.0
    return messages
