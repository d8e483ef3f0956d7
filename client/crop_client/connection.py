"""One request, one reply, whatever happens: a DEALER with request ids and deadlines.

Lazy Pirate (ZeroMQ guide, ch. 4): send, wait up to a deadline, and on silence
close the socket, open a new one and send the same request again (the same
request id, so the daemon's reply cache makes the retry harmless). Between
tries an `on_silence` hook may start a daemon. Replies to earlier tries are
recognised by their id and dropped.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

import zmq

from crop_client.errors import DaemonError, DaemonUnavailable
from crop_client.handshake import CurveKeys, Handshake
from crop_protocol import messages as m
from crop_protocol.codec import ProtocolError, decode_reply, encode_request

TRY_TIMEOUT = 2.5
TOTAL_TIMEOUT = 20.0


class Connection:
    def __init__(self, endpoint: str, client_id: str, *, context: zmq.Context | None = None,
                 try_timeout: float = TRY_TIMEOUT, total_timeout: float = TOTAL_TIMEOUT,
                 on_silence: Callable[[int], None] | None = None,
                 curve: CurveKeys | None = None) -> None:
        self.endpoint = endpoint
        self.curve = curve  # a team daemon over tcp: CURVE, and a monitor on the handshake
        self._handshake: Handshake | None = None
        self.client_id = client_id
        self.context = context or zmq.Context.instance()
        self.try_timeout = try_timeout
        self.total_timeout = total_timeout
        self.on_silence = on_silence
        self._ids = itertools.count(1)
        self._socket: zmq.Socket | None = None

    def _open(self) -> zmq.Socket:
        if self._socket is None:
            sock = self.context.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.RECONNECT_IVL, 50)
            if self.curve is not None:
                self.curve.apply(sock)
                sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
                self._handshake = Handshake.watch(sock, self.endpoint, self.curve)
            try:
                sock.connect(self.endpoint)
            except zmq.ZMQError as exc:  # a malformed endpoint: no daemon can be there
                self._reset_handshake()
                sock.close(0)
                raise DaemonUnavailable(f"cannot connect to {self.endpoint}: {exc}") from None
            self._socket = sock
        return self._socket

    def _reset(self) -> None:
        if self._socket is not None:
            self._socket.close(0)
            self._socket = None
        self._reset_handshake()

    def _reset_handshake(self) -> None:
        if self._handshake is not None:
            self._handshake.close()
            self._handshake = None

    def close(self) -> None:
        self._reset()

    def call(self, body: m.Request, *, try_timeout: float | None = None,
             total_timeout: float | None = None) -> m.Reply:
        """Send `body` until a reply comes or the total deadline passes.

        Raises DaemonUnavailable on the deadline, DaemonError on a reply that
        cannot be decoded (a daemon of another protocol version).
        """
        request_id = next(self._ids)
        data = encode_request(self.client_id, request_id, body)
        per_try = try_timeout if try_timeout is not None else self.try_timeout
        deadline = time.monotonic() + (total_timeout if total_timeout is not None
                                       else self.total_timeout)
        attempt = 0
        silence = f"cropd did not answer on {self.endpoint}"
        while True:
            sock = self._open()
            try:
                sock.send(data, zmq.NOBLOCK)
            except zmq.Again:
                pass  # the send queue is full: count it as silence
            else:
                reply = self._await(sock, request_id, min(per_try, deadline - time.monotonic()))
                if reply is not None:
                    return reply
            if self._handshake is not None:
                self._handshake.read()
                silence = self._handshake.silence()
            self._reset()
            attempt += 1
            if time.monotonic() >= deadline:
                raise DaemonUnavailable(silence)
            if self.on_silence is not None:
                self.on_silence(attempt)
            else:
                time.sleep(min(0.05 * attempt, 0.5))

    def _await(self, sock: zmq.Socket, request_id: int, timeout: float) -> m.Reply | None:
        end = time.monotonic() + max(0.0, timeout)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            if self._handshake is not None:  # wake for its events too: a refusal is final
                if not self._wait_watching(sock, self._handshake, left):
                    continue
            elif not sock.poll(math.ceil(left * 1000), zmq.POLLIN):
                return None
            data = sock.recv()
            try:
                envelope = decode_reply(data)
            except ProtocolError as exc:
                raise DaemonError(exc.code.value, exc.message) from None
            if envelope.id == request_id or envelope.id == 0:
                return envelope.body
            # a reply to an earlier try of an earlier request: drop it

    @staticmethod
    def _wait_watching(sock: zmq.Socket, handshake: Handshake, left: float) -> bool:
        """Wait for a reply or a handshake event; True when a reply is waiting."""
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(handshake.monitor, zmq.POLLIN)
        ready = dict(poller.poll(math.ceil(left * 1000)))
        if handshake.monitor in ready:
            handshake.read()
        return sock in ready
