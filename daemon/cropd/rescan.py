"""Rescans of changed folders, beside the loop: nothing waits on a large listing.

A request (at a claim or an open) looks at the folder's mtime only; when it
changed, one worker thread lists the folder and the loop later applies the
difference to the tracker (`Tracker.apply_scan`), which costs what changed,
not what the folder holds. The loop is woken when a scan is done.
"""

from __future__ import annotations

import logging
import os
import queue
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from crop_progress.scan import Scan, scan_directory
from cropd.directory import Directory, Ident
from cropd.state import State

log = logging.getLogger("cropd")
MIN_INTERVAL = 1.0  # seconds between two scans of one folder
SYNC_LIMIT = 5000   # an Open rescans a folder of fewer images at once (it is quick)


@dataclass
class _Done:
    ident: Ident
    before: frozenset[str]
    scan: Scan | None


class Rescanner:
    def __init__(self, wake: Callable[[], None]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cropd-scan")
        self._done: queue.SimpleQueue[_Done] = queue.SimpleQueue()
        self._running: set[Ident] = set()
        self._wake = wake

    def submit(self, directory: Directory) -> None:
        ident = directory.ident
        if ident in self._running:
            return
        self._running.add(ident)
        before = frozenset(directory.tracker.on_disk)
        path = directory.path

        def work() -> None:
            try:
                scan: Scan | None = scan_directory(path)
            except OSError as exc:
                log.warning("cannot rescan %s: %s", path, exc)
                scan = None
            self._done.put(_Done(ident, before, scan))
            self._wake()

        self._pool.submit(work)

    def apply_done(self, state: State) -> None:
        """Apply finished scans to their directories (on the loop thread)."""
        while True:
            try:
                done = self._done.get_nowait()
            except queue.Empty:
                return
            self._running.discard(done.ident)
            directory = state.dirs.get(done.ident)
            if directory is None or done.scan is None:
                continue
            for line in _apply(directory, done.before, done.scan):
                log.info("%s: %s", directory.key, line)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _apply(directory: Directory, before: frozenset[str] | set[str], scan: Scan) -> list[str]:
    now = set(scan.images)
    report = directory.tracker.apply_scan(now - before, before - now)
    directory.others = scan.others
    directory.scan_mtime_ns = scan.mtime_ns
    return report.messages()


def at_open(state: State, directory: Directory) -> list[str]:
    """An Open: a small folder that changed is rescanned now, so the reply can say
    what changed; a large one beside the loop."""
    if len(directory.tracker.on_disk) >= SYNC_LIMIT:
        request(state, directory)
        return []
    try:
        if os.stat(directory.path).st_mtime_ns == directory.scan_mtime_ns:
            return []
        scan = scan_directory(directory.path)
    except OSError:
        return []
    directory.scanned_at = time.monotonic()
    return _apply(directory, set(directory.tracker.on_disk), scan)


def request(state: State, directory: Directory) -> None:
    """Rescan `directory` beside the loop when its folder changed since the last scan."""
    rescanner = state.rescanner
    now = time.monotonic()
    if rescanner is None or now - directory.scanned_at < MIN_INTERVAL:
        return
    directory.scanned_at = now
    try:
        mtime_ns = os.stat(directory.path).st_mtime_ns
    except OSError:
        return
    if mtime_ns != directory.scan_mtime_ns:
        rescanner.submit(directory)
