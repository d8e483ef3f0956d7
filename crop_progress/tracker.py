"""One directory's progress in memory: outcome sets, the resume order, the journal rule.

`Tracker` is the working form of a progress file. Every change to it is an
audit event passed to `apply`, live in the daemon and on replay in recovery,
so the file and the journal can never mean different things. `snapshot`
gives the file form back. The resume order is file-name order over the images
on disk plus those completed or deleted that left the directory.
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from crop_progress.audit import WORK_OPS, Event
from crop_progress.model import Acked, FailedFile, Grant, Progress, SessionRecord
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
# Outcomes whose lease token is remembered: enough for every report in flight when
# the daemon stopped to be told apart (its own retry) from a stale lease.
RECENT_OUTCOMES = 128


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
                 threshold: float = BREAK_THRESHOLD, disk_hash: str | None = None,
                 unlisted: int = 0) -> None:
        self.progress = progress
        self.threshold = threshold
        # Images counted in `total_images` whose names are not known (a reader that
        # did not list the folder); an outcome for a new name takes one of them.
        self.unlisted = unlisted
        # One string object per name, shared by every set and list below: a
        # 10,000-image directory holds each name once (memory, with 50 open).
        # sorted() of a scan's names (sorted already) is one linear pass
        listed = sorted(on_disk)
        # name -> the same string: the look-up of the names on disk, and the map that
        # makes every other set below share their string objects
        names: dict[str, str] = dict(zip(listed, listed, strict=True))
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
        # a dict, not a set: a third of the memory for the same look-ups (50 open)
        self.on_disk: dict[str, str] = names
        # the resume order is built from the sorted names (when they hold no repeats)
        self._sorted_disk: list[str] | None = listed if len(listed) == len(names) else None
        self._hash = disk_hash
        # Leases: handed out by `claim` events, ended by an outcome or a `release`.
        self.grants: dict[str, Grant] = {g.file: g for g in progress.leases}
        self.last_token = max([progress.lease_token, *(g.token for g in progress.leases)])
        self.recent: OrderedDict[str, int] = OrderedDict(
            (a.file, a.token) for a in progress.recent_outcomes)
        # The file form's lists live on in the dicts above (one string per name);
        # `snapshot` writes them back.
        progress.completed_files, progress.skipped_files, progress.deleted_files = [], [], []
        progress.failed_files, progress.leases, progress.recent_outcomes = [], [], []
        self._rebuild_order()

    @property
    def hash(self) -> str:
        """The seed's `directory_hash` of the images on disk, computed when asked
        (checkpoints, validation), never per report."""
        if self._hash is None:
            self._hash = directory_hash(list(self.on_disk))
        return self._hash

    # -- the resume order ---------------------------------------------------
    def _rebuild_order(self) -> None:
        extra = [n for n in (*self.completed, *self.deleted) if n not in self.on_disk]
        disk = self._sorted_disk if self._sorted_disk is not None else sorted(self.on_disk)
        self._sorted_disk = None
        # sorted() of two sorted runs is a merge: linear, whatever the folder's size
        self.order = sorted(disk + sorted(extra)) if extra else list(disk)
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
        if self.unlisted:
            self.unlisted -= 1

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
        return len(self.order) - len(self.deleted) + self.unlisted

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
        if event.token:
            self._apply_lease(event)
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

    def _apply_lease(self, event: Event) -> None:
        """Claims and undos hand out a lease; an outcome ends it under its token."""
        token, name, op = event.token or 0, event.file or "", event.op
        self.last_token = max(self.last_token, token)
        if op in ("claim", "undo"):
            ref = event.client
            self.grants[name] = Grant(name, token, ref.id if ref else "",
                                      ref.pid if ref else 0, ref.host if ref else "",
                                      ref.user if ref else None)
        elif op in OP_STATUS:
            held = self.grants.get(name)
            if held is not None and held.token == token:
                del self.grants[name]
            self.recent[name] = token
            self.recent.move_to_end(name)
            while len(self.recent) > RECENT_OUTCOMES:
                self.recent.popitem(last=False)
        elif op == "release":
            held = self.grants.get(name)
            if held is not None and held.token == token:
                del self.grants[name]

    def next_token(self) -> int:
        return self.last_token + 1

    def _left_directory(self, name: str, left: bool) -> None:
        """Deleted or moved out by a client: the folder's hash no longer holds it."""
        if left == (name in self.on_disk):
            if left:
                self.on_disk.pop(name, None)
            else:
                self.on_disk[name] = name
            self._hash = None

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
        self.grants.clear()
        self.recent.clear()
        self.clock = WorkClock(self.threshold)
        self._rebuild_order()

    # -- the directory on disk ----------------------------------------------
    def rescan(self, on_disk: Iterable[str]) -> RescanReport:
        """Validate against what the directory holds now (the seed's resume step 3)."""
        now = set(on_disk)
        report = RescanReport()
        report.added = sorted(now - self.on_disk.keys() - self.completed.keys()
                              - self.deleted.keys())
        report.removed_pending = sorted(
            n for n in self.on_disk.keys() - now if not self._handled(n))
        report.completed_gone = sorted(n for n in self.completed if n not in now)
        old_hash = self.progress.directory_hash
        self.on_disk = {n: n for n in now}
        self._sorted_disk = None
        self._hash = None
        self._rebuild_order()
        report.hash_changed = bool(old_hash) and old_hash != self.hash
        return report

    def apply_scan(self, added: Iterable[str], removed: Iterable[str]) -> RescanReport:
        """`rescan` by difference, for a scan made beside the daemon's loop: cheap when
        few names changed, whatever the size of the directory."""
        report = RescanReport()
        fresh = [n for n in added if n not in self.on_disk]
        gone = [n for n in removed if n in self.on_disk]
        if not fresh and not gone:
            return report
        self.on_disk.update(zip(fresh, fresh, strict=True))
        for name in gone:
            del self.on_disk[name]
        self._hash = None
        report.added = sorted(n for n in fresh
                              if n not in self.completed and n not in self.deleted)
        report.removed_pending = sorted(n for n in gone if not self._handled(n))
        report.completed_gone = sorted(n for n in gone if n in self.completed)
        if len(fresh) + len(gone) > 1000:
            self._sorted_disk = None
            self._rebuild_order()
            return report
        for name in fresh:
            self._ensure_in_order(name)
        for name in gone:
            if name in self.completed or name in self.deleted:
                continue
            at = self.index(name)
            if at is not None:
                del self.order[at]
                if at < self.cursor:
                    self.cursor -= 1
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
        p.lease_token = self.last_token
        p.leases = list(self.grants.values())
        p.recent_outcomes = [Acked(f, t) for f, t in self.recent.items()]
        if not p.created:
            p.created = modified
        return p
