"""What the daemon lets in and where it writes: a private socket, no paths outside
the directory being worked, no writes outside the progress folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import InProcessDaemon, make_images

from crop_client.errors import DaemonError
from crop_client.session import Session
from crop_protocol import messages as m

pytestmark = pytest.mark.timeout(60)

CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
    print("connected")
except OSError as exc:
    print(type(exc).__name__)
"""


def test_socket_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime folder is 0700 and the socket 0600: another user cannot connect,
    even when the folder above ours is open to everyone."""
    from crop_progress.paths import ipc_endpoint, runtime_dir

    base = Path(tempfile.mkdtemp(prefix="cp-", dir="/tmp"))
    try:
        base.chmod(0o755)
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(base))
        endpoint = ipc_endpoint(runtime_dir() / "cropd.sock")
        with InProcessDaemon(endpoint, tmp_path / "progress"):
            sock = Path(endpoint.removeprefix("ipc://"))
            assert sock.parent.stat().st_mode & 0o777 == 0o700
            assert sock.stat().st_mode & 0o077 == 0
            python = shutil.which("python3", path="/usr/bin:/bin")
            if os.geteuid() != 0 or python is None:
                pytest.skip("needs root and a system python3 to try as another user")
            as_root = subprocess.run([python, "-c", CONNECT, str(sock)], capture_output=True,
                                     text=True, timeout=30)
            assert as_root.stdout.strip() == "connected"
            as_nobody = subprocess.run(
                [python, "-c", CONNECT, str(sock)], capture_output=True, text=True, timeout=30,
                preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)),
                env={"PATH": "/usr/bin:/bin"}, cwd="/")
            assert as_nobody.stdout.strip() == "PermissionError", as_nobody.stderr
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def opened(tmp_path: Path, daemon: InProcessDaemon):
    work = tmp_path / "inside"
    make_images(work, 3)
    outside = tmp_path / "outside.png"
    outside.write_bytes((work / "img_0000.png").read_bytes())
    (work / "escape.png").symlink_to(outside)
    with Session(daemon.endpoint, autostart=False) as session:
        opened = session.open(work)
        yield session, opened.summary.directory, tmp_path


@pytest.mark.parametrize("name", ["../outside.png", "/etc/passwd", "sub/../../outside.png",
                                  "escape.png", "..", ""])
def test_names_outside_the_directory_are_refused(opened, name: str) -> None:
    session, directory, _ = opened
    with pytest.raises(DaemonError) as err:
        session.report(m.Report(directory=directory, file=name, outcome="kept"))
    assert err.value.code in ("BAD_REQUEST", "NOT_FOUND")
    with pytest.raises(DaemonError):
        session.call(m.Claim(directory=directory, files=[name]), m.Claimed)


def test_links_out_are_not_offered(opened) -> None:
    session, directory, _ = opened
    offered = [i.file for i in session.claim(directory, 10).items]
    assert offered == ["img_0000.png", "img_0001.png", "img_0002.png"]


def test_relative_and_missing_directories_are_refused(opened) -> None:
    session, _, tmp_path = opened
    for request in (m.Open(directory="inside"), m.Open(directory=str(tmp_path / "nope")),
                    m.Open(directory=str(tmp_path / "outside.png")),
                    m.Show(directory="../inside"), m.Reset(directory="relative/dir")):
        with pytest.raises(DaemonError) as err:
            session.call(request, m.Opened)
        assert err.value.code in ("BAD_REQUEST", "NOT_FOUND"), request


def snapshot(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("*") if not p.is_symlink()}


def test_no_request_writes_outside_the_progress_folder(tmp_path: Path, endpoint: str,
                                                       progress_dir: Path) -> None:
    work = tmp_path / "tree" / "work"
    make_images(work, 4)
    elsewhere = tmp_path / "tree" / "elsewhere"
    elsewhere.mkdir()
    daemon = InProcessDaemon(endpoint, progress_dir)
    before = snapshot(tmp_path / "tree")
    try:
        with Session(endpoint, autostart=False) as session:
            opened = session.open(work, output_dir=elsewhere / "out")
            key = opened.summary.directory
            items = session.claim(key, 4).items
            requests: list[m.Request] = [
                m.Report(directory=key, file=items[0].file, outcome="kept",
                         dest=str(elsewhere / "x.png")),
                m.Report(directory=key, file=items[1].file, outcome="deleted",
                         trashed=[str(elsewhere / "t.png")]),
                m.Rebuild(directory=key, output_dir=str(elsewhere / "rebuilt")),
                m.Reset(directory=key),
                m.Open(directory=key, output_dir=str(elsewhere / "o2")),
                m.Undo(directory=key),
                m.Stats(days=3), m.Log(directory=key), m.Status(),
            ]
            for request in requests:
                with contextlib.suppress(DaemonError):
                    session.call(request, object)  # type: ignore[arg-type]
    finally:
        daemon.stop()
    assert snapshot(tmp_path / "tree") == before
    assert not (elsewhere / "out").exists() and not (elsewhere / "rebuilt").exists()
