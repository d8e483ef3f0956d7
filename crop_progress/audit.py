"""The audit log: the journal of every file operation, one JSON object per line.

One file per UTC day, `<progress-dir>/audit/YYYY-MM-DD.jsonl`, appended by the
daemon only. Readers skip a torn last line (a crash mid-append) and any line
that does not parse, so a damaged log never stops recovery.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import msgspec

from crop_progress import fsio
from crop_progress.timefmt import parse_iso, to_iso

OPS = ("session_start", "session_end", "claim", "crop", "keep", "skip", "fail",
       "delete", "undo", "reset", "rebuild")
OUTCOME_OPS = ("crop", "keep", "skip", "fail", "delete")
# Events that mean a person was working: the gaps between them are work time.
WORK_OPS = frozenset({"claim", "crop", "keep", "skip", "fail", "delete", "undo"})


class ClientRef(msgspec.Struct):
    pid: int
    host: str
    id: str = ""
    program: str = ""


class Event(msgspec.Struct, kw_only=True):
    ts: str
    op: str
    directory: str
    file: str | None = None
    dest: str | None = None
    companions: list[str] = msgspec.field(default_factory=list)
    client: ClientRef | None = None
    reason: str | None = None
    # undo: the op it took back; crop: the box in full-resolution pixels.
    undone: str | None = None
    box: list[int] | None = None
    batch: str | None = None
    moved: bool = False
    trashed: list[str] = msgspec.field(default_factory=list)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def day_of(ts: str) -> str:
    return ts[:10]


def log_file(audit_dir: Path, day: str) -> Path:
    return audit_dir / f"{day}.jsonl"


def encode_line(event: Event) -> bytes:
    return _encoder.encode(event) + b"\n"


class AuditLog:
    """Appends events to the day file of each event; `sync=True` makes them durable."""

    def __init__(self, audit_dir: Path) -> None:
        self.dir = audit_dir

    def append(self, events: Iterable[Event], sync: bool = True) -> None:
        by_day: dict[str, list[bytes]] = {}
        for event in events:
            by_day.setdefault(day_of(event.ts), []).append(encode_line(event))
        if not by_day:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        for day, lines in by_day.items():
            path = log_file(self.dir, day)
            created = not path.exists()
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                _repair_torn_tail(fd, path)
                fsio.write_all(fd, b"".join(lines))
                if sync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            if created and sync:
                fsio.fsync_dir(self.dir)


def _repair_torn_tail(fd: int, path: Path) -> None:
    """Start on a fresh line if a crash left the file without its final newline."""
    size = os.fstat(fd).st_size
    if size == 0:
        return
    with open(path, "rb") as reader:
        reader.seek(size - 1)
        if reader.read(1) != b"\n":
            fsio.write_all(fd, b"\n")


def day_files(audit_dir: Path, since_day: str | None = None) -> list[Path]:
    if not audit_dir.is_dir():
        return []
    files = sorted(p for p in audit_dir.glob("????-??-??.jsonl") if p.is_file())
    if since_day:
        files = [p for p in files if p.stem >= since_day]
    return files


def read_events(audit_dir: Path, *, directory: str | None = None,
                since: str | None = None) -> Iterator[Event]:
    """Events in file order, optionally one directory's and strictly after `since`."""
    if since is not None:
        since = to_iso(parse_iso(since))
    needle = None
    if directory is not None:
        needle = _encoder.encode(directory)  # cheap pre-filter on the raw line
    for path in day_files(audit_dir, day_of(since) if since else None):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for line in data.split(b"\n"):
            if not line or (needle is not None and needle not in line):
                continue
            try:
                event = _decoder.decode(line)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if directory is not None and event.directory != directory:
                continue
            if since is not None and event.ts <= since:
                continue
            yield event
