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
from crop_progress.model import JournalMark
from crop_progress.timefmt import parse_iso, to_iso

OPS = ("session_start", "session_end", "claim", "crop", "keep", "skip", "fail",
       "delete", "undo", "reset", "rebuild", "shape")
OUTCOME_OPS = ("crop", "keep", "skip", "fail", "delete")
# The one translation between the wire's outcome words and the journal's ops;
# the progress file's lists (completed, skipped, ...) follow the tracker's OP_STATUS.
OUTCOME_OP = {"cropped": "crop", "kept": "keep", "skipped": "skip", "failed": "fail",
              "deleted": "delete"}
OP_OUTCOME = {op: outcome for outcome, op in OUTCOME_OP.items()}
# Events that mean a person was working: the gaps between them are work time.
WORK_OPS = frozenset({"claim", "crop", "keep", "skip", "fail", "delete", "undo"})


class ClientRef(msgspec.Struct):
    pid: int
    host: str
    id: str = ""
    program: str = ""
    user: str | None = None  # the team member it authenticated as (team mode's tcp)


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
    token: int | None = None            # claim: the lease token; outcomes: the one reported
    out_size: list[int] | None = None   # crop: [w, h] of a shaped output
    shape: str | None = None            # shape: the directory's output shape ("" for none)


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def day_of(ts: str) -> str:
    return ts[:10]


def log_file(audit_dir: Path, day: str) -> Path:
    return audit_dir / f"{day}.jsonl"


def encode_line(event: Event) -> bytes:
    return _encoder.encode(event) + b"\n"


class AuditLog:
    """Appends events to the day file of each event; `sync=True` makes them durable.

    The current day's file stays open between appends (the daemon appends on
    every poll round); it is checked for a torn last line once, when opened.
    """

    def __init__(self, audit_dir: Path) -> None:
        self.dir = audit_dir
        self._fd: int | None = None
        self._day: str | None = None
        self._unsynced_new_file = False
        self.position: tuple[str, int] | None = None  # (day, size) after the last append

    def append(self, events: Iterable[Event], sync: bool = True) -> None:
        by_day: dict[str, list[bytes]] = {}
        for event in events:
            by_day.setdefault(day_of(event.ts), []).append(encode_line(event))
        for day, lines in by_day.items():
            try:
                fd = self._open(day)
                fsio.write_all(fd, b"".join(lines))
                self.position = (day, os.lseek(fd, 0, os.SEEK_END))
            except OSError:
                self.close()  # reopen next time: the tail is checked again
                raise
            if sync:
                self.sync()

    def mark(self) -> JournalMark | None:
        """Where the journal stands after the last append (for a checkpoint)."""
        return JournalMark(*self.position) if self.position is not None else None

    def sync(self) -> None:
        """Make what was appended durable (the day file, and its folder if new)."""
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        except OSError:
            self.close()
            raise
        if self._unsynced_new_file:
            fsio.fsync_dir(self.dir)
            self._unsynced_new_file = False

    def _open(self, day: str) -> int:
        if self._fd is not None and self._day == day and os.fstat(self._fd).st_nlink:
            return self._fd
        self.close()
        self.dir.mkdir(parents=True, exist_ok=True)
        path = log_file(self.dir, day)
        created = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                fsio.write_all(fd, b"\n")  # a crash left a torn line: start a fresh one
        except OSError:
            os.close(fd)
            raise
        self._fd, self._day = fd, day
        self._unsynced_new_file = self._unsynced_new_file or created
        return fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = self._day = None

    def __del__(self) -> None:
        self.close()


def _read_from(path: Path, offset: int) -> bytes:
    """The file's bytes from `offset` (from the start when the file is shorter: it was
    replaced, so the offset means nothing)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if 0 < offset <= size:
            f.seek(offset)
        return f.read()


def day_files(audit_dir: Path, since_day: str | None = None) -> list[Path]:
    if not audit_dir.is_dir():
        return []
    files = sorted(p for p in audit_dir.glob("????-??-??.jsonl") if p.is_file())
    if since_day:
        files = [p for p in files if p.stem >= since_day]
    return files


def read_events(audit_dir: Path, *, directory: str | None = None,
                since: str | None = None,
                start: tuple[str, int] | None = None) -> Iterator[Event]:
    """Events in file order, optionally one directory's and strictly after `since`.

    `start` (day, byte offset) is where a checkpoint stands in the journal:
    earlier days are skipped and that day's file is read from the offset on.
    """
    if since is not None:
        since = to_iso(parse_iso(since))
    needle = None
    if directory is not None:
        needle = _encoder.encode(directory)  # cheap pre-filter on the raw line
    first_day = day_of(since) if since else None
    if start is not None and (first_day is None or start[0] > first_day):
        first_day = start[0]
    for path in day_files(audit_dir, first_day):
        offset = start[1] if start is not None and path.stem == start[0] else 0
        try:
            data = _read_from(path, offset)
        except OSError:
            continue
        for line in data.split(b"\n"):
            if not line or (needle is not None and needle not in line):
                continue
            try:
                event = _decoder.decode(line)
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
                continue
            if directory is not None and event.directory != directory:
                continue
            if since is not None and event.ts <= since:
                continue
            yield event
