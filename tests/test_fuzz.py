"""Fuzzing with hypothesis: the codec alone, then every handler through a real
in-process daemon. Random envelopes, bodies of every request type with right and
wrong field types, depths and sizes; the daemon must answer every one, never with
INTERNAL (a bug), keep serving a real client, and end consistent.

The short form runs a few thousand examples; `--long` (make test-long) ten times more.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import msgspec
import pytest
import zmq
from conftest import InProcessDaemon, make_images
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crop_client.session import Session
from crop_protocol import messages as m
from crop_protocol.codec import (
    PROTOCOL_VERSION,
    ProtocolError,
    RequestEnvelope,
    decode_reply,
    decode_request,
    encode_request,
)
from crop_protocol.errors import ErrorCode

pytestmark = pytest.mark.timeout(900)
HOST = socket.gethostname()
REQUESTS = [cls for cls in m.Request.__args__ if cls is not m.Shutdown]

JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64 - 1), st.floats(),
              st.text(max_size=30), st.binary(max_size=30)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


def deep(levels: st.SearchStrategy[int]) -> st.SearchStrategy[msgspec.Raw]:
    """Msgpack bytes nested `levels` deep (arrays and maps at random), embedded as is:
    encoding such a value from Python objects would hit the test's own recursion limit."""
    return st.tuples(levels, st.lists(st.booleans(), min_size=1, max_size=8)).map(
        lambda t: msgspec.Raw(b"".join(b"\x91" if t[1][i % len(t[1])] else b"\x81\xa1k"
                                       for i in range(t[0])) + b"\xc0"))


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, drawn with these weights (one_of draws them evenly)."""
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.integers(0, len(table) - 1).flatmap(lambda i: table[i])


def field_values(work: Path, tmp: Path) -> dict[str, st.SearchStrategy[object]]:
    names = st.sampled_from([f"img_{i:04d}.png" for i in range(6)]
                            + ["", ".", "..", "../x.png", "/etc/passwd", "img_0000.yaml",
                               "nope.png", "a/b.png", "é.png", "\x00"])
    dirs = st.sampled_from([str(work), str(work) + "/", str(tmp / "other"), str(tmp),
                            "/etc", "/", "relative", "", str(work / "img_0000.png"),
                            str(tmp / "missing")])
    folders = st.sampled_from([None, str(tmp / "progress2"), "/", "/etc", "relative", "",
                               str(work / "img_0000.png"), "/proc/self"])
    outs = st.sampled_from([None, str(tmp / "out2"), str(tmp / "missing" / "out"), "relative"])
    paths = st.sampled_from([None, "", "/etc/passwd", "relative.png",
                             str(tmp / "work_cropped" / "img_0000.png"),
                             str(tmp / "home/.local/share/Trash/files/img_0001.png"),
                             str(tmp / "work_cropped" / ".." / "escape.png")])
    ints = st.one_of(st.integers(-3, 70), st.integers(-2**63, 2**63 - 1))
    return {
        "directory": dirs, "output_dir": outs, "progress_dir": folders,
        "file": names, "files": st.one_of(st.none(), st.lists(names, max_size=8)),
        "count": ints, "outcome": st.sampled_from([*m.Outcome.__args__, "bogus"]),
        "dest": paths, "companions": st.lists(names, max_size=3),
        "trashed": st.lists(paths.filter(lambda p: p is not None), max_size=3),
        "reason": st.one_of(st.none(), st.text(max_size=40)),
        "box": st.one_of(st.none(), st.lists(ints, max_size=5)),
        "out_size": st.one_of(st.none(), st.lists(ints, max_size=3)),
        "batch": st.one_of(st.none(), st.text(max_size=8)), "token": ints,
        "moved": st.booleans(), "reset": st.booleans(), "retry_skipped": st.booleans(),
        "retry_failed": st.booleans(), "move": st.booleans(), "read_only": st.booleans(),
        "output_shape": st.one_of(st.none(), st.text(max_size=12)),
        "since": st.one_of(st.none(), st.text(max_size=25),
                           st.sampled_from(["2025-01-01", "2025-01-01T00:00:00Z", "1h"])),
        "days": ints, "pid": st.sampled_from([os.getpid(), 1, 0, -1, 2**31, 2**62]),
        "host": st.sampled_from([HOST, "elsewhere", ""]), "program": st.text(max_size=20),
        "protocol_version": st.sampled_from([0, PROTOCOL_VERSION, 99]),
        "create_time": st.floats(),
    }


def bodies(work: Path, tmp: Path) -> st.SearchStrategy[dict[str, object]]:
    """A request body: each field right (most often), wrong-typed, deep, or left out."""
    values = field_values(work, tmp)

    def one(cls: type) -> st.SearchStrategy[dict[str, object]]:
        fields = msgspec.structs.fields(cls)
        right = {f.name: values.get(f.name, JUNK) for f in fields}
        mixed = {f.name: st.one_of(values.get(f.name, JUNK), JUNK, deep(st.integers(1, 60)))
                 for f in fields}
        needed = {f.name for f in fields if f.required}
        clean = st.fixed_dictionaries({k: v for k, v in right.items() if k in needed},
                                      optional={k: v for k, v in right.items()
                                                if k not in needed})
        dirty = st.fixed_dictionaries({}, optional=mixed)
        return weighted((80, clean), (20, dirty)).map(
            lambda f, tag=cls.__name__: {"type": tag, **f})

    return st.one_of([one(cls) for cls in REQUESTS])


def envelopes(work: Path, tmp: Path) -> st.SearchStrategy[bytes | list[bytes]]:
    real = st.builds(lambda v, client, rid, body: msgspec.msgpack.encode(
        {"v": v, "client": client, "id": rid, "body": body}),
        weighted((95, st.just(PROTOCOL_VERSION)), (5, st.sampled_from([0, 2, -1]))),
        st.sampled_from(["fuzz-a", "fuzz-b", "fuzz-c", "", "x" * 300]),
        st.one_of(st.integers(0, 2**31), st.integers(-2**63, 2**64 - 1)),
        bodies(work, tmp))
    return weighted(
        (70, real),
        (5, real.map(lambda data: data[: len(data) // 2])),                # truncated
        (5, st.binary(max_size=200)),                                      # noise
        (5, JUNK.map(msgspec.msgpack.encode)),                             # wrong shapes
        (10, deep(st.integers(30, 3000)).map(lambda v: msgspec.msgpack.encode(  # deep bodies
            {"v": PROTOCOL_VERSION, "client": "fuzz-a", "id": 1, "body": v}))),
        (5, st.lists(st.binary(max_size=40), min_size=2, max_size=3)),     # extra frames
    )


def examples(long_run: bool, short: int) -> settings:
    return settings(max_examples=short * 10 if long_run else short, deadline=None,
                    database=None, derandomize=not long_run,
                    suppress_health_check=list(HealthCheck))


def test_codec_answers_everything(tmp_path: Path, long_run: bool) -> None:
    work = tmp_path / "work"

    @examples(long_run, 3000)
    @given(envelopes(work, tmp_path))
    def check(message: bytes | list[bytes]) -> None:
        for frame in message if isinstance(message, list) else [message]:
            try:
                envelope = decode_request(frame)
            except ProtocolError as exc:
                assert isinstance(exc.code, ErrorCode)
                continue
            assert isinstance(envelope, RequestEnvelope)
            encoded = encode_request(envelope.client, envelope.id, envelope.body, envelope.v)
            again = decode_request(encoded)  # compared as bytes: NaN != NaN
            assert encode_request(again.client, again.id, again.body, again.v) == encoded

    check()


def consistent(daemon: InProcessDaemon) -> None:
    """What must hold in the daemon's state after any sequence of requests."""
    state = daemon.state
    for directory in state.dirs.values():
        for name in directory.held():  # a live lease belongs to a client still here
            grant = directory.tracker.grants[name]
            assert grant.client in state.clients, (name, grant)
        for grant in directory.tracker.grants.values():
            assert 0 < grant.token <= directory.tracker.last_token, grant
        assert directory.clients <= state.clients.keys()
    assert state.reply_bytes == sum(len(r) for c in state.replies.values() for r in c.values())
    assert state.replies.keys() <= state.clients.keys()


def test_every_handler_answers_everything(tmp_path: Path, endpoint: str, progress_dir: Path,
                                          long_run: bool) -> None:
    work = tmp_path / "work"
    make_images(work, 6, size=(8, 8))
    (tmp_path / "other").mkdir()
    daemon = InProcessDaemon(endpoint, progress_dir, tick_seconds=0.05)
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    seen: dict[str, int] = {}
    try:
        # two of the fuzzer's client ids are real clients that said Hello
        for client in ("fuzz-a", "fuzz-b"):
            sock.send(encode_request(client, 0, m.Hello(pid=os.getpid(), host=HOST)))
            assert sock.poll(10_000)
            assert isinstance(decode_reply(sock.recv()).body, m.Welcome)

        @examples(long_run, 2500)
        @given(envelopes(work, tmp_path))
        def check(message: bytes | list[bytes]) -> None:
            if isinstance(message, list):
                sock.send_multipart(message)
            else:
                sock.send(message)
            assert sock.poll(10_000), f"no answer to {message!r:.300}"
            reply = decode_reply(sock.recv_multipart()[-1]).body  # after a REQ delimiter
            kind = reply.code if isinstance(reply, m.Err) else type(reply).__name__
            seen[kind] = seen.get(kind, 0) + 1
            assert not (isinstance(reply, m.Err) and reply.code == ErrorCode.INTERNAL), \
                f"{reply.message} for {message!r:.300}"
            assert daemon.thread.is_alive()

        check()
        with Session(endpoint, autostart=False) as session:  # a real client is served
            assert session.open(work).summary.total_images == 6
            session.claim(session.open(work).summary.directory, 2)
    finally:
        sock.close(0)
        daemon.stop()
    consistent(daemon)
    print(f"\nfuzz: replies by kind {dict(sorted(seen.items()))}")
    # the fuzzer reached the handlers, not only the decoder
    assert seen.get("Welcome", 0) and seen.get("Opened", 0) and seen.get("BAD_REQUEST", 0)
    outside = [p for p in tmp_path.parent.iterdir() if p.name.endswith("_progress.json")]
    assert not outside
    assert not list(Path("/").glob("*_progress.json*"))
    assert not list(Path("/etc").glob("*_progress.json*"))
