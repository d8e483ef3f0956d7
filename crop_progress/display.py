"""The seed's words: start and resume messages, the progress display, an ETA.

These are part of the product's outside (SPEC.md), emoji included; the crop
window's status bar, `multicrop --auto`, `--show-progress` and `cropctl show`
all print them through here. Percents, rates and ETAs come from `figures`, so a
percent reads the same here and in `cropctl status`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from crop_progress.figures import eta_seconds, percent, percent_text
from crop_progress.timefmt import format_ago, format_duration

__all__ = ["bar", "eta_seconds", "is_resume", "label", "percent", "progress_lines",
           "start_lines"]

BAR_WIDTH = 10


class ProgressLike(Protocol):
    directory: str
    total_images: int
    completed_count: int
    current_index: int
    last_session_end: str | None
    session_count: int


def label(directory: str) -> str:
    """`/abs/_asian/` → `_asian/` (the seed shows the folder name with a slash)."""
    name = directory.rstrip("/\\").rsplit("/", 1)[-1] or directory
    return name + "/"


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    filled = min(width, int(width * done / total)) if total else 0
    return "█" * filled + "░" * (width - filled)


def is_resume(p: ProgressLike) -> bool:
    return p.session_count > 0 or p.completed_count > 0 or p.current_index > 0


def start_lines(p: ProgressLike, reference: datetime | None = None) -> list[str]:
    """The seed's start or resume message for a directory, as printed on open."""
    name = label(p.directory)
    total = p.total_images
    if not is_resume(p):
        return [f"🎯 Starting crop session for '{name}'",
                f"📊 Found {total} images to process",
                f"🚀 Beginning at image 1/{total}..." if total
                else "✅ Nothing to do: the directory holds no images"]
    lines = [f"🎯 Resuming crop session for '{name}'",
             f"📊 Progress: {p.completed_count}/{total} images completed "
             f"({percent_text(p.completed_count, total)})"]
    if p.last_session_end:
        lines.append(f"⏰ Last session: {format_ago(p.last_session_end, reference)}")
    if p.current_index < total:
        lines.append(f"🚀 Resuming at image {p.current_index + 1}/{total}...")
    else:
        lines.append(f"✅ Nothing left to do: all {total} images are handled")
    return lines


def progress_lines(directory: str, done: int, total: int, current: str | None,
                   session_images: int, session_seconds: float,
                   eta_seconds: float | None = None) -> list[str]:
    """The seed's three-line display, plus an ETA line when a rate is known."""
    lines = [f"Processing: {label(directory)} [{bar(done, total)}] "
             f"{percent_text(done, total)} ({done}/{total})",
             f"Current: {current or '-'}",
             f"Session: {session_images} images processed, "
             f"{format_duration(session_seconds)} work time"]
    if eta_seconds is not None and done < total:
        lines.append(f"ETA: {format_duration(eta_seconds)} for the {total - done} images left")
    return lines
