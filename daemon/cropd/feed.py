"""The event feed: a PUB socket beside the ROUTER that tells watchers what happened.

After each group commit the server hands over the journal events of the round
and the directories whose write failed; every event that is now durable goes
out on topic `op`, and each directory it touched on topic `status` with its
fresh `Summary` (crop_protocol.feed says the format). Publishing never blocks
and never fails the daemon: with no subscriber ZeroMQ drops the message, with a
slow one the high-water mark does, and a feed that cannot bind is switched off
with a warning (the daemon serves on without it).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Mapping

import msgspec
import zmq

from crop_progress.audit import Event
from crop_progress.paths import socket_path
from crop_progress.timefmt import now_iso
from crop_protocol import feed as f
from cropd.directory import Ident
from cropd.handlers.common import holders, summary
from cropd.state import State

log = logging.getLogger("cropd")
SEND_HWM = 2000


class Feed:
    """The PUB socket; `endpoint` is where it is bound (None when it is off)."""

    def __init__(self, context: zmq.Context, endpoint: str) -> None:
        self.context = context
        self.wanted = endpoint
        self.endpoint: str | None = None
        self.socket: zmq.Socket | None = None

    def bind(self) -> None:
        """Bind beside the ROUTER; the caller holds the instance lock, so a stale
        socket file is ours to remove."""
        sock_path = socket_path(self.wanted)
        try:
            if sock_path is not None and (sock_path.exists() or sock_path.is_symlink()):
                sock_path.unlink()
            pub = self.context.socket(zmq.PUB)
            pub.setsockopt(zmq.LINGER, 0)
            pub.setsockopt(zmq.SNDHWM, SEND_HWM)
            old_umask = os.umask(0o077)  # like the ROUTER's socket: its owner only
            try:
                pub.bind(self.wanted)
            finally:
                os.umask(old_umask)
        except (zmq.ZMQError, OSError) as exc:
            log.warning("event feed off: cannot bind %s: %s", self.wanted, exc)
            return
        self.socket = pub
        self.endpoint = pub.getsockopt_string(zmq.LAST_ENDPOINT) or self.wanted
        self._send(f.DaemonChange(state="started", pid=os.getpid(), ts=now_iso()))

    def publish(self, state: State, events: Iterable[Event],
                failed: Mapping[Ident, str]) -> None:
        """The durable events of one round, then the figures of each directory they touched."""
        if self.socket is None:
            return
        lost = {ident[1] for ident in failed}
        touched: dict[str, str] = {}
        for event in events:
            if event.directory in lost:
                continue
            self._send(f.OpEvent(event=msgspec.to_builtins(event)))
            touched[event.directory] = event.ts
        for ident, directory in list(state.dirs.items()):
            if ident[1] in touched:
                change = summary(directory)
                change.holders = holders(state, directory)
                self._send(f.StatusChange(summary=change, ts=touched[ident[1]]))

    def close(self) -> None:
        if self.socket is None:
            return
        self._send(f.DaemonChange(state="stopping", pid=os.getpid(), ts=now_iso()))
        self.socket.close(0)
        self.socket = None
        sock_path = socket_path(self.endpoint or self.wanted)
        if sock_path is not None:
            with contextlib.suppress(OSError):
                sock_path.unlink()

    def _send(self, message: f.FeedMessage) -> None:
        assert self.socket is not None
        try:
            self.socket.send_multipart(f.encode(message), zmq.NOBLOCK)
        except zmq.ZMQError as exc:  # the high-water mark: a slow watcher loses this one
            log.debug("feed message dropped: %s", exc)
