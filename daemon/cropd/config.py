"""The daemon's settings, from its command line and the environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crop_progress.worktime import BREAK_THRESHOLD

LEASE_TTL = 60.0
TICK_SECONDS = 0.5
LAZY_SAVE_SECONDS = 2.0  # claims change only work time: saved at most this late


@dataclass
class Config:
    endpoint: str
    progress_dir: Path
    lease_ttl: float = LEASE_TTL
    break_threshold: float = BREAK_THRESHOLD
    idle_exit: float | None = None
    log_file: Path | None = None
    tick_seconds: float = TICK_SECONDS
    events_endpoint: str | None = None  # where the event feed was bound (set by the server)
    listen: str | None = None  # team mode's tcp endpoint (the bound one, once bound)
