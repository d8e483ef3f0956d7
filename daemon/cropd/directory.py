"""One work directory inside the daemon: its tracker, leases, clients and file state."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crop_progress import overview, store
from crop_progress.paths import audit_dir
from crop_progress.scan import companions_in, scan_directory
from crop_progress.tracker import Tracker

RESCAN_MIN_SECONDS = 1.0

Ident = tuple[str, str]  # (progress dir, directory key)


@dataclass
class Lease:
    client: str
    expires: float  # time.monotonic()


def file_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


@dataclass
class Directory:
    key: str                 # resolved path with trailing slash
    path: Path
    progress_dir: Path
    progress_file: Path
    output_dir: Path
    tracker: Tracker
    # non-image files by stem, from the last scan (the tracker holds the image names)
    others: dict[str, list[str]]
    scan_mtime_ns: int
    leases: dict[str, Lease] = field(default_factory=dict)
    clients: set[str] = field(default_factory=set)
    dirty: bool = False               # must be on disk before the next ack
    lazy_since: float | None = None   # changed by claims only: saved within seconds
    signature: tuple[int, int, int] | None = None  # of the file as we last wrote or read it
    scanned_at: float = field(default_factory=time.monotonic)
    read_only: bool = False           # loaded for a read; nothing written until opened
    recovered: bool = False           # rebuilt from .bak + journal when it was loaded

    @property
    def ident(self) -> Ident:
        return (str(self.progress_dir), self.key)

    @property
    def audit_dir(self) -> Path:
        return audit_dir(self.progress_dir)

    def companions(self, name: str) -> list[str]:
        return companions_in(self.others, name)

    def refresh_scan(self, force: bool = False) -> list[str]:
        """Rescan when the folder changed (new images, companions); returns messages."""
        now = time.monotonic()
        if not force and now - self.scanned_at < RESCAN_MIN_SECONDS:
            return []
        try:
            mtime_ns = self.path.stat().st_mtime_ns
        except OSError:
            return []
        if not force and mtime_ns == self.scan_mtime_ns:
            self.scanned_at = now
            return []
        scan = scan_directory(self.path)
        self.others, self.scan_mtime_ns, self.scanned_at = scan.others, scan.mtime_ns, now
        return self.tracker.rescan(scan.images).messages()

    def changed_on_disk(self) -> bool:
        return self.signature is not None and file_signature(self.progress_file) != self.signature

    def save(self, stamp: str) -> None:
        progress = self.tracker.snapshot(stamp)
        progress.output_directory = _with_slash(self.output_dir)
        info = store.save(self.progress_file, progress)
        self.signature = (info.st_mtime_ns, info.st_size, info.st_ino)
        self.dirty = False
        self.lazy_since = None
        self.read_only = False

    def mark_dirty(self) -> None:
        self.dirty = True

    def mark_lazy(self) -> None:
        if self.lazy_since is None:
            self.lazy_since = time.monotonic()

    def active_claims(self) -> int:
        return len(self.leases)

    def summary_fields(self) -> dict[str, Any]:
        fields = overview.from_tracker(self.tracker, str(self.progress_file), len(self.leases))
        fields["active_windows"] = len(self.clients)
        fields["output_directory"] = _with_slash(self.output_dir)
        return fields

    def leases_of(self, client: str) -> list[str]:
        return [name for name, lease in self.leases.items() if lease.client == client]


def _with_slash(path: Path) -> str:
    text = str(path)
    return text if text.endswith(os.sep) else text + os.sep
