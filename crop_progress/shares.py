"""Where this machine mounts the team's shares, and what a directory on one is called.

`cropctl team share NAME PATH` records that share NAME is mounted at PATH here
(`<user config dir>/crop-progress/shares.json`). A directory under a share is
named `NAME:relative/path/` on every machine, whatever each one's mount point:
that name is its progress file's `directory`, so workstations that mount the
share at different paths share one progress file. Inodes and device numbers
are never used: NFS, SMB and FUSE make them up.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path, PurePosixPath

import msgspec
import platformdirs

from crop_progress import fsio

APP = "crop-progress"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
RECHECK_SECONDS = 1.0  # a long-running daemon notices a new share this soon


class ShareError(ValueError):
    """A share name or path that cannot be used; the message says why in one line."""


def shares_file() -> Path:
    return Path(platformdirs.user_config_dir(APP)) / "shares.json"


def check_name(name: str, what: str = "share name") -> str:
    """A share's (or a team member's) name: what a file name and a key may carry."""
    if not NAME.match(name):
        raise ShareError(f"not a {what}: {name!r} (letters, digits, '.', '_', '-'; "
                         "64 at most; starting with a letter or digit)")
    return name


# (file, when it was last looked at, its size and mtime then, what it said)
_cache: tuple[Path | None, float, tuple[int, int] | None, dict[str, Path]] = (None, 0.0, None, {})


def load(path: Path | None = None) -> dict[str, Path]:
    """This machine's shares: name -> mount point (resolved). Read again when the
    file changes; a missing file is no share, a damaged one is an error."""
    global _cache
    target = path or shares_file()
    cached_file, checked, signature, shares = _cache
    now = time.monotonic()
    if cached_file != target:
        checked, signature = 0.0, None
    elif path is None and now - checked < RECHECK_SECONDS:
        return shares
    try:
        info = target.stat()
        current: tuple[int, int] | None = (info.st_mtime_ns, info.st_size)
    except OSError:
        current = None
    if path is None and current == signature and checked:
        _cache = (target, now, signature, shares)
        return shares
    found: dict[str, Path] = {}
    if current is not None:
        try:
            raw = msgspec.json.decode(target.read_bytes(), type=dict[str, str])
        except (OSError, msgspec.DecodeError) as exc:
            raise ShareError(f"cannot read the share map {target}: {exc}") from None
        found = {check_name(k): Path(v) for k, v in raw.items()}
    if path is None:
        _cache = (target, now, current, found)
    return found


def save(shares: dict[str, Path], path: Path | None = None) -> Path:
    target = path or shares_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    data = msgspec.json.format(msgspec.json.encode({k: str(v) for k, v in
                                                    sorted(shares.items())}))
    fsio.atomic_write(target, data + b"\n", mode=0o644)
    forget_cache()
    return target


def forget_cache() -> None:
    global _cache
    _cache = (None, 0.0, None, {})


def locate(path: Path, shares: dict[str, Path] | None = None) -> tuple[str, str] | None:
    """(share, relative path in POSIX form) of a resolved path, the deepest share
    first; None when the path is on no share of this machine."""
    shares = load() if shares is None else shares
    best: tuple[str, Path] | None = None
    for name, root in shares.items():
        if path.is_relative_to(root) and (best is None or len(root.parts) > len(best[1].parts)):
            best = (name, root)
    if best is None:
        return None
    relative = path.relative_to(best[1])
    return best[0], PurePosixPath(*relative.parts).as_posix() if relative.parts else ""


def key_of(name: str, relative: str) -> str:
    """`NAME:relative/path/`, the directory field of a directory on a share."""
    return f"{name}:{relative.strip('/') + '/' if relative.strip('/') else ''}"


def split_key(key: str) -> tuple[str, str] | None:
    """(share, relative) of a share key; None for an absolute path's key."""
    if key.startswith(os.sep) or ":" not in key:
        return None
    name, _, relative = key.partition(":")
    if not NAME.match(name):
        return None
    return name, relative.strip("/")


def resolve(name: str, relative: str, shares: dict[str, Path] | None = None) -> Path | None:
    """Where (share, relative) is on this machine; None when the share is not mounted here."""
    shares = load() if shares is None else shares
    root = shares.get(name)
    if root is None:
        return None
    parts = [p for p in PurePosixPath(relative).parts if p not in ("", ".")]
    if ".." in parts:
        return None
    return root.joinpath(*parts)
