"""Install, remove and inspect cropd as a user service (`cropctl service ...`).

On Linux this is the systemd user unit `cropd.service`, written to
`$XDG_CONFIG_HOME/systemd/user/` and driven with `systemctl --user`; on macOS
the launchd agent `io.github.crop-progress.cropd`, written to
`~/Library/LaunchAgents/` and driven with `launchctl`. The templates are
`systemd/cropd.service` and `systemd/io.github.crop-progress.cropd.plist` of
the repository; a wheel carries them as `crop_client/service_files/`.

Every action returns a `ServiceResult` (lines to print, an exit code, and
what was written and run) and never raises for a missing or unreachable
service manager: the CLI prints `result.lines` and exits with
`result.exit_code`. The command runner (`subprocess.run` by default), the
platform and the uid are parameters, so tests fake systemctl and launchctl
and exercise the macOS path on Linux.

Exit codes: `EXIT_OK` (0) done, or nothing to do; `EXIT_FAILED` (1) a
command failed, no cropd or template was found, or the platform has no
service support; `EXIT_NO_MANAGER` (2) the file was written (or removed) but
no service manager could be reached, and the commands to run later are in
the lines and in `result.later`.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

LABEL = "io.github.crop-progress.cropd"
UNIT_NAME = "cropd.service"
PLIST_NAME = f"{LABEL}.plist"
CROPD_TOKEN = "@CROPD@"
LOGFILE_TOKEN = "@LOGFILE@"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NO_MANAGER = 2

SYSTEMD = "systemd"
LAUNCHD = "launchd"

COMMAND_TIMEOUT = 60.0

Runner = Callable[..., subprocess.CompletedProcess[str]]
"""Called as `runner(argv, capture_output=True, text=True, check=False, timeout=...)`."""

DaemonProbe = Callable[[], str | None]
"""Answers whether a cropd answers on the endpoint, as one line to print (or None)."""

_REPO_TEMPLATES = Path(__file__).resolve().parents[2] / "systemd"

# What systemctl prints when there is no user manager to talk to: a container,
# `su`/ssh without a login session, or a system not booted with systemd.
_NO_MANAGER_HINTS = (
    "failed to connect to",
    "not been booted with systemd",
    "can't operate",
    "xdg_runtime_dir",
)

# Characters that need no quoting in a systemd command line.
_SYSTEMD_PLAIN = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")


class ServiceError(Exception):
    """A problem the user must fix (no cropd found, template missing or damaged)."""


@dataclass
class ServiceResult:
    """What an action did or would do, and what to tell the user."""

    lines: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK
    manager: str = ""
    """`systemd`, `launchd`, or empty on a platform without service support."""
    path: Path | None = None
    """The unit or plist file this platform uses (written, removed or looked at)."""
    content: str | None = None
    """The file content written, or that would be written with --dry-run."""
    commands: list[list[str]] = field(default_factory=list)
    """Commands run, in order (with --dry-run: the commands that would run)."""
    later: list[list[str]] = field(default_factory=list)
    """Commands the user should run later, when the service manager was not usable."""
    installed: bool | None = None
    enabled: str | None = None
    """systemd: `is-enabled` answer; launchd: `loaded` / `not loaded`."""
    active: str | None = None
    """systemd: `is-active` answer; launchd: the job's state."""
    daemon: str | None = None
    """status only: the daemon probe's answer, when a probe was given."""

    def say(self, line: str = "") -> None:
        self.lines.append(line)

    def fail(self, line: str, code: int = EXIT_FAILED) -> ServiceResult:
        self.lines.append(line)
        self.exit_code = max(self.exit_code, code)
        return self


@dataclass
class _Outcome:
    ok: bool
    returncode: int | None
    stdout: str
    stderr: str
    missing: bool = False
    no_manager: bool = False

    @property
    def message(self) -> str:
        text = (self.stderr or self.stdout).strip()
        return text.splitlines()[-1] if text else f"exit status {self.returncode}"


# ---------------------------------------------------------------- locating things


def manager_for(platform: str | None = None) -> str:
    """The service manager of a platform (`sys.platform` spelling): systemd, launchd or ''."""
    plat = sys.platform if platform is None else platform
    if plat.startswith("linux"):
        return SYSTEMD
    if plat == "darwin":
        return LAUNCHD
    return ""


def find_cropd(
    *,
    executable: str | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> list[str]:
    """The command that runs the installed cropd, as absolute argv words.

    The `cropd` script beside the running Python comes first: it belongs to the
    same installation as this cropctl, where a `cropd` found on PATH may be
    another one (an older venv, a pipx copy). Then PATH; then `python -m cropd`.
    Paths are made absolute but symlinks are kept, so a venv or pipx link
    survives upgrades of what it points to.
    """
    exe = sys.executable if executable is None else executable
    if exe:
        beside = Path(exe).parent / "cropd"
        if beside.is_file() and os.access(beside, os.X_OK):
            return [os.path.abspath(beside)]
    found = which("cropd")
    if found:
        return [os.path.abspath(found)]
    if exe:
        return [os.path.abspath(exe), "-m", "cropd"]
    raise ServiceError("cropd was not found: no cropd on PATH and no Python to run `-m cropd`.")


def unit_path() -> Path:
    """`$XDG_CONFIG_HOME/systemd/user/cropd.service` (XDG_CONFIG_HOME defaults to ~/.config)."""
    config = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(config) if config and os.path.isabs(config) else Path.home() / ".config"
    return base / "systemd" / "user" / UNIT_NAME


def plist_path() -> Path:
    """`~/Library/LaunchAgents/io.github.crop-progress.cropd.plist`."""
    return Path.home() / "Library" / "LaunchAgents" / PLIST_NAME


def launchd_log_path() -> Path:
    """Where launchd sends cropd's stdout and stderr (platformdirs' macOS log dir)."""
    return Path.home() / "Library" / "Logs" / "crop-progress" / "cropd.launchd.log"


# ---------------------------------------------------------------- templates


def load_template(name: str) -> str:
    """A template's text: from the installed package, else from the repo's `systemd/`.

    A wheel carries the templates as `crop_client/service_files/` (hatch
    force-include). An editable install puts `client/` on sys.path, so
    `crop_client` is the source folder, which has no `service_files`; there the
    repository's own `systemd/` folder is read.
    """
    packaged = importlib.resources.files("crop_client") / "service_files" / name
    with contextlib.suppress(OSError):
        if packaged.is_file():
            return packaged.read_text(encoding="utf-8")
    repo = _REPO_TEMPLATES / name
    try:
        return repo.read_text(encoding="utf-8")
    except OSError as exc:
        raise ServiceError(
            f"the service template {name} is missing from this installation ({exc.strerror})."
        ) from None


def _check_words(argv: Sequence[str]) -> None:
    if not argv or not os.path.isabs(argv[0]):
        raise ServiceError(f"cropd's path must be absolute, got {list(argv)!r}.")
    for word in argv:
        if any(ord(ch) < 32 or ch == "\x7f" for ch in word):
            raise ServiceError(f"cropd's path holds a control character: {word!r}.")


def _systemd_word(word: str, *, first: bool) -> str:
    # `%` starts a specifier everywhere on the line; `$` starts a variable in
    # the arguments only (the executable path is taken as it is).
    text = word.replace("%", "%%")
    if not first:
        text = text.replace("$", "$$")
    if _SYSTEMD_PLAIN.fullmatch(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _no_token_left(text: str) -> str:
    for token in (CROPD_TOKEN, LOGFILE_TOKEN):
        if token in text:
            raise ServiceError(f"a service template still holds {token} where it was not expected.")
    return text


def systemd_command_line(argv: Sequence[str]) -> str:
    """argv as the value of a systemd `ExecStart=`, quoted and escaped."""
    _check_words(argv)
    return " ".join(_systemd_word(w, first=i == 0) for i, w in enumerate(argv))


def render_unit(cropd: Sequence[str]) -> str:
    """The user unit with `ExecStart=` running `cropd` (argv words, absolute path first)."""
    template = load_template(UNIT_NAME)
    line = f"ExecStart={CROPD_TOKEN}"
    if template.count(line) != 1:
        raise ServiceError(f"the template {UNIT_NAME} has no single `{line}` line.")
    return _no_token_left(template.replace(line, f"ExecStart={systemd_command_line(cropd)}"))


def render_plist(cropd: Sequence[str], log_path: Path) -> str:
    """The launchd agent with ProgramArguments `cropd` and its output to `log_path`."""
    _check_words(cropd)
    template = load_template(PLIST_NAME)
    match = re.search(rf"^([ \t]*)<string>{CROPD_TOKEN}</string>[ \t]*$", template, re.M)
    if match is None or LOGFILE_TOKEN not in template:
        raise ServiceError(f"the template {PLIST_NAME} lacks {CROPD_TOKEN} or {LOGFILE_TOKEN}.")
    indent = match.group(1)
    words = "\n".join(f"{indent}<string>{xml_escape(w)}</string>" for w in cropd)
    text = template[: match.start()] + words + template[match.end() :]
    text = _no_token_left(text.replace(LOGFILE_TOKEN, xml_escape(str(log_path))))
    try:
        plistlib.loads(text.encode("utf-8"))
    except Exception as exc:  # a damaged template must not reach launchd
        raise ServiceError(f"the rendered {PLIST_NAME} is not a valid plist: {exc}") from None
    return text


# ---------------------------------------------------------------- running commands


def _run(runner: Runner, argv: list[str]) -> _Outcome:
    try:
        proc = runner(argv, capture_output=True, text=True, check=False, timeout=COMMAND_TIMEOUT)
    except FileNotFoundError:
        return _Outcome(False, None, "", f"{argv[0]} was not found", missing=True)
    except subprocess.TimeoutExpired:
        return _Outcome(False, None, "", f"{argv[0]} did not answer in {COMMAND_TIMEOUT:.0f} s")
    except OSError as exc:
        return _Outcome(False, None, "", f"{argv[0]} could not run: {exc}")
    out = proc.stdout if isinstance(proc.stdout, str) else ""
    err = proc.stderr if isinstance(proc.stderr, str) else ""
    no_manager = proc.returncode != 0 and any(h in err.lower() for h in _NO_MANAGER_HINTS)
    return _Outcome(proc.returncode == 0, proc.returncode, out, err, no_manager=no_manager)


def _show(argv: Sequence[str]) -> str:
    return shlex.join(argv)


def _write_file(path: Path, content: str) -> None:
    """Replace `path` atomically: a half-written unit must never be loaded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def _unsupported(result: ServiceResult, platform: str | None) -> ServiceResult:
    plat = sys.platform if platform is None else platform
    return result.fail(
        f"No user service support on {plat}: clients start cropd on demand, "
        "or run `cropd` yourself."
    )


# ---------------------------------------------------------------- systemd


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
        result.say(f"  {_show(cmd)}")
    result.exit_code = max(result.exit_code, EXIT_NO_MANAGER)


def _install_systemd(
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
        result.lines.extend(f"  {_show(cmd)}" for cmd in commands)
        return result

    previous = _read(path)
    try:
        _write_file(path, content)
    except OSError as exc:
        return result.fail(f"Could not write {path}: {exc}")
    result.installed = True
    result.say(f"Wrote {path}")
    result.say(f"  ExecStart={systemd_command_line(cropd)}")

    for i, cmd in enumerate(commands):
        outcome = _run(runner, cmd)
        result.commands.append(cmd)
        if outcome.missing or outcome.no_manager:
            result.say("The unit file stays in place; the service is not enabled yet.")
            _tell_later(result, outcome, commands[i:])
            result.say("Until then, clients start cropd on demand.")
            return result
        if not outcome.ok:
            result.fail(f"`{_show(cmd)}` failed: {outcome.message}")
            result.later = commands[i:]
            result.say(
                f"See `systemctl --user status {UNIT_NAME}` and `journalctl --user -u {UNIT_NAME}`."
            )
            return result
        result.say(f"Ran: {_show(cmd)}")
    result.enabled, result.active = "enabled", "active"
    result.say(f"{UNIT_NAME} is enabled and started; it starts again at each login.")
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


def _uninstall_systemd(result: ServiceResult, dry_run: bool, runner: Runner) -> ServiceResult:
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
        result.say(f"Would run: {_show(disable)}")
        result.say(f"Would remove {path}")
        result.say(f"Would run: {_show(reload)}")
        return result

    outcome = _run(runner, disable)
    result.commands.append(disable)
    unreachable = outcome.missing or outcome.no_manager
    if outcome.ok:
        result.say(f"Ran: {_show(disable)}")
    elif not unreachable:
        result.say(f"`{_show(disable)}` failed: {outcome.message}; removing the unit anyway.")
    if unreachable:
        # Without a manager `disable` may still have dropped the link (it works
        # on files); make sure no dangling link to a removed unit is left.
        _remove_wants_link(path)
    if not _remove_file(result, path):
        return result

    if unreachable:
        _tell_later(result, outcome, [_systemctl("stop", UNIT_NAME), reload])
        return result
    outcome = _run(runner, reload)
    result.commands.append(reload)
    if outcome.missing or outcome.no_manager:
        _tell_later(result, outcome, [reload])
    elif not outcome.ok:
        result.fail(f"`{_show(reload)}` failed: {outcome.message}")
    else:
        result.say(f"Ran: {_show(reload)}")
    return result


def _query(runner: Runner, result: ServiceResult, *args: str) -> str:
    cmd = _systemctl(*args, UNIT_NAME)
    outcome = _run(runner, cmd)
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


def _status_systemd(result: ServiceResult, runner: Runner) -> ServiceResult:
    path = unit_path()
    result.path = path
    content = _read(path)
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
    result.say(f"  enabled: {result.enabled}")
    result.say(f"  active: {result.active}")
    return result


# ---------------------------------------------------------------- launchd


def _domain(uid: int | None) -> str:
    return f"gui/{os.getuid() if uid is None else uid}"


def _install_launchd(
    result: ServiceResult, cropd: list[str], dry_run: bool, runner: Runner, uid: int | None
) -> ServiceResult:
    path = plist_path()
    log_path = launchd_log_path()
    content = render_plist(cropd, log_path)
    domain = _domain(uid)
    bootout = ["launchctl", "bootout", f"{domain}/{LABEL}"]
    bootstrap = ["launchctl", "bootstrap", domain, str(path)]
    # A loaded agent must be booted out before bootstrap takes the new plist.
    reinstall = path.exists()
    result.path, result.content = path, content
    if dry_run:
        result.commands = [bootout, bootstrap] if reinstall else [bootstrap]
        result.say(f"Would write {path}:")
        result.lines.extend(content.rstrip("\n").splitlines())
        result.say("Would run:")
        if reinstall:
            result.say(f"  {_show(bootout)}    (already installed: unload the old one)")
        result.say(f"  {_show(bootstrap)}")
        return result

    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)  # launchd does not make it
        _write_file(path, content)
    except OSError as exc:
        return result.fail(f"Could not write {path}: {exc}")
    result.installed = True
    result.say(f"Wrote {path}")
    if reinstall:
        _run(runner, bootout)  # fails harmlessly when it was not loaded
        result.commands.append(bootout)
    outcome = _run(runner, bootstrap)
    result.commands.append(bootstrap)
    if outcome.missing:
        result.say("launchctl was not found; the agent file stays in place.")
        result.later = [bootstrap]
        result.say("To load it, run:")
        result.say(f"  {_show(bootstrap)}")
        result.exit_code = EXIT_NO_MANAGER
        return result
    if not outcome.ok:
        result.later = [bootstrap]
        result.fail(f"`{_show(bootstrap)}` failed: {outcome.message}")
        result.say("The agent file stays in place: it loads at next login, or run that again.")
        return result
    result.say(f"Ran: {_show(bootstrap)}")
    result.enabled, result.active = "loaded", "running"
    result.say(f"{LABEL} is loaded; it starts at each login. Output goes to {log_path}.")
    return result


def _uninstall_launchd(
    result: ServiceResult, dry_run: bool, runner: Runner, uid: int | None
) -> ServiceResult:
    path = plist_path()
    result.path = path
    bootout = ["launchctl", "bootout", f"{_domain(uid)}/{LABEL}"]
    if not path.exists():
        result.installed = False
        result.say(f"{LABEL} is not installed ({path} does not exist); nothing to do.")
        return result
    if dry_run:
        result.commands = [bootout]
        result.say(f"Would run: {_show(bootout)}")
        result.say(f"Would remove {path}")
        return result
    outcome = _run(runner, bootout)
    result.commands.append(bootout)
    if outcome.ok:
        result.say(f"Ran: {_show(bootout)}")
    elif outcome.missing:
        result.later = [bootout]
        result.exit_code = EXIT_NO_MANAGER
        result.say(f"launchctl was not found; if the agent is loaded, run: {_show(bootout)}")
    else:
        result.say(f"`{_show(bootout)}`: {outcome.message} (it was probably not loaded)")
    if not _remove_file(result, path):
        return result
    return result


def _status_launchd(result: ServiceResult, runner: Runner, uid: int | None) -> ServiceResult:
    path = plist_path()
    result.path = path
    result.installed = path.exists()
    where = "installed at" if result.installed else "not installed; no"
    result.say(f"{LABEL}: {where} {path}")
    cmd = ["launchctl", "print", f"{_domain(uid)}/{LABEL}"]
    outcome = _run(runner, cmd)
    result.commands.append(cmd)
    if outcome.missing:
        result.enabled = result.active = "unknown (launchctl not found)"
    elif not outcome.ok:
        result.enabled, result.active = "not loaded", "inactive"
    else:
        result.enabled = "loaded"
        state = re.search(r"^\s*state = (.+)$", outcome.stdout, re.M)
        pid = re.search(r"^\s*pid = (\d+)", outcome.stdout, re.M)
        result.active = state.group(1).strip() if state else "unknown"
        if pid:
            result.active += f" (pid {pid.group(1)})"
    result.say(f"  loaded: {result.enabled}")
    result.say(f"  state: {result.active}")
    return result


# ---------------------------------------------------------------- the three actions


def install(
    *,
    dry_run: bool = False,
    platform: str | None = None,
    runner: Runner = subprocess.run,
    cropd: Sequence[str] | None = None,
    uid: int | None = None,
) -> ServiceResult:
    """Write this platform's service file for the installed cropd and enable it.

    `cropd` overrides `find_cropd()` (argv words, absolute path first). With
    `dry_run`, nothing is written or run: `lines`, `content` and `commands`
    say what would be.
    """
    result = ServiceResult(manager=manager_for(platform))
    if not result.manager:
        return _unsupported(result, platform)
    try:
        argv = list(cropd) if cropd is not None else find_cropd()
        if result.manager == SYSTEMD:
            return _install_systemd(result, argv, dry_run, runner)
        return _install_launchd(result, argv, dry_run, runner, uid)
    except ServiceError as exc:
        return result.fail(str(exc))


def uninstall(
    *,
    dry_run: bool = False,
    platform: str | None = None,
    runner: Runner = subprocess.run,
    uid: int | None = None,
) -> ServiceResult:
    """Stop and disable the service and remove its file (nothing to do if absent)."""
    result = ServiceResult(manager=manager_for(platform))
    if not result.manager:
        return _unsupported(result, platform)
    if result.manager == SYSTEMD:
        return _uninstall_systemd(result, dry_run, runner)
    return _uninstall_launchd(result, dry_run, runner, uid)


def status(
    *,
    dry_run: bool = False,
    platform: str | None = None,
    runner: Runner = subprocess.run,
    uid: int | None = None,
    probe: DaemonProbe | None = None,
) -> ServiceResult:
    """Whether the service file is installed, and whether it is enabled and active.

    Changes nothing (`dry_run` is accepted for a uniform signature and
    ignored). `probe`, when given, says whether a cropd answers; its line is
    added and kept in `result.daemon`. The exit code is 0 whenever the
    question could be asked, installed or not.
    """
    del dry_run
    result = ServiceResult(manager=manager_for(platform))
    if not result.manager:
        _unsupported(result, platform)
    elif result.manager == SYSTEMD:
        _status_systemd(result, runner)
    else:
        _status_launchd(result, runner, uid)
    if probe is not None:
        try:
            result.daemon = probe()
        except Exception as exc:  # the probe is someone else's code: report, don't crash
            result.daemon = f"daemon: could not tell ({exc})"
        if result.daemon:
            result.say(result.daemon)
    return result


def _remove_file(result: ServiceResult, path: Path) -> bool:
    """Remove the installed unit or agent; False (with the reason said) when it cannot."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        result.fail(f"Could not remove {path}: {exc}")
        return False
    result.installed = False
    result.say(f"Removed {path}")
    return True
