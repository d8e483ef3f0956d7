"""The machine a run measured: cores, memory, CPU, filesystem of the temporary root,
Python and library versions, and the date."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import psutil
import zmq
from PIL import __version__ as pillow_version


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _filesystem(path: Path) -> str:
    """The mount holding `path` (longest mount point that prefixes it)."""
    best = ("?", "?", "?")
    for part in psutil.disk_partitions(all=True):
        if str(path).startswith(part.mountpoint) and len(part.mountpoint) >= len(best[0]):
            best = (part.mountpoint, part.fstype, part.device)
    return f"{best[1]} ({best[2]} on {best[0]})"


def load() -> str:
    """The load averages: other work on the machine shifts the figures (see row 1)."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def describe(root: Path) -> list[str]:
    memory = psutil.virtual_memory().total / 1024**3
    return [
        f"date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"machine: {os.cpu_count()} cores (nproc), {memory:.1f} GiB memory, {_cpu_model()}",
        f"system: {platform.platform()}; temp root on {_filesystem(root)}; "
        f"load average at start {load()}",
        f"python: {sys.version.split()[0]} ({sys.executable}); pyzmq {zmq.__version__}, "
        f"libzmq {zmq.zmq_version()}, Pillow {pillow_version}",
    ]
