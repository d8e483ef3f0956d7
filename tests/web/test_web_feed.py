"""cropd's event feed: a durable file operation is published on topic `op`, then the
directory's fresh figures on `status`; the endpoint is advertised in Welcome and
Status, beside the daemon's socket."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import zmq
from conftest import InProcessDaemon, make_images

from crop_client.session import Session
from crop_client.work import Decision, Target, carry_out
from crop_progress.paths import events_endpoint
from crop_protocol import feed as f
from crop_protocol import messages as m

pytestmark = pytest.mark.timeout(60)


def subscribe(endpoint: str) -> zmq.Socket:
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(endpoint)
    return sub


def receive(sub: zmq.Socket, want, deadline: float = 10.0) -> list[f.FeedMessage]:
    """Messages until one satisfies `want` (or the deadline passes: then fail)."""
    got: list[f.FeedMessage] = []
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if sub.poll(100):
            message = f.decode(sub.recv_multipart())
            assert message is not None
            got.append(message)
            if want(message):
                return got
    raise AssertionError(f"no wanted message in {deadline} s; got {got}")


def test_the_feed_sits_beside_the_socket_and_is_advertised(daemon: InProcessDaemon,
                                                           endpoint: str) -> None:
    expected = events_endpoint(endpoint)
    assert expected.endswith("cropd.events.sock")
    assert Path(expected.removeprefix("ipc://")).exists()
    with Session(endpoint, program="test", heartbeat=False) as session:
        assert session.welcome.events_endpoint == expected
        status = session.call(m.Status(), m.StatusReply)
    assert status.daemon.events_endpoint == expected


def test_an_operation_is_published_with_the_new_figures(daemon: InProcessDaemon,
                                                        endpoint: str, tmp_path: Path) -> None:
    work = tmp_path / "work" / "_asian"
    make_images(work, 3)
    sub = subscribe(events_endpoint(endpoint))
    with Session(endpoint, program="test", heartbeat=False) as session:
        target = Target.from_opened(session.open(work))
        # the subscription may join late (ZeroMQ's slow joiner): claim until one is seen
        end = time.monotonic() + 10
        while not sub.poll(50):
            assert time.monotonic() < end, "the feed published nothing"
            session.claim(target.directory, 1)
        receive(sub, lambda msg: isinstance(msg, f.StatusChange))
        item = session.claim(target.directory, 1).items[0]
        carry_out(session, target, item, Decision("keep"))
        got = receive(sub, lambda msg: isinstance(msg, f.StatusChange)
                      and msg.summary.completed_count == 1)
    ops = [msg.event for msg in got if isinstance(msg, f.OpEvent)]
    assert any(e["op"] == "keep" and e["file"] == item.file for e in ops)
    status = got[-1]
    assert isinstance(status, f.StatusChange)
    assert status.summary.directory == str(work.resolve()) + "/"
    assert status.ts == next(e["ts"] for e in ops if e["op"] == "keep")
    sub.close(0)


def test_a_stopping_daemon_says_so_and_removes_its_feed_socket(
        endpoint: str, progress_dir: Path, tmp_path: Path) -> None:
    running = InProcessDaemon(endpoint, progress_dir, tick_seconds=0.1)
    feed_path = Path(events_endpoint(endpoint).removeprefix("ipc://"))
    work = tmp_path / "work" / "_euro"
    make_images(work, 2)
    sub = subscribe(events_endpoint(endpoint))
    with Session(endpoint, program="test", heartbeat=False) as session:
        target = Target.from_opened(session.open(work))
        end = time.monotonic() + 10
        while not sub.poll(50):  # until the subscription is live
            assert time.monotonic() < end, "the feed published nothing"
            session.claim(target.directory, 1)
    running.stop()
    got = receive(sub, lambda msg: isinstance(msg, f.DaemonChange) and msg.state == "stopping")
    assert got[-1].pid > 0  # type: ignore[union-attr]
    assert not feed_path.exists()
    sub.close(0)


def test_events_of_a_directory_whose_write_failed_are_not_published(tmp_path: Path) -> None:
    from crop_progress.audit import Event
    from cropd.config import Config
    from cropd.feed import Feed
    from cropd.state import State

    context = zmq.Context.instance()
    feed = Feed(context, f"ipc://{tmp_path}/feed.sock")
    feed.bind()
    assert feed.endpoint == f"ipc://{tmp_path}/feed.sock"
    sub = subscribe(feed.endpoint)
    state = State(Config(endpoint="ipc://unused", progress_dir=tmp_path))
    kept = Event(ts="2025-09-25T16:45:00.000Z", op="keep", directory="/w/good/", file="a.png")
    lost = Event(ts="2025-09-25T16:45:00.001Z", op="crop", directory="/w/full-disk/",
                 file="b.png")
    end = time.monotonic() + 10
    while True:  # until the subscription is live
        feed.publish(state, [kept], {})
        if sub.poll(50):
            sub.recv_multipart()
            break
        assert time.monotonic() < end
    while sub.poll(100):
        sub.recv_multipart()
    feed.publish(state, [lost, kept], {(str(tmp_path), "/w/full-disk/"): "disk full"})
    got = receive(sub, lambda msg: True)
    assert isinstance(got[0], f.OpEvent) and got[0].event["directory"] == "/w/good/"
    assert not sub.poll(200)  # nothing else: the failed directory's event stayed back
    feed.close()
    sub.close(0)
    assert not (tmp_path / "feed.sock").exists()


def test_a_tcp_daemon_advertises_the_port_its_feed_got() -> None:
    assert events_endpoint("tcp://127.0.0.1:5555") == "tcp://127.0.0.1:*"
    assert events_endpoint("ipc:///run/x/cropd.sock") == "ipc:///run/x/cropd.events.sock"
    from cropd.feed import Feed

    feed = Feed(zmq.Context.instance(), events_endpoint("tcp://127.0.0.1:5555"))
    feed.bind()
    assert feed.endpoint is not None and feed.endpoint.startswith("tcp://127.0.0.1:")
    assert not feed.endpoint.endswith(":*")
    feed.close()
