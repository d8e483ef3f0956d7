"""cropctl's line to cropd: ask without ever starting one, or open a Session that may.

The read commands use `Link.ask`: when no daemon can be running (no socket,
or the instance lock is held by no live process) it answers None at once;
otherwise it waits a short deadline and answers None on silence, so the
caller falls back to the files. Commands that change progress use
`Link.session()`, which starts a daemon like every client does.

ZeroMQ is imported only when a daemon may be there to talk to.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, TypeVar

from crop_client.cropctl.errors import EXIT_DAEMON, CtlError
from crop_client.errors import DaemonError, DaemonUnavailable
from crop_client.spawn import lock_holder, process_alive
from crop_progress.paths import client_endpoint, lock_path, socket_path
from crop_protocol import messages as m

if TYPE_CHECKING:
    from crop_client.connection import Connection
    from crop_client.session import Session

R = TypeVar("R")
ASK_TRY = 1.0
ASK_TOTAL = 2.0
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0


def is_cropd(pid: int) -> bool:
    import psutil

    try:
        return any("cropd" in word for word in psutil.Process(pid).cmdline())
    except psutil.Error:
        return False


class Link:
    """The endpoint of cropd and the ways to reach it (one reused connection)."""

    def __init__(self, endpoint: str | None = None) -> None:
        self.endpoint = endpoint or client_endpoint()
        self.team = self.endpoint.startswith("tcp://")  # a team daemon: CURVE, no files here
        self.silence: str | None = None
        """Why the last `ask` got no answer, for the "not running" line."""
        self._conn: Connection | None = None

    # -- asking, never starting ----------------------------------------------------
    def may_be_running(self) -> bool:
        sock = socket_path(self.endpoint)
        if sock is None:
            return True  # tcp:// and friends: only asking tells
        if not sock.exists():
            self.silence = "cropd is not running"
            return False
        lock = lock_path(self.endpoint)
        if lock.exists() and lock_holder(self.endpoint) is None:
            self.silence = "cropd is not running (a stale socket was left behind)"
            return False
        return True

    def ask(self, request: m.Request, total: float = ASK_TOTAL) -> m.Reply | None:
        """The daemon's reply, or None when no daemon answers within `total` seconds."""
        if not self.may_be_running():
            return None
        if self._conn is None:
            from crop_client.connection import Connection

            curve = None
            if self.team:
                from crop_client import team

                curve = team.curve_for(self.endpoint)
            self._conn = Connection(self.endpoint, f"cropctl-{uuid.uuid4().hex}",
                                    try_timeout=min(ASK_TRY, total), total_timeout=total,
                                    curve=curve)
        if self.team:
            request = _on_shares(request)
        try:
            return self._conn.call(request, total_timeout=total)
        except DaemonUnavailable as exc:
            if self.team:  # the progress files are on the daemon's host: nothing to fall
                self.close()  # back to here
                raise CtlError(str(exc), EXIT_DAEMON) from None
            holder = lock_holder(self.endpoint)
            self.silence = (f"cropd (pid {holder}) did not answer within {total:g} s"
                            if holder else "cropd is not running")
            self.close()
            return None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Link:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def status(self) -> m.StatusReply | None:
        reply = self.ask(m.Status())
        if reply is None:
            return None
        return expect(reply, m.StatusReply)

    # -- changing things: through a daemon, started when needed --------------------
    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        from crop_client.session import Session

        try:
            session = Session(self.endpoint, program="cropctl", heartbeat=False,
                              call_timeout=10.0)
        except DaemonUnavailable as exc:
            from crop_client.errors import unavailable_line

            raise CtlError(unavailable_line(exc), EXIT_DAEMON) from None
        try:
            yield session
        finally:
            session.close()

    # -- the daemon's life -------------------------------------------------------------
    def start(self, idle_exit: float | None) -> tuple[m.DaemonInfo, bool]:
        """Start a detached cropd unless one answers; (its info, whether we started it)."""
        self._not_a_team_daemon("started")
        running = self.status()
        if running is not None:
            return running.daemon, False
        from crop_client import spawn

        proc = spawn.start_daemon(self.endpoint, idle_exit=idle_exit)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            time.sleep(0.05)
            reply = self.status()
            if reply is not None:
                return reply.daemon, reply.daemon.pid == proc.pid
            if proc.poll() is not None and proc.returncode != 0:
                break
        proc.poll()
        raise CtlError(f"cropd did not start on {self.endpoint}: "
                       f"{spawn.last_words(self.endpoint)} (see {spawn.spawn_log(self.endpoint)})",
                       EXIT_DAEMON)

    def stop(self, timeout: float = STOP_TIMEOUT) -> tuple[int | None, str]:
        """Ask the daemon to flush and exit, and wait until its process is gone.

        Returns (pid, how): how is "stopped", "terminated" (it did not answer, or
        speaks another protocol version, so SIGTERM went to the cropd holding the
        lock) or "not running".
        """
        self._not_a_team_daemon("stopped")
        try:
            reply = self.status()
        except DaemonError:
            # A daemon of another protocol version (after an upgrade) cannot be asked
            # to stop; the cropd holding the lock is signalled instead.
            self.close()
            reply = None
        if reply is None:
            holder = lock_holder(self.endpoint)
            if holder is None or not is_cropd(holder):
                return None, "not running"
            try:
                os.kill(holder, signal.SIGTERM)
            except ProcessLookupError:
                return None, "not running"
            except PermissionError:
                raise CtlError(f"cropd (pid {holder}) does not answer and cannot be signalled",
                               EXIT_DAEMON) from None
            self._wait_gone(holder, timeout)
            return holder, "terminated"
        pid = reply.daemon.pid
        answer = self.ask(m.Shutdown(), total=5.0)
        if answer is None:
            raise CtlError(f"cropd (pid {pid}) stopped answering before it agreed to stop",
                           EXIT_DAEMON)
        if isinstance(answer, m.Err) and answer.code != "BUSY":  # BUSY: already stopping
            raise CtlError(f"cropd refused to stop: {answer.message}", EXIT_DAEMON)
        self.close()
        self._wait_gone(pid, timeout)
        return pid, "stopped"

    def _not_a_team_daemon(self, what: str) -> None:
        if self.team:
            raise CtlError(f"this workstation uses the team daemon at {self.endpoint}: it is "
                           f"{what} on its own host (with CROPD_ENDPOINT set, cropctl speaks "
                           "to another daemon)", EXIT_DAEMON)

    def _wait_gone(self, pid: int | None, timeout: float) -> None:
        sock = socket_path(self.endpoint)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pid is None or pid == os.getpid():  # an embedded daemon: its socket tells
                if sock is None or not sock.exists():
                    return
            elif not process_alive(pid):
                return
            time.sleep(0.05)
        raise CtlError(f"cropd (pid {pid}) did not stop within {timeout:g} s", EXIT_DAEMON)


def _on_shares(request: m.Request) -> m.Request:
    """A request naming a directory of this workstation, named by its share key
    (`NAME:relative/`), which the team daemon finds at its own mount."""
    directory = getattr(request, "directory", None)
    if not directory or not os.path.isabs(directory):
        return request
    import msgspec

    from crop_progress import shares
    from crop_progress.paths import canonical_directory

    found = shares.locate(canonical_directory(directory))
    if found is None:
        raise CtlError(f"{directory} is on none of this workstation's shares; the team "
                       "daemon sees only those (`cropctl team share NAME PATH`)")
    return msgspec.structs.replace(request, directory=shares.key_of(*found))


def expect(reply: m.Reply, kind: type[R]) -> R:
    """The reply when it is of `kind`; a daemon Err becomes DaemonError."""
    if isinstance(reply, m.Err):
        raise DaemonError(reply.code, reply.message)
    if not isinstance(reply, kind):
        raise CtlError(f"cropd answered {type(reply).__name__} where {kind.__name__} was "
                       "expected", EXIT_DAEMON)
    return reply
