"""Team mode's door: a tcp:// ROUTER with CURVE always on, and who may come in.

pyzmq's `zmq.auth` answers each connection's handshake (ZAP) from a thread of
its own, through a credentials callback over `<progress-dir>/team/members/`:
a member whose key file was removed (`cropctl team revoke`) is refused at its
next connection, without a restart; each message of an admitted member
carries its name as the frame's `User-Id`, which the loop checks against the
same folder, so a connection opened before the revocation serves no more
requests either. The ZAP domain is set on both sides (`configure_curve(domain
="*")` is not a wildcard in libzmq's eyes).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from crop_progress import team_files

log = logging.getLogger("cropd")
DOMAIN = "crop-progress"
RECHECK_SECONDS = 0.5  # how stale a member list may be when a message is checked


class TeamUnavailable(Exception):
    """Team mode was asked for but cannot be served (no keys yet, unreadable keys)."""


class Members:
    """The members' public keys by z85 key, read again when the folder changes."""

    def __init__(self, progress_dir: Path) -> None:
        self.folder = team_files.members_dir(progress_dir)
        self._by_key: dict[bytes, str] = {}
        self._signature: tuple[int, int] | None = None
        self._checked = 0.0

    def _refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < RECHECK_SECONDS:
            return
        self._checked = now
        try:
            info = self.folder.stat()
            signature = (info.st_mtime_ns, info.st_nlink)
        except OSError:
            self._by_key, self._signature = {}, None
            return
        if signature == self._signature:
            return
        found: dict[bytes, str] = {}
        for path in sorted(self.folder.glob("*.key")):
            try:
                public, _secret = zmq.auth.load_certificate(path)
            except (OSError, ValueError) as exc:
                log.warning("team: cannot read the member key %s: %s", path, exc)
                continue
            found[public] = path.stem
        self._by_key, self._signature = found, signature

    def name_of(self, z85_key: bytes, force: bool = False) -> str | None:
        self._refresh(force)
        return self._by_key.get(z85_key)

    def names(self, force: bool = False) -> set[str]:
        self._refresh(force)
        return set(self._by_key.values())

    # the credentials provider of zmq.auth: called once per connection's handshake
    def callback(self, domain: str, key: bytes) -> bool:
        name = self.name_of(key, force=True)
        if name is None:
            log.warning("team: refused a connection with an unknown key %s", key.decode())
        return name is not None


class _Gate(ThreadAuthenticator):
    """Admits members; the User-Id of their messages is their name."""

    def __init__(self, context: zmq.Context, members: Members) -> None:
        super().__init__(context, log=logging.getLogger("cropd.zap"))
        self.members = members

    def curve_user_id(self, client_public_key: bytes) -> str:
        return self.members.name_of(zmq.utils.z85.encode(client_public_key)) or ""


class TeamDoor:
    """The bound tcp ROUTER, its authenticator and the loop's own view of the members."""

    def __init__(self, context: zmq.Context, progress_dir: Path, listen: str,
                 configure: Callable[[zmq.Socket], None]) -> None:
        secret_file = team_files.server_secret(progress_dir)
        if not secret_file.exists():
            raise TeamUnavailable(f"no team keys in {team_files.team_dir(progress_dir)}: run "
                                  "`cropctl team init` first")
        try:
            team_files.check_private(secret_file)
            public, secret = zmq.auth.load_certificate(secret_file)
        except (OSError, ValueError) as exc:
            raise TeamUnavailable(f"cannot use the daemon's key {secret_file}: {exc}") from None
        if secret is None:
            raise TeamUnavailable(f"{secret_file} holds no secret key")
        self.progress_dir = progress_dir
        self.members = Members(progress_dir)
        self.gate = _Gate(context, Members(progress_dir))
        self.gate.start()
        self.gate.configure_curve_callback(DOMAIN, credentials_provider=self.gate.members)
        sock = context.socket(zmq.ROUTER)
        try:
            configure(sock)
            sock.curve_server = True
            sock.curve_publickey = public
            sock.curve_secretkey = secret
            sock.zap_domain = DOMAIN.encode()
            sock.bind(_bindable(listen))
            self.endpoint = _reachable(sock.getsockopt_string(zmq.LAST_ENDPOINT), listen)
        except zmq.ZMQError as exc:
            sock.close(0)
            self.gate.stop()
            raise TeamUnavailable(f"cannot listen on {listen}: {exc}") from None
        self.socket = sock
        _write_listening(progress_dir, self.endpoint)
        log.info("team: serving %d member(s) on %s (CURVE)", len(self.members.names()),
                 self.endpoint)

    def member(self, user_id: str | None) -> str | None:
        """The member a message came from, if it still is one (None: refuse it)."""
        if not user_id:
            return None
        if user_id in self.members.names() or user_id in self.members.names(force=True):
            return user_id  # (a member added a moment ago is in the folder, not the cache)
        return None

    def close(self) -> None:
        self.socket.close(0)
        self.gate.stop()
        with contextlib.suppress(OSError):
            team_files.listening_file(self.progress_dir).unlink()


def _bindable(listen: str) -> str:
    """`tcp://HOST:0` asks the system for a port, as `tcp://HOST:*` does in ZeroMQ."""
    head, sep, port = listen.rpartition(":")
    return f"{head}:*" if sep and port == "0" else listen


def _reachable(bound: str, listen: str) -> str:
    """What members connect to: the bound endpoint, with a wildcard host made the name
    this host is asked for in `listen` (or its own name)."""
    head, _, port = bound.rpartition(":")
    host = head[len("tcp://"):]
    if host in ("0.0.0.0", "*", "[::]", "::"):
        import socket

        host = socket.getfqdn()
    return f"tcp://{host}:{port}"


def _write_listening(progress_dir: Path, endpoint: str) -> None:
    try:
        team_files.private_dir(team_files.team_dir(progress_dir))
        team_files.listening_file(progress_dir).write_text(endpoint + "\n")
    except OSError as exc:
        log.warning("team: cannot note the endpoint in %s: %s", progress_dir, exc)


def listen_address(progress_dir: Path, requested: str | None) -> str | None:
    """`--listen`, else the one `cropctl team init --listen` recorded; must be tcp://."""
    listen = requested
    if listen is None:
        recorded = team_files.settings(progress_dir)
        listen = recorded.listen if recorded is not None else None
    if listen is not None and not listen.startswith("tcp://"):
        raise TeamUnavailable(f"--listen takes a tcp://HOST:PORT endpoint, not {listen!r}")
    return listen


__all__ = ["DOMAIN", "Members", "TeamDoor", "TeamUnavailable", "listen_address"]
