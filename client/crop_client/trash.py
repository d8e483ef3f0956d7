"""The desktop trash for a crop client: sending files to it, and taking them back out.

Sending is done by the ``send2trash`` library. On Linux and the BSDs (the
freedesktop.org trash) this module also finds where each file went, by reading
the ``.trashinfo`` files of the trash it can have gone to (the home trash
``$XDG_DATA_HOME/Trash``, or a top-directory trash ``$topdir/.Trash/$uid`` or
``$topdir/.Trash-$uid`` of the file's filesystem), so that an undo can move it
back. On macOS and Windows where a file went cannot be known here; an undo of a
delete there raises :class:`TrashError` telling people to restore it themselves.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sys
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote_to_bytes

import send2trash
from send2trash.exceptions import TrashPermissionError

__all__ = ["NOT_POSSIBLE", "TrashError", "can_restore", "restore", "trash"]

NOT_POSSIBLE = (
    "undo of a delete is not possible on this platform: restore it from the Trash yourself"
)

_INFO_SUFFIX = ".trashinfo"


class TrashError(Exception):
    """Sending to or restoring from the trash failed; ``str(error)`` says why.

    ``trashed`` holds, for a failed :func:`trash`, where the files before the
    failing one went (they are in the trash).
    """

    def __init__(self, message: str, trashed: list[str] | None = None) -> None:
        super().__init__(message)
        self.trashed: list[str] = trashed or []


def can_restore() -> bool:
    """True where a trashed file can be found and put back (the freedesktop trash)."""
    return sys.platform not in ("darwin", "win32", "cygwin")


def trash(paths: list[Path]) -> list[str]:
    """Send each file to the trash; return, for each, its path in the trash.

    The returned path is the one under ``.../Trash/files/`` the file now has, or
    ``""`` where that cannot be known (macOS, Windows, or an entry not found).
    Raises :class:`TrashError` on the first file that cannot be trashed.
    """
    results: list[str] = []
    findable = can_restore()
    for path in paths:
        path = Path(path)
        original = _normal(Path(os.path.abspath(path)))
        trashes: list[Path] = []
        before: set[Path] = set()
        _point_send2trash_at_environment()
        if findable:
            trashes = _trash_dirs(original)
            before = _info_files(trashes, original.stem)
        try:
            send2trash.send2trash(os.fspath(path))
        except (OSError, TrashPermissionError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise TrashError(f"cannot move {path} to the trash: {reason}", results) from exc
        results.append(_find(original, trashes, before) if findable else "")
    return results


def restore(original: Path, trashed: str) -> None:
    """Move a file back from the trash to ``original`` and remove its ``.trashinfo``.

    Refuses (:class:`TrashError`) when something already exists at ``original``
    or the trashed file is gone; on macOS and Windows it always refuses.
    """
    if not can_restore():
        raise TrashError(NOT_POSSIBLE)
    original = Path(original)
    if not trashed:
        raise TrashError(
            f"cannot restore {original.name}: where it went in the trash is not known; "
            "restore it from the Trash yourself"
        )
    source = Path(trashed)
    if source.parent.name != "files":
        raise TrashError(f"cannot restore {original.name}: {source} is not in a trash folder")
    info = source.parent.parent / "info" / (source.name + _INFO_SUFFIX)
    if not os.path.lexists(source):
        raise TrashError(f"cannot restore {original.name}: it is no longer in the trash ({source})")
    if os.path.lexists(original):
        raise TrashError(f"cannot restore {original.name}: {original} already exists")
    original.parent.mkdir(parents=True, exist_ok=True)
    _move_without_replacing(source, original)
    with contextlib.suppress(FileNotFoundError):
        info.unlink()


# --------------------------------------------------------------------------- finding


def _point_send2trash_at_environment() -> None:
    """Make send2trash's own freedesktop code use today's ``XDG_DATA_HOME``.

    It reads the variable once, when it is imported; a process whose environment
    changed since (tests, or a launcher setting it late) would otherwise trash
    into one place while this module looks in another.
    """
    module = sys.modules.get("send2trash.plat_other")
    if module is None or not hasattr(module, "HOMETRASH_B"):
        return  # not in use (gio, macOS, Windows): those follow the environment themselves
    data_home = os.fsencode(_data_home())
    home_trash = os.path.join(data_home, b"Trash")
    vars(module).update(
        XDG_DATA_HOME=data_home, HOMETRASH_B=home_trash, HOMETRASH=os.fsdecode(home_trash)
    )


def _data_home() -> Path:
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(os.path.expanduser(value or "~/.local/share"))


def _trash_dirs(original: Path) -> list[Path]:
    """The trash folders a file at ``original`` can go to (existing or not)."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    top = _mount_point(original.parent)
    return [_data_home() / "Trash", top / ".Trash" / str(uid), top / f".Trash-{uid}"]


def _mount_point(path: Path) -> Path:
    path = Path(os.path.realpath(path))
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def _info_files(trashes: list[Path], stem: str) -> set[Path]:
    """The ``.trashinfo`` files of these trashes that may be for a file of this stem."""
    found: set[Path] = set()
    for trash_dir in trashes:
        with contextlib.suppress(OSError), os.scandir(trash_dir / "info") as entries:
            for entry in entries:
                if entry.name.startswith(stem) and entry.name.endswith(_INFO_SUFFIX):
                    found.add(Path(entry.path))
    return found


def _find(original: Path, trashes: list[Path], before: set[Path]) -> str:
    """Where ``original`` went: the newest matching entry, new entries first."""
    best: tuple[bool, datetime, float] | None = None
    where = ""
    for info in _info_files(trashes, original.stem):
        entry = _read_info(info)
        if entry is None or entry[0] != original:
            continue
        files = info.parent.parent / "files" / info.name[: -len(_INFO_SUFFIX)]
        if not os.path.lexists(files):
            continue
        with contextlib.suppress(OSError):
            rank = (info not in before, entry[1], info.stat().st_mtime)
            if best is None or rank > best:
                best, where = rank, str(files)
    return where


def _read_info(info: Path) -> tuple[Path, datetime] | None:
    """(original path, deletion date) from a ``.trashinfo`` file, or None."""
    try:
        text = info.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    path: Path | None = None
    when = datetime.min
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "Path":
            path = Path(os.fsdecode(unquote_to_bytes(value.strip())))
        elif key.strip() == "DeletionDate":
            with contextlib.suppress(ValueError):
                when = datetime.strptime(value.strip(), "%Y-%m-%dT%H:%M:%S")
    if path is None:
        return None
    if not path.is_absolute():
        # Relative to the top directory: the folder holding the trash (or, for
        # $topdir/.Trash/$uid, the one holding .Trash).
        trash_dir = info.parent.parent
        top = trash_dir.parent.parent if trash_dir.parent.name == ".Trash" else trash_dir.parent
        path = top / path
    return _normal(path), when


def _normal(path: Path) -> Path:
    """A path with its folders' symlinks resolved, but not a symlink of the file itself."""
    return Path(os.path.realpath(path.parent)) / path.name


# --------------------------------------------------------------------------- moving back


def _move_without_replacing(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``, never overwriting something that appeared there."""
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise TrashError(f"cannot restore {target.name}: {target} already exists") from None
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise TrashError(f"cannot restore {target.name}: {exc.strerror or exc}") from exc
        # No hard links here (another filesystem, a folder, or no support).
        if os.path.lexists(target):
            raise TrashError(f"cannot restore {target.name}: {target} already exists") from None
        shutil.move(os.fspath(source), os.fspath(target))
    else:
        os.unlink(source)
