"""What several handlers share: finding or loading a directory, and its Summary,
and what a request may name: its progress folder, a tracked directory, the paths
a report records."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import msgspec

from crop_progress import naming
from crop_progress.audit import read_events
from crop_progress.paths import default_output_dir, directory_key
from crop_progress.store import bak_path
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd import restore
from cropd.directory import Directory
from cropd.state import Refusal, State


def summary(directory: Directory) -> m.Summary:
    return msgspec.convert(directory.summary_fields(), m.Summary)


def holders(state: State, directory: Directory) -> list[m.Holder]:
    """Who holds which images of a directory now, the longest list first."""
    now = time.monotonic()
    by_client: dict[str, m.Holder] = {}
    for name in directory.held():
        grant = directory.tracker.grants[name]
        found = by_client.get(grant.client)
        if found is None:
            client = state.clients.get(grant.client)
            found = by_client[grant.client] = m.Holder(
                user=grant.user, host=grant.host, pid=grant.pid,
                program=client.program if client is not None else "", client=grant.client,
                expires_in=round(max(0.0, directory.expires.get(name, now) - now), 1))
        found.files.append(name)
    for found in by_client.values():
        found.files.sort()
    return sorted(by_client.values(), key=lambda h: (-len(h.files), h.user or "", h.pid))


# Folders of the system: never a progress folder, however the daemon runs.
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32",
                "/proc", "/sbin", "/sys", "/usr")
SYSTEM_FOLDERS = ("/", "/home", "/media", "/mnt", "/opt", "/root", "/run", "/srv", "/tmp",
                  "/var", "/var/lib", "/var/tmp")


def progress_dir_of(state: State, requested: str | None) -> Path:
    """The daemon's own progress folder, or a client's `--progress-dir` when it is
    absolute, not a system folder, and a directory the daemon owns (or can make in
    one it owns)."""
    if not requested:
        return state.config.progress_dir
    if not os.path.isabs(requested):
        raise Refusal(ErrorCode.BAD_REQUEST, f"progress dir must be absolute: {requested!r}")
    path = Path(requested).resolve()
    if path == state.config.progress_dir:
        return path
    text = str(path)
    if text in SYSTEM_FOLDERS or any(text == t or text.startswith(t + "/")
                                     for t in SYSTEM_TREES):
        raise Refusal(ErrorCode.BAD_REQUEST,
                      f"{requested} is a system folder, not a progress folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if existing != path and existing == Path(existing.anchor):
        raise Refusal(ErrorCode.BAD_REQUEST,
                      f"progress dir {requested} would be made at the top of the filesystem")
    if not existing.is_dir():
        raise Refusal(ErrorCode.BAD_REQUEST, f"progress dir {requested}: {existing} is not a "
                      "directory")
    if hasattr(os, "getuid") and existing.stat().st_uid != os.getuid():
        raise Refusal(ErrorCode.BAD_REQUEST, f"progress dir {requested}: {existing} belongs to "
                      "another user")
    return path


def check_tracked(state: State, path: Path, progress_dir: Path,
                  output_dir: str | None = None) -> None:
    """Refuse, before anything is read or written, a directory that was never
    tracked: no progress file (nor `.bak`), no journal entry, no output folder."""
    key = directory_key(path)
    if (str(progress_dir), key) in state.dirs:
        return
    found = naming.resolve(progress_dir, path).path
    if found.exists() or bak_path(found).exists():
        return
    out = Path(output_dir).expanduser().resolve() if output_dir else default_output_dir(path)
    if out.is_dir():
        return
    if next(read_events(progress_dir / "audit", directory=key), None) is not None:
        return
    raise Refusal(ErrorCode.UNKNOWN_DIRECTORY,
                  f"{key} was never worked on (no progress file in {progress_dir}, no journal "
                  "entry, no output folder); nothing was written")


# A freedesktop trash: `~/.local/share/Trash/files/`, `$top/.Trash/$uid/files/`,
# `$top/.Trash-$uid/files/`.
_TRASH_FILES = re.compile(r"/(?:Trash|\.Trash/\d+|\.Trash-\d+)/files/[^/]+$")


def check_paths(directory: Directory, report: m.Report) -> None:
    """`dest` and `trashed` of a report: absolute, and in the output folder or a trash."""
    out = directory.output_dir
    for path in [report.dest, *report.trashed]:
        if not path:
            continue
        if not os.path.isabs(path):
            raise Refusal(ErrorCode.BAD_REQUEST, f"not an absolute path: {path!r}")
        normal = os.path.normpath(path)
        if (Path(normal).is_relative_to(out) and Path(normal) != out) \
                or _TRASH_FILES.search(normal):
            continue
        raise Refusal(ErrorCode.BAD_REQUEST,
                      f"{path} is neither in the output folder {out} nor in a trash")


def directory(state: State, path_text: str, progress_text: str | None = None,
              output_dir: str | None = None, *, for_write: bool) -> tuple[Directory, list[str]]:
    """The loaded directory, read again when its file changed behind our back."""
    path = restore.check_directory(path_text)
    progress_dir = progress_dir_of(state, progress_text)
    found = state.dirs.get((str(progress_dir), directory_key(path)))
    if found is not None:
        if found.changed_on_disk() and not found.dirty:
            fresh, notes = restore.reload(state, found)
            return fresh, ["The progress file changed on disk since the daemon wrote it; "
                           "read it again", *notes]
        if for_write and found.read_only:  # loaded for a read: now load it as its writer
            return restore.load_for(state, found, output_dir)
        if output_dir and for_write:
            found.output_dir = Path(output_dir).expanduser().resolve()
        return found, []
    loaded, messages = restore.load(state, path, progress_dir, output_dir, for_write=for_write)
    state.dirs[loaded.ident] = loaded  # a read (Show) loads it once too; unloaded when idle
    return loaded, messages


def tracked_directory(state: State, path_text: str, progress_text: str | None = None,
                      output_dir: str | None = None, *,
                      for_write: bool) -> tuple[Directory, list[str]]:
    """`directory`, for requests that only make sense on a directory tracked before
    (Show, Reset, Rebuild): UNKNOWN_DIRECTORY, with nothing written, otherwise."""
    check_tracked(state, restore.check_directory(path_text),
                  progress_dir_of(state, progress_text), output_dir)
    return directory(state, path_text, progress_text, output_dir, for_write=for_write)


def check_name(directory: Directory, name: str) -> None:
    """A request may name only a file directly inside the directory."""
    if (not name or "/" in name or "\\" in name or name in (".", "..")
            or os.path.basename(name) != name):
        raise Refusal(ErrorCode.BAD_REQUEST, f"not a file name inside the directory: {name!r}")
    if directory.tracker.index(name) is not None:
        return  # one of its images (the scan never admits a link out of the folder)
    path = directory.path / name
    if path.is_symlink() and path.resolve().parent != directory.path:
        raise Refusal(ErrorCode.BAD_REQUEST, f"{name} is a link to outside the directory")
    if not path.is_file():
        raise Refusal(ErrorCode.NOT_FOUND, f"{name} is not an image of {directory.key}")
