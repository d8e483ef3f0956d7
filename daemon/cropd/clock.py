"""Event time stamps that never repeat or go back.

Replay after a crash applies the journal's events newer than a file's
`modified`; that is exact only if no two stamps are equal, so each stamp is at
least one millisecond after the previous one, even if the wall clock steps back.
"""

from __future__ import annotations

import time

from crop_progress.timefmt import epoch_to_iso


class Clock:
    def __init__(self) -> None:
        self._last_ms = 0

    def now(self) -> str:
        ms = max(int(time.time() * 1000), self._last_ms + 1)
        self._last_ms = ms
        return epoch_to_iso(ms / 1000)

    def at_least(self, iso_ms: int) -> None:
        """Never stamp at or before `iso_ms` (a restored file's last write)."""
        self._last_ms = max(self._last_ms, iso_ms)
