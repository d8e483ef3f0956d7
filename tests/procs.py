"""Helpers for tests that run the real programs: multicrop processes, the daemon
they start, what the audit log and progress file say afterwards."""

from __future__ import annotations

import collections
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from crop_progress import model, readonly
from crop_progress.audit import read_events
from crop_progress.paths import lock_path
from cropd.lock import holder_pid

# multicrop --auto prints one line per acknowledged report: "✂️  [3/10] name.png"
ACKED = re.compile(r"^\S+\s+\[\d+/\d+\] (\S+)", re.M)


def multicrop(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "crop_client.multicrop", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_multicrop(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
                  timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crop_client.multicrop", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout,
                          env=env or os.environ.copy())


def outcomes(progress_dir: Path, directory: Path) -> collections.Counter[str]:
    """Per image: completed outcomes in the journal minus undos (1 = done once)."""
    key = str(directory.resolve()) + "/"
    done: collections.Counter[str] = collections.Counter()
    for event in read_events(progress_dir / "audit", directory=key):
        if event.op in ("crop", "keep"):
            done[event.file or ""] += 1
        elif event.op == "undo":
            done[event.file or ""] -= 1
    return done


def record(progress_dir: Path, name: str) -> dict:
    """The progress of a directory as every reader sees it: the file (a checkpoint)
    plus the journal after it."""
    found = readonly.read_record(progress_dir / f"{name}_progress.json")
    return json.loads(model.encode(found.progress))


def daemon_pid(endpoint: str) -> int | None:
    return holder_pid(lock_path(endpoint))


def stop_daemon(endpoint: str) -> None:
    """SIGTERM the daemon serving `endpoint` (one a client started) and wait for it."""
    pid = daemon_pid(endpoint)
    if not pid:
        return
    try:
        process = psutil.Process(pid)
        process.terminate()
    except psutil.NoSuchProcess:
        return
    psutil.wait_procs([process], timeout=10)


def kill_daemon(endpoint: str) -> bool:
    """SIGKILL the cropd serving `endpoint`, if one runs; True when one was killed."""
    pid = daemon_pid(endpoint)
    if not pid:
        return False
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def kill_daemon_at_random(endpoint: str, kills: int, clients: list[subprocess.Popen[str]],
                          rng: random.Random, after_each: object = None) -> int:
    """SIGKILL the running cropd at random moments while the clients work."""
    done = 0
    while done < kills and any(c.poll() is None for c in clients):
        time.sleep(rng.uniform(0.05, 0.6))  # the moments are random on purpose
        if not kill_daemon(endpoint):
            continue
        done += 1
        if callable(after_each):
            after_each()
    return done
