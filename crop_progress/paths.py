"""Every location of SPEC.md "Where things live", honouring XDG_*, HOME and overrides.

Progress files, the audit log, the daemon endpoint with its lock and log, and
the default output directory of a work directory. Nothing here creates a file
except the private runtime folder the endpoint needs.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import platformdirs


def _sha256_hex(data: bytes) -> str:
    import hashlib  # here, as tempfile below: `cropctl status` starts faster without them

    return hashlib.sha256(data).hexdigest()


def _tempdir() -> str:
    import tempfile

    return tempfile.gettempdir()


APP = "crop-progress"
PROGRESS_ENV = "CROP_PROGRESS_DIR"
ENDPOINT_ENV = "CROPD_ENDPOINT"
SOCKET_NAME = "cropd.sock"
# sun_path holds 108 bytes on Linux and 104 on the BSDs/macOS, NUL included.
IPC_PATH_LIMIT = 107 if sys.platform.startswith("linux") else 103


class RuntimeDirError(RuntimeError):
    """The private runtime folder exists but is not safely ours."""


def progress_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """`--progress-dir`, else `$CROP_PROGRESS_DIR`, else user_data_dir/crop_progress."""
    if override:
        return Path(override).expanduser().resolve()
    env = os.environ.get(PROGRESS_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return Path(platformdirs.user_data_dir(APP)) / "crop_progress"


def audit_dir(progress: Path) -> Path:
    return progress / "audit"


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP))


def trash_home() -> Path:
    """The freedesktop trash of this user (where `send2trash` puts home files)."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "Trash"


def _ensure_private_dir(path: Path) -> Path:
    """Make `path` a 0700 folder owned by us, refusing one someone else controls."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.lstat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise RuntimeDirError(f"{path} belongs to another user; refusing to use it")
    if info.st_mode & 0o077:
        path.chmod(0o700)
    return path


def runtime_dir() -> Path:
    """`$XDG_RUNTIME_DIR/crop-progress` (0700), or a private folder in the temp dir."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and Path(base).is_dir():
        return _ensure_private_dir(Path(base) / APP)
    uid = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    return _ensure_private_dir(Path(_tempdir()) / f"{APP}-{uid}")


def _short_socket_path(long_path: Path) -> Path:
    """A stable, short stand-in for an ipc path over the AF_UNIX limit."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    digest = _sha256_hex(str(long_path).encode())[:16]
    folder = _ensure_private_dir(Path("/tmp") / f"{APP}-{uid}")
    return folder / f"{digest}.sock"


def ipc_endpoint(socket: Path) -> str:
    """`ipc://` endpoint for a socket path, shortened when the path is too long."""
    if len(os.fsencode(str(socket))) > IPC_PATH_LIMIT:
        socket = _short_socket_path(socket)
    return f"ipc://{socket}"


def default_endpoint() -> str:
    """`$CROPD_ENDPOINT`, else `ipc://$XDG_RUNTIME_DIR/crop-progress/cropd.sock`."""
    env = os.environ.get(ENDPOINT_ENV)
    if env:
        return env
    return ipc_endpoint(runtime_dir() / SOCKET_NAME)


def socket_path(endpoint: str) -> Path | None:
    """The filesystem path of an `ipc://` endpoint, None for other transports."""
    if endpoint.startswith("ipc://"):
        return Path(endpoint[len("ipc://"):])
    return None


def events_endpoint(endpoint: str) -> str:
    """The daemon's event feed beside its endpoint: `cropd.events.sock` beside
    `cropd.sock`; for tcp://HOST:PORT, a port of HOST that the OS picks (the daemon
    advertises the one it got in `Welcome` and `Status`)."""
    sock = socket_path(endpoint)
    if sock is not None:
        return ipc_endpoint(sock.with_name(sock.stem + ".events.sock"))
    head, sep, _port = endpoint.rpartition(":")
    if endpoint.startswith("tcp://") and sep:
        return f"{head}:*"
    return "inproc://cropd-events-" + _sha256_hex(endpoint.encode())[:16]


def lock_path(endpoint: str) -> Path:
    """`cropd.lock` beside the socket (`<stem>.lock` for other socket names)."""
    sock = socket_path(endpoint)
    if sock is not None:
        return sock.with_name(sock.stem + ".lock")
    digest = _sha256_hex(endpoint.encode())[:16]
    return runtime_dir() / f"cropd-{digest}.lock"


def daemon_log_path(endpoint: str) -> Path:
    """The daemon's log: user_log_dir for the default endpoint, else beside the socket."""
    sock = socket_path(endpoint)
    if endpoint == default_endpoint() and not os.environ.get(ENDPOINT_ENV):
        return log_dir() / "cropd.log"
    if sock is not None:
        return sock.with_name(sock.stem + ".log")
    return log_dir() / f"cropd-{_sha256_hex(endpoint.encode())[:16]}.log"


def default_output_dir(work_dir: Path) -> Path:
    """The sibling `<parent>/<name>_cropped/` of a work directory."""
    work_dir = Path(work_dir)
    return work_dir.parent / f"{work_dir.name}_cropped"


def canonical_directory(path: str | os.PathLike[str]) -> Path:
    """One directory, however spelled: relative, `./x/`, trailing slash, symlink."""
    return Path(path).expanduser().resolve()


def directory_key(path: Path) -> str:
    """The `directory` field: `SHARE:relative/path/` for a directory on one of this
    machine's team shares (`crop_progress.shares`), else the resolved absolute path
    with a trailing `/`."""
    from crop_progress import shares  # here: most runs have no share map to read

    found = shares.locate(Path(path))
    if found is not None:
        return shares.key_of(*found)
    text = str(path)
    return text if text.endswith(os.sep) else text + os.sep


def client_endpoint() -> str:
    """The daemon a client talks to: `$CROPD_ENDPOINT`, else the team daemon this
    user joined (`cropctl team join`), else the local default endpoint."""
    if os.environ.get(ENDPOINT_ENV):
        return os.environ[ENDPOINT_ENV]
    from crop_progress import team_files

    joined = team_files.joined()
    return joined.endpoint if joined is not None else default_endpoint()


def unsafe_progress_file(path: Path) -> str | None:
    """Why `path` (a progress file, or its `.bak`) cannot be written in place, or None.

    A symbolic link would be replaced by a regular file on the next save, leaving
    its target stale; a directory or a device cannot be replaced at all. Both are
    refused with this one line rather than followed.
    """
    for candidate in (path, path.with_name(path.name + ".bak")):
        try:
            info = candidate.lstat()
        except OSError:
            continue
        if stat.S_ISLNK(info.st_mode):
            return (f"{candidate} is a symbolic link (to {os.readlink(candidate)}); progress "
                    "files are written as regular files only: put the file itself there")
        if stat.S_ISDIR(info.st_mode):
            return f"{candidate} is a directory, not a progress file: move it out of the way"
        if not stat.S_ISREG(info.st_mode):
            return f"{candidate} is not a regular file: move it out of the way"
    return None
