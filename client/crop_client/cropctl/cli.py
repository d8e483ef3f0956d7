"""`cropctl`: status and care of crop-progress: directories, the daemon, the service.

    cropctl status [--json]                 every directory the daemon knows, and the daemon
    cropctl show DIR [--json]               one directory: the progress display, lists, ETA
    cropctl log DIR [--since ISO] [--json]  the audit trail of one directory, newest last
    cropctl stats [--days N] [--json]       per day and per directory: images, work time, rate
    cropctl reset DIR [--yes]               forget a directory's progress (kept as .bak)
    cropctl rebuild DIR [--output-dir PATH] rebuild a damaged progress file
    cropctl daemon start|stop|status [--json]
    cropctl service install|uninstall|status [--dry-run]

The read commands (status, show, log, stats) ask the daemon when one answers
and otherwise read the files, read-only; they never start a daemon. reset and
rebuild go through the daemon (it owns the files) and start one if needed.

Exit status: 0 done; 1 an input problem (a directory never seen, a damaged
progress file, a refused confirmation); 2 the daemon cannot be reached,
started or stopped, or the command line is wrong (click's usage errors).
`status` exits 1 when a progress file cannot be read, after showing the rest.
Errors are one line on stderr, never a traceback (set CROPCTL_DEBUG=1 to see
one for an unexpected failure).

Fast: `cropctl status [--json]`, the command people run most, is served here
without typer (typer brings pydantic, which alone costs more than the whole
answer); every other command line goes through the typer app in `commands`.
rich is imported only to draw a table, ZeroMQ only when a daemon may be there.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from crop_client.cropctl.errors import EXIT_INPUT, report, say_error

FAST = {("status",): False, ("status", "--json"): True}


def status_body(json_out: bool) -> int:
    """`cropctl status`: the table (or SPEC's JSON), problems on stderr; the exit code."""
    try:
        from crop_client.cropctl import gather
        from crop_client.cropctl.link import Link

        with Link() as link:
            view = gather.status(link)
        if json_out:
            from crop_client.cropctl.render import print_json

            print_json(view.to_json())
        else:
            from crop_client.cropctl import render

            render.status(view)
    except BrokenPipeError:
        raise
    except Exception as exc:
        return report(exc)
    for problem in view.problems:
        say_error(problem)
    return EXIT_INPUT if view.problems else 0


def __getattr__(name: str) -> Any:
    """`cli.app`: the typer app, imported on first use."""
    if name == "app":
        from crop_client.cropctl.commands import app

        return app
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if tuple(args) in FAST:
            code = status_body(FAST[tuple(args)])
            sys.stdout.flush()
            sys.exit(code)
        from crop_client.cropctl.commands import app

        app(args=args, prog_name="cropctl", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # `cropctl status | head`: the reader left; say nothing more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    main()
