"""The errors a client sees (the daemon said no, or the daemon cannot be had), and
the one mapping from them to SPEC's exit codes that every command uses."""

from __future__ import annotations

from crop_progress.commandline import EXIT_DAEMON, EXIT_INPUT

DAEMON_CODES = frozenset({"BUSY", "INTERNAL", "VERSION_MISMATCH", "UNKNOWN_CLIENT",
                          "BAD_MESSAGE", "NOT_ALLOWED"})
"""Err codes that say the daemon cannot serve us (exit 2); every other code is about
the input (a directory never seen, a damaged file, a full disk): exit 1."""


class DaemonError(Exception):
    """An `Err(code, message)` reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} [{code}]")
        self.code = code
        self.message = message


class DaemonUnavailable(Exception):
    """No daemon answered in time, and none could be started."""


class AccessRefused(DaemonUnavailable):
    """A team daemon refused this member's key (revoked, or never added)."""


class WrongServer(DaemonUnavailable):
    """The peer at a team endpoint is not the daemon the join bundle names."""


def exit_code(code: str) -> int:
    """The exit code for an `Err` code."""
    return EXIT_DAEMON if code in DAEMON_CODES else EXIT_INPUT


def unavailable_line(exc: DaemonUnavailable) -> str:
    """The one line for a daemon that cannot be had (a team's refusals say their own)."""
    if isinstance(exc, (AccessRefused, WrongServer)):
        return str(exc)
    return f"the progress daemon cannot be reached or started: {exc}"


def explain(exc: BaseException) -> tuple[str, int] | None:
    """One line and the exit code for a daemon failure a user can meet; None otherwise."""
    if isinstance(exc, DaemonUnavailable):
        return unavailable_line(exc), EXIT_DAEMON
    if isinstance(exc, DaemonError):
        if exc.code == "BUSY":
            return f"the progress daemon is too busy to answer: {exc.message}", EXIT_DAEMON
        return exc.message, exit_code(exc.code)
    return None
