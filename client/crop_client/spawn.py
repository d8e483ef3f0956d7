"""Starting a daemon when none answers: `cropd --idle-exit 600`, detached.

Two clients starting one at once end up with one daemon: the second daemon
finds the instance lock taken and exits 0. The daemon's own output goes to a
spawn log beside its log, so a daemon that cannot start leaves a reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from crop_progress.paths import daemon_log_path, lock_path, socket_path

IDLE_EXIT = 600
SPAWN_LOG_LIMIT = 1 << 20


def daemon_command(endpoint: str, idle_exit: float | None = IDLE_EXIT) -> list[str]:
    command = [sys.executable, "-m", "cropd", "--endpoint", endpoint]
    if idle_exit is not None:
        command += ["--idle-exit", str(idle_exit)]
    return command


def spawn_log(endpoint: str) -> Path:
    log = daemon_log_path(endpoint)
    return log.with_name(log.stem + "-spawn.log")


def start_daemon(endpoint: str, idle_exit: float | None = IDLE_EXIT) -> subprocess.Popen[bytes]:
    """Start cropd detached from this process's session and terminal."""
    sock = socket_path(endpoint)
    if sock is not None:
        sock.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    log = spawn_log(endpoint)
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.exists() and log.stat().st_size > SPAWN_LOG_LIMIT:
        log.unlink()
    with open(log, "ab") as out:
        return subprocess.Popen(daemon_command(endpoint, idle_exit), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=out, start_new_session=True,
                                close_fds=True, env=os.environ.copy())


def socket_missing(endpoint: str) -> bool:
    sock = socket_path(endpoint)
    return sock is not None and not sock.exists()


def last_words(endpoint: str) -> str:
    """The last line a spawned daemon wrote before it failed, for the error message."""
    try:
        lines = spawn_log(endpoint).read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"


def lock_holder(endpoint: str) -> int | None:
    """The live process named in the instance lock file, if any.

    The daemon writes its pid there while it holds the lock and empties it on
    exit; after a crash the pid stays, so the process is checked. (cropd's own
    `holder_pid` lives in the daemon package, which clients never import.)
    """
    try:
        text = lock_path(endpoint).read_text()
    except OSError:
        return None
    try:
        pid = int(text.strip() or 0)
    except ValueError:
        return None
    return pid if pid > 0 and process_alive(pid) else None


def process_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its parent counts as gone).

    On Linux this reads /proc/<pid>/stat, as psutil would, without importing psutil
    (which costs `cropctl status` a fifth of its start-up); elsewhere psutil tells.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return False
    except OSError:
        pass
    else:
        return stat[stat.rfind(b")") + 2:][:1] not in (b"Z", b"X", b"")
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
