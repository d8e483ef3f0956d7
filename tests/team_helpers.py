"""A studio on one machine for team-mode tests: the daemon's host and workstations as
separate HOME/XDG trees, the daemon a real `cropd --listen tcp://127.0.0.1:0`, the
commands real `cropctl` processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from crop_progress.paths import ipc_endpoint

TEAM_TIMEOUT = 60


def tree(root: Path) -> dict[str, str]:
    """The environment of a user whose HOME and XDG folders are under `root`."""
    home, runtime = root / "home", root / "run"
    for folder in (home, runtime):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("CROPD_ENDPOINT", "CROP_PROGRESS_DIR")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local/share"), XDG_STATE_HOME=str(home / ".local/state"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_RUNTIME_DIR=str(runtime))
    return env


def cropctl(env: dict[str, str], *args: str, cwd: Path | None = None,
            timeout: float = TEAM_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crop_client.cropctl", *args], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=timeout)


def multicrop(env: dict[str, str], *args: str,
              timeout: float = TEAM_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crop_client.multicrop", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def progress_dir(env: dict[str, str]) -> Path:
    return Path(env["XDG_DATA_HOME"]) / "crop-progress" / "crop_progress"


class Host:
    """The daemon's host: its team keys, its share map, its running cropd."""

    def __init__(self, root: Path, share: Path, lease_ttl: float = 2.0) -> None:
        self.env = tree(root)
        self.root = root
        self.endpoint = ipc_endpoint(Path(self.env["XDG_RUNTIME_DIR"]) / "cropd.sock")
        self.env["CROPD_ENDPOINT"] = self.endpoint
        self.lease_ttl = lease_ttl
        ok(cropctl(self.env, "team", "init", "--listen", "tcp://127.0.0.1:0"))
        ok(cropctl(self.env, "team", "share", "studio", str(share)))
        self.proc: subprocess.Popen[bytes] | None = None
        self.listen = ""

    def start(self) -> str:
        listening = progress_dir(self.env) / "team" / "listening"
        listening.unlink(missing_ok=True)
        with open(self.root / "cropd.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cropd", "--lease-ttl", str(self.lease_ttl)],
                env=self.env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 20
        while not listening.exists() or not listening.read_text().strip():
            if self.proc.poll() is not None:
                raise AssertionError(f"cropd exited: {(self.root / 'cropd.log').read_text()}")
            if time.monotonic() > deadline:
                raise TimeoutError("cropd did not listen")
            time.sleep(0.02)
        self.listen = listening.read_text().strip()
        return self.listen

    def add(self, name: str, endpoint: str | None = None) -> Path:
        bundle = self.root / f"{name}.crop-team"
        extra = ("--endpoint", endpoint) if endpoint else ()
        ok(cropctl(self.env, "team", "add", name, "--out", str(bundle), *extra))
        return bundle

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Workstation:
    def __init__(self, root: Path, bundle: Path, mount: Path) -> None:
        self.env = tree(root)
        self.mount = mount
        self.joined = cropctl(self.env, "team", "join", str(bundle))
        ok(cropctl(self.env, "team", "share", "studio", str(mount)))


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"exit {done.returncode}: {done.stdout}{done.stderr}"
    return done
