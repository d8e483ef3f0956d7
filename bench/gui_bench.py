"""The crop window's speed on 4096×4096 PNGs: first batch on screen after launch, and the
next batch on screen after submit, against a baseline measured in the same run.

`measure(tmpdir)` runs the real `multicrop` window under the current DISPLAY
(its timing log, `MULTICROP_TIMING_LOG`, gives the moments), in its own HOME,
XDG folders and daemon endpoint under `tmpdir`. Enter is pressed with
xdotool; without xdotool the next-batch figure is NaN. Baseline: what a
plain tool does on submit, in this process: Pillow decodes the three files at
full size and makes Tk photos of them (the origin tool drew full-resolution
arrays), and the same with a fit to the column before the photo.

Figures (seconds):
- first_batch_s: launch (no daemon running: the window starts one) → 3 images shown
- first_batch_warm_s: launch with the daemon running → 3 images shown
- next_batch_s: Enter → the next 3 images shown (they were prefetched while "looking")
- save_batch_s: Enter → the three 4:3 crops written and reported (off the UI thread)
- longest_ui_stall_s: the longest the window's loop went without a turn, from the first
  batch shown to quit, saves included (the window never freezes: this stays small)
- baseline_full_s, baseline_fit_s: the plain decode of one batch, as above
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

SIZE = 4096
PER_BATCH = 3
COLUMN = (470, 700)          # about one column of the window on a 1600×1000 screen


def make_pngs(folder: Path, count: int) -> list[Path]:
    """Smooth, photo-like 4096² PNGs (upscaled noise), as AI upscales are."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for index in range(count):
        channels = [Image.effect_noise((256, 256), 50 + 9 * index + 7 * c)
                    .resize((SIZE, SIZE), Image.Resampling.BICUBIC) for c in range(3)]
        path = folder / f"20250803_{index:06d}_stage2_upscaled.png"
        Image.merge("RGB", channels).save(path, compress_level=1)
        made.append(path)
    return made


def _environment(root: Path, timing: Path) -> dict[str, str]:
    home, runtime = root / "home", root / "run"
    for folder in (home, runtime):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime),
           "CROPD_ENDPOINT": f"ipc://{runtime}/cropd.sock",
           "MULTICROP_TIMING_LOG": str(timing), "MULTICROP_GEOMETRY": "1440x880+0+0"}
    for name, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state"),
                      ("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache")):
        env[name] = str(home / sub)
    env.pop("CROP_PROGRESS_DIR", None)
    repo = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = repo + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _events(timing: Path) -> list[dict[str, object]]:
    if not timing.exists():
        return []
    return [json.loads(line) for line in timing.read_text().splitlines() if line.strip()]


def _wait_event(timing: Path, name: str, serial: int | None = None,
                timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in _events(timing):
            if event["event"] == name and (serial is None or event.get("serial") == serial):
                return event
        time.sleep(0.005)
    raise TimeoutError(f"the window logged no {name} (serial {serial}) in {timeout}s")


def _launch(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], float]:
    started = time.time()
    process = subprocess.Popen(
        [sys.executable, "-m", "crop_client.multicrop", str(folder),
         "--per-batch", str(PER_BATCH)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, started


def _press(env: dict[str, str], key: str) -> None:
    """Focus the window (pointer on it, then focus) and press a key, as tests/gui does."""
    search = subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name",
                             "^multicrop"], env=env, capture_output=True, text=True, timeout=20)
    window = search.stdout.split()[0]
    subprocess.run(["xdotool", "mousemove", "--sync", "40", "8", "windowfocus", "--sync",
                    window], env=env, capture_output=True, timeout=20)
    time.sleep(0.2)
    subprocess.run(["xdotool", "key", key], env=env, capture_output=True, timeout=20)


def _quit(process: subprocess.Popen[bytes], env: dict[str, str]) -> None:
    if shutil.which("xdotool"):
        _press(env, "q")
        try:
            process.wait(30)
            return
        except subprocess.TimeoutExpired:
            pass
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def _stop_daemon(env: dict[str, str]) -> None:
    """Ask the daemon the window started to shut down (it flushes and exits)."""
    code = ("from crop_client.session import Session\n"
            "from crop_protocol import messages as m\n"
            "s = Session(autostart=False, heartbeat=False)\n"
            "s.conn.call(m.Shutdown())\n")
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=30)


def baseline(paths: list[Path]) -> dict[str, float]:
    """A plain tool's submit: full decode of a batch and Tk photos (full size, or fitted)."""
    import tkinter as tk

    from PIL import ImageTk

    root = tk.Tk()
    root.withdraw()
    try:
        start = time.perf_counter()
        photos = []
        for path in paths:
            with Image.open(path) as image:
                image.load()
                photos.append(ImageTk.PhotoImage(image, master=root))
        full = time.perf_counter() - start
        del photos
        start = time.perf_counter()
        fitted = []
        for path in paths:
            with Image.open(path) as image:
                image.load()
                image.thumbnail(COLUMN, Image.Resampling.BILINEAR)
                fitted.append(ImageTk.PhotoImage(image, master=root))
        fit = time.perf_counter() - start
        del fitted
    finally:
        root.destroy()
    return {"baseline_full_s": full, "baseline_fit_s": fit}


def measure(tmpdir: Path) -> dict[str, float]:
    """Numbers only; prints nothing. Needs a DISPLAY (Xvfb will do)."""
    tmpdir = Path(tmpdir)
    folder = tmpdir / "big"
    paths = make_pngs(folder, 3 * PER_BATCH)
    timing = tmpdir / "timing.jsonl"
    env = _environment(tmpdir / "world", timing)
    results: dict[str, float] = {"images": float(len(paths)), "size": float(SIZE)}
    can_press = shutil.which("xdotool") is not None
    try:
        process, started = _launch(folder, env)
        first = _wait_event(timing, "batch_shown", serial=1)
        results["first_batch_s"] = float(first["t"]) - started   # type: ignore[arg-type]
        results["next_batch_s"] = math.nan
        if can_press:
            _wait_event(timing, "batch_ready", serial=2)          # prefetched while "looking"
            _press(env, "a")                                      # 1:1: on these, the whole
            _press(env, "a")                                      # 4:3: a real crop to save
            _press(env, "Return")
            submit = _wait_event(timing, "submit", serial=1)
            shown = _wait_event(timing, "batch_shown", serial=2)
            results["next_batch_s"] = float(shown["t"]) - float(submit["t"])  # type: ignore[arg-type]
            saved = _wait_event(timing, "submitted")               # three 4K crops written
            results["save_batch_s"] = float(saved["t"]) - float(submit["t"])  # type: ignore[arg-type]
        _quit(process, env)
        closed = _wait_event(timing, "closed")
        results["longest_ui_stall_s"] = float(closed["longest_stall_s"])  # type: ignore[arg-type]

        timing.unlink(missing_ok=True)
        process, started = _launch(folder, env)                   # the daemon still runs
        first = _wait_event(timing, "batch_shown", serial=1)
        results["first_batch_warm_s"] = float(first["t"]) - started  # type: ignore[arg-type]
        _quit(process, env)
    finally:
        _stop_daemon(env)
    results.update(baseline(paths[:PER_BATCH]))
    if results["next_batch_s"] == results["next_batch_s"]:   # not NaN
        results["next_vs_baseline_fit"] = results["baseline_fit_s"] / max(
            results["next_batch_s"], 1e-6)
    return results


if __name__ == "__main__":   # a quick look by hand: python -m bench.gui_bench
    import tempfile

    with tempfile.TemporaryDirectory(prefix="guib-", dir="/tmp") as where:
        for key, value in measure(Path(where)).items():
            print(f"{key:>24}: {value:.3f}")
