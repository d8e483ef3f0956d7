"""Figure 13: a claim round trip over team mode's tcp:// with CURVE against the same
claim over the local ipc:// socket, to the same `cropd` in the same run.

One daemon serves both: `cropd --listen tcp://127.0.0.1:0` with a team made by
`cropctl team init/add/share`, the directory on the share. A member's client
(its bundle's keys) and a local client alternate, one claim each, each claim
followed by an untimed Release, so both see the same machine at the same moment.
Loopback TCP: a real network adds its own round trip to every figure of a team.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench import env, files
from bench.config import Sizes
from bench.stats import median, ms, now, percentile, ratio
from bench.table import Row
from crop_protocol import messages as m

WARMUP = 50
GOAL = 2.0


def _cropctl(daemon: env.Daemon, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "crop_client.cropctl", *args], env=daemon.env,
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"cropctl {' '.join(args)}: {done.stderr.strip()}")


def _listening(daemon: env.Daemon) -> str:
    path = daemon.progress_dir / "team" / "listening"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.02)
    raise RuntimeError("cropd did not note its team endpoint")


def measure(root: Path, sizes: Sizes) -> list[Row]:
    from crop_client.handshake import CurveKeys
    from crop_progress import team_files

    share = root / "team-share"
    folder = share / "work"
    size = 10_000
    names = files.make_empty_images(folder, size)
    with env.Daemon(root, "d-team") as daemon:
        daemon.env["XDG_CONFIG_HOME"] = str(daemon.home / "config")  # its own share map
        files.write_progress(daemon.progress_dir, folder, names, size // 2)
        _cropctl(daemon, "team", "init", "--listen", "tcp://127.0.0.1:0")
        _cropctl(daemon, "team", "share", "bench", str(share))
        daemon.start("--listen", "tcp://127.0.0.1:0")
        listen = _listening(daemon)
        bundle_path = daemon.home / "member.crop-team"
        _cropctl(daemon, "team", "add", "member", "--out", str(bundle_path))
        bundle = team_files.read_bundle(bundle_path)
        keys = CurveKeys(bundle.name, bundle.server_key, bundle.public_key, bundle.secret_key)
        local, member = env.Client(daemon.endpoint), env.Client(listen, curve=keys)
        times: dict[str, list[float]] = {"ipc": [], "tcp": []}
        try:
            plans = []
            for label, client in (("ipc", local), ("tcp", member)):
                client.hello()
                key = client.open(folder).summary.directory
                plans.append((label, client, m.Claim(directory=key, count=1),
                              m.Release(directory=key)))
            for i in range(WARMUP + sizes.claim_calls):
                for label, client, claim, release in plans:
                    start = now()
                    client.call(claim)
                    took = now() - start
                    client.call(release)
                    if i >= WARMUP:
                        times[label].append(took)
        finally:
            local.close()
            member.close()
    tcp, ipc = times["tcp"], times["ipc"]
    row = Row("13", f"claim round trip, CURVE tcp vs ipc, {size:,} images "
              f"(median of {len(tcp)})", ours=ms(median(tcp)), baseline=ms(median(ipc)),
              ratio=ratio(median(tcp), median(ipc)), goal=f"≤ {GOAL:g}×")
    row.met = row.ratio <= GOAL
    if not row.met:
        row.miss = f"{row.ratio:.2f}× instead of ≤ {GOAL:g}×"
    p95 = Row("13", "claim round trip, CURVE tcp vs ipc (p95)", ours=ms(percentile(tcp, 95)),
              baseline=ms(percentile(ipc, 95)),
              ratio=ratio(percentile(tcp, 95), percentile(ipc, 95)), goal=f"≤ {GOAL:g}×")
    p95.met = p95.ratio <= GOAL
    if not p95.met:
        p95.miss = f"{p95.ratio:.2f}× instead of ≤ {GOAL:g}×"
    row.notes.append("one cropd serves both sockets; tcp is loopback (127.0.0.1), CURVE "
                     "encryption and the member check on every message included; a LAN adds "
                     "its own round trip to the tcp figure, not measured here")
    return [row, p95]
