"""The read-only view of a progress folder, for readers when no daemon runs.

The daemon owns the progress files and the audit log; a client such as
`cropctl` never uses the store to change them. This module is the one doorway
through which a client may look at them when no daemon answers: it lists the
progress files of a progress folder, reads each one without writing anything
(a file of an older schema is migrated in memory only), summarises it with
`overview.from_progress`, finds the file of a work directory by the
`directory` field its files hold, and reads the audit events.

Nothing here ever writes, renames, repairs or creates a file or a folder. A
damaged file, one of a newer schema, or one that cannot be read becomes a
`ReadProblem` carrying one line of text, never another exception.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crop_progress import naming, overview, recovery, shares, store
from crop_progress.audit import Event, read_events
from crop_progress.model import Progress
from crop_progress.paths import audit_dir, canonical_directory, directory_key

__all__ = [
    "NeverSeen",
    "ReadProblem",
    "Record",
    "events",
    "find",
    "load_directory",
    "locate",
    "progress_files",
    "read_record",
    "scan",
    "summaries",
]


class ReadProblem(Exception):
    """A progress file or the audit log cannot be read; `str()` is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class NeverSeen(ReadProblem):
    """No progress file belongs to the directory: it was never worked on here."""


@dataclass(frozen=True)
class Record:
    """One progress file as read: where it is and what it holds."""

    path: Path
    progress: Progress
    notes: tuple[str, ...] = ()
    """What a writer would repair or migrate (nothing was changed on disk)."""

    def summary(self) -> dict[str, Any]:
        """The fields of the wire's `Summary` (active_claims is 0: no daemon, no claims)."""
        return overview.from_progress(self.progress, str(self.path))


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def progress_files(progress_dir: Path) -> list[Path]:
    """The `*_progress.json` files of a progress folder, by name (none if it is missing)."""
    try:
        return naming.progress_files(Path(progress_dir))
    except OSError as exc:
        raise ReadProblem(f"cannot list {progress_dir}: {exc.strerror or exc}") from None


def read_record(path: Path, directory: str | None = None) -> Record:
    """Read and validate one progress file, changing nothing on disk.

    `directory` (a resolved path with a trailing `/`) replaces the relative
    `directory` of a version-1 file. Raises NeverSeen when the file does not
    exist, ReadProblem when it is damaged, of a newer schema or unreadable.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NeverSeen(f"{path} does not exist") from None
    except OSError as exc:
        raise ReadProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        loaded = store.parse(data, directory=directory, source=path.name)
    except store.FutureSchemaError as exc:
        raise ReadProblem(str(exc)) from None
    except store.DamagedFileError as exc:
        raise ReadProblem(f"{exc}: the progress file is damaged") from None
    except Exception as exc:  # a shape the parser did not foresee: still one line
        raise ReadProblem(f"{path.name} cannot be read ({type(exc).__name__}: {exc})") from None
    notes = list(loaded.messages)
    if loaded.migrated_from is not None:
        notes.append(f"schema version {loaded.migrated_from}: the daemon migrates it on open")
    # the file is a checkpoint: what the journal acknowledged after it counts too
    progress, _ = recovery.caught_up(loaded.progress, audit_dir(path.parent))
    return Record(path, progress, tuple(notes))


def scan(progress_dir: Path) -> tuple[list[Record], list[str]]:
    """Every readable progress file of the folder, and one line per file that is not."""
    records: list[Record] = []
    problems: list[str] = []
    for path in progress_files(progress_dir):
        try:
            records.append(read_record(path))
        except NeverSeen:
            continue  # vanished between listing and reading
        except ReadProblem as exc:
            message = str(exc)
            problems.append(message if message.startswith(path.name) else
                            f"{path.name}: {message}")
    return records, problems


def summaries(progress_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """`overview.from_progress` of every readable file, and the problems of the others."""
    records, problems = scan(progress_dir)
    return [record.summary() for record in records], problems


def find(progress_dir: Path, directory: Path) -> Path | None:
    """The existing progress file of a resolved directory, by the `directory` its file
    holds (so a spelling, a symlink or a name shared with another directory cannot
    mislead it), or None. Reads only."""
    try:
        path = naming.resolve(Path(progress_dir), directory).path
    except OSError as exc:
        raise ReadProblem(f"cannot look in {progress_dir}: {exc.strerror or exc}") from None
    return path if path.exists() else None


def locate(progress_dir: Path, text: str) -> Path:
    """The work directory a user means by `text`: the path when it exists, else the
    one known directory with that base name (`cropctl show _asian` from anywhere).

    Raises ReadProblem when the name matches several known directories; a path
    that exists nowhere and matches none comes back resolved, as typed.
    """
    path = canonical_directory(text)
    if path.exists() or os.sep in text.rstrip(os.sep) or text.startswith((".", "~")):
        return path
    name = text.rstrip(os.sep)
    matches = []
    for candidate in progress_files(progress_dir):
        head = naming.read_head(candidate)
        on_share = shares.split_key(head.directory) if head is not None else None
        if on_share is not None:  # a team share's directory, where this machine mounts it
            found = shares.resolve(*on_share)
            if found is None:
                continue
            known = found
        elif head is None or not os.path.isabs(head.directory):
            continue
        else:
            known = Path(head.directory)
        if known.name == name and known not in matches:
            matches.append(known)
    if len(matches) > 1:
        raise ReadProblem(f"{name} names {len(matches)} known directories: "
                          + ", ".join(str(m) for m in matches) + "; give the full path")
    return matches[0] if matches else path


def load_directory(progress_dir: Path, directory: Path) -> Record:
    """The record of one resolved work directory. Raises NeverSeen or ReadProblem."""
    path = find(progress_dir, directory)
    if path is None:
        raise NeverSeen(f"{directory_key(directory)} has no progress in {progress_dir} "
                        "(never worked on here)")
    return read_record(path, directory=directory_key(directory))


def events(progress_dir: Path, *, directory: str | None = None,
           since: str | None = None) -> list[Event]:
    """The audit events of the folder (of one directory key), oldest first, after `since`.

    Raises ReadProblem for a `since` that is not an ISO 8601 time.
    """
    try:
        return list(read_events(audit_dir(Path(progress_dir)), directory=directory,
                                since=since))
    except ValueError as exc:
        raise ReadProblem(f"not an ISO 8601 time: {since!r} ({exc})") from None
