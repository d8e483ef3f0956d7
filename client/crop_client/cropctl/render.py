"""How cropctl prints: rich tables for people, plain JSON for programs.

Colour only on a terminal: rich decides (it also honours NO_COLOR and
FORCE_COLOR). Piped, the output is plain text at a width that does not wrap
the rows. Every value goes in as `Text`, so file names with brackets are never
taken for markup. rich is imported here only, and only when a table is drawn.
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

from crop_client.cropctl.gather import DaemonView, StatsView, StatusView, Target, last_activity
from crop_progress.display import bar, progress_lines
from crop_progress.figures import NOT_ENOUGH, images_per_hour, percent_text, rate_text
from crop_progress.timefmt import format_ago, format_duration
from crop_protocol import messages as m

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

PIPE_WIDTH = 240


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def console() -> Console:
    from rich.console import Console

    # soft_wrap: a line of text (a path) is left to the terminal to wrap, never broken
    # at a space by us; tables are still laid out to the width.
    out = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = PIPE_WIDTH
    return out


def _table(*columns: str, right: tuple[str, ...] = (), wrap: tuple[str, ...] = ()) -> Table:
    """A borderless table; only the `wrap` columns give way on a narrow terminal."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, header_style="bold",
                  collapse_padding=True, padding=(0, 1))
    for name in columns:
        table.add_column(name, justify="right" if name in right else "left",
                         no_wrap=name not in wrap, overflow="fold" if name in wrap else "ellipsis",
                         min_width=min(len(name), 8) if name in wrap else None)
    return table


def _text(value: object, style: str = "") -> Any:
    from rich.text import Text

    return Text("" if value is None else str(value), style=style)


def _duration(seconds: float | None) -> str:
    return "-" if seconds is None else format_duration(seconds)


def _session_open(s: m.Summary) -> bool:
    start, end = s.last_session_start, s.last_session_end
    return bool(start) and (not end or (start or "") > end)


def last_session(s: m.Summary) -> str:
    if _session_open(s):
        assert s.last_session_start is not None
        return f"open ({format_ago(s.last_session_start).removesuffix(' ago')})"
    if s.last_session_end:
        return format_ago(s.last_session_end)
    return "never"


def daemon_line(daemon: DaemonView) -> str:
    if daemon.running:
        line = f"cropd {daemon.version or ''} running (pid {daemon.pid}) on {daemon.endpoint}"
        line = line.replace("cropd  ", "cropd ")
        if daemon.clients is not None:
            line += f", {daemon.clients} client{'s' if daemon.clients != 1 else ''}"
        if daemon.listen and daemon.listen != daemon.endpoint:
            line += f"; team on {daemon.listen}"
        return line
    note = daemon.note or "cropd is not running"
    return f"{note}; read from the files in {daemon.progress_dir}"


def _say_daemon(out: Console, daemon: DaemonView) -> None:
    out.print(_text(daemon_line(daemon), "green" if daemon.running else "yellow"))


def _tail(directory: str, parts: int) -> str:
    words = [w for w in directory.replace("\\", "/").rstrip("/").split("/") if w]
    if parts > len(words):
        return directory if directory.endswith("/") else directory + "/"
    return "/".join(words[-parts:]) + "/"


def labels(directories: list[str]) -> dict[str, str]:
    """`_asian/` for each directory; where several share a base name, as many of their
    last folders as tell them apart (`a/x/_asian/`, `b/x/_asian/`), up to the whole path."""
    short = {d: _tail(d, 1) for d in directories}
    parts = 1
    while True:
        seen: dict[str, list[str]] = {}
        for directory, name in short.items():
            seen.setdefault(name, []).append(directory)
        alike = [group for group in seen.values() if len(group) > 1]
        if not alike:
            return short
        parts += 1
        for group in alike:
            for directory in group:
                short[directory] = _tail(directory, parts)
        if parts > 64:  # the same path twice: nothing tells them apart
            return short


# ----------------------------------------------------------------------- status


def status(view: StatusView) -> None:
    out = console()
    if not view.directories:
        out.print(_text("No directories yet: progress appears here once multicrop has "
                        "worked on a directory."))
    else:
        table = _table("directory", "progress", "done", "%", "skip", "fail", "del", "work",
                       "last session", "active",
                       right=("done", "%", "skip", "fail", "del", "work", "active"),
                       wrap=("directory", "last session"))
        names = labels([s.directory for s in view.directories])
        for s in view.directories:
            finished = s.total_images > 0 and s.remaining == 0
            table.add_row(
                _text(names[s.directory], "bold"),
                _text(bar(s.completed_count, s.total_images), "green" if finished else "cyan"),
                _text(f"{s.completed_count}/{s.total_images}"),
                _text(percent_text(s.completed_count, s.total_images)),
                _text(s.skipped_count, "yellow" if s.skipped_count else ""),
                _text(s.failed_count, "red" if s.failed_count else ""),
                _text(s.deleted_count),
                _text(format_duration(s.work_seconds)),
                _text(last_session(s), "" if last_activity(s) else "dim"),
                _text(s.active_windows, "bold magenta" if s.active_windows else ""),
            )
        out.print(table)
        for line in holder_lines(view.directories, names):
            out.print(_text(line))
    _say_daemon(out, view.daemon)


HOLDER_FILES = 3  # image names shown per holder; the rest is counted


def holder_lines(directories: list[m.Summary], names: dict[str, str]) -> list[str]:
    """Who holds what now: one line per holder, `anna` for a team member, the host and
    process for a local window."""
    lines = []
    for s in directories:
        for h in s.holders:
            who = h.user or f"{h.program or 'a client'} (pid {h.pid} on {h.host})"
            files = ", ".join(h.files[:HOLDER_FILES])
            more = f" and {len(h.files) - HOLDER_FILES} more" if len(h.files) > HOLDER_FILES \
                else ""
            lines.append(f"{names[s.directory]} held by {who}: {files}{more}")
    return lines


# ----------------------------------------------------------------------- show


def show(daemon: DaemonView, shown: m.ShowReply, skip_reasons: dict[str, str]) -> None:
    out = console()
    s = shown.summary
    sessions = shown.sessions
    current = sessions[-1] if sessions and sessions[-1].end is None else None
    shown_session = current or (sessions[-1] if sessions else None)
    lines = progress_lines(s.directory, s.completed_count, s.total_images,
                           s.last_processed_file,
                           shown_session.images if shown_session else 0,
                           shown_session.work_seconds if shown_session else 0.0)
    for line in lines:
        out.print(_text(line))
    if sessions:
        last = sessions[-1]
        when = (f"open, started {format_ago(last.start)}" if last.end is None
                else f"{format_ago(last.end)} ({last.end})")
        out.print(_text(f"Last session: {when}: {last.images} images, "
                        f"{format_duration(last.work_seconds)} work time"))
    out.print(_text(f"Total: {format_duration(s.work_seconds)} work time over "
                    f"{s.session_count} session{'s' if s.session_count != 1 else ''}"))
    out.print(_text(eta_line(s), "green" if s.total_images and not s.remaining else ""))
    out.print(_text(f"Output: {s.output_directory or '-'}"))
    out.print(_text(f"Progress file: {s.progress_file}", "dim"))
    _list(out, "Skipped", [(name, skip_reasons.get(name, "")) for name in shown.skipped_files],
          "yellow")
    _list(out, "Failed", [(f.file, f.reason) for f in shown.failed_files], "red")
    _list(out, "Deleted", [(name, "") for name in shown.deleted_files], "")
    if not daemon.running:
        _say_daemon(out, daemon)


def eta_line(s: m.Summary) -> str:
    """The ETA of `show`, with the rate it is computed at (the last sessions' rate)."""
    if s.remaining == 0 and s.total_images:
        return "ETA: nothing left to do"
    rate = images_per_hour(s.rate_images, s.rate_seconds)
    if rate is None or s.eta_seconds is None:
        return (f"ETA: {NOT_ENOUGH} to tell ({s.remaining} images left; a rate needs a few "
                f"images and a minute of work, {s.rate_images} images in "
                f"{format_duration(s.rate_seconds)} so far)")
    return (f"ETA: {format_duration(s.eta_seconds)} for the {s.remaining} images left, at "
            f"the recent rate of {rate:.1f} images/hour")


def _list(out: Console, title: str, items: list[tuple[str, str]], style: str) -> None:
    if not items:
        return
    out.print(_text(f"{title} ({len(items)}):", style))
    for name, reason in items:
        out.print(_text(f"  {name}" + (f": {reason}" if reason else "")))


def show_json(shown: m.ShowReply, skip_reasons: dict[str, str]) -> dict[str, Any]:
    """The ShowReply's fields (summary, lists, sessions), and the skip reasons known."""
    import msgspec

    data = msgspec.to_builtins(shown)
    data.pop("type", None)
    data["skip_reasons"] = skip_reasons
    return data


# ----------------------------------------------------------------------- log


def _client(event: dict[str, Any]) -> str:
    client = event.get("client") or {}
    if not client:
        return ""
    who = f"{client.get('pid', '?')}@{client.get('host', '?')}"
    if client.get("user"):  # a team member: the name its key was admitted as
        who = f"{client['user']} ({who})"
    return f"{client['program']} {who}" if client.get("program") else who


def short_dest(dest: str, file: str | None) -> str:
    """Where a file went, short: `_asian_cropped/` when it kept its name (the usual output),
    `_asian_cropped/sub/x.png` otherwise, `trash` for the desktop trash."""
    parts = dest.replace("\\", "/").rstrip("/").split("/")
    if "Trash" in parts or ".Trash" in parts or any(p.startswith(".Trash-") for p in parts):
        return "trash"
    if len(parts) >= 2 and parts[-1] == (file or "").rsplit("/", 1)[-1]:
        return parts[-2] + "/"
    return "/".join(parts[-2:])


def _detail(event: dict[str, Any], wide: bool) -> str:
    parts = []
    if event.get("undone"):
        parts.append(f"undid {event['undone']}")
    if event.get("reason"):
        parts.append(str(event["reason"]))
    if event.get("dest"):
        dest = str(event["dest"])
        parts.append(f"→ {dest if wide else short_dest(dest, event.get('file'))}")
    if event.get("companions"):
        count = len(event["companions"])
        parts.append(f"+{count} companion{'s' if count != 1 else ''}")
    return "; ".join(parts)


OP_STYLE = {"crop": "green", "keep": "green", "skip": "yellow", "fail": "red",
            "delete": "magenta", "undo": "cyan", "reset": "bold red", "rebuild": "bold cyan",
            "session_start": "dim", "session_end": "dim", "claim": "dim"}


def log(daemon: DaemonView, where: Target, events: list[dict[str, Any]], *,
        wide: bool = False) -> None:
    """The audit trail: by default one row per event within 80 columns (time to the
    second, where an output went as its folder, no client); `wide`: every field whole."""
    out = console()
    if not events:
        out.print(_text(f"No events for {where.key} in that time."))
    else:
        stamps = [str(event.get("ts", "")).replace("T", " ").rstrip("Z") for event in events]
        days = {ts[:10] for ts in stamps}
        one_day = not wide and len(days) == 1
        if one_day:
            out.print(_text(f"{_tail(where.key, 1)} on {days.pop()} (times UTC)", "bold"))
        columns = ("time" if one_day else "time (UTC)", "op", "file", "detail") + (
            ("client",) if wide else ())
        table = _table(*columns, wrap=("file", "detail", "client"))
        for event, ts in zip(events, stamps, strict=True):
            if one_day:
                ts = ts[11:19]  # HH:MM:SS
            elif not wide:
                ts = ts[5:19]  # MM-DD HH:MM:SS
            op = str(event.get("op", ""))
            row = [_text(ts), _text(op, OP_STYLE.get(op, "")),
                   _text(event.get("file") or ""), _text(_detail(event, wide))]
            if wide:
                row.append(_text(_client(event), "dim"))
            table.add_row(*row)
        out.print(table)
    if not daemon.running:
        _say_daemon(out, daemon)


# ----------------------------------------------------------------------- stats


def _eta(view: StatsView, name: str, summary: m.Summary | None) -> str:
    if summary is None:
        return "-"
    if summary.remaining == 0:
        return "done"
    eta = view.eta_seconds(name)
    return "-" if eta is None else format_duration(eta)


def stats(view: StatsView) -> None:
    out = console()
    known = {s.directory: s for s in view.directories}
    names = labels(sorted({r.directory for r in view.rows} | set(known)))
    day_totals = view.per_day()
    if view.rows:
        table = _table("day (UTC)", "directory", "images", "work time", "images/hour",
                       right=("images", "work time", "images/hour"), wrap=("directory",))
        for day, day_total in day_totals.items():
            rows = [r for r in view.rows if r.day == day]
            for row in rows:
                rate = images_per_hour(row.images, row.work_seconds)
                table.add_row(_text(day), _text(names[row.directory]), _text(row.images),
                              _text(format_duration(row.work_seconds)), _text(rate_text(rate)))
            if len(rows) > 1:
                table.add_row(_text(day), _text("all", "bold"), _text(day_total.images, "bold"),
                              _text(format_duration(day_total.work_seconds), "bold"),
                              _text(rate_text(day_total.images_per_hour), "bold"))
        out.print(_text(f"Per day, last {view.days} day{'s' if view.days != 1 else ''}",
                        "bold"))
        out.print(table)
        _day_bars(out, day_totals)
    else:
        out.print(_text(f"No work recorded in the last {view.days} "
                        f"day{'s' if view.days != 1 else ''}."))
    per_directory = view.per_directory()
    shown = list(per_directory) + [s.directory for s in view.unfinished()
                                    if s.directory not in per_directory]
    if shown:
        table = _table("directory", "images", "work time", "images/hour", "left", "ETA",
                       right=("images", "work time", "images/hour", "left", "ETA"),
                       wrap=("directory",))
        for name in shown:
            tally = per_directory.get(name)
            summary = known.get(name)
            table.add_row(
                _text(names[name], "bold"),
                _text(tally.images if tally else 0),
                _text(format_duration(tally.work_seconds) if tally else "0s"),
                _text(rate_text(tally.images_per_hour) if tally else "-"),
                _text(summary.remaining if summary else "-"),
                _text(_eta(view, name, summary),
                      "green" if summary and not summary.remaining else ""))
        out.print(_text(f"Per directory (each ETA at the images/hour beside it; \"-\": "
                        f"{NOT_ENOUGH} in these {view.days} days)", "bold"))
        out.print(table)
    total = view.total()
    out.print(_text(f"Total: {total.images} images, {format_duration(total.work_seconds)} "
                    f"work time, {rate_text(total.images_per_hour)} images/hour", "bold"))
    out.print(_text(f"The origin tool's 15-minute bins would count "
                    f"{format_duration(view.origin_seconds)} for the same events "
                    "(for comparison; ours counts each gap of at most 5 minutes between "
                    "file operations)", "dim"))
    if not view.daemon.running:
        _say_daemon(out, view.daemon)


def _day_bars(out: Console, day_totals: dict[str, Any]) -> None:
    """Images per day as bars, the longest as wide as the terminal allows."""
    from rich.bar import Bar

    most = max((tally.images for tally in day_totals.values()), default=0)
    if most <= 0:
        return
    table = _table("day (UTC)", "images", "", right=("images",))
    width = max(10, min(60, out.width - 24))
    for day, tally in day_totals.items():
        table.add_row(_text(day), _text(tally.images),
                      Bar(most, 0, max(0, tally.images), width=width, color="cyan"))
    out.print(_text("Images per day", "bold"))
    out.print(table)


# ----------------------------------------------------------------------- daemon


def daemon_status(daemon: DaemonView) -> None:
    out = console()
    if daemon.running:
        up = _duration(daemon.uptime_seconds)
        out.print(_text(f"cropd {daemon.version} is running (pid {daemon.pid}) on "
                        f"{daemon.endpoint}", "green"))
        out.print(_text(f"  up {up}, {daemon.clients} client(s), progress files in "
                        f"{daemon.progress_dir}"))
    else:
        out.print(_text(f"{daemon.note or 'cropd is not running'} on {daemon.endpoint}",
                        "yellow"))
