"""What killed clients left in an output folder: finished or removed at Open.

A client writes each output as `.<file>.<token>.part` and renames it after the
daemon acknowledged the report. A part whose outcome the journal holds under
its token is finished (renamed); one whose lease is still good (a window that
is working, or frozen, on it) is left alone; every other one is removed. So no
half-done file stays where a client would deliver it.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re

from crop_progress import fsio
from crop_progress.tracker import COMPLETED
from cropd.directory import Directory

log = logging.getLogger("cropd")
_PART = re.compile(r"^\.(?P<file>.+)\.(?P<token>\d+)\.part$")
_PART_TEMP = re.compile(r"^\.\.(?P<file>.+)\.(?P<token>\d+)\.part\.tmp-")


def discard(directory: Directory, image: str, token: int) -> None:
    """A lease was replaced: what its holder wrote under that token can never count."""
    for name in (image, *directory.companions(image)):
        part = directory.output_dir / f".{name}.{token}.part"
        # and the temporary file of a write of that part that was cut short
        for path in [part, *directory.output_dir.glob(f".{glob.escape(part.name)}.tmp-*")]:
            try:
                path.unlink()
                log.info("removed %s: its lease went to another window", path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("cannot remove %s: %s", path, exc)


def settle(directory: Directory) -> list[str]:
    """Finish or remove the parts in the directory's output folder; says what it did."""
    tracker = directory.tracker
    owner = {g.token: g.file for g in tracker.grants.values()}
    owner.update((token, name) for name, token in tracker.recent.items())
    finished = removed = 0
    try:
        entries = [e.name for e in os.scandir(directory.output_dir)
                   if e.name.startswith(".") and e.is_file(follow_symlinks=False)]
    except OSError:
        return []
    for name in entries:
        match = _PART.match(name) or _PART_TEMP.match(name)
        if match is None:
            continue
        token, final = int(match["token"]), match["file"]
        image = owner.get(token, final)
        held = tracker.grants.get(image)
        if held is not None and held.token == token:
            continue  # its lease is still good: the window may yet report it
        path = directory.output_dir / name
        acked = tracker.recent.get(image)
        done = tracker.status(image) == COMPLETED
        target = directory.output_dir / final
        if match.re is _PART and done and (acked == token or (acked is None
                                            and not target.exists())):
            try:
                fsio.rename(path, target)
                finished += 1
                continue
            except OSError as exc:
                log.warning("cannot finish %s: %s", path, exc)
        with contextlib.suppress(FileNotFoundError):
            try:
                path.unlink()
                removed += 1
            except OSError as exc:
                log.warning("cannot remove %s: %s", path, exc)
    notes = []
    if finished:
        notes.append(f"{finished} output(s) a stopped window had written were finished")
    if removed:
        notes.append(f"{removed} unacknowledged output(s) a stopped window left were removed")
    return notes
