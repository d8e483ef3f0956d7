"""The sums behind the charts, as pure functions of audit events and summaries.

Work time follows `crop_progress.worktime` (the gap rule); the origin's
15-minute-bin figure is `worktime.origin_binned_seconds`, applied per day here.
Nothing here reads a file or talks to cropd.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from crop_progress.audit import OUTCOME_OPS, WORK_OPS, Event
from crop_progress.timefmt import iso_to_epoch
from crop_progress.worktime import BREAK_THRESHOLD, breakdown, origin_binned_seconds
from crop_protocol import messages as m

SHARE_OPS = ("crop", "keep", "skip", "delete", "fail")
BREAK_BUCKET_MINUTES = 10
FALLOFF = 0.8          # a rate below 80 % of the best is "falling off"
MIN_BUCKET_SECONDS = 120.0
MIN_RATE_SECONDS = 300.0  # a (day, directory) with less work says little about a rate
MIN_SHOWN_SECONDS = 60.0  # a rate over less work than this is shown as unknown


def images_per_hour(images: int, seconds: float) -> float | None:
    """A rate worth showing, or None when too little work time stands behind it."""
    return images * 3600 / seconds if seconds >= MIN_SHOWN_SECONDS else None


# ----------------------------------------------------------------------- per day, per week


@dataclass
class Day:
    day: str
    images: int = 0
    work_seconds: float = 0.0
    origin_seconds: float = 0.0


def day_range(last: str, count: int) -> list[str]:
    """`count` UTC days ending with `last` (YYYY-MM-DD), oldest first."""
    end = date.fromisoformat(last)
    return [(end - timedelta(days=back)).isoformat() for back in range(count - 1, -1, -1)]


def per_day(events: Sequence[Event], threshold: float = BREAK_THRESHOLD,
            days: Sequence[str] = ()) -> list[Day]:
    """Images, our work time and the origin's binned figure, per UTC day, oldest first
    (every day of `days`, worked or not, and any other day that has events)."""
    table = breakdown(events, threshold)
    by_day: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_day[event.ts[:10]].append(event)
    days = sorted(set(table.days) | set(by_day) | set(days))
    return [Day(day, table.days[day].images if day in table.days else 0,
                table.days[day].work_seconds if day in table.days else 0.0,
                origin_binned_seconds(by_day.get(day, [])))
            for day in days]


@dataclass
class Week:
    week: str              # ISO week, "2025-W39"
    images: int = 0
    work_seconds: float = 0.0

    @property
    def images_per_hour(self) -> float | None:
        return images_per_hour(self.images, self.work_seconds)


def per_week(rows: Iterable[m.StatsRow]) -> list[Week]:
    """Images and work time per ISO week, from `cropctl stats`'s rows, oldest first."""
    weeks: dict[str, Week] = {}
    for row in rows:
        year, week, _ = date.fromisoformat(row.day).isocalendar()
        key = f"{year}-W{week:02d}"
        entry = weeks.setdefault(key, Week(key))
        entry.images += row.images
        entry.work_seconds += row.work_seconds
    return [weeks[k] for k in sorted(weeks)]


# ----------------------------------------------------------------------- breaks


@dataclass
class BreakCurve:
    """The rate against minutes since the last break, and where it falls off."""

    minutes: list[int] = field(default_factory=list)      # bucket starts
    images: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    falloff_minutes: int | None = None
    best_rate: float | None = None

    def rates(self) -> list[float | None]:
        return [i * 3600 / s if s >= MIN_BUCKET_SECONDS else None
                for i, s in zip(self.images, self.seconds, strict=True)]


def _streams(events: Iterable[Event]) -> dict[str, list[tuple[float, Event]]]:
    streams: dict[str, list[tuple[float, Event]]] = defaultdict(list)
    for event in events:
        if event.op in WORK_OPS:
            streams[event.directory].append((iso_to_epoch(event.ts), event))
    for stream in streams.values():
        stream.sort(key=lambda pair: pair[0])
    return streams


def break_curve(events: Iterable[Event], threshold: float = BREAK_THRESHOLD,
                bucket_minutes: int = BREAK_BUCKET_MINUTES) -> BreakCurve:
    """Work time and images in each `bucket_minutes` since the last break (a gap over
    `threshold`); the fall-off is the first bucket after the best one whose rate is
    under FALLOFF of the best, given enough work in both."""
    size = bucket_minutes * 60
    images: Counter[int] = Counter()
    seconds: dict[int, float] = defaultdict(float)
    for stream in _streams(events).values():
        run_start = prev = None
        for moment, event in stream:
            if prev is None or moment - prev > threshold:
                run_start = moment
            else:
                assert run_start is not None
                seconds[int((prev - run_start) // size)] += moment - prev
            assert run_start is not None
            if event.op in OUTCOME_OPS:
                images[int((moment - run_start) // size)] += 1
            prev = moment
    if not seconds:
        return BreakCurve()
    last = max(max(seconds), max(images, default=0))
    curve = BreakCurve(minutes=[b * bucket_minutes for b in range(last + 1)],
                       images=[images[b] for b in range(last + 1)],
                       seconds=[seconds.get(b, 0.0) for b in range(last + 1)])
    rates = curve.rates()
    known = [(i, r) for i, r in enumerate(rates) if r is not None]
    if not known:
        return curve
    best_at, best = max(known, key=lambda pair: pair[1])
    curve.best_rate = best
    for i, rate in known:
        if i > best_at and rate < FALLOFF * best:
            curve.falloff_minutes = curve.minutes[i]
            break
    return curve


def minutes_since_break(events: Iterable[Event], moment: float,
                        threshold: float = BREAK_THRESHOLD) -> float | None:
    """Minutes of work since the last break of the most recent stream, or None when
    its last event is older than `threshold` (a break is under way)."""
    latest: list[tuple[float, Event]] | None = None
    for stream in _streams(events).values():
        if latest is None or stream[-1][0] > latest[-1][0]:
            latest = stream
    if not latest or moment - latest[-1][0] > threshold:
        return None
    start = latest[-1][0]
    for (earlier, _), (later, _) in zip(reversed(latest[:-1]), reversed(latest[1:]),
                                        strict=True):
        if later - earlier > threshold:
            break
        start = earlier
    return (moment - start) / 60


# ----------------------------------------------------------------------- sessions


@dataclass
class Quality:
    """One session's outcomes: how many of each, and how often the user undid."""

    counts: dict[str, int]
    undos: int

    @property
    def outcomes(self) -> int:
        return sum(self.counts.values())

    @property
    def undo_rate(self) -> float | None:
        return self.undos / self.outcomes if self.outcomes else None

    def shares(self) -> dict[str, float]:
        total = self.outcomes
        return {op: (self.counts[op] / total if total else 0.0) for op in SHARE_OPS}


def in_session(events: Iterable[Event], session: m.SessionEntry,
               until: str | None = None) -> list[Event]:
    end = session.end or until or "9999"
    return [e for e in events if session.start <= e.ts <= end]


def quality(events: Iterable[Event]) -> Quality:
    counts = Counter(e.op for e in events if e.op in SHARE_OPS)
    return Quality({op: counts[op] for op in SHARE_OPS},
                   sum(1 for e in events if e.op == "undo"))


@dataclass
class Timeline:
    start: float
    end: float
    spans: list[tuple[float, float, bool]]   # (from, to, is_work)
    ticks: list[tuple[float, str]]           # outcome events: (moment, op)


def timeline(events: Sequence[Event], start: float, end: float,
             threshold: float = BREAK_THRESHOLD) -> Timeline:
    """A session's work and breaks: each gap between work events is work when it is
    at most `threshold`, else a break; before the first and after the last event too."""
    stream = sorted((iso_to_epoch(e.ts), e) for e in events if e.op in WORK_OPS)
    spans: list[tuple[float, float, bool]] = []
    cursor = start
    def add(left: float, right: float, work: bool) -> None:
        if spans and spans[-1][2] == work and spans[-1][1] == left:
            spans[-1] = (spans[-1][0], right, work)  # one span per stretch, not per gap
        else:
            spans.append((left, right, work))

    for moment, _ in stream:
        if moment > cursor:
            add(cursor, moment, moment - cursor <= threshold)
        cursor = max(cursor, moment)
    if end > cursor:
        add(cursor, end, end - cursor <= threshold)
    ticks = [(moment, e.op) for moment, e in stream if e.op in SHARE_OPS or e.op == "undo"]
    return Timeline(start, max(end, cursor), spans, ticks)


# ----------------------------------------------------------------------- planning


@dataclass
class Rate:
    """Images per hour: the middle, and a low and high that bracket most days."""

    middle: float
    low: float
    high: float
    samples: int

    def hours(self, images: int) -> tuple[float, float, float]:
        """(likely, at best, at worst) hours for `images`."""
        return images / self.middle, images / self.high, images / self.low


def measured_rate(rows: Iterable[m.StatsRow],
                  fallback: Iterable[m.Summary] = ()) -> Rate | None:
    """The rate of each (day, directory) with at least 5 minutes of work, weighted
    by nothing: the median, and the quartiles as the range. With too few such days,
    the directories' recent-session rates stand in."""
    samples = [r.images * 3600 / r.work_seconds for r in rows
               if r.work_seconds >= MIN_RATE_SECONDS and r.images > 0]
    if len(samples) < 3:
        samples += [s.rate_images * 3600 / s.rate_seconds for s in fallback
                    if s.rate_seconds >= MIN_RATE_SECONDS and s.rate_images > 0]
    if not samples:
        return None
    middle = statistics.median(samples)
    if len(samples) >= 2:
        low, _, high = statistics.quantiles(samples, n=4, method="inclusive")
    else:
        low = high = middle
    return Rate(middle, max(low, 1e-9), max(high, 1e-9), len(samples))
