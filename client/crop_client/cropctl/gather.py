"""What the read commands show: from the daemon when one answers, else from the files.

Each function returns the same wire structures (`Summary`, `ShowReply`,
`StatsRow`, event dicts) whichever source answered, so rendering does not
care. The files are read through `crop_progress.readonly` only: nothing is
written, and no daemon is ever started here.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from crop_client.cropctl.errors import CtlError
from crop_client.cropctl.link import Link, expect
from crop_progress import figures
from crop_progress.paths import directory_key, progress_dir
from crop_progress.timefmt import iso_to_epoch, parse_iso, to_iso
from crop_protocol import messages as m

SPEC_DIRECTORY_KEYS = ("directory", "progress_file", "total_images", "completed_count",
                       "skipped_count", "failed_count", "deleted_count", "percent",
                       "work_seconds", "session_count", "last_session_end", "active_claims")
EXTRA_DIRECTORY_KEYS = ("remaining", "eta_seconds", "last_activity")
SPEC_DAEMON_KEYS = ("running", "pid", "version", "endpoint")


@dataclass
class DaemonView:
    """The `daemon` object of SPEC: who answered, or why nobody did."""

    running: bool
    endpoint: str
    pid: int | None = None
    version: str | None = None
    progress_dir: str | None = None
    uptime_seconds: float | None = None
    clients: int | None = None
    note: str | None = None
    listen: str | None = None  # the team endpoint it also serves (CURVE)
    break_threshold: float | None = None  # the daemon's: gaps longer than this are breaks

    @classmethod
    def from_info(cls, info: m.DaemonInfo, endpoint: str) -> DaemonView:
        reached = endpoint if endpoint.startswith("tcp://") else info.endpoint or endpoint
        return cls(running=info.running, endpoint=reached, pid=info.pid,
                   version=info.version, progress_dir=info.progress_dir,
                   uptime_seconds=info.uptime_seconds, clients=info.clients,
                   listen=info.listen, break_threshold=info.break_threshold)

    @classmethod
    def absent(cls, link: Link, folder: Path) -> DaemonView:
        return cls(running=False, endpoint=link.endpoint, progress_dir=str(folder),
                   note=link.silence or "cropd is not running")

    def to_json(self, *, full: bool = False) -> dict[str, Any]:
        """SPEC's keys in SPEC's order, then `progress_dir` (and with `full`, the rest)."""
        data: dict[str, Any] = {key: getattr(self, key) for key in SPEC_DAEMON_KEYS}
        data["progress_dir"] = self.progress_dir
        if self.listen:
            data["listen"] = self.listen
        if full:
            data["uptime_seconds"] = self.uptime_seconds
            data["clients"] = self.clients
        return data


def directory_json(summary: m.Summary) -> dict[str, Any]:
    """One `directories` entry of `status --json`: SPEC's keys first, a few extras after
    (`holders`: who holds which images now)."""
    data = {key: getattr(summary, key) for key in SPEC_DIRECTORY_KEYS + EXTRA_DIRECTORY_KEYS}
    data["holders"] = msgspec.to_builtins(summary.holders)
    return data


def _moment(text: str | None) -> float:
    if not text:
        return 0.0
    try:
        return iso_to_epoch(text)
    except ValueError:
        return 0.0


def last_activity(summary: m.Summary) -> float:
    return _moment(summary.last_activity or summary.last_session_end or summary.modified)


def by_activity(summaries: list[m.Summary]) -> list[m.Summary]:
    """Newest activity first; never-touched directories last, by name."""
    ordered = sorted(summaries, key=lambda s: s.directory)
    return sorted(ordered, key=last_activity, reverse=True)


def _readonly():
    from crop_progress import readonly

    return readonly


def _summary(fields: dict[str, Any]) -> m.Summary:
    return msgspec.convert(fields, m.Summary)


# ----------------------------------------------------------------------- status


@dataclass
class StatusView:
    daemon: DaemonView
    directories: list[m.Summary]
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"daemon": self.daemon.to_json(),
                "directories": [directory_json(s) for s in self.directories],
                "problems": self.problems}


def status(link: Link) -> StatusView:
    reply = link.status()
    if reply is not None:
        return StatusView(DaemonView.from_info(reply.daemon, link.endpoint),
                          by_activity(reply.directories), list(reply.problems))
    folder = progress_dir()
    readonly = _readonly()
    rows, problems = readonly.summaries(folder)
    return StatusView(DaemonView.absent(link, folder), by_activity([_summary(r) for r in rows]),
                      problems)


# ----------------------------------------------------------------------- one directory


@dataclass
class Target:
    """A directory a user named, and its progress file in the local progress folder."""

    path: Path
    key: str
    folder: Path
    progress_file: Path | None


def target(text: str) -> Target:
    readonly = _readonly()
    folder = progress_dir()
    path = readonly.locate(folder, text)
    found = readonly.find(folder, path)
    if found is None and not path.exists():
        raise CtlError(f"no such directory, and no progress for it: {text}")
    return Target(path, directory_key(path), folder, found)


def never_seen(where: Target) -> CtlError:
    return CtlError(f"{where.key} was never worked on (no progress file in {where.folder})")


def _check_file(where: Target) -> None:
    """A damaged or unreadable progress file is an error for the read commands, which
    never repair anything; `cropctl rebuild` does."""
    if where.progress_file is None:
        return
    readonly = _readonly()
    try:
        readonly.read_record(where.progress_file, where.key)
    except readonly.NeverSeen:
        return
    except readonly.ReadProblem as exc:
        raise CtlError(f"{where.key}: {exc}; `cropctl rebuild {where.path}` rebuilds it from "
                       "the backup, the audit log and the output directory") from None


def _show_from_files(where: Target) -> m.ShowReply:
    readonly = _readonly()
    if where.progress_file is None:
        raise never_seen(where)
    record = readonly.read_record(where.progress_file, where.key)
    progress = record.progress
    lists = figures.show_lists(progress.skipped_files,
                               [(f.file, f.reason) for f in progress.failed_files],
                               progress.deleted_files, progress.sessions)
    return msgspec.convert({"summary": record.summary(), **lists}, m.ShowReply)


def _gone(reply: m.Reply) -> bool:
    return isinstance(reply, m.Err) and reply.code == "NOT_FOUND"


def show(link: Link, text: str) -> tuple[DaemonView, m.ShowReply, dict[str, str]]:
    """The directory in full, and the reason given for each skipped image (from the log)."""
    where = target(text)
    _check_file(where)
    reply = link.ask(m.Show(directory=str(where.path)))
    if reply is None or (_gone(reply) and where.progress_file is not None):
        shown = _show_from_files(where)
        daemon = DaemonView.absent(link, where.folder)
    else:
        shown = expect(reply, m.ShowReply)
        summary = shown.summary
        if (not Path(summary.progress_file).exists() and where.progress_file is None
                and summary.session_count == 0 and summary.completed_count == 0):
            raise never_seen(where)
        daemon = DaemonView(running=True, endpoint=link.endpoint)
    return daemon, shown, _skip_reasons(link, daemon, where, shown)


def _skip_reasons(link: Link, daemon: DaemonView, where: Target,
                  shown: m.ShowReply) -> dict[str, str]:
    """Why each skipped image was skipped: the reason of its last `skip` event, if any."""
    skipped = set(shown.skipped_files)
    if not skipped:
        return {}
    events: list[dict[str, Any]] | None = None
    if daemon.running:
        reply = link.ask(m.Log(directory=str(where.path)))
        if isinstance(reply, m.LogReply):
            events = reply.events
    if events is None:
        events = [msgspec.to_builtins(e)
                  for e in _readonly().events(where.folder, directory=where.key)]
    reasons: dict[str, str] = {}
    for event in events:
        name = event.get("file")
        if event.get("op") == "skip" and name in skipped and event.get("reason"):
            reasons[name] = str(event["reason"])
    return reasons


def _check_since(since: str | None) -> str | None:
    if since is None:
        return None
    try:
        return to_iso(parse_iso(since))
    except ValueError:
        raise CtlError(f"--since takes an ISO 8601 time such as 2025-09-25T16:45:00Z, "
                       f"not {since!r}") from None


def log(link: Link, text: str, since: str | None) -> tuple[DaemonView, Target, list[dict]]:
    since = _check_since(since)
    where = target(text)
    reply = link.ask(m.Log(directory=str(where.path), since=since))
    if reply is None or (_gone(reply) and where.progress_file is not None):
        daemon = DaemonView.absent(link, where.folder)
        events = [msgspec.to_builtins(e)
                  for e in _readonly().events(where.folder, directory=where.key, since=since)]
    else:
        daemon = DaemonView(running=True, endpoint=link.endpoint)
        events = expect(reply, m.LogReply).events
    if not events and where.progress_file is None:
        raise never_seen(where)
    return daemon, where, events


# ----------------------------------------------------------------------- stats


@dataclass
class Tally:
    images: int = 0
    work_seconds: float = 0.0

    @property
    def images_per_hour(self) -> float | None:
        """None below enough work (`crop_progress.figures`)."""
        return figures.images_per_hour(self.images, self.work_seconds)

    def add(self, row: m.StatsRow) -> None:
        self.images += row.images
        self.work_seconds += row.work_seconds

    def to_json(self) -> dict[str, Any]:
        rate = self.images_per_hour
        return {"images": self.images, "work_seconds": round(self.work_seconds, 3),
                "images_per_hour": round(rate, 1) if rate is not None else None}


@dataclass
class StatsView:
    daemon: DaemonView
    days: int
    since: str
    rows: list[m.StatsRow]
    origin_seconds: float
    directories: list[m.Summary]
    """Every known directory, for the ETA of the unfinished ones."""

    def per_day(self) -> dict[str, Tally]:
        out: dict[str, Tally] = defaultdict(Tally)
        for row in self.rows:
            out[row.day].add(row)
        return dict(sorted(out.items()))

    def per_directory(self) -> dict[str, Tally]:
        out: dict[str, Tally] = defaultdict(Tally)
        for row in self.rows:
            out[row.directory].add(row)
        return dict(out)

    def total(self) -> Tally:
        out = Tally()
        for row in self.rows:
            out.add(row)
        return out

    def unfinished(self) -> list[m.Summary]:
        return [s for s in self.directories if s.remaining > 0]

    def eta_seconds(self, directory: str) -> float | None:
        """The ETA of `directory` at the images/hour these days show for it (None: not
        enough work in them), so the rate printed and the ETA beside it are one."""
        summary = next((s for s in self.directories if s.directory == directory), None)
        if summary is None:
            return None
        tally = self.per_directory().get(directory, Tally())
        return figures.eta_seconds(summary.remaining, tally.images, tally.work_seconds)

    def to_json(self) -> dict[str, Any]:
        per_directory = self.per_directory()
        known = {s.directory: s for s in self.directories}
        return {
            "days": self.days,
            "since": self.since,
            "rows": [{"day": r.day, "directory": r.directory,
                      **Tally(r.images, r.work_seconds).to_json()} for r in self.rows],
            "per_day": [{"day": day, **tally.to_json()} for day, tally in self.per_day().items()],
            "per_directory": [
                {"directory": name, **tally.to_json(),
                 "remaining": known[name].remaining if name in known else None,
                 "eta_seconds": _rounded(self.eta_seconds(name))}
                for name, tally in per_directory.items()],
            "total": self.total().to_json(),
            "origin_binned_seconds": self.origin_seconds,
            "eta": [{"directory": s.directory, "remaining": s.remaining,
                     "eta_seconds": _rounded(self.eta_seconds(s.directory)),
                     "images_per_hour": per_directory.get(s.directory, Tally()).to_json()[
                         "images_per_hour"]} for s in self.unfinished()],
        }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def stats(link: Link, days: int) -> StatsView:
    since = figures.stats_since(days)
    state = link.status()
    if state is not None:
        reply = link.ask(m.Stats(days=days))
        if reply is not None:
            answer = expect(reply, m.StatsReply)
            return StatsView(DaemonView.from_info(state.daemon, link.endpoint), days, since,
                             answer.rows, answer.origin_seconds,
                             by_activity(state.directories))
    readonly = _readonly()
    folder = progress_dir()
    summaries, _ = readonly.summaries(folder)
    rows, origin = figures.stats_rows(readonly.events(folder, since=since))
    return StatsView(DaemonView.absent(link, folder), days, since,
                     msgspec.convert(rows, list[m.StatsRow]), origin,
                     by_activity([_summary(s) for s in summaries]))
