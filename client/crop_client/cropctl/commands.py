"""cropctl's commands, on click in the house style of `crop_progress.commandline`.

Each command body returns its exit code and imports what it needs when it runs,
so `cropctl status` pays only for click and what `status` itself uses.

To add a command, decorate a function with `@app.command(...)` (or
`@daemon.command`, `@service.command`); a command group that lives in another
module is named in `ELSEWHERE` and imported only when it is used or listed.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from crop_client import completion
from crop_client.cropctl.errors import EXIT_INPUT, CtlError, report, say_error
from crop_progress.commandline import Group, examples, version_option

F = TypeVar("F", bound=Callable[..., Any])

ELSEWHERE: dict[str, str] = {
    # "name": "package.module:attribute" of a click command or group
    "web": "crop_client.web.command:web",
    "team": "crop_client.cropctl.team:team",
}


class CtlGroup(Group):
    """The root group: its own commands, and those of `ELSEWHERE`, imported on use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *ELSEWHERE]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in ELSEWHERE:
            module, _, attribute = ELSEWHERE[name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        return super().get_command(ctx, name)


@click.group("cropctl", cls=CtlGroup, epilog=examples(
    "cropctl status", "cropctl show ~/photos/_asian", "cropctl stats --days 30 --json"))
@version_option("cropctl")
@completion.options("cropctl")
def app() -> None:
    """Status and care of crop-progress: directories, the progress daemon, the user service.

    The read commands (status, show, log, stats) ask the daemon when one runs and
    otherwise read the progress files, read-only; they never start a daemon.

    Exit status: 0 done; 1 a usage or input error (one line on stderr); 2 the daemon
    cannot be reached, started or stopped, or is too busy to answer.
    """


def guard(fn: F) -> F:
    """Turn the failures a user can meet into one line on stderr and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.Abort, click.ClickException, KeyboardInterrupt,
                BrokenPipeError):
            raise
        except Exception as exc:
            return report(exc)

    return wrapper  # type: ignore[return-value]


def json_flag(fn: F) -> F:
    return click.option("--json", "json_out", is_flag=True,
                        help="print JSON instead of a table")(fn)


def dir_argument(fn: F) -> F:
    return click.argument("directory", metavar="DIR")(fn)


def _link() -> Any:
    from crop_client.cropctl.link import Link

    return Link()


# ----------------------------------------------------------------------- read commands


@app.command(epilog=examples("cropctl status", "cropctl status --json | jq '.directories[]'"))
@json_flag
@guard
def status(json_out: bool) -> int:
    """Every directory the daemon knows (or the progress folder holds), newest activity
    first, and the daemon.

    Exits 1 when a progress file cannot be read, after showing the rest.
    """
    from crop_client.cropctl import gather, render

    with _link() as link:
        view = gather.status(link)
    if json_out:
        render.print_json(view.to_json())
    else:
        render.status(view)
    sys.stdout.flush()
    for problem in view.problems:
        say_error("cropctl", problem)
    return EXIT_INPUT if view.problems else 0


@app.command(epilog=examples("cropctl show ~/photos/_asian", "cropctl show _asian --json"))
@dir_argument
@json_flag
@guard
def show(directory: str, json_out: bool) -> int:
    """One directory: the progress display, the last session, the ETA at the recent rate,
    and the skipped and failed images with their reasons.

    DIR is a path, or the name of a directory cropctl status lists.
    """
    from crop_client.cropctl import gather, render

    with _link() as link:
        daemon, shown, reasons = gather.show(link, directory)
    if json_out:
        render.print_json(render.show_json(shown, reasons))
    else:
        render.show(daemon, shown, reasons)
    return 0


@app.command(epilog=examples("cropctl log _asian", "cropctl log _asian --since 2025-09-25T16:00Z",
                             "cropctl log _asian --wide"))
@dir_argument
@click.option("--since", metavar="ISO", default=None,
              help="only events after this time (ISO 8601; UTC when no zone is given)")
@click.option("--wide", is_flag=True,
              help="every column whole: full output paths, client ids (the default fits 80 "
                   "columns)")
@json_flag
@guard
def log(directory: str, since: str | None, wide: bool, json_out: bool) -> int:
    """The audit trail of one directory, newest last."""
    from crop_client.cropctl import gather, render

    with _link() as link:
        daemon, where, events = gather.log(link, directory, since)
    if json_out:
        render.print_json({"directory": where.key, "since": since, "events": events})
    else:
        render.log(daemon, where, events, wide=wide)
    return 0


@app.command(epilog=examples("cropctl stats", "cropctl stats --days 30 --json"))
@click.option("--days", type=click.IntRange(min=1), default=7, show_default=True, metavar="N",
              help="how many days back")
@json_flag
@guard
def stats(days: int, json_out: bool) -> int:
    """Per day and per directory: images, work time and images per hour, the totals, and
    the ETA of every unfinished directory."""
    from crop_client.cropctl import gather, render

    with _link() as link:
        view = gather.stats(link, days)
    if json_out:
        render.print_json(view.to_json())
    else:
        render.stats(view)
    return 0


# ----------------------------------------------------------------------- changing progress


@app.command(epilog=examples("cropctl reset ~/photos/_asian", "cropctl reset _asian --yes"))
@dir_argument
@click.option("--yes", "-y", is_flag=True, help="do not ask")
@guard
def reset(directory: str, yes: bool) -> int:
    """Forget a directory's progress and start it afresh; the old file is kept as .bak.

    Asks first unless --yes; without a terminal, --yes is required.
    """
    from crop_client.cropctl import gather
    from crop_protocol import messages as m

    where = gather.target(directory)
    if where.progress_file is None:
        raise gather.never_seen(where)
    if not yes:
        if not sys.stdin.isatty():
            raise CtlError(f"not resetting {where.key} without confirmation: no terminal to "
                           "ask on; add --yes")
        if not click.confirm(f"Forget the progress of {where.key}? (the file is kept as "
                             f"{where.progress_file.name}.bak)"):
            raise CtlError(f"not resetting {where.key}: not confirmed")
    with _link().session() as session:
        done = session.call(m.Reset(directory=str(where.path)), m.Ok)
    click.echo(done.message)
    for line in done.messages:
        click.echo(f"  {line}")
    return 0


@app.command(epilog=examples("cropctl rebuild ~/photos/_asian",
                             "cropctl rebuild _asian --output-dir /mnt/out/_asian_cropped"))
@dir_argument
@click.option("--output-dir", metavar="PATH", default=None,
              help="where this directory's crops went, when not the default "
                   "<parent>/<name>_cropped/")
@guard
def rebuild(directory: str, output_dir: str | None) -> int:
    """Rebuild a directory's progress file from its backup, the audit log and the output
    directory; the file it replaces is kept aside."""
    from pathlib import Path

    from crop_client.cropctl import gather
    from crop_protocol import messages as m

    where = gather.target(directory)
    out = str(Path(output_dir).expanduser().resolve()) if output_dir else None
    with _link().session() as session:
        done = session.call(m.Rebuild(directory=str(where.path), output_dir=out), m.Ok)
    click.echo(done.message)
    for line in done.messages:
        click.echo(f"  {line}")
    return 0


# ----------------------------------------------------------------------- the daemon


@app.group(epilog=examples("cropctl daemon start", "cropctl daemon status --json"))
def daemon() -> None:
    """Start, stop or look at the progress daemon (cropd)."""


@daemon.command("start", epilog=examples("cropctl daemon start",
                                         "cropctl daemon start --idle-exit 600"))
@click.option("--idle-exit", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              default=None, help="let it exit after this long without clients (default: run "
                                 "until stopped)")
@guard
def daemon_start(idle_exit: float | None) -> int:
    """Start cropd detached, as the clients do (nothing to do when one runs)."""
    with _link() as link:
        info, started = link.start(idle_exit)
    if started:
        click.echo(f"Started cropd (pid {info.pid}) on {info.endpoint}")
    else:
        click.echo(f"cropd is already running (pid {info.pid}) on {info.endpoint}")
    return 0


@daemon.command("stop", epilog=examples("cropctl daemon stop", "cropctl daemon stop --timeout 60"))
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              default=15.0, show_default=True, help="how long to wait for it to exit")
@guard
def daemon_stop(timeout: float) -> int:
    """Ask cropd to flush its files and exit, and wait until it has."""
    with _link() as link:
        pid, how = link.stop(timeout)
        endpoint = link.endpoint
    if how == "not running":
        click.echo(f"cropd is not running on {endpoint}")
    elif how == "terminated":
        click.echo(f"cropd (pid {pid}) did not answer; sent it SIGTERM and it stopped")
    else:
        click.echo(f"cropd (pid {pid}) stopped")
    return 0


def _daemon_view() -> Any:
    from crop_client.cropctl.gather import DaemonView
    from crop_progress.paths import progress_dir

    with _link() as link:
        reply = link.status()
        if reply is not None:
            return DaemonView.from_info(reply.daemon, link.endpoint)
        return DaemonView.absent(link, progress_dir())


@daemon.command("status", epilog=examples("cropctl daemon status", "cropctl daemon status --json"))
@json_flag
@guard
def daemon_status(json_out: bool) -> int:
    """Whether cropd runs: pid, version, endpoint (exit status 0 either way).

    --json prints SPEC's daemon object.
    """
    from crop_client.cropctl import render

    view = _daemon_view()
    if json_out:
        render.print_json(view.to_json(full=True))
    else:
        render.daemon_status(view)
    return 0


# ----------------------------------------------------------------------- the service


@app.group(epilog=examples("cropctl service install --dry-run", "cropctl service install",
                           "cropctl service status --json"))
def service() -> None:
    """Run cropd as a systemd user service or a launchd agent."""


def dry_run_flag(fn: F) -> F:
    return click.option("--dry-run", is_flag=True, help="print what would be written and "
                        "run; change nothing")(fn)


def _service_done(result: Any) -> int:
    for line in result.lines:
        click.echo(line)
    return int(result.exit_code)


def _probe() -> str | None:
    from crop_client.cropctl import render

    return "daemon: " + render.daemon_line(_daemon_view())


@service.command("install", epilog=examples("cropctl service install --dry-run",
                                            "cropctl service install"))
@dry_run_flag
@guard
def service_install(dry_run: bool) -> int:
    """Write the user unit (systemd) or agent (launchd) for the installed cropd, and
    enable it."""
    from crop_client import service

    return _service_done(service.install(dry_run=dry_run))


@service.command("uninstall", epilog=examples("cropctl service uninstall"))
@dry_run_flag
@guard
def service_uninstall(dry_run: bool) -> int:
    """Stop and disable the service and remove its file."""
    from crop_client import service

    return _service_done(service.uninstall(dry_run=dry_run))


@service.command("status", epilog=examples("cropctl service status",
                                           "cropctl service status --json"))
@dry_run_flag
@json_flag
@guard
def service_status(dry_run: bool, json_out: bool) -> int:
    """Whether the service is installed, enabled and running, and whether a daemon
    answers.

    --json prints the same as one object, with the daemon object of `daemon status`.
    """
    from crop_client import service
    from crop_client.cropctl import render

    if not json_out:
        return _service_done(service.status(dry_run=dry_run, probe=_probe))
    result = service.status(dry_run=dry_run)
    render.print_json({**result.to_json(), "daemon": _daemon_view().to_json(full=True)})
    return int(result.exit_code)
