"""How fast `cropctl status` answers with 50 directories, next to `python -c pass`.

`measure(tmp)` makes 50 work directories with progress through a real `cropd`
subprocess and the client API, all inside `tmp` (HOME, XDG_* and the endpoint
point there), then times `cropctl status` as a subprocess, wall clock, the
median of several runs: with the daemon running, and again after it stopped
(read-only from the files). `python -c pass` is timed in the same run, as
the floor any Python command pays. It returns the figures and prints nothing.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

DIRECTORIES = 50
IMAGES_PER_DIRECTORY = 3
DONE_PER_DIRECTORY = 2
RUNS = 9


def _environment(tmp: Path) -> dict[str, str]:
    from crop_progress.paths import ipc_endpoint

    home, runtime = tmp / "home", tmp / "run"
    home.mkdir(parents=True, exist_ok=True)
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = os.environ.copy()
    env.pop("CROP_PROGRESS_DIR", None)
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_STATE_HOME=str(home / ".local/state"), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_RUNTIME_DIR=str(runtime),
               CROPD_ENDPOINT=ipc_endpoint(runtime / "crop-progress" / "cropd.sock"))
    return env


def _images(folder: Path, count: int) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", (16, 12), (i * 40 % 256, 90, 160)).save(folder / f"img_{i:03d}.png")


def _populate(endpoint: str, root: Path) -> None:
    from crop_client.session import Session
    from crop_client.work import Decision, Target, carry_out

    with Session(endpoint, program="cropctl-bench", autostart=False, heartbeat=False) as session:
        for n in range(DIRECTORIES):
            folder = root / f"batch_{n:02d}"
            _images(folder, IMAGES_PER_DIRECTORY)
            target = Target.from_opened(session.open(folder))
            for item in session.claim(target.directory, DONE_PER_DIRECTORY).items:
                carry_out(session, target, item, Decision("keep"))


def _wait_for(path: Path, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > end:
            raise TimeoutError(f"cropd did not create {path}")
        time.sleep(0.02)


def _median_wall(argv: list[str], env: dict[str, str], runs: int = RUNS) -> float:
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, timeout=60)  # warm the file cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, timeout=60)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _cropctl() -> list[str]:
    script = Path(sys.executable).with_name("cropctl")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "crop_client.cropctl"]


def measure(tmp: Path) -> dict[str, float]:
    """Median wall seconds of `cropctl status` with and without a daemon, and of
    `python -c pass`, over 50 directories with progress made through cropd."""
    tmp = Path(tmp)
    env = _environment(tmp)
    endpoint = env["CROPD_ENDPOINT"]
    sock = Path(endpoint.removeprefix("ipc://"))
    daemon = subprocess.Popen([sys.executable, "-m", "cropd", "--endpoint", endpoint],
                              env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    status = [*_cropctl(), "status"]
    try:
        _wait_for(sock)
        _populate(endpoint, tmp / "work")
        check = subprocess.run(status, env=env, capture_output=True, text=True, timeout=60)
        if check.returncode != 0 or check.stdout.count("batch_") != DIRECTORIES:
            raise RuntimeError(f"cropctl status did not list {DIRECTORIES} directories: "
                               f"{check.stderr.strip() or check.stdout[-300:]}")
        with_daemon = _median_wall(status, env)
        python_pass = _median_wall([sys.executable, "-c", "pass"], env)
        daemon.terminate()
        daemon.wait(15)
        without_daemon = _median_wall(status, env)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait(15)
    return {
        "directories": float(DIRECTORIES),
        "python_pass_s": round(python_pass, 4),
        "cropctl_status_daemon_s": round(with_daemon, 4),
        "cropctl_status_files_s": round(without_daemon, 4),
        "cropctl_status_daemon_over_python_s": round(with_daemon - python_pass, 4),
        "cropctl_status_files_over_python_s": round(without_daemon - python_pass, 4),
    }


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="cropctl-bench-") as folder:
        for key, value in measure(Path(folder)).items():
            print(f"{key}: {value}")
