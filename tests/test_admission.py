"""Admission and what a request may touch, against an in-process daemon: lying
Hellos cannot keep a real client out, the reply cache is bounded in bytes, and
Reset/Rebuild/Show/Report name only what they may."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import zmq
from conftest import InProcessDaemon, make_images

from crop_client.errors import DaemonError, DaemonUnavailable
from crop_client.session import Session
from crop_client.work import Decision, Target, carry_out
from crop_protocol import messages as m
from crop_protocol.codec import decode_reply, encode_request
from cropd import clients, state

pytestmark = pytest.mark.timeout(60)
HOST = socket.gethostname()


class Raw:
    """A DEALER that says what it likes."""

    def __init__(self, endpoint: str) -> None:
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.ids = 0

    def call(self, client: str, body: m.Request) -> m.Reply:
        self.ids += 1
        self.sock.send(encode_request(client, self.ids, body))
        assert self.sock.poll(10_000), "no reply"
        return decode_reply(self.sock.recv()).body

    def close(self) -> None:
        self.sock.close(0)


@pytest.fixture
def raw(daemon: InProcessDaemon):
    sockets: list[Raw] = []

    def make() -> Raw:
        sockets.append(Raw(daemon.endpoint))
        return sockets[-1]

    yield make
    for s in sockets:
        s.close()


def lie(conn: Raw, count: int, pid: int = 1, prefix: str = "liar") -> list[m.Reply]:
    return [conn.call(f"{prefix}-{i}", m.Hello(pid=pid, host=HOST, program="liar"))
            for i in range(count)]


def test_lying_hellos_for_one_pid_cannot_lock_out(daemon: InProcessDaemon, raw) -> None:
    """The issue: 1,024 Hellos naming pid 1 made cropd refuse every real client."""
    replies = []
    for n in range(8):  # over several connections, so the per-peer limit is not the one
        replies += lie(raw(), 130, prefix=f"liar{n}")
    assert all(isinstance(r, m.Welcome) for r in replies)
    liars = [c for c in daemon.state.clients.values() if c.pid == 1]
    assert len(liars) <= clients.MAX_PER_PROCESS
    with Session(daemon.endpoint, autostart=False) as session:
        assert session.status().daemon.clients is not None


def test_one_connection_holds_few_client_ids(daemon: InProcessDaemon, raw) -> None:
    conn = raw()
    lie(conn, 50, pid=os.getpid())
    peers = [c for c in daemon.state.clients.values() if c.program == "liar"]
    assert len(peers) == clients.MAX_PER_PEER


def test_lying_hellos_for_many_pids_cannot_lock_out(daemon: InProcessDaemon, raw,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "MAX_CLIENTS", 40)
    import psutil
    pids = psutil.pids()[:60]
    for n, pid in enumerate(pids):
        assert isinstance(raw().call(f"liar-{n}", m.Hello(pid=pid, host=HOST)), m.Welcome)
    assert len(daemon.state.clients) <= 40
    with Session(daemon.endpoint, autostart=False) as session:
        assert session.client_id in daemon.state.clients


def test_busy_only_when_everyone_holds_images(tmp_path: Path, daemon: InProcessDaemon, raw,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clients, "MAX_CLIENTS", 3)
    work = tmp_path / "held"
    make_images(work, 6)
    holders = [Session(daemon.endpoint, autostart=False, heartbeat=False) for _ in range(3)]
    try:
        for session in holders:
            target = Target.from_opened(session.open(work))
            assert session.claim(target.directory, 1).items
        reply = raw().call("newcomer", m.Hello(pid=os.getpid(), host=HOST))
        assert isinstance(reply, m.Err) and reply.code == "BUSY"
        assert f"retry in {clients.RETRY_AFTER:g} s" in reply.message
        with pytest.raises(DaemonUnavailable, match="cropd is busy: 3 client"):
            Session(daemon.endpoint, autostart=False, call_timeout=1.0)
        # one holder finishes: its entry holds nothing now and gives way
        target = Target.from_opened(holders[0].open(work))
        holders[0].release(target.directory)
        reply = raw().call("newcomer", m.Hello(pid=os.getpid(), host=HOST))
        assert isinstance(reply, m.Welcome)
        assert holders[0].client_id not in daemon.state.clients
    finally:
        for session in holders:
            session.close()


def test_silent_entries_without_leases_expire(tmp_path: Path, daemon: InProcessDaemon,
                                              raw) -> None:
    work = tmp_path / "quiet"
    make_images(work, 2)
    conn = raw()
    with Session(daemon.endpoint, autostart=False, heartbeat=False) as holder:
        target = Target.from_opened(holder.open(work))
        assert holder.claim(target.directory, 1).items
        lie(conn, 2, pid=os.getpid(), prefix="old")
        for client in daemon.state.clients.values():
            client.last_seen -= clients.IDLE_EXPIRY + 1
        conn.call("new", m.Hello(pid=os.getpid(), host=HOST))
        assert set(daemon.state.clients) == {holder.client_id, "new"}


# -- the reply cache -----------------------------------------------------------------

def test_reply_cache_is_bounded_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from cropd.config import Config

    monkeypatch.setattr(state, "REPLY_CACHE_BYTES", 10_000)
    s = state.State(Config(endpoint="ipc:///nowhere", progress_dir=Path("/nowhere")))
    for n in range(50):
        s.clients[f"c{n}"] = clients.Client(id=f"c{n}", pid=1, host=HOST)
        for rid in range(30):
            s.cache_reply(f"c{n}", rid, b"x" * 100)
    assert s.reply_bytes == sum(len(d) for c in s.replies.values() for d in c.values())
    assert s.reply_bytes <= 10_000
    assert all(len(c) <= state.REPLIES_PER_CLIENT for c in s.replies.values())
    assert s.cached_reply("c49", 29) == b"x" * 100      # the newest stay
    assert s.cached_reply("c0", 29) is None              # the oldest went
    s.cache_reply("c49", 29, b"y" * 50)                  # replaced, counted once
    assert s.reply_bytes == sum(len(d) for c in s.replies.values() for d in c.values())
    s.cache_reply("c49", 30, b"z" * (state.REPLY_MAX_BYTES + 1))
    assert s.cached_reply("c49", 30) is None
    for n in range(50):
        s.forget_client(f"c{n}")
    assert s.reply_bytes == 0 and not s.replies and not s.reply_order


# -- what a request may name ------------------------------------------------------------

def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")} if folder.exists() else set()


@pytest.mark.parametrize("request_type", [m.Reset, m.Rebuild, m.Show])
def test_never_tracked_directory_is_unknown_and_nothing_is_written(
        tmp_path: Path, daemon: InProcessDaemon, progress_dir: Path, raw,
        request_type: type) -> None:
    """The issue: `Reset /etc` and `Rebuild /` left stray progress files."""
    never = tmp_path / "never"
    make_images(never, 2)
    conn = raw()
    assert isinstance(conn.call("c", m.Hello(pid=os.getpid(), host=HOST)), m.Welcome)
    before = files_under(progress_dir)
    for directory in (str(never), "/etc", "/"):
        reply = conn.call("c", request_type(directory=directory))
        assert isinstance(reply, m.Err), reply
        assert reply.code == "UNKNOWN_DIRECTORY", reply
        assert "never worked on" in reply.message
    assert files_under(progress_dir) == before
    assert not (tmp_path / "never_cropped").exists()


def test_a_tracked_directory_can_be_shown_reset_rebuilt(tmp_path: Path,
                                                        daemon: InProcessDaemon) -> None:
    work = tmp_path / "known"
    make_images(work, 3)
    with Session(daemon.endpoint, autostart=False) as session:
        target = Target.from_opened(session.open(work))
        carry_out(session, target, session.claim(target.directory, 1).items[0],
                  Decision("keep"))
        assert session.show(work).summary.completed_count == 1
        session.call(m.Rebuild(directory=str(work)), m.Ok)
        session.call(m.Reset(directory=str(work)), m.Ok)


@pytest.mark.parametrize("where", ["/", "/etc", "/usr/lib/x", "/proc/self", "/tmp"])
def test_progress_dir_may_not_be_a_system_folder(tmp_path: Path, daemon: InProcessDaemon,
                                                 where: str) -> None:
    work = tmp_path / "w"
    make_images(work, 1)
    with Session(daemon.endpoint, autostart=False) as session:
        with pytest.raises(DaemonError) as err:
            session.open(work, progress_dir=where)
        assert err.value.code == "BAD_REQUEST"
        assert "system folder" in err.value.message or "top of the filesystem" in \
            err.value.message
    assert not list(Path("/").glob("w_progress.json*"))


def test_progress_dir_of_another_user_is_refused(tmp_path: Path,
                                                 daemon: InProcessDaemon) -> None:
    if not hasattr(os, "chown") or os.geteuid() != 0:
        pytest.skip("needs root to make a folder of another user")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)
    work = tmp_path / "w"
    make_images(work, 1)
    with Session(daemon.endpoint, autostart=False) as session:
        with pytest.raises(DaemonError, match="belongs to another user"):
            session.open(work, progress_dir=theirs / "progress")
        opened = session.open(work, progress_dir=tmp_path / "mine" / "progress")
        assert opened.summary.progress_file.startswith(str(tmp_path / "mine"))


@pytest.mark.parametrize("field,value", [
    ("dest", "/etc/passwd"), ("dest", "{work}/img_0000.png"), ("dest", "{out}/../escape.png"),
    ("dest", "{out}"),
    ("trashed", ["/home/someone/Trash/elsewhere/x.png"]), ("trashed", ["relative.png"]),
])
def test_report_paths_must_be_in_the_output_folder_or_a_trash(
        tmp_path: Path, daemon: InProcessDaemon, field: str, value: object) -> None:
    work = tmp_path / "paths"
    make_images(work, 2)
    with Session(daemon.endpoint, autostart=False) as session:
        target = Target.from_opened(session.open(work))
        item = session.claim(target.directory, 1).items[0]
        fill = {"work": str(work), "out": str(target.output_dir)}
        if isinstance(value, str):
            value = value.format(**fill)
        report = m.Report(directory=target.directory, file=item.file, outcome="kept",
                          token=item.token, **{field: value})
        with pytest.raises(DaemonError) as err:
            session.report(report)
        assert err.value.code == "BAD_REQUEST"
        ok = m.Report(directory=target.directory, file=item.file, outcome="deleted",
                      token=item.token,
                      dest=str(tmp_path / "home/.local/share/Trash/files" / item.file),
                      trashed=[str(tmp_path / ".Trash-0/files" / item.file)])
        assert session.report(ok).outcome == "deleted"


@pytest.mark.parametrize("kind", ["symlink", "directory"])
def test_progress_file_that_is_a_link_or_a_directory_is_refused(
        tmp_path: Path, daemon: InProcessDaemon, progress_dir: Path, kind: str) -> None:
    work = tmp_path / "linked"
    make_images(work, 2)
    with Session(daemon.endpoint, autostart=False) as session:
        target = Target.from_opened(session.open(work))
        carry_out(session, target, session.claim(target.directory, 1).items[0],
                  Decision("keep"))
    daemon.state.dirs.clear()  # as after a restart
    progress = progress_dir / "linked_progress.json"
    elsewhere = tmp_path / "elsewhere.json"
    progress.rename(elsewhere)
    if kind == "symlink":
        progress.symlink_to(elsewhere)
    else:
        progress.mkdir()
    kept = elsewhere.read_bytes()
    with Session(daemon.endpoint, autostart=False) as session, \
            pytest.raises(DaemonError) as err:
        session.open(work)
    assert err.value.code == "DAMAGED"
    assert "\n" not in err.value.message
    assert err.value.message.count(str(progress)) == 1
    assert ("symbolic link" if kind == "symlink" else "is a directory") in err.value.message
    assert elsewhere.read_bytes() == kept
    assert progress.is_symlink() == (kind == "symlink")
