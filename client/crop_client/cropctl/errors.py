"""cropctl's exit codes and its one error type: one line on stderr, never a traceback.

0: done. 1: an input problem (a directory never seen, a damaged progress
file, a refused confirmation). 2: the daemon cannot be reached, started or
stopped, or it failed the request (click's usage errors exit 2 as well).
"""

from __future__ import annotations

import os
import sys

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_DAEMON = 2


class CtlError(Exception):
    """A problem to tell the user in one line, with the exit code to leave with."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(" ".join(message.split()))
        self.code = code


def describe(exc: BaseException) -> tuple[str, int] | None:
    """One line and an exit code for a failure a user can meet; None for a bug."""
    from crop_client.errors import DaemonError, DaemonUnavailable

    if isinstance(exc, CtlError):
        return str(exc), exc.code
    if isinstance(exc, DaemonUnavailable):
        return f"the progress daemon cannot be reached: {exc}", EXIT_DAEMON
    if isinstance(exc, DaemonError):
        code = EXIT_INPUT if exc.code in ("NOT_FOUND", "BAD_REQUEST", "UNKNOWN_DIRECTORY",
                                          "DAMAGED", "STORAGE_ERROR") else EXIT_DAEMON
        return exc.message, code
    readonly = sys.modules.get("crop_progress.readonly")
    if readonly is not None and isinstance(exc, readonly.ReadProblem):
        return str(exc), EXIT_INPUT
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}", EXIT_INPUT
    return None


def report(exc: Exception) -> int:
    """Print the one line for `exc` on stderr and return the exit code.

    An unexpected exception (a bug) is re-raised when CROPCTL_DEBUG is set, so
    its traceback shows; otherwise it too is one line.
    """
    known = describe(exc)
    if known is None:
        if os.environ.get("CROPCTL_DEBUG"):
            raise exc
        known = (f"unexpected error: {type(exc).__name__}: {exc} (set CROPCTL_DEBUG=1 for "
                 "the traceback)", EXIT_INPUT)
    message, code = known
    say_error(message)
    return code


def say_error(message: str) -> None:
    sys.stderr.write(f"cropctl: {' '.join(message.split())}\n")
