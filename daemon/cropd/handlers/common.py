"""What several handlers share: finding or loading a directory, and its Summary."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from crop_progress.paths import directory_key
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd import restore
from cropd.directory import Directory
from cropd.state import Refusal, State


def summary(directory: Directory) -> m.Summary:
    return msgspec.convert(directory.summary_fields(), m.Summary)


def progress_dir_of(state: State, requested: str | None) -> Path:
    if not requested:
        return state.config.progress_dir
    if not os.path.isabs(requested):
        raise Refusal(ErrorCode.BAD_REQUEST, f"progress dir must be absolute: {requested!r}")
    return Path(requested).resolve()


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
