"""The public API a desktop tool uses to track its progress through cropd.

    with Session(program="my-tool") as session:
        opened = session.open("/data/_asian")
        target = Target.from_opened(opened)
        while (batch := session.claim(target.directory, 3).items):
            for item in batch:
                carry_out(session, target, item, Decision("crop", box))

A Session hides ZeroMQ entirely: it starts a daemon when none answers, keeps
its leases alive from a heartbeat thread, and after a daemon restart says
Hello again, re-opens its directories and re-claims the images it still
holds before carrying on. It is not thread-safe: use it from one thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import psutil

from crop_client import spawn, team
from crop_client.connection import Connection
from crop_client.errors import DaemonError, DaemonUnavailable
from crop_client.handshake import CurveKeys
from crop_progress import shares
from crop_progress.paths import client_endpoint
from crop_protocol import messages as m
from crop_protocol.codec import PROTOCOL_VERSION
from crop_protocol.errors import ErrorCode

__all__ = ["DaemonError", "DaemonUnavailable", "Session"]

log = logging.getLogger("crop_client")
R = TypeVar("R")
START_TIMEOUT = 15.0
RECOVERY_TRIES = 8  # daemon restarts in a row that one call rides out
BUSY_PATIENCE = 5.0  # seconds a Hello refused as BUSY is tried again before giving up


class Session:
    def __init__(self, endpoint: str | None = None, *, program: str = "crop-client",
                 autostart: bool = True, call_timeout: float = 5.0,
                 on_notice: Callable[[str], None] | None = None,
                 heartbeat: bool = True) -> None:
        self.endpoint = endpoint or client_endpoint()
        self.program = program
        # a team daemon (tcp): CURVE with this user's keys; never started from here
        self.curve: CurveKeys | None = None
        if team.is_team_endpoint(self.endpoint):
            self.curve = team.curve_for(self.endpoint)
            autostart = False
        self.autostart = autostart
        self.call_timeout = call_timeout
        self.on_notice = on_notice
        self.client_id = uuid.uuid4().hex
        self._opened: dict[str, m.Open] = {}         # directory key -> how it was opened
        self._held: dict[str, dict[str, int]] = {}   # directory key -> image -> token
        self._lock = threading.RLock()
        self._daemon: Any = None
        self._epoch = 0                              # bumps at every (re)connection
        self.conn = self._connection()
        self.welcome = self._hello(self.conn)
        self.conn.total_timeout = self._patience()
        self.paths: team.PathMap | None = None  # this machine's paths <-> the daemon's
        self._wire: dict[str, str] = {}          # local directory key -> the daemon's key
        if self.curve is not None or self.welcome.shares:
            # (a local client too: a directory on a share is known by its share key)
            try:
                mounted = shares.load()
            except shares.ShareError as exc:
                self.conn.close()
                raise DaemonUnavailable(str(exc)) from None
            self.paths = team.PathMap(mounted, self.welcome.shares, strict=self.curve is not None)
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        if heartbeat:
            self._beat = threading.Thread(target=self._heartbeat, name="crop-heartbeat",
                                          daemon=True)
            self._beat.start()

    # -- connecting -------------------------------------------------------------
    def _connection(self) -> Connection:
        return Connection(self.endpoint, self.client_id, try_timeout=min(2.5, self.call_timeout),
                          total_timeout=self._patience(),
                          on_silence=self._on_silence, curve=self.curve)

    def _patience(self) -> float:
        """How long one call waits for the daemon. Over a network, long enough to ride
        out a cut past the lease TTL: the images are gone by then, and the late report
        is told so (LEASE_LOST) instead of the window giving up."""
        patience = max(START_TIMEOUT, self.call_timeout)
        welcome = getattr(self, "welcome", None)
        if self.curve is not None and welcome is not None:
            patience = max(patience, 2 * welcome.lease_ttl)
        return patience

    def _on_silence(self, attempt: int) -> None:
        """No answer: start a daemon if allowed (the lock keeps it to one)."""
        code = self._daemon.poll() if self._daemon is not None else None
        if code is not None and code > 0:  # it could not start (killed ones are restarted)
            self._daemon = None
            raise DaemonUnavailable(f"cropd could not start: {spawn.last_words(self.endpoint)}")
        # No live process holds the instance lock: nobody will answer, start one.
        # (One that holds it is alive but busy: wait for it.)
        if self.autostart and spawn.lock_holder(self.endpoint) is None \
                and (self._daemon is None or self._daemon.poll() is not None):
            log.info("no daemon answers on %s: starting one", self.endpoint)
            self._daemon = self._start_daemon()
        time.sleep(min(0.05 * attempt, 0.3))

    def _start_daemon(self) -> Any:
        try:
            return spawn.start_daemon(self.endpoint)
        except OSError as exc:
            raise DaemonUnavailable(f"cannot start cropd for {self.endpoint}: "
                                    f"{exc.strerror or exc}") from None

    def _hello(self, conn: Connection) -> m.Welcome:
        if self.autostart and spawn.socket_missing(self.endpoint):
            self._daemon = self._start_daemon()
        try:
            create_time = psutil.Process().create_time()
        except psutil.Error:
            create_time = 0.0
        hello = m.Hello(pid=os.getpid(), host=socket.gethostname(), program=self.program,
                        protocol_version=PROTOCOL_VERSION, create_time=create_time)
        total = START_TIMEOUT if self.autostart else self.call_timeout
        busy_until = time.monotonic() + min(total, BUSY_PATIENCE)
        pause = 0.1
        while True:  # BUSY: the daemon is full of clients holding images; it may clear
            reply = conn.call(hello, try_timeout=1.0 if self.autostart else None,
                              total_timeout=total)
            if not (isinstance(reply, m.Err) and reply.code == ErrorCode.BUSY):
                break
            if time.monotonic() + pause >= busy_until:
                raise DaemonUnavailable(f"{reply.message} (tried for {BUSY_PATIENCE:g} s)")
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
        if isinstance(reply, m.Err):
            raise DaemonError(reply.code, reply.message)
        assert isinstance(reply, m.Welcome)
        return reply

    def _recover(self, conn: Connection, epoch: int) -> None:
        """The daemon forgot us (it restarted): Hello, re-open, re-claim."""
        with self._lock:
            if epoch != self._epoch:
                return  # another thread already did it
            self.welcome = self._hello(conn)
            lost_total: list[str] = []
            for key, request in self._opened.items():
                again = m.Open(**{f: getattr(request, f) for f in request.__struct_fields__})
                again.reset = False
                _expect(conn.call(again), m.Opened)
                # what we hold, even nothing: the daemon frees any other lease it
                # kept for us (one whose claim reply never reached us)
                held = sorted(self._held.get(key, ()))
                claimed = _expect(conn.call(m.Claim(directory=key, files=held, all_held=True)),
                                  m.Claimed)
                self._held[key] = {i.file: i.token for i in claimed.items}
                lost_total += claimed.lost
            self._epoch += 1
        note = "The daemon restarted; reconnected and carried on"
        if lost_total:
            note += f" ({len(lost_total)} image(s) were taken by another window meanwhile)"
        self._notice(note)

    def _notice(self, text: str) -> None:
        log.info("%s", text)
        if self.on_notice is not None:
            self.on_notice(text)

    def call(self, request: m.Request, expected: type[R], conn: Connection | None = None) -> R:
        """Send a request; after a daemon restart say Hello again and resend; raise on Err."""
        conn = conn or self.conn
        for _ in range(RECOVERY_TRIES):
            epoch = self._epoch
            reply = conn.call(request)
            if not (isinstance(reply, m.Err) and reply.code == ErrorCode.UNKNOWN_CLIENT):
                return _expect(reply, expected)
            try:
                self._recover(conn, epoch)
            except DaemonError as exc:
                if exc.code != ErrorCode.UNKNOWN_CLIENT:
                    raise  # restarted again while we recovered: go round once more
        return _expect(reply, expected)

    # -- heartbeat ----------------------------------------------------------------
    def _heartbeat(self) -> None:
        conn = self._connection()
        try:
            while not self._stop.wait(max(0.2, self.welcome.lease_ttl / 3)):
                if self._daemon is not None:
                    self._daemon.poll()  # reap a daemon child that exited
                try:
                    self.call(m.Renew(), m.Renewed, conn)
                except (DaemonError, DaemonUnavailable) as exc:
                    log.warning("heartbeat: %s", exc)
        finally:
            conn.close()

    # -- the API ------------------------------------------------------------------
    def discover(self, directory: str | Path) -> list[str]:
        path = self._out(directory)
        found = self.call(m.Discover(directory=path), m.WorkDirs).directories
        return [self.paths.to_local(d) for d in found] if self.paths else found

    def _out(self, path: str | Path) -> str:
        """A path of this machine as the daemon reaches it."""
        if self.paths is None:
            return str(Path(path).expanduser().resolve())
        try:
            return self.paths.to_daemon(path)
        except team.OffShare as exc:
            raise DaemonError(ErrorCode.BAD_REQUEST.value, str(exc)) from None

    def _key(self, directory: str) -> str:
        """The daemon's key of a directory this session opened (given as ours)."""
        return self._wire.get(directory, directory)

    def open(self, directory: str | Path, *, output_dir: str | Path | None = None,
             progress_dir: str | Path | None = None, reset: bool = False,
             retry_skipped: bool = False, retry_failed: bool = False, move: bool = False,
             read_only: bool = False, output_shape: str | None = None) -> m.Opened:
        request = m.Open(directory=self._out(directory),
                         output_dir=self._out(output_dir) if output_dir else None,
                         progress_dir=_abs(progress_dir),
                         reset=reset, retry_skipped=retry_skipped, retry_failed=retry_failed,
                         move=move, read_only=read_only, output_shape=output_shape)
        if self.curve is not None:
            if progress_dir:
                raise DaemonError(ErrorCode.NOT_ALLOWED.value, "--progress-dir is the team "
                                  "daemon's to choose: its progress files live on its host")
            try:
                view = team.local_view(Path(directory).expanduser().resolve())
            except team.OffShare as exc:
                raise DaemonError(ErrorCode.NOT_FOUND.value, str(exc)) from None
            request = msgspec.structs.replace(request, **view)
        opened = self.call(request, m.Opened)
        if self.paths is not None:
            wire = opened.summary.directory
            opened = msgspec.structs.replace(opened, summary=self.paths.summary(opened.summary))
            self._wire[opened.summary.directory] = wire
        if not read_only:
            key = self._key(opened.summary.directory)
            request.directory = key
            with self._lock:
                self._opened[key] = request
                self._held.setdefault(key, {})
        return opened

    def show(self, directory: str | Path, progress_dir: str | Path | None = None) -> m.ShowReply:
        """The directory in full; one never worked on shows as it would start (a
        read-only Open: nothing is written for it)."""
        try:
            shown = self.call(m.Show(directory=self._out(directory),
                                     progress_dir=_abs(progress_dir)), m.ShowReply)
            if self.paths is not None:
                shown = msgspec.structs.replace(shown, summary=self.paths.summary(shown.summary))
            return shown
        except DaemonError as exc:
            if exc.code != ErrorCode.UNKNOWN_DIRECTORY:
                raise
        opened = self.open(directory, progress_dir=progress_dir, read_only=True)
        return m.ShowReply(summary=opened.summary)

    def claim(self, directory: str, count: int = 1, *,
              files: list[str] | None = None) -> m.Claimed:
        """Lease the next `count` images, or the named `files` (those nobody holds that
        are still to do; the others come back in `lost`)."""
        key = self._key(directory)
        claimed = self.call(m.Claim(directory=key, count=count, files=files), m.Claimed)
        with self._lock:
            self._held.setdefault(key, {}).update((i.file, i.token) for i in claimed.items)
        return self.paths.claimed(claimed) if self.paths else claimed

    def report(self, report: m.Report) -> m.Reported:
        """Report an outcome under the image's lease token. Raises DaemonError with
        code LEASE_LOST when another window has the image now: it counted nothing."""
        key = self._key(report.directory)
        if self.paths is not None:
            try:
                report = self.paths.report(report, key)
            except team.OffShare as exc:
                raise DaemonError(ErrorCode.BAD_REQUEST.value, str(exc)) from None
        else:
            report.directory = key
        with self._lock:
            # after a daemon restart the lease may have been given again under another token
            report.token = self._held.get(key, {}).get(report.file, report.token)
        try:
            reported = self.call(report, m.Reported)
        except DaemonError as exc:
            if exc.code == ErrorCode.LEASE_LOST:
                self._forget(key, [report.file])
            raise
        self._forget(key, [report.file])
        if self.paths is not None:
            reported = msgspec.structs.replace(reported,
                                               summary=self.paths.summary(reported.summary))
        return reported

    def _forget(self, directory: str, files: list[str]) -> None:
        with self._lock:
            held = self._held.get(directory, {})
            for name in files:
                held.pop(name, None)

    def undo(self, directory: str) -> m.Undone:
        key = self._key(directory)
        undone = self.call(m.Undo(directory=key), m.Undone)
        with self._lock:
            self._held.setdefault(key, {}).update((i.file, i.token) for i in undone.items)
        return self.paths.undone(undone) if self.paths else undone

    def release(self, directory: str, files: list[str] | None = None) -> int:
        key = self._key(directory)
        released = self.call(m.Release(directory=key, files=files), m.Released)
        with self._lock:
            held = self._held.get(key, {})
            for name in list(held) if files is None else files:
                held.pop(name, None)
        return released.count

    def status(self) -> m.StatusReply:
        found = self.call(m.Status(), m.StatusReply)
        if self.paths is not None:
            found.directories = [self.paths.summary(d) for d in found.directories]
        return found

    def close(self) -> None:
        """Say goodbye (claims go back at once) and stop the heartbeat."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=2)
        with contextlib.suppress(DaemonError, DaemonUnavailable):
            self.conn.call(m.Goodbye(), try_timeout=1.0, total_timeout=2.0)
        self.conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _abs(path: str | Path | None) -> str | None:
    return str(Path(path).expanduser().resolve()) if path else None


def _expect(reply: m.Reply, expected: type[R]) -> R:
    if isinstance(reply, m.Err):
        raise DaemonError(reply.code, reply.message)
    if not isinstance(reply, expected):
        raise DaemonError(ErrorCode.BAD_MESSAGE.value,
                          f"expected {expected.__name__}, got {type(reply).__name__}")
    return reply
