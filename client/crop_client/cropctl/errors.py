"""cropctl's one error type and its one-line report: never a traceback.

The exit codes are SPEC's (`crop_progress.commandline`): 1 an input problem (a
directory never seen, a damaged progress file, a refused confirmation), 2 the
daemon cannot be reached, started or stopped, or cannot serve (BUSY). Err codes
map to them in `crop_client.errors`, for every command alike.
"""

from __future__ import annotations

import os
import sys

from crop_progress.commandline import EXIT_DAEMON, EXIT_INPUT, EXIT_OK, say_error

__all__ = ["EXIT_DAEMON", "EXIT_INPUT", "EXIT_OK", "CtlError", "describe", "report",
           "say_error"]


class CtlError(Exception):
    """A problem to tell the user in one line, with the exit code to leave with."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(" ".join(message.split()))
        self.code = code


def describe(exc: BaseException) -> tuple[str, int] | None:
    """One line and an exit code for a failure a user can meet; None for a bug."""
    from crop_client.errors import explain

    if isinstance(exc, CtlError):
        return str(exc), exc.code
    known = explain(exc)
    if known is not None:
        return known
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
    say_error("cropctl", message)
    return code
