"""Durable writes: the one atomic-write helper, renames, appends' short writes.

Every file the product replaces (progress files, crops and copies, service
units, the window's test state) goes through `atomic_write`: a temporary file
in the same folder, written, fsynced, renamed over the target, the folder
fsynced, so a crash leaves the old file or the new one, never a mix. Kept in
one place so a disk-full or read-only failure can be injected at the exact
point where bytes meet the disk (the fault harness patches `write_all`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_all(fd: int, data: bytes) -> None:
    """`os.write` until every byte is written (short writes happen on full disks)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in `folder` durable; a no-op where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.fsync(fd)
    os.close(fd)


def atomic_write(path: Path, data: bytes | Callable[[BinaryIO], None], *,
                 mode: int | None = 0o644, stat_from: Path | None = None,
                 durable: bool = True) -> None:
    """Replace `path` with `data` (bytes, or a function writing to the open file).

    The temporary file is `.<name>.tmp-XXXXXXXX` in the same folder; it gets
    `mode`, or the mode and times of `stat_from`. On any failure (including
    KeyboardInterrupt) it is removed and `path` is untouched. `durable=False`
    skips the fsyncs (files nothing depends on after a crash).
    """
    folder = Path(path).parent
    fd, tmp = tempfile.mkstemp(prefix=f".{Path(path).name[:200]}.tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
                f.flush()
            else:
                write_all(f.fileno(), data)
            if stat_from is not None:
                shutil.copystat(stat_from, tmp)
            elif mode is not None:
                os.fchmod(f.fileno(), mode)
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(folder)


def rename(src: Path, dest: Path) -> None:
    """Give `src` the name `dest` (replacing it), durably: the folder is fsynced."""
    os.replace(src, dest)
    fsync_dir(Path(dest).parent)
