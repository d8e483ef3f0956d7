"""The daemon's loop: poll → decode → HANDLERS[type(req)](state, ctx, req) → persist
what the handlers marked dirty → reply.

One thread, one ROUTER socket, timers from the poll timeout. Messages that
arrive together are handled together and made durable in one write (group
commit). A reply that says "done" leaves only after its change is on disk.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import time
from dataclasses import dataclass

import zmq

from crop_progress import store
from crop_progress.paths import events_endpoint, socket_path
from crop_protocol import messages as m
from crop_protocol.codec import (
    MAX_MESSAGE_SIZE,
    ProtocolError,
    decode_request,
    encode_reply,
)
from crop_protocol.errors import ErrorCode
from cropd import leases, member_rules, persistence, sessions
from cropd.config import Config
from cropd.feed import Feed
from cropd.handlers import HANDLERS
from cropd.rescan import Rescanner
from cropd.state import Ctx, Refusal, State
from cropd.team import TeamDoor

log = logging.getLogger("cropd")
DRAIN_LIMIT = 512
UNLOAD_AFTER = 600.0  # seconds a directory nobody has open stays in memory
# Per connection: a client has one or two requests in flight. A peer that does
# not read its replies has them dropped past SEND_QUEUE (ROUTER_MANDATORY makes
# the send fail at once instead of queueing); one that sends faster than it is
# served waits on its own socket past RECV_QUEUE, so memory is bounded per peer.
SEND_QUEUE = 16
RECV_QUEUE = 16


@dataclass
class _Out:
    frames: list[bytes]        # routing frames to send back on
    request_id: int
    reply: m.Reply
    ctx: Ctx | None = None
    cache: bool = False
    socket: zmq.Socket | None = None  # the one it came on (None: the ipc one)


def _raise_fd_limit() -> None:
    """Take every file descriptor the hard limit allows: each client connection holds
    one, and libzmq aborts the process when accepting one more fails with EMFILE."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft == resource.RLIM_INFINITY or soft >= hard:
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _router_options(router: zmq.Socket) -> None:
    router.setsockopt(zmq.LINGER, 0)
    router.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_SIZE + 4096)
    router.setsockopt(zmq.ROUTER_MANDATORY, 1)
    router.setsockopt(zmq.SNDHWM, SEND_QUEUE)
    router.setsockopt(zmq.RCVHWM, RECV_QUEUE)


class Server:
    def __init__(self, config: Config, context: zmq.Context | None = None) -> None:
        self.config = config
        self.state = State(config)
        self.context = context or zmq.Context.instance()
        self.socket: zmq.Socket | None = None
        self.team: TeamDoor | None = None  # team mode's tcp ROUTER (CURVE), with --listen
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._next_tick = 0.0
        self._idle_since = time.monotonic()
        self.feed = Feed(self.context, events_endpoint(config.endpoint))
        self.state.rescanner = Rescanner(self._wake)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"\0")

    # -- life cycle -------------------------------------------------------------
    def bind(self) -> None:
        """Bind the ROUTER; the caller holds the instance lock, so a stale socket is ours."""
        sock_path = socket_path(self.config.endpoint)
        if sock_path is not None:
            sock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if sock_path.exists() or sock_path.is_symlink():
                sock_path.unlink()
        _raise_fd_limit()
        router = self.context.socket(zmq.ROUTER)
        _router_options(router)
        old_umask = os.umask(0o077)  # the socket file: reachable by its owner only
        try:
            router.bind(self.config.endpoint)
        finally:
            os.umask(old_umask)
        self.socket = router
        if self.config.listen is not None:
            try:
                self.team = TeamDoor(self.context, self.config.progress_dir,
                                     self.config.listen, _router_options)
            except Exception:
                router.close(0)
                self.socket = None
                raise
            self.config.listen = self.team.endpoint
        self.feed.bind()
        self.config.events_endpoint = self.feed.endpoint

    def install_signal_handlers(self) -> None:
        signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: object) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        self.state.stopping = True

    def stop(self) -> None:
        """Ask the loop to stop from another thread (tests, embedding)."""
        self.state.stopping = True
        self._wake()

    def serve(self) -> None:
        assert self.socket is not None, "bind() first"
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        if self.team is not None:
            poller.register(self.team.socket, zmq.POLLIN)
        poller.register(self._wake_r.fileno(), zmq.POLLIN)
        log.info("cropd %s serving %s (progress in %s)", os.getpid(), self.config.endpoint,
                 self.config.progress_dir)
        try:
            while not self.state.stopping:
                timeout = max(0.0, self._next_tick - time.monotonic())
                ready = dict(poller.poll(math.ceil(timeout * 1000)))
                if self._wake_r.fileno() in ready:
                    self._drain_wake()
                    if self.state.rescanner is not None:
                        self.state.rescanner.apply_done(self.state)
                try:  # a bug in one round or timer is logged; the daemon keeps serving
                    if self.socket in ready or (self.team is not None
                                                and self.team.socket in ready):
                        self._round()
                    if time.monotonic() >= self._next_tick:
                        try:
                            self._tick()
                        finally:
                            self._next_tick = time.monotonic() + self.config.tick_seconds
                except Exception:
                    log.exception("internal error outside a handler; serving on")
        finally:
            self._shutdown()

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(512):
                pass
        except (BlockingIOError, OSError):
            pass

    def _shutdown(self) -> None:
        state = self.state
        for directory in list(state.dirs.values()):
            directory.clients.clear()
            sessions.end_if_unattended(state, directory)
        failed = persistence.flush(state)
        failed.update(persistence.checkpoint_due(state, force=True))
        if failed:
            log.error("could not save on exit: %s", failed)
        if state.rescanner is not None:
            state.rescanner.close()
        for storage in state.storages.values():
            storage.close()
        self.feed.close()
        if self.team is not None:
            self.team.close()
            self.team = None
        if self.socket is not None:
            self.socket.close(0)
            self.socket = None
            sock_path = socket_path(self.config.endpoint)
            if sock_path is not None:
                with contextlib.suppress(OSError):
                    sock_path.unlink()
        self._wake_r.close()
        self._wake_w.close()
        log.info("cropd %s stopped", os.getpid())

    # -- one round: read everything waiting, handle, persist, reply ----------
    def _round(self) -> None:
        assert self.socket is not None
        outs: list[_Out] = []
        for _ in range(DRAIN_LIMIT):
            if not int(self.socket.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
                break
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            out = self._handle_frames(frames)
            if out is not None:
                outs.append(out)
        if self.team is not None:
            outs += self._team_messages(self.team)
        if not outs:
            return
        events = [p.event for p in self.state.pending]
        failed = persistence.flush(self.state)
        self.feed.publish(self.state, events, failed)
        persistence.checkpoint_due(self.state, dirty_only=True)  # a session's end, a reset
        for out in outs:
            reply = out.reply
            if failed and out.ctx is not None and out.ctx.touched & failed.keys():
                reasons = {failed[i] for i in out.ctx.touched if i in failed}
                reply = m.Err(code=ErrorCode.STORAGE_ERROR,
                              message="; ".join(sorted(reasons)) + " (nothing was changed)")
                out.cache = False
            data = encode_reply(out.request_id, reply)
            if out.cache and out.ctx is not None:
                self.state.cache_reply(out.ctx.client_id, out.request_id, data)
            self._send(out.frames, data, out.socket)
        self.state.last_busy = time.monotonic()
        persistence.checkpoint_due(self.state)  # after the replies: no ack waits for it

    def _team_messages(self, team: TeamDoor) -> list[_Out]:
        """What members sent: each message carries the name its key was admitted as."""
        outs: list[_Out] = []
        for _ in range(DRAIN_LIMIT):
            try:
                parts = team.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            user = team.member(parts[-1].get("User-Id") if parts else None)
            frames = [bytes(p.buffer) for p in parts]
            if user is None:
                if len(frames) >= 2:
                    self._send(frames[:1], encode_reply(0, m.Err(
                        code=ErrorCode.NOT_ALLOWED, message="this member's key was revoked: "
                        "ask the daemon's owner for a new bundle")), team.socket)
                continue
            out = self._handle_frames(frames, user, parts[-1].get("Peer-Address"))
            if out is not None:
                out.socket = team.socket
                outs.append(out)
        return outs

    def _send(self, frames: list[bytes], data: bytes, sock: zmq.Socket | None = None) -> None:
        sock = sock or self.socket
        assert sock is not None
        try:
            sock.send_multipart([*frames, data], zmq.NOBLOCK)
        except zmq.ZMQError as exc:  # gone, or not reading: its retry will find the cache
            log.debug("reply dropped: %s", exc)

    def _handle_frames(self, frames: list[bytes], user: str | None = None,
                       address: str | None = None) -> _Out | None:
        if len(frames) < 2:
            return None
        routing, body = frames[:1], frames[1:]
        if len(body) == 2 and body[0] == b"":
            routing, body = [frames[0], b""], body[1:]  # a REQ peer's delimiter
        if len(body) != 1:
            return _Out(routing, 0, m.Err(code=ErrorCode.BAD_MESSAGE,
                                          message=f"expected one frame, got {len(body)}"))
        try:
            envelope = decode_request(body[0])
        except ProtocolError as exc:
            return _Out(routing, exc.request_id, m.Err(code=exc.code, message=exc.message))
        request = envelope.body
        known = self.state.clients.get(envelope.client)
        if known is not None and known.user != user:  # a client id is its member's alone
            return _Out(routing, envelope.id, m.Err(
                code=ErrorCode.NOT_ALLOWED, message="this client id belongs to another "
                "client: start afresh"))
        cacheable = isinstance(request, m.MUTATING)
        if cacheable:
            cached = self.state.cached_reply(envelope.client, envelope.id)
            if cached is not None:
                self._send(routing, cached, self.team.socket if user and self.team else None)
                return None
        if self.state.stopping and not isinstance(request, (m.Goodbye, m.Status)):
            return _Out(routing, envelope.id,
                        m.Err(code=ErrorCode.BUSY, message="cropd is shutting down"))
        ctx = Ctx(envelope.client, envelope.id, peer=(b"team:" if user else b"") + routing[0],
                  user=user, address=address)
        reply = self.dispatch(ctx, request)
        return _Out(routing, envelope.id, reply, ctx, cache=cacheable)

    def dispatch(self, ctx: Ctx, request: m.Request) -> m.Reply:
        """Run one handler; no exception leaves here."""
        handler = HANDLERS[type(request)]
        client = self.state.clients.get(ctx.client_id)
        if client is not None:
            client.last_seen = time.monotonic()
        try:
            if ctx.user is not None:
                member_rules.check(ctx.user, request)
            return handler(self.state, ctx, request)
        except Refusal as exc:
            return m.Err(code=exc.code, message=exc.message)
        except store.StoreError as exc:  # its strerror is the whole sentence, path included
            return m.Err(code=ErrorCode.STORAGE_ERROR, message=exc.strerror or str(exc))
        except Exception as exc:
            log.exception("handler %s failed", type(request).__name__)
            return m.Err(code=ErrorCode.INTERNAL,
                         message=f"internal error in {type(request).__name__}: {exc}")

    # -- timers -------------------------------------------------------------------
    def _tick(self) -> None:
        state = self.state
        leases.reap(state)
        for directory in state.dirs.values():
            if not directory.clients and directory.tracker.open_session is not None \
                    and not directory.read_only:
                sessions.end_if_unattended(state, directory)
        if state.pending:
            events = [p.event for p in state.pending]
            failed = persistence.flush(state)
            self.feed.publish(state, events, failed)
            if failed:
                log.error("timer flush failed: %s", failed)
        persistence.checkpoint_due(state)
        self._unload_idle()
        self._check_idle()

    def _unload_idle(self) -> None:
        """Forget directories nobody has had open for a while (checkpointed first)."""
        state = self.state
        now = time.monotonic()
        for ident, directory in list(state.dirs.items()):
            if directory.clients or directory.held() or now - directory.idle_since < UNLOAD_AFTER:
                continue
            if directory.changes or directory.dirty:
                persistence.checkpoint_due(state, force=True)
            if not directory.changes and not directory.dirty:
                del state.dirs[ident]
                log.info("unloaded %s (idle)", directory.key)

    def _check_idle(self) -> None:
        idle_exit = self.config.idle_exit
        state = self.state
        busy = state.clients or any(d.held() for d in state.dirs.values())
        now = time.monotonic()
        if busy:
            self._idle_since = now
        elif idle_exit is not None and now - max(self._idle_since, state.last_busy) >= idle_exit:
            log.info("no clients for %.0f s: exiting (--idle-exit)", idle_exit)
            state.stopping = True

