"""Figure 5: the resident memory (RSS, psutil) of a `cropd` subprocess as directories
of 10,000 images each, half of them done, are opened, 1 → 50; the baseline is the
same daemon with no directory open yet (after a client's Hello).

The folders hold empty image files (the daemon lists and stats, never opens
them); one client keeps them all open until every step is read.
"""

from __future__ import annotations

from pathlib import Path

from bench import env, files
from bench.config import Sizes
from bench.stats import now, ratio
from bench.table import Row

MB = 1024 * 1024
GOAL_MB = 100.0


def measure(root: Path, sizes: Sizes) -> list[Row]:
    count = max(sizes.memory_steps)
    base_dir = root / "memory"
    start = now()
    folders = [base_dir / f"set_{index + 1:02d}" for index in range(count)]
    files.make_many(folders, sizes.memory_dir_images)
    made = now() - start
    readings: dict[int, float] = {}
    open_times: list[float] = []
    with env.Daemon(root, "d-memory") as daemon:
        for folder in folders:
            names = files.image_names(sizes.memory_dir_images)
            files.write_progress(daemon.progress_dir, folder, names, len(names) // 2)
        daemon.start()
        client = env.Client(daemon.endpoint)
        try:
            client.hello()
            idle = daemon.rss() / MB
            for index, folder in enumerate(folders, start=1):
                start = now()
                client.open(folder)
                open_times.append(now() - start)
                if index in sizes.memory_steps:
                    readings[index] = daemon.rss() / MB
        finally:
            client.close()
    top = max(readings)
    row = Row("5", f"cropd RSS, {top} dirs × {sizes.memory_dir_images:,} images, half done",
              ours=f"{readings[top]:.1f} MB", baseline=f"{idle:.1f} MB (0 dirs)",
              ratio=ratio(readings[top], idle), goal=f"≤ {GOAL_MB:.0f} MB at 50")
    if top >= 50:
        row.met = readings[top] <= GOAL_MB
        if not row.met:
            row.miss = f"{readings[top] - GOAL_MB:.0f} MB over"
    else:
        row.notes.append(f"--quick opens only {top} directories; the goal is judged at 50 "
                         "(nothing extrapolated)")
    steps = ", ".join(f"{n}: {mb:.1f} MB" for n, mb in sorted(readings.items()))
    row.notes.append(f"RSS by directories open: {steps}")
    if len(readings) > 1:
        (n1, r1), (n2, r2) = sorted(readings.items())[0], sorted(readings.items())[-1]
        row.notes.append(f"growth {(r2 - r1) / (n2 - n1):.2f} MB per directory of "
                         f"{sizes.memory_dir_images:,} images")
    row.notes.append(f"Open of a fresh {sizes.memory_dir_images:,}-image directory: first "
                     f"{open_times[0] * 1000:.0f} ms, last {open_times[-1] * 1000:.0f} ms; "
                     f"{count * sizes.memory_dir_images:,} empty files made in {made:.1f} s")
    return [row]
