"""The command-line style of `cropd`, `cropctl` and `multicrop` (on click): exit codes,
one-line errors, `--version`, help that is never cut short, examples.

Exit codes (SPEC): 0 done; 1 a usage or input error, one line on stderr; 2 the
daemon cannot be reached or started (a daemon refusing for load included);
130 interrupted (Ctrl+C). `Command.main` and `Group.main` apply them to every
way a command line can fail, so a command body only returns its exit code.

A command is registered the usual click way, with this module's classes:

    @click.group(cls=Group, epilog=examples("cropctl status"))
    def cli() -> None: ...

    @cli.command(epilog=examples("cropctl show ~/photos/_asian"))
    @click.argument("directory", metavar="DIR")
    def show(directory: str) -> int: ...

click is imported by whoever uses this module; nothing here talks to a daemon.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import click

from crop_progress import __version__

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_DAEMON = 2
EXIT_INTERRUPTED = 130  # the shell's convention for SIGINT

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def say_error(prog: str, message: str) -> None:
    """`prog: message`, one line on stderr."""
    sys.stderr.write(f"{prog}: {one_line(message)}\n")
    sys.stderr.flush()


def examples(*lines: str) -> str:
    """An `Examples:` epilog that click prints as written (`\\b` stops its re-wrapping)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def version_option(prog: str) -> Callable[[Any], Any]:
    return click.version_option(__version__, "--version", prog_name=prog,
                                message="%(prog)s %(version)s",
                                help="print the version and exit")


def _program(ctx: click.Context | None, fallback: str) -> str:
    return ctx.command_path if ctx is not None else fallback


def _usage_line(exc: click.UsageError, prog: str) -> str:
    where = _program(exc.ctx, prog)
    message = one_line(exc.format_message()).rstrip(".")
    return f"{message[:1].lower()}{message[1:]} (see `{where} --help`)"


def _quiet_stdout() -> None:
    """`cmd | head`: the reader left; say nothing more, and let exit not flush again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run_styled(command: click.Command, main: Callable[..., Any], args: Sequence[str] | None,
               prog_name: str | None, standalone_mode: bool, **extra: Any) -> Any:
    """Run click's `main` in non-standalone mode and apply the exit codes above."""
    prog = prog_name or command.name or "command"
    try:
        result = main(args=args, prog_name=prog, standalone_mode=False, **extra)
        code = result if isinstance(result, int) else EXIT_OK
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help())  # a bare group: its help, as asked
        code = EXIT_OK
    except click.UsageError as exc:
        say_error(prog, _usage_line(exc, prog))
        code = EXIT_INPUT
    except click.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):
            code = EXIT_INTERRUPTED
        else:
            say_error(prog, "aborted")
            code = EXIT_INPUT
    except click.ClickException as exc:
        say_error(prog, exc.format_message())
        code = exc.exit_code if exc.exit_code in (EXIT_INPUT, EXIT_DAEMON) else EXIT_INPUT
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        code = EXIT_INPUT
    if not standalone_mode:
        return code
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()
    sys.exit(code)


class _Styled:
    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = "show this help and exit"  # lower case, as every other option
        return option  # type: ignore[no-any-return]

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        return run_styled(self, super().main, args, prog_name,  # type: ignore[misc,arg-type]
                          standalone_mode, complete_var=complete_var, **extra)


class Command(_Styled, click.Command):
    """A command with SPEC's exit codes; its body returns the exit code (None: 0)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", dict(CONTEXT))
        super().__init__(*args, **kwargs)


class Group(_Styled, click.Group):
    """A group whose command list shows each summary whole, and whose subcommands
    are `Command`s and `Group`s by default."""

    command_class = Command
    group_class = type

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", dict(CONTEXT))
        kwargs.setdefault("no_args_is_help", True)
        super().__init__(*args, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order they were registered, not sorted

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            rows.append((name, cmd.short_help or _first_sentence(cmd.help or "")))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _first_sentence(text: str) -> str:
    """The first sentence of a help text, whole (click's own would cut it with "...")."""
    flat = one_line(text.split("\n\n", 1)[0])
    end = flat.find(". ")
    return flat if end < 0 else flat[:end + 1]


class Failure(click.ClickException):
    """A usage or input problem to tell in one line: exit 1."""

    exit_code = EXIT_INPUT

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class DaemonFailure(Failure):
    """The daemon cannot be reached or started: exit 2."""

    exit_code = EXIT_DAEMON


def fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    """Leave a command body with one line on stderr and `code` (1 or 2)."""
    raise DaemonFailure(message) if code == EXIT_DAEMON else Failure(message)
