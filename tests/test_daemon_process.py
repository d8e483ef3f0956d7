"""The real `cropd` as a subprocess: single instance, signals, garbage on the socket."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import zmq
from conftest import start_cropd, wait_for_socket

from crop_protocol import messages as m
from crop_protocol.codec import decode_reply, encode_request

pytestmark = pytest.mark.timeout(60)


def ask(endpoint: str, payload: bytes | list[bytes], timeout: float = 5.0) -> m.Reply | None:
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    try:
        if isinstance(payload, list):
            sock.send_multipart(payload)
        else:
            sock.send(payload)
        if not sock.poll(timeout * 1000):
            return None
        return decode_reply(sock.recv()).body
    finally:
        sock.close(0)


def hello(endpoint: str) -> m.Reply | None:
    return ask(endpoint, encode_request("probe", 1, m.Hello(pid=os.getpid(), host="h")))


@pytest.fixture
def cropd(endpoint: str):
    proc = start_cropd()
    wait_for_socket(endpoint)
    yield proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(10)


def test_second_cropd_exits_zero_naming_the_first(cropd: subprocess.Popen[bytes],
                                                  endpoint: str) -> None:
    second = subprocess.run([sys.executable, "-m", "cropd"], capture_output=True, text=True,
                            timeout=30)
    assert second.returncode == 0
    assert f"pid {cropd.pid}" in second.stdout
    assert "already running" in second.stdout
    assert isinstance(hello(endpoint), m.Welcome)


def test_sigterm_stops_cleanly(cropd: subprocess.Popen[bytes], endpoint: str) -> None:
    assert isinstance(hello(endpoint), m.Welcome)
    cropd.send_signal(signal.SIGTERM)
    assert cropd.wait(10) == 0
    assert not Path(endpoint.removeprefix("ipc://")).exists()
    # the lock was released: a new daemon starts at once
    again = start_cropd()
    try:
        wait_for_socket(endpoint)
        assert isinstance(hello(endpoint), m.Welcome)
    finally:
        again.terminate()
        assert again.wait(10) == 0


def test_sigkill_leaves_no_lock(cropd: subprocess.Popen[bytes], endpoint: str) -> None:
    cropd.kill()
    cropd.wait(10)
    assert Path(endpoint.removeprefix("ipc://")).exists()  # stale socket left behind
    again = start_cropd()
    try:
        wait_for_socket(endpoint)
        assert isinstance(hello(endpoint), m.Welcome)
    finally:
        again.terminate()
        again.wait(10)


@pytest.mark.parametrize("payload, code", [
    (b"", "BAD_MESSAGE"),
    (os.urandom(64), "BAD_MESSAGE"),
    (b"\x81\xa1v\x01", "BAD_MESSAGE"),
    (encode_request("c", 7, m.Hello(pid=1, host="h"))[:-3], "BAD_MESSAGE"),
    ([b"one", b"two", b"three"], "BAD_MESSAGE"),
    (encode_request("c", 8, m.Hello(pid=1, host="h"), version=99), "VERSION_MISMATCH"),
])
def test_garbage_gets_an_error_and_the_daemon_keeps_serving(
        cropd: subprocess.Popen[bytes], endpoint: str, payload: bytes | list[bytes],
        code: str) -> None:
    reply = ask(endpoint, payload)
    assert isinstance(reply, m.Err), reply
    assert reply.code == code
    assert isinstance(hello(endpoint), m.Welcome)


def test_huge_frame_is_dropped_and_the_daemon_keeps_serving(
        cropd: subprocess.Popen[bytes], endpoint: str) -> None:
    assert ask(endpoint, b"\x00" * (4 << 20), timeout=1.0) is None
    assert isinstance(hello(endpoint), m.Welcome)
    assert cropd.poll() is None


def test_runtime_folder_is_private(cropd: subprocess.Popen[bytes], endpoint: str) -> None:
    sock = Path(endpoint.removeprefix("ipc://"))
    assert sock.parent.stat().st_mode & 0o777 == 0o700
    assert sock.stat().st_mode & 0o077 == 0
