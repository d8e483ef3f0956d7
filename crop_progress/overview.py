"""A directory at a glance: counts, percent, session figures and the ETA.

One computation for the daemon (from its in-memory `Tracker`) and for read-only
readers such as `cropctl` without a daemon (from a progress file), returned
as plain fields that the wire's `Summary` converts from.
"""

from __future__ import annotations

from typing import Any

from crop_progress.figures import eta_seconds, percent
from crop_progress.model import Progress
from crop_progress.tracker import Tracker

RECENT_SESSIONS = 3


def recent_rate(progress: Progress) -> tuple[int, float]:
    """Images and work seconds of the last few sessions that did any work."""
    images, seconds = 0, 0.0
    worked = [s for s in progress.sessions if s.images > 0 and s.work_seconds > 0]
    for session in worked[-RECENT_SESSIONS:]:
        images += session.images
        seconds += session.work_seconds
    if not worked and progress.completed_count and progress.work_seconds:
        images, seconds = progress.completed_count, progress.work_seconds
    return images, seconds


def _fields(progress: Progress, progress_file: str, *, total: int, completed: int,
            skipped: int, failed: int, deleted: int, current_index: int, remaining: int,
            active_claims: int) -> dict[str, Any]:
    sessions = progress.sessions
    current = sessions[-1] if sessions and sessions[-1].end is None else None
    rate_images, rate_seconds = recent_rate(progress)
    return {
        "directory": progress.directory,
        "progress_file": progress_file,
        "total_images": total,
        "completed_count": completed,
        "skipped_count": skipped,
        "failed_count": failed,
        "deleted_count": deleted,
        "percent": percent(completed, total),
        "work_seconds": round(progress.work_seconds, 3),
        "session_count": progress.session_count,
        "last_session_end": progress.last_session_end,
        "active_claims": active_claims,
        "output_directory": progress.output_directory,
        "current_index": current_index,
        "last_processed_file": progress.last_processed_file,
        "last_session_start": progress.last_session_start,
        "session_images": current.images if current else 0,
        "session_work_seconds": round(current.work_seconds, 3) if current else 0.0,
        "remaining": remaining,
        "rate_images": rate_images,
        "rate_seconds": round(rate_seconds, 3),
        "eta_seconds": eta_seconds(remaining, rate_images, rate_seconds),
        "modified": progress.modified,
        "output_shape": progress.output_shape,
        "last_activity": progress.last_event_at or progress.last_session_end
        or progress.modified or None,
    }


def from_tracker(tracker: Tracker, progress_file: str, active_claims: int = 0) -> dict[str, Any]:
    return _fields(tracker.progress, progress_file, total=tracker.total_images,
                   completed=len(tracker.completed), skipped=len(tracker.skipped),
                   failed=len(tracker.failed), deleted=len(tracker.deleted),
                   current_index=tracker.current_index, remaining=tracker.remaining(),
                   active_claims=active_claims)


def from_progress(progress: Progress, progress_file: str) -> dict[str, Any]:
    """From the file alone (no scan): what `cropctl` shows when no daemon runs."""
    handled = (progress.completed_count + len(progress.skipped_files)
               + len(progress.failed_files))
    return _fields(progress, progress_file, total=progress.total_images,
                   completed=progress.completed_count, skipped=len(progress.skipped_files),
                   failed=len(progress.failed_files), deleted=len(progress.deleted_files),
                   current_index=progress.current_index,
                   remaining=max(0, progress.total_images - handled), active_claims=0)
