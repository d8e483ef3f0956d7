"""The dashboard's goals, each next to a baseline measured in the same run:

- the overview (`GET /`) with 50 directories served in ≤ 200 ms; baselines: the
  same server's smallest answer (`/static/icon.svg`) and `/api/status` (the data
  the overview shows, without the HTML);
- a file operation reaching `/events` in ≤ 1 s, from the start of the operation (the
  copy, the report, the rename) to the event (the browser test measures it to the
  screen); baseline: the operation itself;
- the dashboard process ≤ 60 MB RSS after serving every page; baseline: a bare
  Python interpreter.

Figure 9 of `python -m bench`; alone, `python -m bench.web`. It makes everything
inside a temporary root (a real cropd
subprocess, 50 directories made through the client API, the dashboard as
`python -m crop_client.web --bind 127.0.0.1:0`) and prints one line per figure.
"""

from __future__ import annotations

import http.client
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from bench.cropctl_bench import DIRECTORIES, _environment, _images, _populate, _wait_for
from bench.stats import ratio
from bench.table import Row

RUNS = 21
REPORTS = 20
MB = 1024 * 1024


def _start_dashboard(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, int]:
    proc = subprocess.Popen([sys.executable, "-m", "crop_client.web", "--bind", "127.0.0.1:0",
                             "--no-open"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("Dashboard: http://"):
        proc.kill()
        raise RuntimeError(f"the dashboard did not start: {line} {proc.stderr.read()}")
    host, port = line.removeprefix("Dashboard: http://").rstrip("/").split(":")
    return proc, host, int(port)


def _median_get(conn: http.client.HTTPConnection, path: str, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status}")
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])  # the first warms caches


def _feed_latency(endpoint: str, host: str, port: int, folder: Path) -> tuple[float, float,
                                                                               float]:
    """(median, max) seconds from the start of a file operation (the copy, then the
    report) to its `status` event on /events, and the median operation itself."""
    from crop_client.session import Session
    from crop_client.work import Decision, Target, carry_out

    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", "/events")
    stream = conn.getresponse()
    arrivals: list[tuple[float, str]] = []
    got = threading.Condition()

    def read() -> None:
        try:
            for raw in stream:
                line = raw.decode()
                if line.startswith("event: status"):
                    with got:
                        arrivals.append((time.perf_counter(), line))
                        got.notify_all()
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            return

    threading.Thread(target=read, daemon=True).start()
    _images(folder, REPORTS + 40)
    lags, trips = [], []
    with Session(endpoint, program="web-bench", autostart=False, heartbeat=False) as session:
        target = Target.from_opened(session.open(folder))
        end = time.monotonic() + 30
        while not arrivals:  # until the dashboard's subscription is live
            if time.monotonic() > end:
                raise RuntimeError("/events never relayed a change")
            item = session.claim(target.directory, 1).items[0]
            carry_out(session, target, item, Decision("keep"))
            with got:
                got.wait(0.5)
        for _ in range(REPORTS):
            item = session.claim(target.directory, 1).items[0]
            with got:
                seen = len(arrivals)
            start = time.perf_counter()
            carry_out(session, target, item, Decision("keep"))
            acked = time.perf_counter()
            trips.append(acked - start)
            with got:
                if not got.wait_for(lambda seen=seen: len(arrivals) > seen, timeout=10):
                    raise RuntimeError("a report never reached /events")
                lags.append(arrivals[seen][0] - start)
    conn.close()
    return statistics.median(lags), max(lags), statistics.median(trips)


def _bare_python_rss() -> float:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)
    try:
        time.sleep(0.5)
        return psutil.Process(proc.pid).memory_info().rss / MB
    finally:
        proc.communicate(b"")


def figures(tmp: Path) -> dict[str, float]:
    env = _environment(tmp)
    endpoint = env["CROPD_ENDPOINT"]
    daemon = subprocess.Popen([sys.executable, "-m", "cropd", "--endpoint", endpoint],
                              env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    board = None
    try:
        _wait_for(Path(endpoint.removeprefix("ipc://")))
        _populate(endpoint, tmp / "work")
        board, host, port = _start_dashboard(env)
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request("GET", "/")
        page = conn.getresponse().read().decode()
        if page.count('class="card') < DIRECTORIES:
            raise RuntimeError(f"the overview does not show {DIRECTORIES} directories")
        overview = _median_get(conn, "/")
        floor = _median_get(conn, "/static/icon.svg")
        api = _median_get(conn, "/api/status")
        for path in ("/stats", "/plan", "/d/batch_00", "/api/stats"):
            _median_get(conn, path, 3)
        conn.close()
        lag, worst, trip = _feed_latency(endpoint, host, port, tmp / "work" / "live")
        rss = psutil.Process(board.pid).memory_info().rss / MB
        bare = _bare_python_rss()
    finally:
        for proc in (board, daemon):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return {
        "directories": float(DIRECTORIES),
        "overview_ms": round(1000 * overview, 2),
        "baseline_smallest_answer_ms": round(1000 * floor, 2),
        "baseline_api_status_ms": round(1000 * api, 2),
        "operation_to_events_median_ms": round(1000 * lag, 2),
        "operation_to_events_max_ms": round(1000 * worst, 2),
        "baseline_operation_ms": round(1000 * trip, 2),
        "dashboard_rss_mb": round(rss, 1),
        "baseline_bare_python_rss_mb": round(bare, 1),
    }


GOALS = {"overview_ms": 200.0, "operation_to_events_max_ms": 1000.0, "dashboard_rss_mb": 60.0}


def measure(root: Path, sizes: object = None) -> list[Row]:
    """The rows of figure 9 for bench.runner (the same figures at every size)."""
    got = figures(root / "web")

    def row(key: str, title: str, ours: str, base: str, value: float, baseline: float,
            goal_key: str, unit: str) -> Row:
        goal = GOALS[goal_key]
        met = value <= goal
        return Row(key, title, ours=ours, baseline=base, ratio=ratio(value, baseline),
                   goal=f"≤ {goal:g} {unit}", met=met,
                   miss="" if met else f"{value - goal:.1f} {unit} over")

    return [
        row("9a", "dashboard overview (GET /), 50 directories", f"{got['overview_ms']:.1f} ms",
            f"{got['baseline_api_status_ms']:.1f} ms (/api/status)", got["overview_ms"],
            got["baseline_api_status_ms"], "overview_ms", "ms"),
        row("9b", "file operation to /events, worst of 20",
            f"{got['operation_to_events_max_ms']:.1f} ms",
            f"{got['baseline_operation_ms']:.1f} ms (the operation)",
            got["operation_to_events_max_ms"], got["baseline_operation_ms"],
            "operation_to_events_max_ms", "ms"),
        row("9c", "dashboard process RSS", f"{got['dashboard_rss_mb']:.1f} MB",
            f"{got['baseline_bare_python_rss_mb']:.1f} MB (bare python)",
            got["dashboard_rss_mb"], got["baseline_bare_python_rss_mb"], "dashboard_rss_mb",
            "MB"),
    ]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="web-bench-") as folder:
        got = figures(Path(folder))
    missed = 0
    for key, value in got.items():
        goal = GOALS.get(key)
        verdict = "" if goal is None else (f"  (goal ≤ {goal:g}: "
                                           f"{'met' if value <= goal else 'MISSED'})")
        missed += goal is not None and value > goal
        print(f"{key}: {value}{verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
