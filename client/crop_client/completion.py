"""Shell completion for `cropctl` and `multicrop`: `--install-completion [bash|zsh|fish]`
writes click's script into the shell's own per-user completion folder (XDG), and
`--show-completion` prints it. No rc file is edited.

| shell | file | loaded by |
|---|---|---|
| bash | `$XDG_DATA_HOME/bash-completion/completions/<prog>` | bash-completion, on demand |
| zsh  | `$XDG_DATA_HOME/zsh/site-functions/_<prog>` | compinit, once that folder is in `fpath` |
| fish | `$XDG_CONFIG_HOME/fish/completions/<prog>.fish` | fish, on demand |

The shell is the argument, else the basename of `$SHELL`: never guessed from the
process tree, so the answer does not depend on who started the command.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from crop_progress.commandline import fail

SHELLS = ("bash", "zsh", "fish")


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def script_path(shell: str, prog: str) -> Path:
    if shell == "bash":
        folder = os.environ.get("BASH_COMPLETION_USER_DIR")
        base = Path(folder) if folder else _data_home() / "bash-completion"
        return base / "completions" / prog
    if shell == "zsh":
        return _data_home() / "zsh" / "site-functions" / f"_{prog}"
    return _config_home() / "fish" / "completions" / f"{prog}.fish"


def complete_var(prog: str) -> str:
    return f"_{prog.replace('-', '_').upper()}_COMPLETE"


def script(command: click.Command, prog: str, shell: str) -> str:
    """click's completion script of `command` for `shell`."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:
        fail(f"no completion for the shell {shell!r}; choose one of {', '.join(SHELLS)}")
    return cls(command, {}, prog, complete_var(prog)).source() + "\n"


def _shell(value: str | None) -> str:
    shell = value or Path(os.environ.get("SHELL", "")).name
    if shell not in SHELLS:
        said = f"the shell {shell!r}" if shell else "no shell given and $SHELL is not set"
        fail(f"cannot install completion for {said}; name one: bash, zsh or fish")
    return shell


def install(command: click.Command, prog: str, shell: str) -> list[str]:
    """Write the script; the lines that say where, and what the user may still do."""
    path = script_path(shell, prog)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(script(command, prog, shell), encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror or exc}")
    lines = [f"Installed {shell} completion for {prog} in {path}"]
    if shell == "bash":
        lines.append("It loads in new shells where bash-completion is installed "
                     "(the bash-completion package of most systems).")
    elif shell == "zsh":
        lines.append(f"It loads in new shells once {path.parent} is in fpath: add "
                     f"`fpath=({path.parent} $fpath)` before `compinit` in ~/.zshrc.")
    else:
        lines.append("It loads in new fish shells.")
    return lines


def options(prog: str) -> Callable[[Any], Any]:
    """`--install-completion [SHELL]` and `--show-completion [SHELL]` for a root command."""

    def install_now(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is None or ctx.resilient_parsing:
            return
        for line in install(ctx.command, prog, _shell(value or None)):
            click.echo(line)
        ctx.exit(0)

    def show_now(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is None or ctx.resilient_parsing:
            return
        click.echo(script(ctx.command, prog, _shell(value or None)), nl=False)
        ctx.exit(0)

    def decorate(fn: Any) -> Any:
        fn = click.option("--show-completion", metavar="[bash|zsh|fish]", is_flag=False,
                          flag_value="", default=None, expose_value=False, is_eager=True,
                          callback=show_now,
                          help="print the completion script (shell: the argument, else "
                               "$SHELL)")(fn)
        return click.option("--install-completion", metavar="[bash|zsh|fish]", is_flag=False,
                            flag_value="", default=None, expose_value=False, is_eager=True,
                            callback=install_now,
                            help="install completion for the shell into its per-user "
                                 "completion folder")(fn)

    return decorate
