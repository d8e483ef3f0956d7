"""One image, one owner: fenced leases against frozen, killed and restarted processes.

Each test uses real processes: a real `cropd`, and windows played by a small
client program (below) that claims an image, writes its output and then waits
for a word on stdin before it reports, so a test can freeze (SIGSTOP) or kill
it exactly between the output and the report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec
import pytest
from conftest import make_images, start_cropd, wait_for_socket
from PIL import Image
from procs import outcomes

from crop_client.errors import DaemonError
from crop_client.session import Session
from crop_client.work import Decision, Target, carry_out

WINDOW = r"""
import json, sys
from crop_client.errors import DaemonError
from crop_client.session import Session
from crop_client.work import Decision, Target, perform
import crop_protocol.messages as m

work, box = sys.argv[1], [int(v) for v in sys.argv[2].split(",")]
with Session(program="test-window", autostart=False) as session:
    opened = session.open(work)
    target = Target.from_opened(opened)
    item = session.claim(target.directory, 1).items[0]
    done = perform(target, item, Decision("crop", tuple(box)))
    print(json.dumps({"file": item.file, "token": item.token}), flush=True)
    sys.stdin.readline()  # the test freezes or kills us here
    report = m.Report(directory=target.directory, file=item.file, outcome=done.outcome,
                      dest=done.dest, box=done.box, token=item.token)
    try:
        session.report(report)
    except DaemonError as exc:
        done.discard()
        print(json.dumps({"error": exc.code}), flush=True)
    else:
        done.commit()
        print(json.dumps({"ok": True}), flush=True)
"""


def wait_until(check: Callable[[], object], what: str, timeout: float = 20.0) -> object:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def cropd(endpoint: str, progress_dir: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start (and restart) the real daemon with a short lease TTL."""
    running: list[subprocess.Popen[bytes]] = []

    def start(ttl: float = 1.0) -> subprocess.Popen[bytes]:
        proc = start_cropd("--endpoint", endpoint, "--progress-dir", str(progress_dir),
                           "--lease-ttl", str(ttl))
        running.append(proc)
        wait_for_socket(endpoint)
        return proc

    yield start
    for proc in running:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def window(work: Path, box: tuple[int, int, int, int]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WINDOW, str(work), ",".join(map(str, box))],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def first_line(proc: subprocess.Popen[str]) -> dict:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else "no output"
    return json.loads(line)


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) \
        if folder.exists() else []


def test_a_frozen_window_past_its_lease_overwrites_nothing(tmp_path: Path, progress_dir: Path,
                                                           cropd: Callable) -> None:
    cropd(ttl=1.0)
    work = tmp_path / "frozen"
    out = tmp_path / "frozen_cropped"
    make_images(work, 1, size=(64, 64))
    frozen = window(work, (0, 0, 8, 8))
    claimed = first_line(frozen)
    frozen.send_signal(signal.SIGSTOP)  # its heartbeat stops with it
    try:
        with Session(program="other", autostart=False) as other:
            target = Target.from_opened(other.open(work))

            def take_over() -> list:
                return other.claim(target.directory, 1).items

            items = wait_until(take_over, "the frozen window's lease to expire")
            assert isinstance(items, list) and items[0].file == claimed["file"]
            assert items[0].token > claimed["token"]
            carry_out(other, target, items[0], Decision("crop", (0, 0, 32, 32)))
    finally:
        frozen.send_signal(signal.SIGCONT)
    late, _err = frozen.communicate("go\n", timeout=30)
    assert json.loads(late.strip().splitlines()[-1]) == {"error": "LEASE_LOST"}
    with Image.open(out / claimed["file"]) as im:
        assert im.size == (32, 32)  # the other window's crop, intact
    assert parts(out) == []
    assert outcomes(progress_dir, work) == {claimed["file"]: 1}


def test_a_window_killed_before_its_report_leaves_no_stale_output(
        tmp_path: Path, progress_dir: Path, cropd: Callable) -> None:
    cropd(ttl=1.0)
    work = tmp_path / "killed"
    out = tmp_path / "killed_cropped"
    make_images(work, 1, size=(64, 64))
    victim = window(work, (0, 0, 8, 8))
    claimed = first_line(victim)
    stem = claimed["file"].rsplit(".", 1)[0]
    assert parts(out) == [f".{claimed['file']}.{claimed['token']}.part",
                          f".{stem}.yaml.{claimed['token']}.part"]  # the companion too
    victim.kill()
    victim.communicate(timeout=10)
    with Session(program="other", autostart=False) as other:
        target = Target.from_opened(other.open(work))
        items = wait_until(lambda: other.claim(target.directory, 1).items,
                           "the killed window's image to come back")
        assert isinstance(items, list) and items[0].token > claimed["token"]
        assert parts(out) == []  # the new lease made the killed window's parts void
        carry_out(other, target, items[0], Decision("skip"))
    assert parts(out) == [] and not (out / claimed["file"]).exists()


def test_open_removes_parts_whose_lease_is_gone(tmp_path: Path, progress_dir: Path,
                                                cropd: Callable) -> None:
    """A part under a token no lease and no outcome knows (a window killed long ago,
    the image since reset or done elsewhere) is removed when the directory opens."""
    cropd(ttl=30.0)
    work = tmp_path / "orphan"
    out = tmp_path / "orphan_cropped"
    make_images(work, 2, size=(32, 32))
    out.mkdir()
    (out / ".img_0000.png.999.part").write_bytes(b"half a crop")
    (out / ".img_0000.yaml.999.part").write_bytes(b"image: img_0000.png")
    (out / "..img_0001.png.998.part.tmp-abc").write_bytes(b"a write cut short")
    with Session(program="next", autostart=False) as later:
        opened = later.open(work)
    assert any("3 unacknowledged" in note for note in opened.messages), opened.messages
    assert parts(out) == []


def test_an_acknowledged_output_of_a_killed_window_is_finished_at_open(
        tmp_path: Path, progress_dir: Path, endpoint: str, cropd: Callable) -> None:
    """Killed after the ack, before the rename: the next Open gives the part its name."""
    cropd(ttl=30.0)
    work = tmp_path / "acked"
    out = tmp_path / "acked_cropped"
    make_images(work, 1, size=(64, 64))
    with Session(program="crashing", autostart=False) as session:
        target = Target.from_opened(session.open(work))
        item = session.claim(target.directory, 1).items[0]
        from crop_client.work import perform
        from crop_protocol import messages as m
        done = perform(target, item, Decision("crop", (0, 0, 16, 16)))
        session.report(m.Report(directory=target.directory, file=item.file,
                                outcome=done.outcome, dest=done.dest, box=done.box,
                                token=item.token))
        # ... and the process dies here: no commit
    assert f".{item.file}.{item.token}.part" in parts(out)
    with Session(program="next", autostart=False) as later:
        opened = later.open(work)
    assert any("finished" in note for note in opened.messages), opened.messages
    assert parts(out) == []
    with Image.open(out / item.file) as im:
        assert im.size == (16, 16)
    assert (out / item.file).with_suffix(".yaml").read_bytes() == \
        (work / item.file).with_suffix(".yaml").read_bytes()


def sigkill_and_restart(daemon: subprocess.Popen[bytes], cropd: Callable) -> None:
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(timeout=10)
    cropd(ttl=30.0)


def crop_all(session: Session, target: Target, items: list, batch: str) -> None:
    for item in items:
        carry_out(session, target, item, Decision("crop", (0, 0, 20, 20)), batch=batch)


def test_a_restarted_daemon_gives_leases_back_and_keeps_undo(
        tmp_path: Path, progress_dir: Path, endpoint: str, cropd: Callable) -> None:
    daemon = cropd(ttl=30.0)
    work = tmp_path / "restart"
    out = tmp_path / "restart_cropped"
    make_images(work, 6, size=(64, 64))
    with Session(program="window", autostart=False) as session:
        target = Target.from_opened(session.open(work))
        first = session.claim(target.directory, 3).items
        crop_all(session, target, first, "b1")
        held = session.claim(target.directory, 2).items
        sigkill_and_restart(daemon, cropd)
        # another window, after the restart, must not get the images the first holds
        with Session(program="rival", autostart=False) as rival:
            rival_target = Target.from_opened(rival.open(work))
            got = rival.claim(rival_target.directory, 6).items
            assert {i.file for i in got}.isdisjoint({i.file for i in held})
            rival.release(rival_target.directory)
        # the holder's in-flight reports still count, under the tokens it was given
        for item in held:
            carry_out(session, target, item, Decision("keep"), batch="b2")
        # undo walks back: the batch of after the restart, then the one of before it
        assert sorted(i.file for i in session.undo(target.directory).items) == \
            sorted(i.file for i in held)
        assert sorted(i.file for i in session.undo(target.directory).items) == \
            sorted(i.file for i in first)
    assert outcomes(progress_dir, work) == dict.fromkeys(
        [i.file for i in first] + [i.file for i in held], 0)
    assert not parts(out)


def test_undo_survives_a_restart(tmp_path: Path, progress_dir: Path, endpoint: str,
                                 cropd: Callable) -> None:
    daemon = cropd(ttl=30.0)
    work = tmp_path / "undo"
    out = tmp_path / "undo_cropped"
    make_images(work, 3, size=(64, 64))
    with Session(program="window", autostart=False) as session:
        target = Target.from_opened(session.open(work))
        batch = session.claim(target.directory, 3).items
        crop_all(session, target, batch, "b1")
        assert sorted(p.name for p in out.glob("*.png")) == sorted(i.file for i in batch)
        sigkill_and_restart(daemon, cropd)
        undone = session.undo(target.directory)
        assert sorted(i.file for i in undone.items) == sorted(i.file for i in batch)
        from crop_client.work import take_back
        for item in undone.items:
            assert take_back(target, item) == []
        assert list(out.glob("*.png")) == []
        # the images are this window's again, under the undo's tokens
        tokens = {i.file: i.token for i in undone.items}
        for claimed in batch:
            again = msgspec.structs.replace(claimed, token=tokens[claimed.file])
            carry_out(session, target, again, Decision("keep"), batch="b2")
    assert outcomes(progress_dir, work) == dict.fromkeys((i.file for i in batch), 1)


def test_a_report_under_a_stale_token_is_lease_lost(tmp_path: Path, progress_dir: Path,
                                                   cropd: Callable) -> None:
    cropd(ttl=30.0)
    work = tmp_path / "stale"
    make_images(work, 2, size=(32, 32))
    with Session(program="window", autostart=False) as session:
        target = Target.from_opened(session.open(work))
        item = session.claim(target.directory, 1).items[0]
        from crop_protocol import messages as m
        with pytest.raises(DaemonError) as err:
            session.call(m.Report(directory=target.directory, file=item.file,
                                  outcome="skipped", token=item.token + 100), m.Reported)
        assert err.value.code == "LEASE_LOST"
        carry_out(session, target, item, Decision("skip"))
    assert outcomes(progress_dir, work) == {}


def test_a_migrated_seed_file_stays_the_bak_byte_for_byte(tmp_path: Path, progress_dir: Path,
                                                          cropd: Callable) -> None:
    cropd(ttl=30.0)
    work = tmp_path / "seed"
    make_images(work, 3, size=(32, 32))
    progress_dir.mkdir(parents=True, exist_ok=True)
    original = json.dumps({"directory": "seed/", "directory_hash": "", "total_images": 3,
                           "completed_count": 1, "current_index": 1,
                           "last_processed_file": "img_0000.png",
                           "last_session_start": "2025-01-01T10:00:00Z",
                           "last_session_end": "2025-01-01T11:00:00Z", "session_count": 1,
                           "completed_files": ["img_0000.png"], "skipped_files": [],
                           "output_directory": "", "created": "2025-01-01T10:00:00Z",
                           "modified": "2025-01-01T11:00:00Z"}, indent=2).encode()
    (progress_dir / "seed_progress.json").write_bytes(original)
    with Session(program="window", autostart=False) as session:
        target = Target.from_opened(session.open(work))
        item = session.claim(target.directory, 1).items[0]
        carry_out(session, target, item, Decision("keep"))
    assert (progress_dir / "seed_progress.json.bak").read_bytes() == original


def test_a_stale_lock_with_a_reused_pid_does_not_stop_a_client(tmp_path: Path, endpoint: str,
                                                              progress_dir: Path) -> None:
    """The lock file names a live process that is no daemon (pid 1 here): the client
    asks the lock itself, finds it free, and starts a daemon at once."""
    from crop_progress.paths import lock_path
    lock = lock_path(endpoint)
    lock.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock.write_text(f"{os.getppid()}\n")  # a live process that holds no lock
    work = tmp_path / "lock"
    make_images(work, 1, size=(32, 32))
    try:
        with Session(program="window", call_timeout=5.0) as session:
            assert session.welcome.daemon_pid not in (os.getpid(), os.getppid())
            target = Target.from_opened(session.open(work))
            assert session.claim(target.directory, 1).items
    finally:
        from procs import stop_daemon
        stop_daemon(endpoint)


def test_a_new_lease_removes_the_former_holders_parts_and_their_temporaries(
        tmp_path: Path, progress_dir: Path, cropd: Callable) -> None:
    """A window killed while writing its part leaves the write's temporary file too."""
    cropd(ttl=1.0)
    work = tmp_path / "cut"
    out = tmp_path / "cut_cropped"
    make_images(work, 1, size=(32, 32), companions=())
    victim = window(work, (0, 0, 8, 8))
    claimed = first_line(victim)
    victim.kill()
    victim.communicate(timeout=10)
    (out / f"..{claimed['file']}.{claimed['token']}.part.tmp-abcd1234").write_bytes(b"cut")
    with Session(program="other", autostart=False) as other:
        target = Target.from_opened(other.open(work))
        items = wait_until(lambda: other.claim(target.directory, 1).items,
                           "the killed window's image to come back")
        assert isinstance(items, list) and items[0].token > claimed["token"]
        assert parts(out) == []


def test_a_directory_nobody_has_open_is_unloaded_checkpointed(
        tmp_path: Path, progress_dir: Path, daemon, monkeypatch: pytest.MonkeyPatch) -> None:
    """cropd forgets idle directories (memory stays bounded over weeks of folders);
    what it forgets is on disk first, and status still shows it from the file."""
    import cropd.server

    work = tmp_path / "idle"
    make_images(work, 3, size=(32, 32), companions=())
    with Session(daemon.endpoint, program="window", autostart=False) as session:
        target = Target.from_opened(session.open(work))
        for item in session.claim(target.directory, 2).items:
            carry_out(session, target, item, Decision("keep"))
    monkeypatch.setattr(cropd.server, "UNLOAD_AFTER", 0.0)
    wait_until(lambda: not daemon.state.dirs, "the idle directory to be unloaded")
    data = json.loads((progress_dir / "idle_progress.json").read_text())
    assert data["completed_count"] == 2
    with Session(daemon.endpoint, program="cropctl", autostart=False) as session:
        shown = {s.directory: s for s in session.status().directories}
    assert shown[target.directory].completed_count == 2
