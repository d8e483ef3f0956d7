"""cropctl's commands as a typer app (the usage and exit codes are in `cli`).

Each command imports what it needs when it runs; the bodies that must stay
fast without typer (`status`) live in `cli`, which calls them directly.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from crop_client.cropctl.errors import CtlError, report

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="cropctl", add_completion=True, no_args_is_help=True, rich_markup_mode=None,
    pretty_exceptions_enable=False, context_settings={"help_option_names": ["-h", "--help"]},
    help="Status and care of crop-progress: directories, the progress daemon, the user "
         "service. The read commands never start a daemon: with none running they read the "
         "files. Exit status: 0 done, 1 input problem, 2 daemon problem or bad command line.")
daemon_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                         help="Start, stop or look at the progress daemon (cropd).")
service_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help="Run cropd as a systemd user service or a launchd agent.")
app.add_typer(daemon_app, name="daemon")
app.add_typer(service_app, name="service")

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
DirArg = Annotated[str, typer.Argument(
    metavar="DIR", help="a work directory (a path, or the name of a known one)",
    show_default=False)]


def guard(fn: F) -> F:
    """Turn the failures a user can meet into one line on stderr and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as exc:
            raise typer.Exit(report(exc)) from None

    return wrapper  # type: ignore[return-value]


def _link():
    from crop_client.cropctl.link import Link

    return Link()


# ----------------------------------------------------------------------- read commands


@app.command(help="Every directory the daemon knows (or the progress folder holds), "
             "newest activity first, and the daemon.")
def status(json_out: JsonFlag = False) -> None:
    from crop_client.cropctl.cli import status_body

    raise typer.Exit(status_body(json_out))


@app.command(help="One directory: the progress display, the last session, the ETA at the "
             "recent rate, and the skipped and failed images with their reasons.")
@guard
def show(directory: DirArg, json_out: JsonFlag = False) -> None:
    from crop_client.cropctl import gather, render

    with _link() as link:
        daemon, shown, reasons = gather.show(link, directory)
    if json_out:
        render.print_json(render.show_json(shown, reasons))
    else:
        render.show(daemon, shown, reasons)


@app.command(help="The audit trail of one directory, newest last.")
@guard
def log(directory: DirArg,
        since: Annotated[str | None, typer.Option(
            "--since", metavar="ISO", help="only events after this time (ISO 8601, UTC "
            "when no zone is given)", show_default=False)] = None,
        json_out: JsonFlag = False) -> None:
    from crop_client.cropctl import gather, render

    with _link() as link:
        daemon, where, events = gather.log(link, directory, since)
    if json_out:
        render.print_json({"directory": where.key, "since": since, "events": events})
    else:
        render.log(daemon, where, events)


@app.command(help="Per day and per directory: images, work time and images per hour, the "
             "totals, and the ETA of every unfinished directory.")
@guard
def stats(days: Annotated[int, typer.Option("--days", min=1, metavar="N",
                                            help="how many days back")] = 7,
          json_out: JsonFlag = False) -> None:
    from crop_client.cropctl import gather, render

    with _link() as link:
        view = gather.stats(link, days)
    if json_out:
        render.print_json(view.to_json())
    else:
        render.stats(view)


# ----------------------------------------------------------------------- changing progress


@app.command(help="Forget a directory's progress and start it afresh; the old file is kept "
             "as .bak. Asks first unless --yes; without a terminal, --yes is required.")
@guard
def reset(directory: DirArg,
          yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False) -> None:
    from crop_client.cropctl import gather
    from crop_protocol import messages as m

    where = gather.target(directory)
    if where.progress_file is None:
        raise gather.never_seen(where)
    if not yes:
        if not sys.stdin.isatty():
            raise CtlError(f"not resetting {where.key} without confirmation: no terminal to "
                           "ask on; add --yes")
        typer.confirm(f"Forget the progress of {where.key}? (the file is kept as "
                      f"{where.progress_file.name}.bak)", abort=True)
    with _link().session() as session:
        done = session.call(m.Reset(directory=str(where.path)), m.Ok)
    typer.echo(done.message)
    for line in done.messages:
        typer.echo(f"  {line}")


@app.command(help="Rebuild a directory's progress file from its backup, the audit log and "
             "the output directory; the file it replaces is kept aside.")
@guard
def rebuild(directory: DirArg,
            output_dir: Annotated[str | None, typer.Option(
                "--output-dir", help="where this directory's crops went, when not the "
                "default <parent>/<name>_cropped/", show_default=False)] = None) -> None:
    from pathlib import Path

    from crop_client.cropctl import gather
    from crop_protocol import messages as m

    where = gather.target(directory)
    out = str(Path(output_dir).expanduser().resolve()) if output_dir else None
    with _link().session() as session:
        done = session.call(m.Rebuild(directory=str(where.path), output_dir=out), m.Ok)
    typer.echo(done.message)
    for line in done.messages:
        typer.echo(f"  {line}")


# ----------------------------------------------------------------------- the daemon


@daemon_app.command("start", help="Start cropd detached, as the clients do (nothing to do "
                    "when one runs).")
@guard
def daemon_start(idle_exit: Annotated[float | None, typer.Option(
        "--idle-exit", metavar="SECONDS", help="let it exit after this long without clients "
        "(default: run until stopped)", show_default=False)] = None) -> None:
    with _link() as link:
        info, started = link.start(idle_exit)
    if started:
        typer.echo(f"Started cropd (pid {info.pid}) on {info.endpoint}")
    else:
        typer.echo(f"cropd is already running (pid {info.pid}) on {info.endpoint}")


@daemon_app.command("stop", help="Ask cropd to flush its files and exit, and wait until it "
                    "has.")
@guard
def daemon_stop(timeout: Annotated[float, typer.Option(
        "--timeout", metavar="SECONDS", help="how long to wait for it to exit")] = 15.0) -> None:
    with _link() as link:
        pid, how = link.stop(timeout)
        endpoint = link.endpoint
    if how == "not running":
        typer.echo(f"cropd is not running on {endpoint}")
    elif how == "terminated":
        typer.echo(f"cropd (pid {pid}) did not answer; sent it SIGTERM and it stopped")
    else:
        typer.echo(f"cropd (pid {pid}) stopped")


def _daemon_view():
    from crop_client.cropctl.gather import DaemonView
    from crop_progress.paths import progress_dir

    with _link() as link:
        reply = link.status()
        if reply is not None:
            return DaemonView.from_info(reply.daemon, link.endpoint)
        return DaemonView.absent(link, progress_dir())


@daemon_app.command("status", help="Whether cropd runs: pid, version, endpoint. Exit status "
                    "0 either way; --json prints SPEC's daemon object.")
@guard
def daemon_status(json_out: JsonFlag = False) -> None:
    from crop_client.cropctl import render

    view = _daemon_view()
    if json_out:
        render.print_json(view.to_json(full=True))
    else:
        render.daemon_status(view)


# ----------------------------------------------------------------------- the service

DryRun = Annotated[bool, typer.Option("--dry-run", help="print what would be written and "
                                      "run; change nothing")]


def _service_done(result: Any) -> None:
    for line in result.lines:
        typer.echo(line)
    raise typer.Exit(result.exit_code)


def _probe() -> str | None:
    from crop_client.cropctl import render

    return "daemon: " + render.daemon_line(_daemon_view())


@service_app.command("install", help="Write the user unit (systemd) or agent (launchd) for "
                     "the installed cropd, and enable it.")
@guard
def service_install(dry_run: DryRun = False) -> None:
    from crop_client import service

    _service_done(service.install(dry_run=dry_run))


@service_app.command("uninstall", help="Stop and disable the service and remove its file.")
@guard
def service_uninstall(dry_run: DryRun = False) -> None:
    from crop_client import service

    _service_done(service.uninstall(dry_run=dry_run))


@service_app.command("status", help="Whether the service is installed, enabled and running, "
                     "and whether a daemon answers.")
@guard
def service_status(dry_run: DryRun = False) -> None:
    from crop_client import service

    _service_done(service.status(dry_run=dry_run, probe=_probe))


# ----------------------------------------------------------------------- the dashboard
# The logic is crop_client.web.cli's; only the command line is declared here.

web_app = typer.Typer(invoke_without_command=True, rich_markup_mode=None,
                      help="Serve the read-only web dashboard (every directory, live).")
app.add_typer(web_app, name="web")
TokenFile = Annotated[str | None, typer.Option("--token-file", metavar="PATH", help="the "
                      "viewer token (default: <user config dir>/crop-progress/web-token)",
                      show_default=False)]


@web_app.callback()
@guard
def web(ctx: typer.Context,
        bind: Annotated[str, typer.Option("--bind", metavar="HOST:PORT", help="where to "
                        "listen; a non-loopback address needs a token")] = "127.0.0.1:8765",
        token_file: TokenFile = None,
        open_browser: Annotated[bool, typer.Option("--open/--no-open", help="open it in a "
                                "browser (when there is a display)")] = True) -> None:
    if ctx.invoked_subcommand is None:
        from crop_client.web import cli as web_cli

        raise typer.Exit(web_cli.serve(bind, token_file, open_browser))


@web_app.command("token", help="Print the token remote viewers need (made when missing).")
@guard
def web_token(rotate: Annotated[bool, typer.Option("--rotate", help="replace it with a "
                                                   "new one")] = False,
              token_file: TokenFile = None) -> None:
    from crop_client.web import cli as web_cli

    raise typer.Exit(web_cli.token(token_file, rotate))
