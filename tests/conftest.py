"""Shared fixtures: every test runs in its own HOME and XDG folders (autouse), so
nothing touches the real home or a real user service; an in-process daemon on a
temporary endpoint; a real `cropd` subprocess; generated images."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from crop_progress.paths import ipc_endpoint, lock_path

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--long", action="store_true", default=False,
                     help="run the long forms of the fault harness")


@pytest.fixture
def long_run(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--long"))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    runtime = tmp_path / "run"
    for folder in (home, runtime):
        folder.mkdir(mode=0o700)
    monkeypatch.setenv("HOME", str(home))
    for name, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state"),
                      ("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache")):
        monkeypatch.setenv(name, str(home / sub))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("CROP_PROGRESS_DIR", raising=False)
    # Not under a service manager, whoever runs the tests (cropd logs differently there),
    # and no user's shell or completion folder.
    for name in ("JOURNAL_STREAM", "INVOCATION_ID", "XPC_SERVICE_NAME",
                 "BASH_COMPLETION_USER_DIR", "SHELL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CROPD_ENDPOINT", ipc_endpoint(runtime / "crop-progress" / "cropd.sock"))
    return home


@pytest.fixture
def endpoint() -> str:
    return os.environ["CROPD_ENDPOINT"]


@pytest.fixture
def progress_dir(isolated_env: Path) -> Path:
    return isolated_env / ".local/share/crop-progress/crop_progress"


class InProcessDaemon:
    """A real Server on a thread: real socket, real files, no subprocess."""

    def __init__(self, endpoint: str, progress_dir: Path, **config: object) -> None:
        from cropd.config import Config
        from cropd.lock import InstanceLock
        from cropd.server import Server

        self.endpoint = endpoint
        self.config = Config(endpoint=endpoint, progress_dir=progress_dir, **config)  # type: ignore[arg-type]
        self.lock = InstanceLock(lock_path(endpoint))
        self.lock.acquire()
        self.server = Server(self.config)
        self.server.bind()
        self.thread = threading.Thread(target=self.server.serve, name="cropd", daemon=True)
        self.thread.start()

    @property
    def state(self):
        return self.server.state

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=10)
        self.lock.release()

    def __enter__(self) -> InProcessDaemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def daemon(endpoint: str, progress_dir: Path) -> Iterator[InProcessDaemon]:
    running = InProcessDaemon(endpoint, progress_dir, tick_seconds=0.1)
    yield running
    running.stop()


@pytest.fixture
def cropd_endpoint(daemon: InProcessDaemon) -> str:
    return daemon.endpoint


def start_cropd(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """The real `cropd` as a subprocess (crash, lock and restart tests)."""
    return subprocess.Popen([sys.executable, "-m", "cropd", *args], env=env or os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_socket(endpoint: str, timeout: float = 10.0) -> None:
    path = Path(endpoint.removeprefix("ipc://"))
    end = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > end:
            raise TimeoutError(f"no socket at {path}")
        time.sleep(0.02)


def make_images(folder: Path, count: int, size: tuple[int, int] = (64, 48), fmt: str = "PNG",
                companions: tuple[str, ...] = (".yaml",), prefix: str = "img") -> list[Path]:
    """Generated images with companions, distinct pixels each, in file-name order."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "TIFF": ".tif"}[fmt]
    made = []
    for i in range(count):
        path = folder / f"{prefix}_{i:04d}{ext}"
        colour = ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256)
        Image.new("RGB", size, colour).save(path, fmt)
        for suffix in companions:
            path.with_suffix(suffix).write_text(f"image: {path.name}\nindex: {i}\n")
        made.append(path)
    return made
