"""cropd SIGKILLed at random moments while four windows work a directory; in the
second form, windows are SIGKILLed (and replaced) too.

The checker counts what the clients did, not what the daemon logged: every
window prints one line per acknowledged report, so an image acknowledged to
two windows is an image done twice. Each window crops to another aspect, so
an output overwritten by a window that lost its lease shows in its size. After
each round: 0 images done by two windows, 0 acknowledged outcomes lost (every
reader replays the journal after the checkpoint), every output of the size
its acknowledged window made, 0 stray files, every progress file parsed after
every kill. 20 kills in CI, 200 with --long.
"""

from __future__ import annotations

import collections
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import make_images
from PIL import Image
from procs import ACKED, kill_daemon, multicrop, outcomes, record, stop_daemon

from crop_progress import model

IMAGES_PER_ROUND = 120
SIZE = (320, 240)
# One aspect per window: the output's size tells which window wrote it.
ASPECTS = ("1:1", "4:3", "16:9", "3:2")
OUT_SIZE = {"1:1": (240, 240), "4:3": (320, 240), "16:9": (320, 180), "3:2": (320, 213)}


class Round:
    """Four windows on one directory, and what each of them was told."""

    def __init__(self, work: Path, rng: random.Random) -> None:
        self.work = work
        self.rng = rng
        self.windows: list[tuple[str, subprocess.Popen[str]]] = []
        self.finished: list[tuple[str, str, str, int | None]] = []  # aspect, out, err, rc
        for aspect in ASPECTS:
            self.start(aspect)

    def start(self, aspect: str) -> None:
        self.windows.append((aspect, multicrop(str(self.work), "--auto", "center", "--aspect",
                                               aspect, "--per-batch",
                                               str(1 + len(self.windows) % 3))))

    def running(self) -> bool:
        return any(proc.poll() is None for _aspect, proc in self.windows)

    def kill_a_window(self) -> bool:
        alive = [(a, p) for a, p in self.windows if p.poll() is None]
        if not alive:
            return False
        aspect, proc = self.rng.choice(alive)
        proc.send_signal(signal.SIGKILL)
        self.start(aspect)  # a person opens the window again
        return True

    def wait(self) -> None:
        for aspect, proc in self.windows:
            out, err = proc.communicate(timeout=300)
            self.finished.append((aspect, out, err, proc.returncode))

    def acked(self) -> list[tuple[str, set[str]]]:
        return [(aspect, set(ACKED.findall(out))) for aspect, out, _err, _rc in self.finished]


def storm(tmp_path: Path, progress_dir: Path, endpoint: str, wanted: int,
          kill_windows: bool) -> dict[str, int]:
    rng = random.Random(20261201 + kill_windows)
    figures = collections.Counter[str]()
    started = time.monotonic()
    try:
        while figures["kills"] < wanted:
            name = f"storm{figures['rounds']:03d}"
            work = tmp_path / name
            out_dir = tmp_path / f"{name}_cropped"
            make_images(work, IMAGES_PER_ROUND, size=SIZE)
            progress_file = progress_dir / f"{name}_progress.json"
            this = Round(work, rng)
            while figures["kills"] < wanted and this.running():
                time.sleep(rng.uniform(0.05, 0.6))  # the moments are random on purpose
                if kill_windows and rng.random() < 0.3 and this.kill_a_window():
                    figures["window kills"] += 1
                    continue
                if not kill_daemon(endpoint):
                    continue
                figures["kills"] += 1
                if progress_file.exists():
                    model.decode(progress_file.read_bytes())  # raises if torn or damaged
                    figures["parsed"] += 1
            this.wait()
            killed = {p.pid for _a, p in this.windows if p.returncode == -signal.SIGKILL}
            for (_aspect, _out, err, rc), (_a, proc) in zip(this.finished, this.windows,
                                                          strict=True):
                if proc.pid not in killed:
                    assert rc == 0, err
                    assert "Traceback" not in err, err
            if kill_windows:  # a last window finishes what killed ones left, settling parts
                last = multicrop(str(work), "--auto", "center", "--aspect", "1:1")
                out, err = last.communicate(timeout=300)
                assert last.returncode == 0, err
                this.finished.append(("1:1", out, err, 0))
            check_round(this, progress_dir, name, work, out_dir, figures, kill_windows)
            figures["rounds"] += 1
    finally:
        stop_daemon(endpoint)
    figures["seconds"] = int(time.monotonic() - started)
    return dict(figures)


def check_round(this: Round, progress_dir: Path, name: str, work: Path, out_dir: Path,
                figures: collections.Counter[str], kill_windows: bool) -> None:
    by_image: dict[str, list[str]] = collections.defaultdict(list)
    for aspect, names in this.acked():
        for image in names:
            by_image[image].append(aspect)
    twice = {image: who for image, who in by_image.items() if len(who) > 1}
    figures["done twice"] += len(twice)
    figures["acknowledged"] += len(by_image)
    assert not twice, f"images acknowledged to two windows: {twice}"
    data = record(progress_dir, name)
    lost = set(by_image) - set(data["completed_files"])
    assert not lost, f"acknowledged outcomes lost: {sorted(lost)}"
    if data["completed_count"] != IMAGES_PER_ROUND:
        left = sorted({p.name for p in work.glob("*.png")} - set(data["completed_files"]))
        from crop_progress.audit import read_events
        trail = [(e.ts, e.op, e.token, e.client.id[:6] if e.client else None)
                 for e in read_events(progress_dir / "audit") if e.file in left]
        raise AssertionError(f"the windows did not finish: {left}: {trail}")
    # A window killed between its ack and its line leaves an image nobody printed.
    unprinted = set(data["completed_files"]) - set(by_image)
    figures["acknowledged unprinted"] += len(unprinted)
    assert not unprinted or kill_windows, f"acknowledged but never printed: {unprinted}"
    done = outcomes(progress_dir, work)
    assert set(done.values()) == {1}, {k: v for k, v in done.items() if v != 1}
    wrong = {}
    for image, (aspect,) in by_image.items():
        with Image.open(out_dir / image) as im:
            if im.size != OUT_SIZE[aspect]:
                wrong[image] = (aspect, im.size)
    for image in unprinted:
        with Image.open(out_dir / image) as im:
            assert im.size in OUT_SIZE.values(), (image, im.size)
    assert not wrong, f"outputs not the size their window made: {wrong}"
    stray = sorted(p.name for p in out_dir.iterdir() if p.name.startswith("."))
    figures["stray files"] += len(stray)
    assert not stray, f"stray files in the output folder: {stray}"
    outputs = {p.name for p in out_dir.glob("*.png")}
    assert outputs == set(data["completed_files"])


@pytest.mark.timeout(1800)
def test_kill_storm(tmp_path: Path, progress_dir: Path, endpoint: str, long_run: bool) -> None:
    figures = storm(tmp_path, progress_dir, endpoint, 200 if long_run else 20,
                    kill_windows=False)
    print(f"\nkill storm: {figures}")


@pytest.mark.timeout(1800)
def test_kill_storm_with_window_kills(tmp_path: Path, progress_dir: Path, endpoint: str,
                                      long_run: bool) -> None:
    figures = storm(tmp_path, progress_dir, endpoint, 100 if long_run else 10,
                    kill_windows=True)
    print(f"\nkill storm with window kills: {figures}")
