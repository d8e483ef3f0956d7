"""A flood of malformed messages: each is answered with an error or dropped, a real
client keeps being served meanwhile, and the daemon's memory stays flat.

10,000 messages in CI, 100,000 with --long.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import msgspec
import psutil
import pytest
import zmq
from conftest import make_images, start_cropd, wait_for_socket
from hypothesis import strategies as st
from procs import daemon_pid

from crop_client.session import Session
from crop_client.work import Decision, Target, carry_out
from crop_protocol import messages as m
from crop_protocol.codec import MAX_MESSAGE_SIZE, PROTOCOL_VERSION, decode_reply

REQUEST_TAGS = [cls.__name__ for cls in m.Request.__args__ if cls is not m.Shutdown]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64 - 1), st.floats(),
                    st.text(max_size=40), st.binary(max_size=40))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)),
    max_leaves=20)


def body_with_wrong_types() -> st.SearchStrategy[dict]:
    fields = st.dictionaries(st.sampled_from(["directory", "count", "files", "file", "outcome",
                                              "pid", "host", "days", "since", "box", "ops"]),
                             VALUES, max_size=6)
    return st.builds(lambda tag, f: {"type": tag, **f}, st.sampled_from(REQUEST_TAGS), fields)


MESSAGES = st.one_of(
    st.binary(max_size=300),                                            # random bytes
    VALUES.map(msgspec.msgpack.encode),                                 # wrong shapes
    st.builds(lambda body, rid: msgspec.msgpack.encode(                 # wrong field types
        {"v": PROTOCOL_VERSION, "client": "flood", "id": rid, "body": body}),
        body_with_wrong_types(), st.integers(0, 2**31)),
    st.builds(lambda tag, rid: msgspec.msgpack.encode(                  # unknown tags
        {"v": PROTOCOL_VERSION, "client": "flood", "id": rid, "body": {"type": tag}}),
        st.text(min_size=1, max_size=12).filter(lambda t: t not in [*REQUEST_TAGS, "Shutdown"]),
        st.integers(0, 2**31)),
    st.builds(lambda v, rid: msgspec.msgpack.encode(                    # old/new versions
        {"v": v, "client": "flood", "id": rid, "body": {"type": "Status"}}),
        st.integers(-5, 50).filter(lambda v: v != PROTOCOL_VERSION), st.integers(0, 2**31)),
)


def corpus(count: int, seed: int) -> list[bytes | list[bytes]]:
    """Generate the flood with hypothesis' strategies, reproducibly."""
    rng = random.Random(seed)
    pool = []
    strategy = MESSAGES

    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=min(count, 2000), database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(message: bytes) -> None:
        pool.append(message)

    collect()
    messages: list[bytes | list[bytes]] = []
    while len(messages) < count:
        roll = rng.random()
        if roll < 0.02:
            messages.append([])                                         # empty multipart
        elif roll < 0.05:
            messages.append([rng.choice(pool), b"", rng.choice(pool)])  # extra frames
        else:
            message = rng.choice(pool)
            if isinstance(message, bytes) and rng.random() < 0.3:
                message = message[: rng.randrange(len(message) + 1)]    # truncated
            messages.append(message)
    return messages


class Worker(threading.Thread):
    """A real client claiming and reporting all through the flood."""

    def __init__(self, work: Path) -> None:
        super().__init__(daemon=True)
        self.work = work
        self.done = 0
        self.error: BaseException | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            with Session(program="worker", autostart=False) as session:
                target = Target.from_opened(session.open(self.work))
                while not self.stop.is_set():
                    items = session.claim(target.directory, 1).items
                    if not items:
                        break
                    carry_out(session, target, items[0], Decision("skip"))
                    self.done += 1
        except BaseException as exc:
            self.error = exc


@pytest.mark.timeout(900)
def test_flood(tmp_path: Path, endpoint: str, long_run: bool) -> None:
    count = 100_000 if long_run else 10_000
    messages = corpus(count, seed=7)
    work = tmp_path / "steady"
    make_images(work, 600, size=(8, 8), companions=())
    daemon = start_cropd()
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        wait_for_socket(endpoint)
        sock.connect(endpoint)
        proc = psutil.Process(daemon_pid(endpoint) or daemon.pid)
        worker = Worker(work)
        worker.start()
        answered = dropped = 0
        samples: list[float] = []
        started = time.monotonic()
        for index, message in enumerate(messages):
            if index % (count // 10) == 0:
                samples.append(proc.memory_info().rss / 2**20)
            if isinstance(message, list):
                if not message:
                    continue
                sock.send_multipart(message)
            else:
                sock.send(message)
            if sock.poll(2000):
                reply = decode_reply(sock.recv()).body
                assert isinstance(reply, m.Err | m.Welcome | m.Ok | m.StatusReply | m.WorkDirs
                                  | m.StatsReply), reply
                answered += 1
            else:
                dropped += 1
        # a huge frame: the socket's size limit drops it (and the peer's connection)
        big = ctx.socket(zmq.DEALER)
        big.connect(endpoint)
        big.send(os.urandom(MAX_MESSAGE_SIZE + 8192))
        big.close(100)
        elapsed = time.monotonic() - started
        done_during = worker.done
        worker.stop.set()
        worker.join(30)
        samples.append(proc.memory_info().rss / 2**20)
        assert worker.error is None, worker.error
        assert done_during > 0, "the real client was not served during the flood"
        assert daemon.poll() is None, "the daemon died"
        assert dropped <= count // 100, f"{dropped} messages got no answer"
        # The first half also holds the real client's work (its 600 images); over
        # the second half only malformed messages arrive: that is where RSS must stay flat.
        growth = samples[-1] - samples[len(samples) // 2]
        print(f"\nflood: {count} malformed messages in {elapsed:.1f} s, {answered} answered, "
              f"{dropped} dropped; a real client did {done_during} images meanwhile; "
              f"daemon RSS every 10% (MiB): {' '.join(f'{x:.1f}' for x in samples)}")
        assert growth < 2, f"daemon RSS grew by {growth:.1f} MiB over the second half"
    finally:
        sock.close(0)
        daemon.terminate()
        daemon.wait(10)
