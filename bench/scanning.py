"""Figure 8: `crop_progress.scan.scan_directory` plus its `.hash` on a folder of
10,000 images, against a bare `os.listdir` of the same folder (both warm)."""

from __future__ import annotations

import os
from pathlib import Path

from bench import files
from bench.config import Sizes
from bench.stats import median, ms, now, ratio
from bench.table import Row
from crop_progress.scan import scan_directory


def measure(root: Path, sizes: Sizes) -> list[Row]:
    folder = root / "scan" / "work"
    files.make_empty_images(folder, sizes.scan_images)
    ours: list[float] = []
    base: list[float] = []
    scan_directory(folder).hash  # noqa: B018 (warm the dentry cache)
    os.listdir(folder)
    for _ in range(sizes.scan_repeats):
        start = now()
        digest = scan_directory(folder).hash
        ours.append(now() - start)
        start = now()
        names = os.listdir(folder)
        base.append(now() - start)
    assert digest and names
    row = Row("8", f"scan + hash of {sizes.scan_images:,} images (median of {len(ours)})",
              ours=ms(median(ours)), baseline=ms(median(base)) + " (listdir)",
              ratio=ratio(median(ours), median(base)), goal="none set")
    return [row]
