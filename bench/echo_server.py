"""The baseline of a claim round trip: a bare pyzmq ROUTER that answers every request
with a fixed reply (the bytes of a real `Claimed` reply), nothing else.

Run as `python -m bench.echo_server ENDPOINT REPLY_FILE`; prints "ready" once
bound, and stops on SIGTERM.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import zmq


def serve(endpoint: str, reply: bytes) -> None:
    context = zmq.Context.instance()
    router = context.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.bind(endpoint)
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            frames = router.recv_multipart()
            router.send_multipart([frames[0], reply])
    finally:
        router.close(0)


def main() -> None:
    endpoint, reply_file = sys.argv[1], sys.argv[2]
    serve(endpoint, Path(reply_file).read_bytes())


if __name__ == "__main__":
    main()
