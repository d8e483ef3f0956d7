"""Time stamps and human durations: UTC ISO 8601 with `Z`, "2 hours ago", "2h 15m"."""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def to_iso(moment: datetime) -> str:
    """UTC, millisecond precision, `Z` suffix: `2025-09-25T16:45:00.123Z`."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return to_iso(now())


def parse_iso(text: str) -> datetime:
    """Reads what `to_iso` writes, and also the seed's second-precision form."""
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def iso_to_epoch(text: str) -> float:
    return parse_iso(text).timestamp()


def epoch_to_iso(seconds: float) -> str:
    return to_iso(datetime.fromtimestamp(seconds, timezone.utc))


def format_duration(seconds: float) -> str:
    """`2h 15m`, `5m`, `40s`: the seed's session line."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def format_ago(then: datetime | str, reference: datetime | None = None) -> str:
    """`2 hours ago`, `just now`, `3 days ago`: the seed's "Last session" line."""
    if isinstance(then, str):
        then = parse_iso(then)
    seconds = ((reference or now()) - then).total_seconds()
    if seconds < 60:
        return "just now"
    for size, unit in ((86400 * 365, "year"), (86400 * 30, "month"), (86400 * 7, "week"),
                       (86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"
