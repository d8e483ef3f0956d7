"""cropd as a systemd user service: the unit `cropd.service` in
`$XDG_CONFIG_HOME/systemd/user/`, driven with `systemctl --user`.

The shipped unit is valid as it is (`ExecStart=%h/.local/bin/cropd`, where pipx
puts cropd); installing writes the absolute path of the cropd that is installed.
A user manager stops at logout unless lingering is on (`loginctl enable-linger`):
install and status say so.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

from crop_client.service import common
from crop_client.service.common import (
    EXIT_NO_MANAGER,
    UNIT_NAME,
    Runner,
    ServiceError,
    ServiceResult,
    _Outcome,
    check_words,
    load_template,
)

SHIPPED_EXEC = "%h/.local/bin/cropd"

# Characters that need no quoting in a systemd command line.
_SYSTEMD_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


def unit_path() -> Path:
    """`$XDG_CONFIG_HOME/systemd/user/cropd.service` (XDG_CONFIG_HOME defaults to ~/.config)."""
    config = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config) if config and os.path.isabs(config) else Path.home() / ".config"
    return base / "systemd" / "user" / UNIT_NAME


def _systemd_word(word: str, *, first: bool) -> str:
    # `%` starts a specifier everywhere on the line; `$` starts a variable in
    # the arguments only (the executable path is taken as it is).
    text = word.replace("%", "%%")
    if not first:
        text = text.replace("$", "$$")
    if _SYSTEMD_PLAIN.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_command_line(argv: Sequence[str]) -> str:
    """argv as the value of a systemd `ExecStart=`, quoted and escaped."""
    check_words(argv)
    return " ".join(_systemd_word(w, first=i == 0) for i, w in enumerate(argv))


def render_unit(cropd: Sequence[str]) -> str:
    """The user unit with `ExecStart=` running `cropd` (argv words, absolute path first)."""
    template = load_template(UNIT_NAME)
    line = f"ExecStart={SHIPPED_EXEC}"
    if template.count(line) != 1:
        raise ServiceError(f"the template {UNIT_NAME} has no single `{line}` line.")
    return template.replace(line, f"ExecStart={systemd_command_line(cropd)}")


def exec_start(content: str) -> list[str] | None:
    """The command of an installed unit's `ExecStart=`, split as a shell would."""
    for line in content.splitlines():
        if line.startswith("ExecStart="):
            try:
                return shlex.split(line.removeprefix("ExecStart=").replace("%%", "%"))
            except ValueError:
                return [line.removeprefix("ExecStart=")]
    return None


def _systemctl(*args: str) -> list[str]:
    return ["systemctl", "--user", *args]


def _tell_later(result: ServiceResult, outcome: _Outcome, commands: list[list[str]]) -> None:
    if outcome.missing:
        result.say("systemctl was not found: this system does not run systemd user services.")
    else:
        result.say(f"systemctl --user cannot reach a user service manager: {outcome.message}")
    result.later = commands
    result.say("In a login session with a user service manager, run:")
    for cmd in commands:
        result.say(f"  {common.show(cmd)}")
    result.exit_code = max(result.exit_code, EXIT_NO_MANAGER)


def install(
    result: ServiceResult, cropd: list[str], dry_run: bool, runner: Runner
) -> ServiceResult:
    path = unit_path()
    content = render_unit(cropd)
    commands = [_systemctl("daemon-reload"), _systemctl("enable", "--now", UNIT_NAME)]
    result.path, result.content = path, content
    if dry_run:
        result.commands = commands
        result.say(f"Would write {path}:")
        result.lines.extend(content.rstrip("\n").splitlines())
        result.say("Would run:")
        result.lines.extend(f"  {common.show(cmd)}" for cmd in commands)
        result.say(f"To keep it running while you are logged out: {common.show(linger_on())}")
        return result

    previous = common.read(path)
    try:
        common.write_file(path, content)
    except OSError as exc:
        return result.fail(f"Could not write {path}: {exc}")
    result.installed = True
    result.say(f"Wrote {path}")
    result.say(f"  ExecStart={systemd_command_line(cropd)}")

    for i, cmd in enumerate(commands):
        outcome = common.run(runner, cmd)
        result.commands.append(cmd)
        if outcome.missing or outcome.no_manager:
            result.say("The unit file stays in place; the service is not enabled yet.")
            _tell_later(result, outcome, commands[i:])
            result.say("Until then, clients start cropd on demand.")
            return result
        if not outcome.ok:
            result.fail(f"`{common.show(cmd)}` failed: {outcome.message}")
            result.later = commands[i:]
            result.say(
                f"See `systemctl --user status {UNIT_NAME}` and `journalctl --user -u {UNIT_NAME}`."
            )
            return result
        result.say(f"Ran: {common.show(cmd)}")
    result.enabled, result.active = "enabled", "active"
    result.say(f"{UNIT_NAME} is enabled and started; it starts again at each login.")
    _say_linger(result, runner)
    if previous is not None and previous != content:
        result.say(
            "The unit changed: a service that was already running keeps the old command "
            f"until `systemctl --user restart {UNIT_NAME}`."
        )
    return result


def _remove_wants_link(path: Path) -> None:
    """Drop the enablement symlink `systemctl enable` made, when systemctl cannot."""
    link = path.parent / "default.target.wants" / UNIT_NAME
    if link.is_symlink():
        with contextlib.suppress(OSError):
            link.unlink()


def uninstall(result: ServiceResult, dry_run: bool, runner: Runner) -> ServiceResult:
    path = unit_path()
    result.path = path
    disable = _systemctl("disable", "--now", UNIT_NAME)
    reload = _systemctl("daemon-reload")
    if not path.exists():
        result.installed = False
        result.say(f"{UNIT_NAME} is not installed ({path} does not exist); nothing to do.")
        return result
    if dry_run:
        result.commands = [disable, reload]
        result.say(f"Would run: {common.show(disable)}")
        result.say(f"Would remove {path}")
        result.say(f"Would run: {common.show(reload)}")
        return result

    outcome = common.run(runner, disable)
    result.commands.append(disable)
    unreachable = outcome.missing or outcome.no_manager
    if outcome.ok:
        result.say(f"Ran: {common.show(disable)}")
    elif not unreachable:
        result.say(f"`{common.show(disable)}` failed: {outcome.message}; removing the unit anyway.")
    if unreachable:
        # Without a manager `disable` may still have dropped the link (it works
        # on files); make sure no dangling link to a removed unit is left.
        _remove_wants_link(path)
    if not common.remove_file(result, path):
        return result

    if unreachable:
        _tell_later(result, outcome, [_systemctl("stop", UNIT_NAME), reload])
        return result
    outcome = common.run(runner, reload)
    result.commands.append(reload)
    if outcome.missing or outcome.no_manager:
        _tell_later(result, outcome, [reload])
    elif not outcome.ok:
        result.fail(f"`{common.show(reload)}` failed: {outcome.message}")
    else:
        result.say(f"Ran: {common.show(reload)}")
    return result


def _query(runner: Runner, result: ServiceResult, *args: str) -> str:
    cmd = _systemctl(*args, UNIT_NAME)
    outcome = common.run(runner, cmd)
    result.commands.append(cmd)
    answer = outcome.stdout.strip()
    # is-enabled / is-active print their answer and exit non-zero for "no".
    if answer and not outcome.missing and not outcome.no_manager:
        return answer.splitlines()[0]
    if outcome.missing:
        return "unknown (systemctl not found)"
    if outcome.no_manager:
        return "unknown (no user service manager)"
    return f"unknown ({outcome.message})"


def status(result: ServiceResult, runner: Runner) -> ServiceResult:
    path = unit_path()
    result.path = path
    content = common.read(path)
    result.installed = content is not None
    if content is None:
        result.say(f"{UNIT_NAME}: not installed ({path} does not exist)")
    else:
        result.say(f"{UNIT_NAME}: installed at {path}")
        for line in content.splitlines():
            if line.startswith("ExecStart="):
                result.say(f"  {line}")
    if content is None:
        return result
    result.enabled = _query(runner, result, "is-enabled")
    result.active = _query(runner, result, "is-active")
    result.command = exec_start(content)
    result.say(f"  enabled: {result.enabled}")
    result.say(f"  active: {result.active}")
    result.linger = linger(runner, result)
    result.say(f"  linger: {result.linger}" + (
        f" (it stops when you log out; {common.show(linger_on())} keeps it)"
        if result.linger == "no" else ""))
    return result


def linger(runner: Runner, result: ServiceResult | None = None) -> str:
    """Whether this user's manager outlives the login session: yes, no or unknown."""
    cmd = ["loginctl", "show-user", str(os.getuid()), "--property=Linger"]
    outcome = common.run(runner, cmd)
    if result is not None:
        result.commands.append(cmd)
    answer = outcome.stdout.strip().removeprefix("Linger=") if outcome.ok else ""
    return answer if answer in ("yes", "no") else "unknown"


def linger_on() -> list[str]:
    """`loginctl enable-linger NAME`: the command that keeps cropd running after logout."""
    import pwd  # POSIX only, as systemd is

    try:
        name = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        name = str(os.getuid())
    return ["loginctl", "enable-linger", name]


def _say_linger(result: ServiceResult, runner: Runner) -> None:
    result.linger = linger(runner, result)
    if result.linger != "yes":
        result.say("A user service stops when you log out (and starts at the next login). "
                   f"To keep cropd running without a login session, run once: "
                   f"{common.show(linger_on())}")


