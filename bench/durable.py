"""Figure 2: an acknowledged durable report (send to reply, through the real daemon)
against one fsync'd `store.atomic_write` of the same progress file, with 100 and
with 10,000 images already completed.

The folder really holds the images (empty files); the progress file is written
beforehand with the first N of them completed. Each timed report follows an
untimed claim of the next image; a baseline write of the same number of bytes,
in the same folder, follows each report.
"""

from __future__ import annotations

from pathlib import Path

from bench import env, files
from bench.config import Sizes
from bench.stats import median, ms, now, percentile, ratio
from bench.table import Row
from crop_progress import store
from crop_protocol import messages as m


def _one_fill(root: Path, fill: int, calls: int) -> tuple[list[float], list[float], int]:
    name = f"fill{fill}"
    folder = root / name / "work"
    out = root / name / "work_cropped"
    names = files.make_empty_images(folder, fill + calls + 10)
    with env.Daemon(root, f"d-{name}") as daemon:
        files.write_progress(daemon.progress_dir, folder, names, fill)
        daemon.start()
        client = env.Client(daemon.endpoint)
        try:
            client.hello()
            opened = client.open(folder, out)
            key = opened.summary.directory
            progress_file = Path(opened.summary.progress_file)
            baseline_file = daemon.progress_dir / "baseline.json.bench"
            ours: list[float] = []
            base: list[float] = []
            for _ in range(calls):
                claimed = client.call(m.Claim(directory=key, count=1))
                assert isinstance(claimed, m.Claimed) and claimed.items
                item = claimed.items[0]
                report = m.Report(directory=key, file=item.file, outcome="kept",
                                  dest=str(out / item.file), companions=[])
                start = now()
                client.call(report)
                ours.append(now() - start)
                data = progress_file.read_bytes()  # the same bytes, just written
                start = now()
                store.atomic_write(baseline_file, data)
                base.append(now() - start)
            size = progress_file.stat().st_size
        finally:
            client.close()
    return ours, base, size


def measure(root: Path, sizes: Sizes) -> list[Row]:
    rows = []
    for fill in sizes.fills:
        ours, base, size = _one_fill(root, fill, sizes.report_calls)
        row = Row("2", f"durable report at {fill:,} done (median of {len(ours)})",
                  ours=ms(median(ours)), baseline=ms(median(base)),
                  ratio=ratio(median(ours), median(base)), goal="≤ 2×")
        row.met = row.ratio <= 2.0
        if not row.met:
            row.miss = (f"{row.ratio:.2f}× instead of ≤ 2×: "
                        f"{ms(median(ours) - 2 * median(base))} per report too slow")
        row.notes.append(f"at {fill:,}: progress file {size / 1024:.0f} KiB; p95 ours "
                         f"{ms(percentile(ours, 95))}, baseline {ms(percentile(base, 95))}; "
                         "baseline = one store.atomic_write of the same bytes (write, fsync, "
                         "replace, fsync dir)")
        rows.append(row)
    return rows
