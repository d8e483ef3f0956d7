"""The errors a client sees: the daemon said no, or the daemon cannot be had."""

from __future__ import annotations


class DaemonError(Exception):
    """An `Err(code, message)` reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message


class DaemonUnavailable(Exception):
    """No daemon answered in time, and none could be started."""
