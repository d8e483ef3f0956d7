"""Discover: the work folders of a directory (itself, or its subfolders with images)."""

from __future__ import annotations

from crop_progress.paths import directory_key
from crop_progress.scan import work_directories
from crop_protocol import messages as m
from crop_protocol.errors import ErrorCode
from cropd.restore import check_directory
from cropd.state import Ctx, Refusal, State


def handle(state: State, ctx: Ctx, req: m.Discover) -> m.WorkDirs:
    path = check_directory(req.directory)
    try:
        found = work_directories(path)
    except OSError as exc:
        raise Refusal(ErrorCode.NOT_FOUND, f"cannot read {path}: {exc.strerror}") from None
    return m.WorkDirs(directories=[directory_key(p) for p in found])
