"""Figure 3: durable reports per second held by 4 concurrent client processes on one
directory (group commit), against the floor of one writer doing fsynced appends of a
journal line back to back in the same folder (what a journal without group
commit could acknowledge); 1 client process alone is shown beside it.

Each phase gets a fresh folder of the same size. The progress file's
replacements are counted with inotify, so the figure "progress-file writes per
report" shows how much the group commit merged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench import env, files, inotify
from bench.config import Sizes
from bench.stats import ms, ratio
from bench.table import Row


def _phase(root: Path, daemon: env.Daemon, name: str, clients: int,
           sizes: Sizes) -> tuple[float, int, int, float, int | None]:
    """Returns (reports per second, reports, errors, median pair, file writes)."""
    folder = root / "clients" / name
    output = root / "clients" / f"{name}_cropped"
    files.make_empty_images(folder, sizes.client_dir_images)
    counter = None
    if inotify.available():
        counter = inotify.ReplaceCounter(daemon.progress_dir).start()
    workers = [env.track(subprocess.Popen(
        [sys.executable, "-m", "bench.report_worker", daemon.endpoint, str(folder), str(output),
         str(sizes.client_seconds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        env=daemon.env)) for _ in range(clients)]
    results = []
    try:
        for worker in workers:
            assert worker.stdout is not None
            if worker.stdout.readline().strip() != b"ready":
                raise RuntimeError("a client process did not start")
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            worker.stdin.flush()
        for worker in workers:
            out, _ = worker.communicate(timeout=sizes.client_seconds + 60)
            results.append(json.loads(out.decode().strip().splitlines()[-1]))
    finally:
        for worker in workers:
            env.stop(worker)
        counts = counter.stop() if counter is not None else None
    reports = sum(int(r["reports"]) for r in results)
    errors = sum(int(r["errors"]) for r in results)
    seconds = max(float(r["seconds"]) for r in results)
    pair = sorted(float(r["pair_median"]) for r in results)[len(results) // 2]
    writes = None
    if counts is not None:
        writes = sum(n for file, n in counts.items() if file.endswith("_progress.json")
                     and file.startswith(name))
    return reports / seconds, reports, errors, pair, writes


def _append_rate(folder: Path, seconds: float) -> float:
    """Fsynced appends of one journal line per second, one writer, back to back."""
    from bench.durable import LINE
    from crop_progress import fsio

    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / "floor.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    done, began = 0, time.perf_counter()
    try:
        while time.perf_counter() - began < seconds:
            fsio.write_all(fd, LINE)
            os.fsync(fd)
            done += 1
    finally:
        os.close(fd)
    return done / (time.perf_counter() - began)


def measure(root: Path, sizes: Sizes) -> list[Row]:
    with env.Daemon(root, "d-clients").start() as daemon:
        one = _phase(root, daemon, "solo", 1, sizes)
        many = _phase(root, daemon, "shared", sizes.clients, sizes)
        floor = _append_rate(daemon.progress_dir, sizes.client_seconds)
    rate, reports, _, _, writes = many
    row = Row("3", f"reports/s, {sizes.clients} client processes ({sizes.client_seconds:g} s)",
              ours=f"{rate:.0f}/s", baseline=f"{floor:.0f}/s fsynced appends",
              ratio=ratio(rate, floor), goal="≥ 100/s total")
    row.met = rate >= 100.0
    if not row.met:
        row.miss = f"{100.0 - rate:.0f}/s short"
    for label, (r, n, e, p, w) in ((f"{sizes.clients} clients", many), ("1 client", one)):
        per = f"{w / n:.2f} progress-file writes per report" if w is not None and n else \
            "writes per report: n/a (no inotify)"
        row.notes.append(f"{label}: {n} reports at {r:.0f}/s, {e} errors, median "
                         f"claim+report {ms(p)} per client; {per}")
    row.notes.append(f"1 client alone: {one[0]:.0f}/s; the baseline is one writer's "
                     "fsynced journal appends back to back: above 1× means group commit "
                     "acknowledges several reports per fsync")
    if writes is not None and reports:
        row.notes.append("group commit: fewer than 1 write per report means reports that "
                         "arrived together shared one atomic write")
    return [row]
