"""Work time from file-operation events: the origin's gap rule, as pure functions.

A gap between two consecutive work events of one directory is work when it is
at most the break threshold (300 s, the origin's value), otherwise a break.
Claims are events too, so the time spent deciding on an image counts.
`WorkClock` is the same rule applied one event at a time (the daemon's and the
journal replay's form); the functions below apply it to a whole event list.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from crop_progress.audit import OUTCOME_OPS, WORK_OPS, Event
from crop_progress.timefmt import iso_to_epoch

BREAK_THRESHOLD = 300.0


class WorkClock:
    """Adds up the work gaps of one stream of events, one event at a time."""

    def __init__(self, threshold: float = BREAK_THRESHOLD, last: float | None = None) -> None:
        self.threshold = threshold
        self.last = last

    def tick(self, moment: float) -> float:
        """Record an event at `moment` (epoch seconds); returns the work it adds."""
        if self.last is None:
            self.last = moment
            return 0.0
        gap = moment - self.last
        if gap < 0:
            return 0.0  # an event older than the last one adds nothing, moves nothing
        self.last = moment
        return gap if gap <= self.threshold else 0.0


def _work_events(events: Iterable[Event]) -> list[tuple[float, Event]]:
    timed = [(iso_to_epoch(e.ts), e) for e in events if e.op in WORK_OPS]
    timed.sort(key=lambda pair: pair[0])
    return timed


def work_seconds(events: Iterable[Event], threshold: float = BREAK_THRESHOLD) -> float:
    """Total work time of one directory's events, in any order."""
    clock = WorkClock(threshold)
    return sum(clock.tick(moment) for moment, _ in _work_events(events))


@dataclass
class Tally:
    images: int = 0
    work_seconds: float = 0.0

    @property
    def images_per_hour(self) -> float:
        return self.images / (self.work_seconds / 3600) if self.work_seconds > 0 else 0.0


@dataclass
class Breakdown:
    """Images and work time per (day, directory), per day, per directory, in total."""

    cells: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    days: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    directories: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    total: Tally = field(default_factory=Tally)


def breakdown(events: Iterable[Event], threshold: float = BREAK_THRESHOLD) -> Breakdown:
    """Work time and images per UTC day and per directory.

    Each directory is its own event stream; a gap counts toward the day of the
    event that ends it. An undo takes one image back.
    """
    by_dir: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_dir[event.directory].append(event)
    result = Breakdown()
    for directory, dir_events in by_dir.items():
        clock = WorkClock(threshold)
        for moment, event in _work_events(dir_events):
            seconds = clock.tick(moment)
            images = 1 if event.op in OUTCOME_OPS else -1 if event.op == "undo" else 0
            day = event.ts[:10]
            for tally in (result.cells[(day, directory)], result.days[day],
                          result.directories[directory], result.total):
                tally.work_seconds += seconds
                tally.images += images
    return result


def origin_binned_seconds(events: Iterable[Event], *, bin_seconds: int = 900,
                          gap_seconds: float = 300.0, active_needed: float = 450.0,
                          files_needed: int = 30) -> float:
    """The origin tool's figure, for people comparing (anchors/origin-tool.md §3).

    Time is cut into 15-minute UTC bins; gaps of at most 5 minutes are active
    time split across the bins they span; a bin with at least 7.5 minutes of
    activity or 30 files counts whole. Always a multiple of 15 minutes.
    """
    stamps = sorted(iso_to_epoch(e.ts) for e in events if e.op in OUTCOME_OPS)
    if len(stamps) < 2:
        return 0.0
    active: dict[int, float] = defaultdict(float)
    files: dict[int, int] = defaultdict(int)
    for moment in stamps:
        files[int(moment // bin_seconds)] += 1
    for start, end in itertools.pairwise(stamps):
        if not 0 < end - start <= gap_seconds:
            continue
        cursor = start
        while cursor < end:
            edge = min(end, (int(cursor // bin_seconds) + 1) * bin_seconds)
            active[int(cursor // bin_seconds)] += edge - cursor
            cursor = edge
    bins = {b for b in set(active) | set(files)
            if active[b] >= active_needed or files[b] >= files_needed}
    return float(len(bins) * bin_seconds)
