"""Small statistics and timing helpers: medians, nearest-rank percentiles, clocks."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence


def now() -> float:
    """A monotonic clock in seconds, at the best resolution there is."""
    return time.perf_counter()


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 100 values is the 95th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    """Seconds as milliseconds for people: 0.000123 -> '0.123 ms'."""
    if math.isnan(seconds):
        return "n/a"
    value = seconds * 1000.0
    if value < 1:
        return f"{value:.3f} ms"
    if value < 100:
        return f"{value:.2f} ms"
    return f"{value:.0f} ms"


def secs(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds:.2f} s"


def ratio(ours: float, base: float) -> float:
    if not base or math.isnan(base) or math.isnan(ours):
        return math.nan
    return ours / base
