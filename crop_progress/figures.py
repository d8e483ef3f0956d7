"""The figures people read, computed once for every place that prints them: a percent,
a rate and the ETA at that same rate, and the rows of `cropctl show` and `stats`.

The daemon's handlers and the read-only readers (`cropctl` with no daemon) both
build `show` and `stats` here, so the two can never disagree.

Rules that keep a figure from misleading:
- a rate (and so an ETA) is given only over enough work: at least
  `MIN_RATE_IMAGES` images and `MIN_RATE_SECONDS` of work time; below that the
  answer is None, and people read `NOT_ENOUGH`;
- an ETA is always at the rate printed beside it;
- one rounding for a percent (one decimal, a whole number shown without ".0"),
  and never 100 % before the last image nor 0 % after the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from crop_progress.timefmt import now, to_iso

if TYPE_CHECKING:  # the stats and show builders import these when they run
    from crop_progress.audit import Event
    from crop_progress.model import SessionRecord

MIN_RATE_IMAGES = 5
MIN_RATE_SECONDS = 60.0
NOT_ENOUGH = "not enough work yet"


# ----------------------------------------------------------------------- percent


def percent(done: int, total: int) -> float:
    """`done` of `total` in percent, to one decimal (100.0 only when done, 0.0 only at 0)."""
    if total <= 0:
        return 0.0
    value = round(100.0 * done / total, 1)
    if done < total and value >= 100.0:
        return 99.9
    if done > 0 and value <= 0.0:
        return 0.1
    return value


def percent_text(done: int, total: int) -> str:
    """`48.7%`, `80%`: `percent` as people read it."""
    value = percent(done, total)
    return f"{value:.0f}%" if value == int(value) else f"{value:.1f}%"


# ----------------------------------------------------------------------- rate and ETA


def enough_work(images: int, work_seconds: float) -> bool:
    return images >= MIN_RATE_IMAGES and work_seconds >= MIN_RATE_SECONDS


def images_per_hour(images: int, work_seconds: float) -> float | None:
    """The rate over `images` done in `work_seconds`; None below enough work."""
    if not enough_work(images, work_seconds):
        return None
    return images * 3600.0 / work_seconds


def eta_seconds(remaining: int, images: int, work_seconds: float) -> float | None:
    """Work time left for `remaining` images at the rate of `images` in `work_seconds`:
    0 when nothing is left, None below enough work."""
    if remaining <= 0:
        return 0.0
    rate = images_per_hour(images, work_seconds)
    if rate is None:
        return None
    return remaining * 3600.0 / rate


def rate_text(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1f}"


# ----------------------------------------------------------------------- show


def show_lists(skipped: Iterable[str], failed: Iterable[tuple[str, str]],
               deleted: Iterable[str], sessions: Iterable[SessionRecord]) -> dict[str, Any]:
    """The lists of `cropctl show` (every field of the wire's ShowReply but the summary)."""
    return {
        "skipped_files": list(skipped),
        "failed_files": [{"file": name, "reason": reason} for name, reason in failed],
        "deleted_files": list(deleted),
        "sessions": [{"start": s.start, "end": s.end, "images": s.images,
                      "work_seconds": round(s.work_seconds, 3)} for s in sessions],
    }


# ----------------------------------------------------------------------- stats


def stats_since(days: int, reference: datetime | None = None) -> str:
    """The start of `cropctl stats --days N`'s window (at least one day), as ISO."""
    return to_iso((reference or now()) - timedelta(days=max(1, days)))


def stats_rows(events: Iterable[Event],
               break_threshold: float | None = None) -> tuple[list[dict[str, Any]], float]:
    """Images and work time per (day, directory), sorted, and the origin tool's 15-minute
    bin figure for the same events (wire StatsRow fields, and StatsReply.origin_seconds).
    `break_threshold`: None for the default (300 s)."""
    from crop_progress.worktime import BREAK_THRESHOLD, breakdown, origin_binned_seconds

    if break_threshold is None:
        break_threshold = BREAK_THRESHOLD
    events = list(events)
    table = breakdown(events, break_threshold)
    rows = [{"day": day, "directory": directory, "images": tally.images,
             "work_seconds": round(tally.work_seconds, 3)}
            for (day, directory), tally in sorted(table.cells.items())]
    return rows, origin_binned_seconds(events)
