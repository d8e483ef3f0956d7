"""`cropctl`: every subcommand against an in-process daemon, a real `cropd`
subprocess, or no daemon at all (the read commands must answer from the files
and start nothing). The state they look at is made through the real client API.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from conftest import InProcessDaemon, make_images, start_cropd, wait_for_socket

from crop_client.cropctl.cli import app
from crop_client.session import Session
from crop_client.work import Decision, Target, carry_out
from crop_progress.paths import lock_path

pytestmark = pytest.mark.timeout(90)

runner = CliRunner()
SPEC_DIRECTORY_KEYS = ["directory", "progress_file", "total_images", "completed_count",
                       "skipped_count", "failed_count", "deleted_count", "percent",
                       "work_seconds", "session_count", "last_session_end", "active_claims"]


# ----------------------------------------------------------------------- helpers


def populate(endpoint: str, root: Path) -> dict[str, Path]:
    """Two directories worked on through the client API.

    `_asian` (7 images): 2 cropped, 1 kept, 1 skipped ("decide later"), 1 deleted,
    1 failed (an unreadable file), 1 left. `_euro` (3 images): all kept.
    """
    asian, euro = root / "_asian", root / "_euro"
    make_images(asian, 7)
    (asian / "img_0005.png").write_bytes(b"this is not a png")
    make_images(euro, 3)
    plan = ["crop", "crop", "keep", "skip", "delete", "crop"]
    with Session(endpoint, program="test-populate", heartbeat=False) as session:
        target = Target.from_opened(session.open(asian))
        items = session.claim(target.directory, 6).items
        for item, action in zip(items, plan, strict=True):
            box = (2, 2, 40, 30) if action == "crop" else None
            reason = "decide later" if action == "skip" else None
            carry_out(session, target, item, Decision(action, box, reason))  # type: ignore[arg-type]
        target = Target.from_opened(session.open(euro))
        for item in session.claim(target.directory, 3).items:
            carry_out(session, target, item, Decision("keep"))
    return {"_asian": asian, "_euro": euro}


def record(progress_dir: Path, name: str) -> dict:
    return json.loads((progress_dir / f"{name}_progress.json").read_text())


def made_without_daemon(tmp_path: Path, endpoint: str, progress_dir: Path) -> dict[str, Path]:
    """The state of `populate`, and then no daemon: socket gone, lock released."""
    running = InProcessDaemon(endpoint, progress_dir, tick_seconds=0.1)
    try:
        dirs = populate(endpoint, tmp_path / "work")
    finally:
        running.stop()
    assert not socket_of(endpoint).exists()
    return dirs


def socket_of(endpoint: str) -> Path:
    return Path(endpoint.removeprefix("ipc://"))


def cropctl(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess (exit codes, stderr, no traceback, no tty)."""
    return subprocess.run([sys.executable, "-m", "crop_client.cropctl", *args],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=os.environ.copy())


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("cropctl: ")
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input, catch_exceptions=False)


def no_daemon_started(endpoint: str) -> None:
    assert not socket_of(endpoint).exists()
    lock = lock_path(endpoint)
    assert not lock.exists() or not lock.read_text().strip()
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            cmd = proc.info["cmdline"] or []
            env = proc.info["environ"] or {}
        except psutil.Error:
            continue
        if any("cropd" in w for w in cmd) and env.get("CROPD_ENDPOINT") == endpoint:
            pytest.fail(f"a cropd was started: {cmd}")


# ----------------------------------------------------------------------- status


def check_status_json(data: dict, dirs: dict[str, Path], progress_dir: Path) -> None:
    entries = {Path(d["directory"]).name: d for d in data["directories"]}
    assert set(entries) == {"_asian", "_euro"}
    for entry in data["directories"]:
        assert list(entry)[:len(SPEC_DIRECTORY_KEYS)] == SPEC_DIRECTORY_KEYS
    asian, euro = entries["_asian"], entries["_euro"]
    file_asian = record(progress_dir, "_asian")
    assert asian["directory"] == str(dirs["_asian"].resolve()) + "/"
    assert asian["progress_file"] == str(progress_dir / "_asian_progress.json")
    assert asian["total_images"] == file_asian["total_images"] == 6  # the deleted one left
    assert asian["completed_count"] == 3
    assert asian["skipped_count"] == 1
    assert asian["failed_count"] == 1
    assert asian["deleted_count"] == 1
    assert asian["percent"] == 50.0
    assert asian["work_seconds"] == pytest.approx(file_asian["work_seconds"], abs=0.002)
    assert asian["work_seconds"] > 0
    assert asian["session_count"] == 1
    assert asian["last_session_end"] == file_asian["last_session_end"]
    assert asian["last_session_end"].endswith("Z")
    assert asian["active_claims"] == 0
    assert asian["remaining"] == 1
    assert (euro["total_images"], euro["completed_count"], euro["percent"]) == (3, 3, 100.0)
    assert (euro["skipped_count"], euro["failed_count"], euro["deleted_count"]) == (0, 0, 0)
    # newest activity first: _euro was worked on last
    assert [Path(d["directory"]).name for d in data["directories"]] == ["_euro", "_asian"]
    assert data["problems"] == []


def test_status_json_with_daemon(tmp_path: Path, daemon: InProcessDaemon,
                                 progress_dir: Path) -> None:
    dirs = populate(daemon.endpoint, tmp_path / "work")
    result = invoke("status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data) == ["daemon", "directories", "problems"]
    assert list(data["daemon"])[:4] == ["running", "pid", "version", "endpoint"]
    assert data["daemon"]["running"] is True
    assert data["daemon"]["pid"] == os.getpid()  # the in-process daemon
    assert data["daemon"]["version"] == "0.1.0"
    assert data["daemon"]["endpoint"] == daemon.endpoint
    check_status_json(data, dirs, progress_dir)


def test_status_json_without_daemon(tmp_path: Path, endpoint: str, progress_dir: Path) -> None:
    dirs = made_without_daemon(tmp_path, endpoint, progress_dir)
    before = {p.name: p.stat().st_mtime_ns for p in progress_dir.iterdir()}
    result = cropctl("status", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["daemon"] == {"running": False, "pid": None, "version": None,
                              "endpoint": endpoint, "progress_dir": str(progress_dir)}
    check_status_json(data, dirs, progress_dir)
    assert {p.name: p.stat().st_mtime_ns for p in progress_dir.iterdir()} == before
    no_daemon_started(endpoint)


def test_status_table_is_plain_when_piped(tmp_path: Path, daemon: InProcessDaemon) -> None:
    populate(daemon.endpoint, tmp_path / "work")
    result = cropctl("status")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "\x1b[" not in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("_")}
    assert set(rows) == {"_asian/", "_euro/"}
    assert "3/6" in rows["_asian/"] and "50.0%" in rows["_asian/"]
    assert "3/3" in rows["_euro/"] and "██████████" in rows["_euro/"]
    assert out.index("_euro/") < out.index("_asian/")
    assert f"running (pid {os.getpid()})" in out


def test_status_table_without_daemon_says_so(tmp_path: Path, endpoint: str,
                                             progress_dir: Path) -> None:
    made_without_daemon(tmp_path, endpoint, progress_dir)
    result = cropctl("status")
    assert result.returncode == 0, result.stderr
    assert "cropd is not running" in result.stdout
    assert "_asian/" in result.stdout and "3/6" in result.stdout
    no_daemon_started(endpoint)


def test_directories_sharing_a_name_are_told_apart(tmp_path: Path,
                                                  daemon: InProcessDaemon) -> None:
    one, two = tmp_path / "a" / "shots", tmp_path / "b" / "shots"
    for folder in (one, two):
        make_images(folder, 2)
    with Session(daemon.endpoint, heartbeat=False) as session:
        for folder in (one, two):
            target = Target.from_opened(session.open(folder))
            for item in session.claim(target.directory, 1).items:
                carry_out(session, target, item, Decision("keep"))
    status_out = invoke("status").stdout
    stats_out = invoke("stats").stdout
    for out in (status_out, stats_out):
        assert "a/shots/" in out and "b/shots/" in out
    assert status_out.count("1/2") == 2
    one_line_error(cropctl("show", "shots"), "names 2 known directories")
    assert "Processing: shots/" in invoke("show", str(one)).stdout


def test_status_of_an_empty_progress_folder() -> None:
    result = invoke("status")
    assert result.exit_code == 0
    assert "No directories yet" in result.stdout
    assert "not running" in result.stdout


# ----------------------------------------------------------------------- show, log, stats


@pytest.mark.parametrize("with_daemon", [True, False])
def test_show(tmp_path: Path, endpoint: str, progress_dir: Path, with_daemon: bool) -> None:
    if with_daemon:
        running = InProcessDaemon(endpoint, progress_dir, tick_seconds=0.1)
        dirs = populate(endpoint, tmp_path / "work")
    else:
        running = None
        dirs = made_without_daemon(tmp_path, endpoint, progress_dir)
    try:
        result = invoke("show", str(dirs["_asian"]))
        assert result.exit_code == 0, result.output
        out = result.stdout
        assert "Processing: _asian/ [█████░░░░░] 50% (3/6)" in out
        assert "Current: img_0002.png" in out
        assert "Session: 6 images processed" in out
        assert "Last session:" in out and "ETA:" in out and "1 images left" in out
        assert "Skipped (1):\n  img_0003.png: decide later" in out
        assert "Failed (1):\n  img_0005.png: " in out
        assert "Deleted (1):\n  img_0004.png" in out
        assert ("not running" in out) is not with_daemon
        data = json.loads(invoke("show", "_asian", "--json").stdout)  # a known name works too
        assert data["summary"]["completed_count"] == 3
        assert data["skipped_files"] == ["img_0003.png"]
        assert data["skip_reasons"] == {"img_0003.png": "decide later"}
        assert [f["file"] for f in data["failed_files"]] == ["img_0005.png"]
        assert data["failed_files"][0]["reason"]
        assert data["deleted_files"] == ["img_0004.png"]
        assert len(data["sessions"]) == 1 and data["sessions"][0]["images"] == 6
    finally:
        if running is not None:
            running.stop()
    if not with_daemon:
        no_daemon_started(endpoint)


@pytest.mark.parametrize("with_daemon", [True, False])
def test_log(tmp_path: Path, endpoint: str, progress_dir: Path, with_daemon: bool) -> None:
    running = InProcessDaemon(endpoint, progress_dir, tick_seconds=0.1)
    try:
        dirs = populate(endpoint, tmp_path / "work")
    finally:
        if not with_daemon:
            running.stop()
    try:
        data = json.loads(invoke("log", str(dirs["_asian"]), "--json").stdout)
        events = data["events"]
        assert data["directory"] == str(dirs["_asian"].resolve()) + "/"
        ops = [e["op"] for e in events]
        assert ops[0] == "session_start" and ops[-1] == "session_end"
        assert [op for op in ops if op not in ("claim", "session_start", "session_end")] == \
            ["crop", "crop", "keep", "skip", "delete", "fail"]
        stamps = [e["ts"] for e in events]
        assert stamps == sorted(stamps)  # newest last
        assert all(e["directory"] == data["directory"] for e in events)
        cut = stamps[len(stamps) // 2]
        later = json.loads(invoke("log", "_asian", "--since", cut, "--json").stdout)["events"]
        assert later and all(e["ts"] > cut for e in later)
        assert len(later) < len(events)
        table = invoke("log", str(dirs["_asian"])).stdout
        assert "session_start" in table and "decide later" in table
        assert table.index("session_start") < table.index("session_end")
    finally:
        if with_daemon:
            running.stop()


@pytest.mark.parametrize("with_daemon", [True, False])
def test_stats(tmp_path: Path, endpoint: str, progress_dir: Path, with_daemon: bool) -> None:
    running = InProcessDaemon(endpoint, progress_dir, tick_seconds=0.1)
    try:
        dirs = populate(endpoint, tmp_path / "work")
    finally:
        if not with_daemon:
            running.stop()
    try:
        result = invoke("stats", "--json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        asian = str(dirs["_asian"].resolve()) + "/"
        euro = str(dirs["_euro"].resolve()) + "/"
        per_directory = {d["directory"]: d for d in data["per_directory"]}
        assert per_directory[asian]["images"] == 6  # six outcomes, each one image
        assert per_directory[euro]["images"] == 3
        assert data["total"]["images"] == 9
        total_seconds = sum(r["work_seconds"] for r in data["rows"])
        assert data["total"]["work_seconds"] == pytest.approx(total_seconds, abs=0.01)
        assert data["total"]["work_seconds"] > 0
        assert data["total"]["images_per_hour"] == pytest.approx(
            9 * 3600 / data["total"]["work_seconds"], rel=0.01)
        assert sum(d["images"] for d in data["per_day"]) == 9
        assert [e["directory"] for e in data["eta"]] == [asian]  # _euro is finished
        assert data["eta"][0]["remaining"] == 1
        assert data["origin_binned_seconds"] % 900 == 0
        table = invoke("stats").stdout
        assert "images/hour" in table and "Total: 9 images" in table
        assert "15-minute bins" in table
        assert "_asian/" in table and "done" in table  # _euro's ETA
    finally:
        if with_daemon:
            running.stop()


def test_read_commands_never_start_a_daemon(tmp_path: Path, endpoint: str,
                                            progress_dir: Path) -> None:
    dirs = made_without_daemon(tmp_path, endpoint, progress_dir)
    for args in (["status"], ["status", "--json"], ["show", str(dirs["_asian"])],
                 ["log", str(dirs["_asian"])], ["stats"], ["daemon", "status"]):
        result = cropctl(*args)
        assert result.returncode == 0, (args, result.stderr)
        no_daemon_started(endpoint)


# ----------------------------------------------------------------------- errors


@pytest.mark.parametrize("with_daemon", [True, False])
def test_unknown_directory_is_one_line(tmp_path: Path, endpoint: str, progress_dir: Path,
                                       with_daemon: bool) -> None:
    running = InProcessDaemon(endpoint, progress_dir) if with_daemon else None
    try:
        never = tmp_path / "never_seen"
        make_images(never, 2)
        for command in ("show", "log", "reset"):
            one_line_error(cropctl(command, str(never), "--yes" if command == "reset"
                                   else "--json"), "never worked on")
        one_line_error(cropctl("show", str(tmp_path / "nowhere")), "no such directory")
    finally:
        if running is not None:
            running.stop()


@pytest.mark.parametrize("with_daemon", [True, False])
def test_damaged_progress_file_is_one_line(tmp_path: Path, endpoint: str, progress_dir: Path,
                                           with_daemon: bool) -> None:
    dirs = made_without_daemon(tmp_path, endpoint, progress_dir)
    damaged = progress_dir / "_asian_progress.json"
    damaged.write_bytes(damaged.read_bytes()[:200])
    running = InProcessDaemon(endpoint, progress_dir) if with_daemon else None
    try:
        one_line_error(cropctl("show", str(dirs["_asian"])), "_asian_progress.json",
                       "cropctl rebuild")
        result = cropctl("status")
        line = one_line_error(result, "_asian_progress.json")
        assert "valid JSON" in line
        assert "_euro/" in result.stdout  # the others are still shown
        data = json.loads(cropctl("status", "--json").stdout)
        assert [Path(d["directory"]).name for d in data["directories"]] == ["_euro"]
        assert len(data["problems"]) == 1
    finally:
        if running is not None:
            running.stop()
    assert damaged.read_bytes() == damaged.read_bytes()[:200]  # nobody repaired it behind us


def test_future_schema_is_one_line(tmp_path: Path, progress_dir: Path) -> None:
    work = tmp_path / "_black"
    make_images(work, 1)
    progress_dir.mkdir(parents=True)
    (progress_dir / "_black_progress.json").write_text(json.dumps(
        {"schema_version": 3, "directory": str(work) + "/", "total_images": 1}))
    one_line_error(cropctl("show", str(work)), "schema version 3")


def test_bad_since_is_one_line(tmp_path: Path, endpoint: str, progress_dir: Path) -> None:
    dirs = made_without_daemon(tmp_path, endpoint, progress_dir)
    one_line_error(cropctl("log", str(dirs["_asian"]), "--since", "last tuesday"), "--since")


class _NeverStarts:
    """Stands in for the Popen of a daemon that dies at once."""

    pid = 0
    returncode = 1

    def poll(self) -> int:
        return 1


def test_unreachable_daemon_for_writes_is_one_line(tmp_path: Path, endpoint: str,
                                                   progress_dir: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    dirs = made_without_daemon(tmp_path, endpoint, progress_dir)
    started: list[str] = []

    def start_daemon(where: str, idle_exit: float | None = None) -> _NeverStarts:
        started.append(where)
        return _NeverStarts()

    monkeypatch.setattr("crop_client.spawn.start_daemon", start_daemon)
    monkeypatch.setattr("crop_client.session.START_TIMEOUT", 1.0)
    for args in (["rebuild", str(dirs["_euro"])], ["reset", "--yes", str(dirs["_euro"])]):
        started.clear()
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("cropctl: the progress daemon cannot be reached")
        assert len(result.stderr.strip().splitlines()) == 1
        assert started and set(started) == {endpoint}  # it tried to start one, as clients do
    assert record(progress_dir, "_euro")["completed_count"] == 3


# ----------------------------------------------------------------------- reset, rebuild


def test_reset_refuses_without_a_terminal(tmp_path: Path, endpoint: str,
                                          progress_dir: Path) -> None:
    dirs = made_without_daemon(tmp_path, endpoint, progress_dir)
    before = (progress_dir / "_asian_progress.json").read_bytes()
    result = invoke("reset", str(dirs["_asian"]), input="y\n")
    assert result.exit_code == 1
    assert "--yes" in result.stderr
    line = one_line_error(cropctl("reset", str(dirs["_asian"])), "--yes")
    assert "without confirmation" in line
    assert (progress_dir / "_asian_progress.json").read_bytes() == before
    assert not (progress_dir / "_asian_progress.json.bak").exists()
    no_daemon_started(endpoint)


def test_reset_yes_through_the_daemon(tmp_path: Path, daemon: InProcessDaemon,
                                      progress_dir: Path) -> None:
    dirs = populate(daemon.endpoint, tmp_path / "work")
    result = invoke("reset", str(dirs["_asian"]), "--yes")
    assert result.exit_code == 0, result.output
    assert "reset" in result.stdout and ".bak" in result.stdout
    assert record(progress_dir, "_asian")["completed_count"] == 0
    assert json.loads((progress_dir / "_asian_progress.json.bak").read_text())[
        "completed_count"] == 3
    assert record(progress_dir, "_euro")["completed_count"] == 3


def _read_until(fd: int, needle: bytes, timeout: float = 20.0) -> bytes:
    seen = b""
    end = time.monotonic() + timeout
    while needle not in seen:
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"never saw {needle!r} in {seen!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.parametrize("answer", ["n", "y"])
def test_reset_asks_on_a_terminal(tmp_path: Path, daemon: InProcessDaemon, progress_dir: Path,
                                  answer: str) -> None:
    dirs = populate(daemon.endpoint, tmp_path / "work")
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "crop_client.cropctl", "reset",
                             str(dirs["_asian"])], stdin=slave, stdout=slave,
                            stderr=slave, env=os.environ.copy())  # input() may prompt on either
    os.close(slave)
    try:
        prompt = _read_until(master, b"[y/N]")
        assert b"Forget the progress of" in prompt
        os.write(master, f"{answer}\n".encode())
        assert proc.wait(30) == (0 if answer == "y" else 1)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        os.close(master)
    expected = 0 if answer == "y" else 3
    assert record(progress_dir, "_asian")["completed_count"] == expected


def test_rebuild_reports_what_it_recovered(tmp_path: Path, daemon: InProcessDaemon,
                                           progress_dir: Path) -> None:
    dirs = populate(daemon.endpoint, tmp_path / "work")
    damaged = progress_dir / "_euro_progress.json"
    damaged.write_text("{ not json")
    result = invoke("rebuild", str(dirs["_euro"]))
    assert result.exit_code == 0, result.output
    assert "Rebuilt _euro_progress.json" in result.stdout
    assert "recovered 3 completed" in result.stdout
    assert record(progress_dir, "_euro")["completed_count"] == 3
    assert list(progress_dir.glob("_euro_progress.json.corrupt-*"))


# ----------------------------------------------------------------------- the daemon


def _kill_lock_holder(endpoint: str) -> None:
    text = lock_path(endpoint).read_text().strip() if lock_path(endpoint).exists() else ""
    if text.isdigit() and int(text) != os.getpid():
        with contextlib.suppress(psutil.Error):
            psutil.Process(int(text)).kill()


def test_daemon_stop_stops_a_cropd_subprocess(endpoint: str) -> None:
    proc = start_cropd()
    try:
        wait_for_socket(endpoint)
        result = cropctl("daemon", "stop")
        assert result.returncode == 0, result.stderr
        assert f"cropd (pid {proc.pid}) stopped" in result.stdout
        assert proc.wait(10) == 0
        assert not socket_of(endpoint).exists()
        again = cropctl("daemon", "stop")
        assert again.returncode == 0 and "not running" in again.stdout
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


FROZEN_CROPD = """
import pathlib, sys, time
sock, lock = map(pathlib.Path, sys.argv[1:3])
sock.parent.mkdir(parents=True, exist_ok=True)
lock.write_text(f"{__import__('os').getpid()}\\n")
sock.write_text("")  # a socket file nobody answers on
print("ready", flush=True)
time.sleep(120)
"""


def test_daemon_stop_signals_a_cropd_that_does_not_answer(endpoint: str) -> None:
    """A wedged daemon (or one of another protocol version) holding the lock gets SIGTERM."""
    sock = socket_of(endpoint)
    proc = subprocess.Popen([sys.executable, "-c", FROZEN_CROPD, str(sock),
                             str(lock_path(endpoint)), "cropd-frozen"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        status = json.loads(cropctl("status", "--json").stdout)
        assert status["daemon"]["running"] is False
        result = cropctl("daemon", "stop")
        assert result.returncode == 0, result.stderr
        assert f"cropd (pid {proc.pid}) did not answer; sent it SIGTERM" in result.stdout
        assert proc.wait(10) == -15
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def test_daemon_start_status_stop(endpoint: str) -> None:
    try:
        off = json.loads(cropctl("daemon", "status", "--json").stdout)
        assert off["running"] is False and off["pid"] is None
        started = cropctl("daemon", "start")
        assert started.returncode == 0, started.stderr
        assert "Started cropd (pid" in started.stdout
        info = json.loads(cropctl("daemon", "status", "--json").stdout)
        assert list(info)[:4] == ["running", "pid", "version", "endpoint"]
        assert info["running"] is True and info["endpoint"] == endpoint
        pid = info["pid"]
        assert psutil.pid_exists(pid)
        assert f"already running (pid {pid})" in cropctl("daemon", "start").stdout
        assert "is running" in cropctl("daemon", "status").stdout
        stopped = cropctl("daemon", "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert f"cropd (pid {pid}) stopped" in stopped.stdout
        assert not socket_of(endpoint).exists()
        with contextlib.suppress(psutil.NoSuchProcess):
            assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    finally:
        _kill_lock_holder(endpoint)


def test_after_multicrop_auto_status_shows_the_directory(tmp_path: Path, endpoint: str) -> None:
    """The issue's "done when": multicrop --auto (which starts its own daemon), then
    cropctl status, then cropctl daemon stop."""
    work = tmp_path / "batch"
    make_images(work, 5)
    try:
        ran = subprocess.run([sys.executable, "-m", "crop_client.multicrop", "--auto", "keep",
                              "--limit", "3", str(work)], capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL)
        assert ran.returncode == 0, ran.stderr
        data = json.loads(cropctl("status", "--json").stdout)
        assert data["daemon"]["running"] is True
        (entry,) = data["directories"]
        assert entry["directory"] == str(work.resolve()) + "/"
        assert (entry["total_images"], entry["completed_count"]) == (5, 3)
        assert entry["percent"] == 60.0
        assert cropctl("daemon", "stop").returncode == 0
        assert not socket_of(endpoint).exists()
    finally:
        _kill_lock_holder(endpoint)


# ----------------------------------------------------------------------- service, help


def test_service_install_dry_run_changes_nothing(isolated_env: Path) -> None:
    result = cropctl("service", "install", "--dry-run")
    assert result.returncode == 0, result.stderr
    unit = isolated_env / ".config" / "systemd" / "user" / "cropd.service"
    assert f"Would write {unit}:" in result.stdout
    assert "ExecStart=" in result.stdout and "systemctl --user enable --now" in result.stdout
    assert not unit.exists()
    assert not (isolated_env / ".config" / "systemd").exists()


def test_service_status_reports_the_daemon(isolated_env: Path) -> None:
    result = invoke("service", "status")
    assert result.exit_code == 0, result.output
    assert "not installed" in result.stdout
    assert "daemon: cropd is not running" in result.stdout


def test_service_uninstall_when_not_installed() -> None:
    result = invoke("service", "uninstall", "--dry-run")
    assert result.exit_code == 0
    assert "not installed" in result.stdout


@pytest.mark.parametrize("args", [[], ["status"], ["show"], ["log"], ["stats"], ["reset"],
                                  ["rebuild"], ["daemon"], ["daemon", "start"],
                                  ["daemon", "stop"], ["daemon", "status"], ["service"],
                                  ["service", "install"], ["service", "uninstall"],
                                  ["service", "status"]])
def test_help_everywhere(args: list[str]) -> None:
    result = invoke(*args, "--help")
    assert result.exit_code == 0
    assert "Usage: cropctl" in result.stdout
    if args in (["status"], ["show"], ["log"], ["stats"], ["daemon", "status"]):
        assert "--json" in result.stdout
    if args and args[0] == "service" and len(args) == 2:
        assert "--dry-run" in result.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_install_completion_writes_the_xdg_file(isolated_env: Path, shell: str) -> None:
    assert "--install-completion" in invoke("--help").stdout
    before = sorted(p.name for p in isolated_env.iterdir())
    result = cropctl("--install-completion", shell)
    assert result.returncode == 0, result.stderr
    script = {"bash": isolated_env / ".local/share/bash-completion/completions/cropctl",
              "zsh": isolated_env / ".local/share/zsh/site-functions/_cropctl",
              "fish": isolated_env / ".config/fish/completions/cropctl.fish"}[shell]
    assert str(script) in result.stdout
    assert "_CROPCTL_COMPLETE" in script.read_text()
    # no rc file was touched: only the XDG folders appeared in HOME
    assert not (set(p.name for p in isolated_env.iterdir()) - set(before) - {".local", ".config"})
    assert not (isolated_env / ".bashrc").exists()


def test_install_completion_names_the_shell_it_cannot_guess() -> None:
    line = one_line_error(cropctl("--install-completion"), "bash, zsh or fish")
    assert "$SHELL" in line


def test_completion_answers_from_the_command_tree() -> None:
    env = {**os.environ, "_CROPCTL_COMPLETE": "bash_complete", "COMP_WORDS": "cropctl daemon s",
           "COMP_CWORD": "2"}
    lines = subprocess.run([sys.executable, "-m", "crop_client.cropctl"], env=env,
                           capture_output=True, text=True, timeout=30).stdout.split()
    assert [line.split(",")[-1] for line in lines] == ["start", "stop", "status"]
