"""What both service managers share: the result of an action, finding cropd, loading
a template, running a manager's command with a deadline, writing and removing files.

Exit codes: `EXIT_OK` (0) done, or nothing to do; `EXIT_FAILED` (1) a command failed,
no cropd or template was found, or the platform has no service support;
`EXIT_NO_MANAGER` (2) the file was written (or removed) but no service manager could
be reached, and the commands to run later are in the lines and in `result.later`.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crop_progress import fsio

LABEL = "io.github.crop-progress.cropd"
UNIT_NAME = "cropd.service"
PLIST_NAME = f"{LABEL}.plist"

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

_REPO_TEMPLATES = Path(__file__).resolve().parents[3] / "systemd"

# What systemctl prints when there is no user manager to talk to: a container,
# `su`/ssh without a login session, or a system not booted with systemd.
_NO_MANAGER_HINTS = (
    "failed to connect to",
    "not been booted with systemd",
    "can't operate",
    "xdg_runtime_dir",
)


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

    command: list[str] | None = None
    """The command line the installed file runs (ExecStart= or ProgramArguments)."""
    linger: str | None = None
    """systemd: whether the user manager outlives the login session (yes, no, unknown)."""

    def say(self, line: str = "") -> None:
        self.lines.append(line)

    def to_json(self) -> dict[str, Any]:
        """`cropctl service status --json`: what was found, without the prose."""
        return {"manager": self.manager or None, "file": str(self.path) if self.path else None,
                "installed": self.installed, "enabled": self.enabled, "active": self.active,
                "command": self.command, "linger": self.linger, "exit_code": self.exit_code}

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


def check_words(argv: Sequence[str]) -> None:
    if not argv or not os.path.isabs(argv[0]):
        raise ServiceError(f"cropd's path must be absolute, got {list(argv)!r}.")
    for word in argv:
        if any(ord(ch) < 32 or ch == "\x7f" for ch in word):
            raise ServiceError(f"cropd's path holds a control character: {word!r}.")


# ---------------------------------------------------------------- running commands


def run(runner: Runner, argv: list[str]) -> _Outcome:
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


def show(argv: Sequence[str]) -> str:
    return shlex.join(argv)


def write_file(path: Path, content: str) -> None:
    """Replace `path` atomically: a half-written unit must never be loaded."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fsio.atomic_write(path, content.encode("utf-8"))


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def unsupported(result: ServiceResult, platform: str | None) -> ServiceResult:
    plat = sys.platform if platform is None else platform
    return result.fail(
        f"No user service support on {plat}: clients start cropd on demand, "
        "or run `cropd` yourself."
    )


def remove_file(result: ServiceResult, path: Path) -> bool:
    """Remove the installed unit or agent; False (with the reason said) when it cannot."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        result.fail(f"Could not remove {path}: {exc}")
        return False
    result.installed = False
    result.say(f"Removed {path}")
    return True
