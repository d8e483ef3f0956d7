"""What the dashboard shows, from cropd when one answers and from the files otherwise.

A thin, thread-safe layer over cropctl's own readers (`cropctl.gather` and its
`Link`), so every page agrees with `cropctl status`/`stats` to the digit. The
Link holds one ZeroMQ connection, so calls are serialised by a lock; the routes
run them in Starlette's thread pool.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec

from crop_client.cropctl import gather
from crop_client.cropctl.link import Link
from crop_progress.audit import Event
from crop_progress.paths import events_endpoint
from crop_progress.timefmt import now, to_iso
from crop_protocol import messages as m

HISTORY_DAYS = 30


def directory_id(summary: m.Summary) -> str:
    """A directory's address in `/d/<id>`: its progress file's name without the suffix."""
    return Path(summary.progress_file).name.removesuffix(".json").removesuffix("_progress")


@dataclass
class DirectoryView:
    daemon: gather.DaemonView
    summary: m.Summary
    sessions: list[m.SessionEntry]
    events: list[Event]
    skipped: list[str]
    failed: list[m.FailedEntry]


class Source:
    def __init__(self, endpoint: str | None = None) -> None:
        self.link = Link(endpoint)
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return self.link.endpoint

    def close(self) -> None:
        with self._lock:
            self.link.close()

    def status(self) -> gather.StatusView:
        with self._lock:
            return gather.status(self.link)

    def stats(self, days: int) -> gather.StatsView:
        with self._lock:
            return gather.stats(self.link, days)

    def feed_endpoint(self) -> str:
        """Where cropd publishes its events: as it advertises, else beside its socket."""
        with self._lock:
            reply = self.link.status() if self.link.may_be_running() else None
        if reply is not None and reply.daemon.events_endpoint:
            return reply.daemon.events_endpoint
        return events_endpoint(self.link.endpoint)

    def may_be_running(self) -> bool:
        with self._lock:
            return self.link.may_be_running()

    def find(self, ident: str) -> m.Summary | None:
        for summary in self.status().directories:
            if directory_id(summary) == ident:
                return summary
        return None

    def directory(self, summary: m.Summary, days: int = HISTORY_DAYS) -> DirectoryView:
        """One directory in full, and its journal of the last `days` days."""
        since = to_iso(now() - timedelta(days=days))
        with self._lock:
            daemon, shown, _ = gather.show(self.link, summary.directory)
            _, _, raw = gather.log(self.link, summary.directory, since)
        return DirectoryView(daemon, shown.summary, shown.sessions, to_events(raw),
                             shown.skipped_files, shown.failed_files)

    def events(self, folder: str | None, days: int) -> list[Event]:
        """Every directory's journal of the last `days` days, read from the files
        (read-only; the same lines cropd answers Stats from)."""
        from crop_progress import readonly
        from crop_progress.paths import progress_dir

        since = to_iso(now() - timedelta(days=days))
        return readonly.events(Path(folder) if folder else progress_dir(), since=since)


def to_events(raw: list[dict[str, Any]]) -> list[Event]:
    out = []
    for item in raw:
        try:
            out.append(msgspec.convert(item, Event))
        except msgspec.ValidationError:
            continue  # a line of a newer shape: shown nowhere rather than failing the page
    return out
