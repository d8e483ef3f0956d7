"""Figure 1: a claim round trip through `Connection.call` to a real `cropd`, against a
bare pyzmq DEALER→ROUTER echo of the same bytes on the same kind of endpoint.

Each claim of one image is followed by an untimed `Release`, so the same small
folder serves any number of claims. Claims and echoes alternate, one for one,
so both see the same machine at the same moment.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import zmq

from bench import env, files
from bench.config import Sizes
from bench.stats import median, ms, now, percentile, ratio
from bench.table import Row
from crop_protocol import messages as m
from crop_protocol.codec import encode_reply, encode_request

WARMUP = 50


def _start_echo(root: Path, reply: bytes) -> tuple[subprocess.Popen[bytes], str]:
    home = root / "echo"
    home.mkdir(parents=True, exist_ok=True)
    (home / "reply.bin").write_bytes(reply)
    endpoint = f"ipc://{home}/echo.sock"
    process = env.track(subprocess.Popen(
        [sys.executable, "-m", "bench.echo_server", endpoint, str(home / "reply.bin")],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL))
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        raise RuntimeError("the echo server did not start")
    return process, endpoint


def measure(root: Path, sizes: Sizes) -> list[Row]:
    folder = root / "claims" / "work"
    size = max(sizes.fills)  # the hard case: a large directory, half done
    names = files.make_empty_images(folder, size)
    with env.Daemon(root, "d-claim") as daemon:
        files.write_progress(daemon.progress_dir, folder, names, size // 2)
        daemon.start()
        client = env.Client(daemon.endpoint)
        client.hello()
        key = client.open(folder).summary.directory
        claim = m.Claim(directory=key, count=1)
        release = m.Release(directory=key)
        sample = client.call(claim)
        client.call(release)
        request_bytes = encode_request(client.conn.client_id, 10**6, claim)
        reply_bytes = encode_reply(10**6, sample)
        echo_process, echo_endpoint = _start_echo(root, reply_bytes)
        dealer = zmq.Context.instance().socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(echo_endpoint)
        ours: list[float] = []
        base: list[float] = []
        try:
            for i in range(WARMUP + sizes.claim_calls):
                start = now()
                client.call(claim)
                took = now() - start
                client.call(release)
                start = now()
                dealer.send(request_bytes)
                dealer.recv()
                echo = now() - start
                if i >= WARMUP:
                    ours.append(took)
                    base.append(echo)
        finally:
            dealer.close(0)
            env.stop(echo_process)
            client.close()
    row = Row("1", f"claim round trip at {size:,} images (median of {len(ours)})",
              ours=ms(median(ours)), baseline=ms(median(base)),
              ratio=ratio(median(ours), median(base)), goal="≤ 3×")
    row.met = row.ratio <= 3.0
    if not row.met:
        row.miss = (f"{row.ratio:.2f}× instead of ≤ 3×: {ms(median(ours) - 3 * median(base))} "
                    "per claim too slow")
    p95 = Row("1", "claim round trip (p95)", ours=ms(percentile(ours, 95)),
              baseline=ms(percentile(base, 95)),
              ratio=ratio(percentile(ours, 95), percentile(base, 95)), goal="≤ 3×")
    p95.met = p95.ratio <= 3.0
    if not p95.met:
        p95.miss = (f"{p95.ratio:.2f}× instead of ≤ 3×: "
                    f"{ms(percentile(ours, 95) - 3 * percentile(base, 95))} too slow")
    row.notes.append(f"request {len(request_bytes)} B, reply {len(reply_bytes)} B, both ways "
                     "over ipc://; echo = bare DEALER send+recv against a ROUTER process "
                     "returning the same reply bytes; ours includes encode/decode in "
                     "Connection.call")
    row.notes.append(f"ours − echo = {ms(median(ours) - median(base))} per claim (client and "
                     "daemon Python); the ratio moves with other load on the cores, since a "
                     "busy machine adds the same wake-up delay to both")
    return [row, p95]
