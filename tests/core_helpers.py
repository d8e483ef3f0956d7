"""Shared helpers of the core tests (`tests/test_core_*.py`).

Environment isolation, audit events by hand, image folders, and the writer the
crash test runs in a subprocess (`python tests/core_helpers.py crash-writer PATH`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent

# 2025-09-25T14:00:00Z, the base of the hand-made event times.
BASE_EPOCH = 1758808800.0
# seconds from BASE_EPOCH to the next UTC midnight (2025-09-26T00:00:00Z)
MIDNIGHT_OFFSET = 36000

ENV_OVERRIDES = ("CROP_PROGRESS_DIR", "CROPD_ENDPOINT")


def isolate_env(monkeypatch, root: Path) -> Path:
    """Point HOME and every XDG_* variable into `root`; drop the crop-progress overrides.

    Returns `root`. Nothing a core test does can then reach the real home.
    """
    root.mkdir(parents=True, exist_ok=True)
    for name in list(os.environ):
        if name.startswith("XDG_"):
            monkeypatch.delenv(name, raising=False)
    for name in ENV_OVERRIDES:
        monkeypatch.delenv(name, raising=False)
    home = root / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_STATE_HOME", "state"),
                     ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache"),
                     ("XDG_RUNTIME_DIR", "runtime")):
        folder = root / sub
        folder.mkdir(exist_ok=True)
        monkeypatch.setenv(var, str(folder))
    (root / "runtime").chmod(0o700)
    monkeypatch.setenv("XDG_DATA_DIRS", str(root / "data-dirs"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(root / "config-dirs"))
    return root


def at(seconds: float) -> str:
    """The ISO stamp `seconds` after BASE_EPOCH, in the daemon's format."""
    from crop_progress.timefmt import epoch_to_iso
    return epoch_to_iso(BASE_EPOCH + seconds)


def ev(op: str, file: str | None = None, t: float = 0.0, directory: str = "/w/d/", **kw):
    """One audit event `t` seconds after BASE_EPOCH."""
    from crop_progress.audit import Event
    return Event(ts=at(t), op=op, directory=directory, file=file, **kw)


def touch_all(folder: Path, names) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).touch()


# -- the crash test's writer -------------------------------------------------

CRASH_DIRECTORY = "/crash/test/"


def crash_state(i: int):
    """The i-th state the writer saves: two recognisable kinds (even/odd) whose
    lists grow with i, so a mix of two writes can never equal any state."""
    from crop_progress.model import FailedFile, Progress, SessionRecord
    kind = "even" if i % 2 == 0 else "odd"
    size = 200 + 37 * i
    completed = [f"{kind}_{k:06d}.png" for k in range(size)]
    return Progress(
        directory=CRASH_DIRECTORY,
        directory_hash=f"{i:064x}",
        total_images=size * 2,
        completed_count=size,
        current_index=size,
        last_processed_file=completed[-1],
        session_count=i,
        completed_files=completed,
        skipped_files=[f"{kind}_skip_{k}.png" for k in range(i % 7)],
        failed_files=[FailedFile(file=f"{kind}_bad.png", reason=f"state {i}")],
        work_seconds=float(i) * 1.5,
        sessions=[SessionRecord(start=f"2025-09-25T10:00:{i % 60:02d}.000Z", images=i)],
        created="2025-09-25T10:00:00.000Z",
        modified=f"state-{i}",
    )


def crash_writer(path: str) -> None:
    """Save states i, i+1, ... forever, starting after the state on disk."""
    from crop_progress.store import read, save
    target = Path(path)
    loaded = read(target)
    i = loaded.progress.session_count + 1 if loaded is not None else 0
    announced = False
    while True:
        save(target, crash_state(i))
        if not announced:
            sys.stdout.write(f"{i}\n")
            sys.stdout.flush()
            announced = True
        i += 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "crash-writer":
        sys.path.insert(0, str(REPO))
        crash_writer(sys.argv[2])
    else:
        sys.exit("usage: core_helpers.py crash-writer PATH")
