"""Figures 4 and 6, measured by modules other people write: `bench/cropctl_bench.py`
(`cropctl status` with 50 directories) and `bench/gui_bench.py` (first and next
batch on screen). Each exposes `measure(tmp: Path) -> dict[str, float]`; a
module that is missing or does not import cleanly gives an "n/a" row.

The GUI needs a display: without DISPLAY, an `Xvfb` of our own is started on
a free display number for the length of the measurement.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

from bench import env
from bench.stats import ratio
from bench.table import Row

NOT_BUILT = "n/a (not built yet)"
Measure = Callable[[Path], dict[str, float]]


def _load(name: str) -> tuple[Measure | None, str]:
    if importlib.util.find_spec(f"bench.{name}") is None:
        return None, f"bench/{name}.py does not exist"
    try:
        module: ModuleType = importlib.import_module(f"bench.{name}")
    except Exception as exc:  # someone else's module: any failure means "not usable"
        return None, f"bench/{name}.py does not import: {type(exc).__name__}: {exc}"
    measure = getattr(module, "measure", None)
    if not callable(measure):
        return None, f"bench/{name}.py has no measure(tmp)"
    return measure, ""


def _seconds(figures: dict[str, float], *words: str) -> float:
    """The first figure whose key holds all `words`, in seconds (keys ending `_ms` are ms)."""
    for key, value in figures.items():
        if all(w in key for w in words):
            return float(value) / 1000.0 if key.endswith("_ms") else float(value)
    return math.nan


BASELINE_WORDS = ("baseline", "decode", "pillow", "bare", "floor")


def _pick(figures: dict[str, float], word: str, baseline: bool) -> float:
    """The figure about `word` that is (or is not) a baseline, in seconds."""
    chosen = {k: v for k, v in figures.items()
              if any(w in k for w in BASELINE_WORDS) == baseline}
    return _seconds(chosen, word)


def _named(figures: dict[str, float], names: tuple[str, ...], baseline: bool) -> float:
    """The figure of the first name present; a name without `_` is a word to look for."""
    for name in names:
        if name in figures:
            return _seconds({name: figures[name]}, name)
        if "_" not in name:
            return _pick(figures, name, baseline)
    return math.nan


def _short(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _raw(figures: dict[str, float]) -> str:
    return "figures: " + ", ".join(f"{k}={v:g}" for k, v in figures.items())


def cropctl_rows(root: Path) -> list[Row]:
    row = Row("4", "cropctl status, 50 directories", goal="< 0.4 s")
    measure, why = _load("cropctl_bench")
    if measure is None:
        row.ours = NOT_BUILT
        row.notes.append(why)
        return [row]
    tmp = root / "cropctl"
    tmp.mkdir(parents=True, exist_ok=True)
    figures = measure(tmp)
    ours = _seconds(figures, "status", "daemon")
    if math.isnan(ours):
        ours = _seconds(figures, "status")
    base = _seconds(figures, "python")
    row.ours = f"{ours:.3f} s"
    row.baseline = f"{base:.3f} s (python -c pass)"
    row.ratio = ratio(ours, base)
    row.met = ours < 0.4
    if not row.met:
        row.miss = f"{ours - 0.4:.3f} s over"
    files_only = _seconds(figures, "status", "files")
    if not math.isnan(files_only):
        row.notes.append(f"with no daemon running (read-only from the files): {files_only:.3f} s")
    row.notes.append(_raw(figures))
    return [row]


def _free_display() -> int:
    for number in range(90, 200):
        if not (Path(f"/tmp/.X11-unix/X{number}").exists()
                or Path(f"/tmp/.X{number}-lock").exists()):
            return number
    raise RuntimeError("no free X display number")


@contextlib.contextmanager
def display() -> Iterator[str | None]:
    """A DISPLAY to use: the one set, or an Xvfb of ours; None when neither exists."""
    if os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        yield None
        return
    number = _free_display()
    process = env.track(subprocess.Popen(
        [xvfb, f":{number}", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL))
    socket = Path(f"/tmp/.X11-unix/X{number}")
    end = time.monotonic() + 10
    while not socket.exists() and process.poll() is None and time.monotonic() < end:
        time.sleep(0.05)
    if not socket.exists():
        env.stop(process)
        yield None
        return
    os.environ["DISPLAY"] = f":{number}"
    try:
        yield f":{number}"
    finally:
        del os.environ["DISPLAY"]
        env.stop(process)


def gui_rows(root: Path) -> list[Row]:
    first = Row("6", "first batch on screen, 3 × 4096² PNG", goal="≤ 2 s")
    following = Row("6", "next batch on screen", goal="≤ 100 ms")
    rows = [first, following]
    measure, why = _load("gui_bench")
    if measure is None:
        for row in rows:
            row.ours = NOT_BUILT
        first.notes.append(why)
        return rows
    with display() as shown:
        if shown is None:
            for row in rows:
                row.ours = "n/a (no DISPLAY, no Xvfb)"
            return rows
        tmp = root / "gui"
        tmp.mkdir(parents=True, exist_ok=True)
        figures = measure(tmp)
    plans = ((first, ("first_batch_s", "first"), ("baseline_full_s",), 2.0),
             (following, ("next_batch_s", "next"), ("baseline_fit_s",), 0.1))
    for row, names, bases, goal in plans:
        value = _named(figures, names, baseline=False)
        if math.isnan(value):
            row.ours = "n/a (no figure)"
            continue
        row.ours = _short(value)
        base = _named(figures, bases, baseline=True)
        if not math.isnan(base):
            row.baseline = f"{_short(base)} ({bases[0].removesuffix('_s')})"
            row.ratio = ratio(value, base)
        row.met = value <= goal
        if not row.met:
            row.miss = f"{value / goal:.1f}× the goal"
    warm = figures.get("first_batch_warm_s")
    if warm is not None:
        first.notes.append(f"first batch with the daemon already running: {_short(warm)}")
    first.notes.append("baselines: a plain tool decoding the batch in one process and making "
                       "Tk photos, full size (first) or fitted to a column (next)")
    first.notes.append(_raw(figures))
    return rows
