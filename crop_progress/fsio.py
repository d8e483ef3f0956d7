"""Low-level durable writes shared by the store and the audit log.

Kept in one place so a disk-full or read-only failure can be injected at the
exact point where bytes meet the disk (the fault harness patches `write_all`).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


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


def rename(src: Path, dest: Path) -> None:
    """Give `src` the name `dest` (replacing it), durably: the folder is fsynced."""
    os.replace(src, dest)
    fsync_dir(Path(dest).parent)
