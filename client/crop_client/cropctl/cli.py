"""`cropctl`'s entry point: the click app of `commands`, with SPEC's exit codes.

    cropctl status [--json]                 every directory the daemon knows, and the daemon
    cropctl show DIR [--json]               one directory: the progress display, lists, ETA
    cropctl log DIR [--since ISO] [--wide] [--json]  the audit trail of one directory
    cropctl stats [--days N] [--json]       per day and per directory: images, work time, rate
    cropctl reset DIR [--yes]               forget a directory's progress (kept as .bak)
    cropctl rebuild DIR [--output-dir PATH] rebuild a damaged progress file
    cropctl daemon start|stop|status [--json]
    cropctl service install|uninstall|status [--dry-run]
    cropctl team init|add|list|revoke|join|share   team mode: workstations, one daemon

Exit status (`crop_progress.commandline`): 0 done; 1 a usage or input error, one
line on stderr; 2 the daemon cannot be reached, started or stopped, or is too
busy; 130 interrupted. Never a traceback (CROPCTL_DEBUG=1 shows one for a bug).

Start-up is click and what the command itself uses: rich is imported only to
draw a table, ZeroMQ only when a daemon may be there.
"""

from __future__ import annotations

from crop_client.cropctl.commands import app

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    app.main(args=argv, prog_name="cropctl")


if __name__ == "__main__":
    main()
