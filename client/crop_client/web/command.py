"""`cropctl web` and `cropctl web token` as click commands, in the house style of
`crop_progress.commandline`; cropctl finds them through `commands.ELSEWHERE`. The
logic is in `crop_client.web.cli`."""

from __future__ import annotations

import click

from crop_client.cropctl.errors import report
from crop_client.web import cli
from crop_progress.commandline import Group, examples

TOKEN_FILE_HELP = "the viewer token (default: <user config dir>/crop-progress/web-token)"


@click.group("web", cls=Group, invoke_without_command=True, epilog=examples(
    "cropctl web", "cropctl web --bind 0.0.0.0:8765   # after cropctl web token"))
@click.option("--bind", default=cli.DEFAULT_BIND, show_default=True, metavar="HOST:PORT",
              help="where to listen; an address other than loopback needs a token")
@click.option("--token-file", metavar="PATH", default=None, help=TOKEN_FILE_HELP)
@click.option("--open/--no-open", "open_browser", default=True, show_default=True,
              help="open it in a browser (when there is a display)")
@click.pass_context
def web(ctx: click.Context, bind: str, token_file: str | None, open_browser: bool) -> int:
    """Serve the read-only web dashboard: every directory, live, on a desk or a phone.

    With a token (`cropctl web token`), every page asks for it; without one, only
    loopback addresses are served. From beyond your network, keep the default and
    tunnel: `ssh -N -L 8765:127.0.0.1:8765 you@workstation`, then open
    http://127.0.0.1:8765/ on the far side.
    """
    if ctx.invoked_subcommand is not None:
        return 0
    try:
        return cli.serve(bind, token_file, open_browser, fresh_process=True)
    except Exception as exc:
        return report(exc)


@web.command("token", epilog=examples("cropctl web token", "cropctl web token --rotate"))
@click.option("--rotate", is_flag=True, help="replace it with a new one")
@click.option("--token-file", metavar="PATH", default=None, help=TOKEN_FILE_HELP)
def token(rotate: bool, token_file: str | None) -> int:
    """Print the token remote viewers need, alone on stdout (made when missing)."""
    try:
        return cli.token(token_file, rotate)
    except Exception as exc:
        return report(exc)
