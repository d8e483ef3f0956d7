"""Sustained pace of the crop window: a batch of three 4096² PNGs submitted every 3 s for
2 minutes (a person who crops quickly), and the save backlog it leaves.

The real `multicrop` window runs under the current DISPLAY with `--aspect 4:3` (every
image a real 4096×3072 crop to write), in its own HOME and daemon endpoint; Enter is
pressed with xdotool every `every` seconds. The window's debug state gives its
"saving n…" count: read just before each press (the backlog), and after the last press
until it is 0 (the drain time). Goal: the backlog does not grow (on 2 cores).

Run: `python -m bench.gui_sustained [--seconds 120] [--every 3]` (needs DISPLAY and
xdotool; `python -m bench --only 11` runs it under an Xvfb of its own).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.gui_bench import PER_BATCH, _environment, _press, _quit, _stop_daemon, make_pngs
from bench.table import Row


def _state(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _wait(path: Path, predicate, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = _state(path)
        if state and predicate(state):
            return state
        time.sleep(0.02)
    raise TimeoutError("the window did not get there in time")


def measure_pace(tmpdir: Path, seconds: float = 120.0, every: float = 3.0) -> dict[str, float]:
    tmpdir = Path(tmpdir)
    batches = int(seconds // every)
    sources = make_pngs(tmpdir / "sources", PER_BATCH)
    folder = tmpdir / "pace"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(batches * PER_BATCH + PER_BATCH):   # one more batch to show at the end
        os.link(sources[index % PER_BATCH], folder / f"img_{index:05d}.png")
    timing = tmpdir / "timing.jsonl"
    env = _environment(tmpdir / "world", timing)
    state_file = tmpdir / "state.json"
    env["MULTICROP_DEBUG_STATE"] = str(state_file)
    process = subprocess.Popen(
        [sys.executable, "-m", "crop_client.multicrop", str(folder), "--per-batch",
         str(PER_BATCH), "--aspect", "4:3"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    backlog: list[int] = []
    try:
        _wait(state_file, lambda s: s.get("phase") == "batch", 60)
        _press(env, "Shift_L")        # focus the window once; each Enter is then one key
        _wait(state_file, lambda s: s.get("focus"), 20)
        start = time.monotonic()
        waited: list[float] = []
        for step in range(batches):
            moment = start + step * every
            time.sleep(max(0.0, moment - time.monotonic()))
            # a person presses Enter once the pictures are shown: how long they waited
            state = _wait(state_file, lambda s: s.get("phase") == "batch", 120)
            waited.append(max(0.0, time.monotonic() - moment))
            backlog.append(int(state.get("saving", 0)))
            subprocess.run(["xdotool", "key", "Return"], env=env, capture_output=True,
                           timeout=20)
            shown = state.get("serial")
            _wait(state_file, lambda s, old=shown: s.get("serial") != old, 60)
        late = time.monotonic() - (start + (batches - 1) * every)
        ended = time.monotonic()
        at_end = int(_state(state_file).get("saving", 0))
        _wait(state_file, lambda s: s.get("saving", 1) == 0, 600)
        drain = time.monotonic() - ended
        _quit(process, env)
    finally:
        if process.poll() is None:
            process.kill()
        _stop_daemon(env)
    half = len(backlog) // 2
    return {"batches": float(batches), "every_s": every, "backlog_end": float(at_end),
            "backlog_max": float(max(backlog, default=0)),
            "backlog_first_half_mean": sum(backlog[:half]) / max(1, half),
            "backlog_second_half_mean": sum(backlog[half:]) / max(1, len(backlog) - half),
            "drain_s": drain, "last_press_late_s": late,
            "waited_for_pictures_max_s": max(waited, default=0.0),
            "waited_for_pictures_mean_s": sum(waited) / max(1, len(waited))}


def rows(figures: dict[str, float]) -> list[Row]:
    growing = figures["backlog_second_half_mean"] > figures["backlog_first_half_mean"] + 1.5
    return [Row("12", f"save backlog, 3 × 4096² every {figures['every_s']:.0f} s for "
                      f"{figures['batches'] * figures['every_s'] / 60:.0f} min",
                ours=f"{figures['backlog_end']:.0f} images at the end "
                     f"(max {figures['backlog_max']:.0f}), drained in {figures['drain_s']:.1f} s",
                baseline=f"mean {figures['backlog_first_half_mean']:.1f} → "
                         f"{figures['backlog_second_half_mean']:.1f} (1st → 2nd half)",
                notes=[f"waited for the next pictures: mean "
                       f"{figures['waited_for_pictures_mean_s']:.2f} s, max "
                       f"{figures['waited_for_pictures_max_s']:.2f} s; last Enter "
                       f"{figures['last_press_late_s']:.1f} s late"],
                goal="not growing", met=not growing)]


def main() -> None:
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.gui_sustained", description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--every", type=float, default=3.0)
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and leave it there")
    args = parser.parse_args()
    if args.keep:
        figures = measure_pace(Path(args.keep), args.seconds, args.every)
    else:
        with tempfile.TemporaryDirectory(prefix="pace-", dir="/tmp") as where:
            figures = measure_pace(Path(where), args.seconds, args.every)
    for key, value in figures.items():
        print(f"{key:>26}: {value:.2f}")
    for row in rows(figures):
        print(f"{row.figure}: {row.ours}; {row.baseline}; goal {row.goal}: "
              f"{'met' if row.met else 'MISSED'}")


def measure(root: Path, _sizes: object = None) -> list[Row]:
    """The bench's row, under the DISPLAY set or an Xvfb of its own."""
    from bench.external import display

    with display() as shown:
        if shown is None:
            return [Row("12", "save backlog", ours="n/a (no DISPLAY, no Xvfb)")]
        where = Path(root) / "pace"
        where.mkdir(parents=True, exist_ok=True)
        return rows(measure_pace(where))


if __name__ == "__main__":
    main()
