"""One directory's progress in memory: outcome sets, the resume order, the journal rule.

`Tracker` is the working form of a progress file. Every change to it is an
audit event passed to `apply`, live in the daemon and on replay in recovery,
so the file and the journal can never mean different things. `snapshot`
gives the file form back. The resume order is file-name order over the images
on disk plus those completed or deleted that left the directory.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

from crop_progress.audit import WORK_OPS, Event
from crop_progress.model import FailedFile, Progress, SessionRecord
from crop_progress.scan import directory_hash
from crop_progress.timefmt import iso_to_epoch
from crop_progress.worktime import BREAK_THRESHOLD, WorkClock

PENDING = "pending"
COMPLETED = "completed"
SKIPPED = "skipped"
FAILED = "failed"
DELETED = "deleted"
OP_STATUS = {"crop": COMPLETED, "keep": COMPLETED, "skip": SKIPPED, "fail": FAILED,
             "delete": DELETED}


@dataclass
class RescanReport:
    added: list[str] = field(default_factory=list)
    removed_pending: list[str] = field(default_factory=list)
    completed_gone: list[str] = field(default_factory=list)
    hash_changed: bool = False

    def messages(self) -> list[str]:
        lines = []
        if self.added:
            lines.append(f"{len(self.added)} new image(s) found; added to the queue")
        if self.removed_pending:
            lines.append(f"{len(self.removed_pending)} unprocessed image(s) vanished from the "
                         "directory; dropped from the queue")
        if self.completed_gone:
            lines.append(f"{len(self.completed_gone)} completed image(s) are no longer in the "
                         "directory; they stay completed in the record")
        return lines


class Tracker:
    def __init__(self, progress: Progress, on_disk: Iterable[str],
                 threshold: float = BREAK_THRESHOLD, disk_hash: str | None = None) -> None:
        self.progress = progress
        self.threshold = threshold
        # One string object per name, shared by every set and list below: a
        # 10,000-image directory holds each name once (memory, with 50 open).
        names = {n: n for n in on_disk}
        one = names.get
        self.completed: dict[str, None] = dict.fromkeys(one(f, f) for f in progress.completed_files)
        self.skipped: dict[str, None] = dict.fromkeys(
            one(f, f) for f in progress.skipped_files if f not in self.completed)
        self.failed: dict[str, str] = {
            one(f.file, f.file): f.reason for f in progress.failed_files
            if f.file not in self.completed and f.file not in self.skipped}
        self.deleted: dict[str, None] = dict.fromkeys(
            one(f, f) for f in progress.deleted_files
            if f not in self.completed and f not in self.skipped and f not in self.failed)
        last = iso_to_epoch(progress.last_event_at) if progress.last_event_at else None
        self.clock = WorkClock(threshold, last)
        self.on_disk: set[str] = set(names)
        self.hash = disk_hash or directory_hash(list(self.on_disk))
        self._rebuild_order()

    # -- the resume order ---------------------------------------------------
    def _rebuild_order(self) -> None:
        self.order = sorted(self.on_disk | self.completed.keys() | self.deleted.keys())
        self.cursor = 0

    def index(self, name: str) -> int | None:
        """The place of `name` in the resume order (sorted), None when not in it."""
        at = bisect.bisect_left(self.order, name)
        return at if at < len(self.order) and self.order[at] == name else None

    def _ensure_in_order(self, name: str) -> None:
        if self.index(name) is not None:
            return
        at = bisect.bisect_left(self.order, name)
        self.order.insert(at, name)
        if at <= self.cursor:
            self.cursor = at

    def status(self, name: str) -> str:
        if name in self.completed:
            return COMPLETED
        if name in self.deleted:
            return DELETED
        if name in self.skipped:
            return SKIPPED
        if name in self.failed:
            return FAILED
        return PENDING

    def _handled(self, name: str) -> bool:
        return (name in self.completed or name in self.deleted or name in self.skipped
                or name in self.failed)

    def _advance(self) -> int:
        order, cursor = self.order, self.cursor
        while cursor < len(order) and self._handled(order[cursor]):
            cursor += 1
        self.cursor = cursor
        return cursor

    def pending(self, limit: int, exclude: set[str] | frozenset[str] = frozenset(),
                retry_skipped: bool = False, retry_failed: bool = False) -> list[str]:
        """The next `limit` images to offer, in resume order, none of `exclude`."""
        picked: list[str] = []
        order = self.order
        index = self._advance()
        while index < len(order) and len(picked) < limit:
            name = order[index]
            if name not in exclude and not self._handled(name):
                picked.append(name)
            index += 1
        retry: list[str] = []
        if retry_skipped:
            retry += [n for n in self.skipped if n in self.on_disk]
        if retry_failed:
            retry += [n for n in self.failed if n in self.on_disk]
        if retry:
            extra = sorted(n for n in retry if n not in exclude and self.index(n) is not None)
            picked = sorted(picked + extra[:limit])[:limit]  # sorted is resume order
        return picked

    def remaining(self) -> int:
        """Images still to do (not completed, deleted, skipped or failed)."""
        waiting = sum(1 for n in self.skipped if self.index(n) is not None)
        waiting += sum(1 for n in self.failed if self.index(n) is not None)
        return self.total_images - len(self.completed) - waiting

    # -- counts -------------------------------------------------------------
    @property
    def total_images(self) -> int:
        return len(self.order) - len(self.deleted)

    @property
    def current_index(self) -> int:
        cursor = self._advance()
        return cursor - sum(1 for n in self.deleted if bisect.bisect_left(self.order, n) < cursor)

    @property
    def open_session(self) -> SessionRecord | None:
        sessions = self.progress.sessions
        return sessions[-1] if sessions and sessions[-1].end is None else None

    # -- the journal rule ---------------------------------------------------
    def apply(self, event: Event) -> None:
        """Apply one audit event; the only way progress changes."""
        p = self.progress
        op = event.op
        if op in WORK_OPS:
            added = self.clock.tick(iso_to_epoch(event.ts))
            p.work_seconds = round(p.work_seconds + added, 3)
            session = self.open_session
            if session is not None:
                session.work_seconds = round(session.work_seconds + added, 3)
            p.last_event_at = event.ts
        if op == "session_start":
            p.session_count += 1
            p.last_session_start = event.ts
            p.sessions.append(SessionRecord(start=event.ts))
        elif op == "session_end":
            session = self.open_session
            if session is not None:
                session.end = event.ts
            p.last_session_end = event.ts
        elif op in OP_STATUS and event.file:
            self._set(event.file, OP_STATUS[op], event.reason)
            if op == "delete" or event.moved:
                self._left_directory(event.file, True)
            if op in ("crop", "keep"):
                p.last_processed_file = event.file
            self._count_session_image(+1)
        elif op == "undo" and event.file:
            if self.status(event.file) != PENDING:
                self._set(event.file, PENDING)
                self._count_session_image(-1)
            self._left_directory(event.file, False)  # an undo brings the image back
        elif op == "reset":
            self._reset(event.ts)
        elif op == "shape":
            p.output_shape = event.shape or None

    def _left_directory(self, name: str, left: bool) -> None:
        """Deleted or moved out by a client: the folder's hash no longer holds it."""
        if left == (name in self.on_disk):
            if left:
                self.on_disk.discard(name)
            else:
                self.on_disk.add(name)
            self.hash = directory_hash(list(self.on_disk))

    def mark(self, name: str, status: str) -> None:
        """Set a status outside the journal (recovery from the output directory)."""
        self._set(name, status)

    def _count_session_image(self, delta: int) -> None:
        session = self.open_session
        if session is not None:
            session.images = max(0, session.images + delta)

    def _set(self, name: str, status: str, reason: str | None = None) -> None:
        self.completed.pop(name, None)
        self.skipped.pop(name, None)
        self.failed.pop(name, None)
        self.deleted.pop(name, None)
        if status == COMPLETED:
            self.completed[name] = None
        elif status == SKIPPED:
            self.skipped[name] = None
        elif status == FAILED:
            self.failed[name] = reason or "failed"
        elif status == DELETED:
            self.deleted[name] = None
        self._ensure_in_order(name)
        at = self.index(name)
        if status == PENDING and at is not None and at < self.cursor:
            self.cursor = at

    def _reset(self, ts: str) -> None:
        p = self.progress
        self.progress = Progress(directory=p.directory, output_directory=p.output_directory,
                                 created=ts, modified=ts)
        self.completed.clear()
        self.skipped.clear()
        self.failed.clear()
        self.deleted.clear()
        self.clock = WorkClock(self.threshold)
        self._rebuild_order()

    # -- the directory on disk ----------------------------------------------
    def rescan(self, on_disk: Iterable[str]) -> RescanReport:
        """Validate against what the directory holds now (the seed's resume step 3)."""
        now = set(on_disk)
        report = RescanReport()
        report.added = sorted(now - self.on_disk - self.completed.keys() - self.deleted.keys())
        report.removed_pending = sorted(
            n for n in self.on_disk - now if not self._handled(n))
        report.completed_gone = sorted(n for n in self.completed if n not in now)
        old_hash = self.progress.directory_hash
        self.on_disk = now
        self.hash = directory_hash(list(now))
        self._rebuild_order()
        report.hash_changed = bool(old_hash) and old_hash != self.hash
        return report

    # -- the file form ------------------------------------------------------
    def snapshot(self, modified: str) -> Progress:
        p = self.progress
        p.completed_files = list(self.completed)
        p.completed_count = len(p.completed_files)
        p.skipped_files = list(self.skipped)
        p.failed_files = [FailedFile(file=k, reason=v) for k, v in self.failed.items()]
        p.deleted_files = list(self.deleted)
        p.total_images = self.total_images
        p.current_index = self.current_index
        p.directory_hash = self.hash
        p.modified = modified
        if not p.created:
            p.created = modified
        return p
