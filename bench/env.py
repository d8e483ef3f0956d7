"""The benchmark's world: a temporary root with its own HOME and XDG folders, real
`cropd` subprocesses on private ipc endpoints, and a thin client to talk to them.

Nothing here touches the real home: `isolate` points every variable the
product reads at the temporary root before anything else runs, and every
daemon started here is stopped at exit (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import psutil

from crop_protocol import messages as m
from crop_protocol.codec import PROTOCOL_VERSION

REPO = Path(__file__).resolve().parent.parent
_started: list[subprocess.Popen[bytes]] = []


def make_root() -> Path:
    """A short temporary folder (ipc socket paths must stay under 107 bytes)."""
    return Path(tempfile.mkdtemp(prefix="cpb-", dir="/tmp" if os.path.isdir("/tmp") else None))


def isolate(root: Path) -> None:
    """Point HOME, XDG_*, CROPD_ENDPOINT and CROP_PROGRESS_DIR into `root`."""
    home = root / "home"
    runtime = root / "run"
    for folder in (home, runtime):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ["HOME"] = str(home)
    for name, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state"),
                      ("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache")):
        os.environ[name] = str(home / sub)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    os.environ["CROPD_ENDPOINT"] = f"ipc://{runtime}/cropd.sock"
    os.environ["CROP_PROGRESS_DIR"] = str(root / "progress")
    # Our own helper processes (`python -m bench.xxx`) must find the package.
    path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(REPO) + (os.pathsep + path if path else "")


def remove_root(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


def track(process: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
    """Remember a child so that `stop_all` ends it even when a row fails."""
    _started.append(process)
    return process


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> int | None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait(5)
    if process in _started:
        _started.remove(process)
    return process.returncode


@atexit.register
def stop_all() -> None:
    for process in list(_started):
        stop(process, timeout=5.0)


class Daemon:
    """A real `cropd` subprocess on its own endpoint and progress folder."""

    def __init__(self, root: Path, name: str) -> None:
        self.home = root / name
        self.home.mkdir(parents=True, exist_ok=True)
        self.endpoint = f"ipc://{self.home}/cropd.sock"
        self.progress_dir = self.home / "progress"
        self.env = dict(os.environ, CROPD_ENDPOINT=self.endpoint,
                        CROP_PROGRESS_DIR=str(self.progress_dir))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str) -> Daemon:
        log = open(self.home / "cropd-stdout.log", "ab")  # noqa: SIM115 (the child holds it)
        command = [sys.executable, "-m", "cropd", "--endpoint", self.endpoint,
                   "--progress-dir", str(self.progress_dir), *extra]
        self.process = track(subprocess.Popen(command, env=self.env, stdout=log,
                                              stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL))
        log.close()
        client = Client(self.endpoint)
        try:
            client.hello(total_timeout=20.0)
        finally:
            client.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss(self) -> int:
        return psutil.Process(self.pid).memory_info().rss

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return times.user + times.system

    def stop(self) -> int | None:
        if self.process is None:
            return None
        code = stop(self.process)
        self.process = None
        return code

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Client:
    """`crop_client.connection.Connection` plus the Hello/Open every client sends."""

    def __init__(self, endpoint: str, curve: Any = None) -> None:
        from crop_client.connection import Connection

        self.conn = Connection(endpoint, uuid.uuid4().hex, curve=curve)

    def call(self, request: m.Request, **kwargs: float) -> m.Reply:
        reply = self.conn.call(request, **kwargs)
        if isinstance(reply, m.Err):
            raise RuntimeError(f"{type(request).__name__}: {reply.code} {reply.message}")
        return reply

    def hello(self, **kwargs: float) -> m.Welcome:
        reply = self.call(m.Hello(pid=os.getpid(), host=socket.gethostname(), program="bench",
                                  protocol_version=PROTOCOL_VERSION,
                                  create_time=psutil.Process().create_time()), **kwargs)
        assert isinstance(reply, m.Welcome)
        return reply

    def open(self, directory: Path, output_dir: Path | None = None) -> m.Opened:
        reply = self.call(m.Open(directory=str(directory.resolve()),
                                 output_dir=str(output_dir) if output_dir else None),
                          total_timeout=120.0, try_timeout=60.0)
        assert isinstance(reply, m.Opened)
        return reply

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.call(m.Goodbye(), try_timeout=1.0, total_timeout=2.0)
        self.conn.close()

