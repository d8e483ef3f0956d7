"""The dashboard process against a real daemon and real `multicrop --auto` runs:
its JSON equals cropctl's, its events arrive live, its token and bind rules hold,
it refuses every method but GET and HEAD, and it works with no daemon at all."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import InProcessDaemon, make_images
from procs import run_multicrop
from web_helpers import Dashboard, EventStream

from crop_client.web.tokenfile import default_token_file

pytest.importorskip("starlette", reason="the web extra is not installed")
pytestmark = pytest.mark.timeout(120)


def cropctl_json(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "crop_client.cropctl", *args, "--json"],
                          capture_output=True, text=True, timeout=60, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def auto(directory: Path, *args: str) -> None:
    done = run_multicrop("--auto", "center", "--aspect", "1:1", *args, str(directory))
    assert done.returncode == 0, done.stderr


@pytest.fixture
def work(tmp_path: Path) -> dict[str, Path]:
    dirs = {"_asian": tmp_path / "work" / "_asian", "_euro": tmp_path / "work" / "_euro"}
    make_images(dirs["_asian"], 12)
    make_images(dirs["_euro"], 4)
    return dirs


def until_live(stream: EventStream, directory: Path, deadline: float = 30.0) -> None:
    """Work one image at a time until the dashboard relays an operation: from then on
    its subscription to the daemon's feed is known to be live."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        auto(directory, "--limit", "1")
        try:
            stream.wait(lambda kind, data: kind == "op", timeout=1.0)
            return
        except AssertionError:
            continue
    raise AssertionError("the dashboard relayed no operation")


def test_api_status_and_stats_equal_cropctl(daemon: InProcessDaemon,
                                            work: dict[str, Path]) -> None:
    auto(work["_asian"], "--limit", "5")
    auto(work["_euro"])
    with Dashboard() as board:
        status = board.get("/api/status")
        assert status.status == 200
        assert status.headers["content-type"].startswith("application/json")
        assert status.json() == cropctl_json("status")
        assert status.json()["daemon"]["running"] is True
        stats = board.get("/api/stats?days=3").json()
        expected = cropctl_json("stats", "--days", "3")
        assert stats.pop("since") <= expected.pop("since")  # "now minus 3 days", a moment apart
        assert stats == expected
        assert stats["total"]["images"] == 9
        assert board.get("/api/stats?days=zero").status == 400


def test_pages_show_every_directory_and_charts_are_svg(daemon: InProcessDaemon,
                                                       work: dict[str, Path]) -> None:
    auto(work["_asian"], "--limit", "5")
    auto(work["_euro"])
    with Dashboard() as board:
        page = board.get("/")
        assert page.status == 200
        assert "_asian/" in page.text and "_euro/" in page.text
        assert 'data-done="5" data-total="12"' in page.text
        assert 'data-done="4" data-total="4"' in page.text
        assert "/d/_asian" in page.text
        one = board.get("/d/_asian")
        assert one.status == 200
        assert one.text.count('class="op-crop"') == 5
        assert "Session #1" in one.text
        for path in ("/stats", "/stats?days=60", "/plan", "/plan?d=_asian&n=500", "/d/_asian"):
            answer = board.get(path)
            assert answer.status == 200, path
            charts = re.findall(r"<svg\b.*?</svg>", answer.text, re.S)
            assert charts or path.startswith("/plan"), path  # no rate measured: no chart
            for chart in charts:
                ET.fromstring(chart)  # each chart is well-formed XML
        assert board.get("/plan?n=lots").status == 400
        from crop_client.session import Session

        with Session(daemon.endpoint, program="a window", heartbeat=False) as window:
            window.open(work["_asian"])
            assert '1 window</span>' in board.get("/").text
            assert "1 window open" in board.get("/").text
        assert board.get("/d/nothing-here").status == 404
        assert board.get("/static/live.js").headers["content-type"].startswith("text/javascript")
        assert board.get("/static/../../etc/passwd").status == 404


def test_events_carry_each_operation_and_the_new_figures(daemon: InProcessDaemon,
                                                         work: dict[str, Path]) -> None:
    with Dashboard() as board:
        stream = EventStream(board)
        assert stream.status == 200
        assert stream.response.getheader("content-type").startswith("text/event-stream")
        until_live(stream, work["_asian"])
        auto(work["_asian"], "--limit", "3")
        key = str(work["_asian"].resolve()) + "/"
        done = daemon.state.dirs[next(i for i in daemon.state.dirs if i[1] == key)]
        count = len(done.tracker.completed)
        _, _, status = stream.wait(lambda kind, data: kind == "status" and data["key"] == key
                                   and f'data-done="{count}"' in data["card"])
        ops = [(t, d) for t, k, d in stream.events if k == "op" and d["op"] == "crop"]
        assert ops and all(d["key"] == key for _, d in ops)
        lags = [t - iso_epoch(d["ts"]) for t, d in ops]
        print(f"\n/events: {len(lags)} crop events, operation-to-event latency "
              f"median {1000 * sorted(lags)[len(lags) // 2]:.0f} ms, max {1000 * max(lags):.0f} ms")
        assert status["id"] == "_asian"
        stream.close()


def iso_epoch(ts: str) -> float:
    from crop_progress.timefmt import iso_to_epoch

    return iso_to_epoch(ts)


def test_only_get_and_head(daemon: InProcessDaemon) -> None:
    with Dashboard() as board:
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            for path in ("/", "/api/status", "/events", "/d/x"):
                answer = board.request(path, method)
                assert answer.status == 405, (method, path)
                assert answer.headers["allow"] == "GET, HEAD"
        head = board.request("/", "HEAD")
        assert head.status == 200 and head.body == b""
        csp = board.get("/").headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert board.get("/").headers["referrer-policy"] == "no-referrer"


def test_with_a_token_every_route_needs_it(daemon: InProcessDaemon, tmp_path: Path) -> None:
    token_file = tmp_path / "web-token"
    made = subprocess.run([sys.executable, "-m", "crop_client.cropctl", "web", "token",
                           "--token-file", str(token_file)], capture_output=True, text=True,
                          timeout=60)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    with Dashboard("--token-file", str(token_file)) as board:
        assert board.token == token
        for path in ("/", "/d/x", "/stats", "/plan", "/api/status", "/api/stats", "/events",
                     "/static/style.css"):
            assert board.get(path).status == 401, path
            assert board.get(path + "?token=" + "0" * 64).status == 401, path
            assert board.get(path, Cookie="crop_web_token=" + "1" * 64).status == 401, path
        entry = board.get(f"/stats?days=3&token={token}")
        assert entry.status == 303
        assert entry.headers["location"] == "/stats?days=3"
        cookie = entry.headers["set-cookie"]
        assert cookie.startswith(f"crop_web_token={token};")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert board.get("/stats?days=3", Cookie=f"crop_web_token={token}").status == 200
        assert board.get(f"/api/status?token={token}").status == 200  # no redirect for data
        assert board.get("/api/status", Cookie=f"crop_web_token={token}").status == 200


def test_token_command_keeps_then_rotates(tmp_path: Path) -> None:
    def token(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "crop_client.cropctl", "web", "token",
                               *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    first = token()
    path = default_token_file()
    assert path == Path(os.environ["XDG_CONFIG_HOME"]) / "crop-progress" / "web-token"
    assert path.read_text().strip() == first
    assert token() == first
    rotated = token("--rotate")
    assert rotated != first and path.read_text().strip() == rotated
    path.chmod(0o644)
    done = subprocess.run([sys.executable, "-m", "crop_client.cropctl", "web", "--no-open"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "can be read by other users" in done.stderr and "Traceback" not in done.stderr


def test_a_network_bind_needs_a_token(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "crop_client.cropctl", "web", "--bind",
                           "0.0.0.0:0", "--no-open"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "refusing to serve on 0.0.0.0 without a token" in lines[0]
    bad = subprocess.run([sys.executable, "-m", "crop_client.cropctl", "web", "--bind",
                          "localhost", "--no-open"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "--bind takes HOST:PORT" in bad.stderr

    from crop_client.web import cli

    token_file = tmp_path / "t"
    cli.token(str(token_file))
    assert cli.check("0.0.0.0", str(token_file)) == token_file.read_text().strip()
    assert cli.check("127.0.0.1", str(tmp_path / "none")) is None
    assert cli.is_loopback("::1") and cli.is_loopback("localhost")
    assert not cli.is_loopback("192.168.1.5") and not cli.is_loopback("example.org")


def test_without_a_daemon_it_reads_the_files(endpoint: str, progress_dir: Path,
                                              work: dict[str, Path]) -> None:
    with InProcessDaemon(endpoint, progress_dir, tick_seconds=0.1):
        auto(work["_asian"], "--limit", "4")
    socket = Path(endpoint.removeprefix("ipc://"))
    assert not socket.exists()
    with Dashboard() as board:
        status = board.get("/api/status").json()
        assert status["daemon"]["running"] is False
        assert status == cropctl_json("status")
        assert status["directories"][0]["completed_count"] == 4
        page = board.get("/")
        assert page.status == 200 and 'data-done="4"' in page.text
        assert "cropd is not running" in page.text
        assert board.get("/d/_asian").status == 200
        assert board.get("/stats").status == 200
        assert board.get("/plan").status == 200
        stream = EventStream(board)
        assert stream.status == 200
        assert stream.opened.wait(10)
        stream.close()
    assert not socket.exists()  # the dashboard started no daemon


def test_the_live_feed_survives_a_daemon_restart(endpoint: str, progress_dir: Path,
                                                 work: dict[str, Path]) -> None:
    first = InProcessDaemon(endpoint, progress_dir, tick_seconds=0.1)
    try:
        auto(work["_asian"], "--limit", "1")
        with Dashboard() as board:
            stream = EventStream(board)
            until_live(stream, work["_asian"])
            first.stop()
            stream.wait(lambda kind, data: kind == "daemon" and not data["running"])
            second = InProcessDaemon(endpoint, progress_dir, tick_seconds=0.1)
            try:
                before = len(stream.events)
                until_live(stream, work["_euro"])
                assert any(k == "op" for _, k, _ in stream.events[before:])
            finally:
                second.stop()
            stream.close()
    finally:
        if first.thread.is_alive():
            first.stop()


def test_ctrl_c_stops_it_cleanly_with_a_page_still_open(endpoint: str) -> None:
    import signal

    board = Dashboard()
    try:
        stream = EventStream(board)
        assert stream.opened.wait(10)
        board.proc.send_signal(signal.SIGINT)
        assert board.proc.wait(30) == 130  # the house exit code for Ctrl+C
        assert board.proc.stderr is not None
        errors = board.proc.stderr.read()
        assert "Traceback" not in errors and "ERROR" not in errors, errors
        stream.close()
    finally:
        board.stop()


def test_work_time_uses_the_running_daemons_break_threshold(endpoint: str,
                                                            progress_dir: Path) -> None:
    from conftest import InProcessDaemon

    from crop_client.web.app import Dashboard
    from crop_client.web.source import Source
    from crop_progress.worktime import BREAK_THRESHOLD

    source = Source(endpoint)
    assert Dashboard(source).threshold() == BREAK_THRESHOLD  # none runs: the default
    with InProcessDaemon(endpoint, progress_dir, break_threshold=77.0):
        assert Dashboard(source).threshold() == 77.0
    source.close()
