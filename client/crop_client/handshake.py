"""Why a CURVE connection to a team daemon gets no answer, from its socket monitor.

ZeroMQ hides a failed handshake: `send()` of a refused client raises nothing,
and a wrong server key is an endless, silent reconnect. The monitor's events
tell them apart:

- the daemon refused our key (ZAP said 400: revoked, or never added):
  HANDSHAKE_FAILED_AUTH;
- the peer is not the daemon our bundle names (its key differs, or it is
  something else): the TCP connection is made and dropped before any handshake
  succeeds, again and again;
- nothing answers at all: no connection is ever made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import zmq
from zmq.utils.monitor import recv_monitor_message

from crop_client.errors import AccessRefused, WrongServer

WATCHED = (zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED
           | zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
           | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_CONNECT_RETRIED)
DROPS_BEFORE_VERDICT = 3  # connections dropped before any handshake: not the daemon


@dataclass(frozen=True)
class CurveKeys:
    """A member's keys (z85) and the daemon's public key, from its join bundle."""
    name: str
    server_key: str
    public_key: str
    secret_key: str

    def apply(self, sock: zmq.Socket) -> None:
        sock.curve_serverkey = self.server_key.encode()
        sock.curve_publickey = self.public_key.encode()
        sock.curve_secretkey = self.secret_key.encode()


@dataclass
class Handshake:
    """What the monitor of one socket has seen."""
    endpoint: str
    keys: CurveKeys
    monitor: zmq.Socket
    connected: int = 0
    dropped_before_handshake: int = 0
    succeeded: bool = False
    refused: int | None = None   # the ZAP status code
    seen: list[str] = field(default_factory=list)

    @classmethod
    def watch(cls, sock: zmq.Socket, endpoint: str, keys: CurveKeys) -> Handshake:
        return cls(endpoint, keys, sock.get_monitor_socket(WATCHED))

    def read(self) -> None:
        """Take in every event waiting; raise once the verdict is clear."""
        while self.monitor.poll(0):
            event = recv_monitor_message(self.monitor)
            kind = event["event"]
            if kind == zmq.EVENT_CONNECTED:
                self.connected += 1
            elif kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.succeeded = True
            elif kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                self.refused = int(event["value"])
            elif kind in (zmq.EVENT_DISCONNECTED, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
                          zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL) and not self.succeeded \
                    and self.connected:
                self.dropped_before_handshake += 1
        self.verdict()

    def verdict(self) -> None:
        if self.refused is not None:
            raise AccessRefused(
                f"cropd at {self.endpoint} refused the key of member {self.keys.name!r} "
                f"(revoked, or never added; ZAP {self.refused}): ask the daemon's owner for "
                "a new bundle (`cropctl team add`)")
        if not self.succeeded and self.dropped_before_handshake >= DROPS_BEFORE_VERDICT:
            raise WrongServer(
                f"the daemon at {self.endpoint} is not the one the bundle of "
                f"{self.keys.name!r} names (its server key differs, or another program "
                "listens there): join again with a bundle of this daemon")

    def silence(self) -> str:
        """What to say when no reply came at all before the deadline."""
        if not self.connected:
            return (f"nothing answers at {self.endpoint}: is `cropd --listen` running there, "
                    "and is the network up?")
        return f"cropd at {self.endpoint} did not answer"

    def close(self) -> None:
        self.monitor.close(0)
