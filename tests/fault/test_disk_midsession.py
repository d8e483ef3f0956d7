"""The disk fills up, or fails, in the middle of a session: on the progress folder
and on the output folder. The reply (or `--auto`) says in one line what failed,
the old files are intact, and the image stays claimable: the next run does it.

The full disks are real: a small tmpfs mounted over the folder when running as
root (skipped with the reason otherwise); EIO is injected where bytes meet the disk.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import InProcessDaemon, make_images
from procs import outcomes, record, run_multicrop, stop_daemon

from crop_client.errors import DaemonError
from crop_client.session import Session
from crop_client.work import Decision, Target, carry_out
from crop_progress import fsio

pytestmark = pytest.mark.timeout(180)


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "2m") -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> Path:
    """Take every free byte of the filesystem of `folder`; remove the file to free them."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 512)
    finally:
        os.close(fd)
    return filler


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def stop_the_daemon(endpoint: str) -> Iterator[None]:
    yield
    stop_daemon(endpoint)


def test_output_folder_fills_up(tmp_path: Path, progress_dir: Path, endpoint: str,
                                stop_the_daemon: None) -> None:
    work = tmp_path / "photos"
    make_images(work, 6, size=(64, 48))
    with small_disk(tmp_path / "out") as out:
        first = run_multicrop(str(work), "--auto", "keep", "--output-dir", str(out),
                              "--limit", "2")
        assert first.returncode == 0, first.stderr
        kept = {p.name: p.read_bytes() for p in out.iterdir()}
        filler = fill(out)
        full = run_multicrop(str(work), "--auto", "keep", "--output-dir", str(out))
        line = one_line(full)
        print(f"\noutput folder full: exit {full.returncode}, {line!r}")
        assert full.returncode == 1
        assert "No space left on device" in line
        assert {p.name: p.read_bytes() for p in out.iterdir() if p != filler} == kept
        assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no leftovers
        # nothing was recorded for the image that could not be written
        assert record(progress_dir, "photos")["completed_files"] == \
            sorted(n for n in kept if n.endswith(".png"))
        filler.unlink()
        again = run_multicrop(str(work), "--auto", "keep", "--output-dir", str(out))
        assert again.returncode == 0, again.stderr
    done = outcomes(progress_dir, work)
    assert sorted(done) == sorted(p.name for p in work.glob("*.png"))
    assert set(done.values()) == {1}, done


def test_progress_folder_fills_up(tmp_path: Path, endpoint: str, stop_the_daemon: None,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "scans"
    make_images(work, 6, size=(64, 48))
    with small_disk(tmp_path / "progress") as folder:
        monkeypatch.setenv("CROP_PROGRESS_DIR", str(folder))
        first = run_multicrop(str(work), "--auto", "keep", "--limit", "2")
        assert first.returncode == 0, first.stderr
        progress = folder / "scans_progress.json"
        before = progress.read_bytes()
        filler = fill(folder)
        full = run_multicrop(str(work), "--auto", "keep")
        line = one_line(full)
        print(f"\nprogress folder full: exit {full.returncode}, {line!r}")
        assert full.returncode == 1
        assert "No space left on device" in line and str(folder) in line
        assert line.count(str(folder)) == 1 and "[Errno" not in line
        assert progress.read_bytes() == before
        filler.unlink()
        again = run_multicrop(str(work), "--auto", "keep")
        assert again.returncode == 0, again.stderr
        done = outcomes(folder, work)
        stop_daemon(endpoint)  # before the folder goes away
    assert sorted(done) == sorted(p.name for p in work.glob("*.png"))
    assert set(done.values()) == {1}, done


@pytest.mark.parametrize("code", [errno.EIO, errno.ENOSPC])
def test_write_error_mid_session_keeps_the_image_claimable(
        tmp_path: Path, daemon: InProcessDaemon, progress_dir: Path,
        monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    work = tmp_path / "eio"
    make_images(work, 3)
    real_write = fsio.write_all
    with Session(daemon.endpoint, autostart=False) as session:
        target = Target.from_opened(session.open(work))
        items = session.claim(target.directory, 2).items
        carry_out(session, target, items[0], Decision("keep"))
        progress = progress_dir / "eio_progress.json"
        before = progress.read_bytes()

        def failing(fd: int, data: bytes) -> None:
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(fsio, "write_all", failing)
        with pytest.raises(DaemonError) as err:
            carry_out(session, target, items[1], Decision("keep"))
        monkeypatch.setattr(fsio, "write_all", real_write)
        print(f"\n{errno.errorcode[code]} on the progress folder: {err.value}")
        assert err.value.code == "STORAGE_ERROR"
        assert os.strerror(code) in err.value.message
        assert "\n" not in err.value.message
        assert progress.read_bytes() == before
        # still this window's image: another does not get it, this one reports it
        with Session(daemon.endpoint, autostart=False) as other:
            t2 = Target.from_opened(other.open(work))
            assert items[1].file not in {i.file for i in other.claim(t2.directory, 3).items}
            other.release(t2.directory)
        assert carry_out(session, target, items[1], Decision("keep")).summary \
            .completed_count == 2


def test_journal_written_but_progress_file_not(tmp_path: Path, daemon: InProcessDaemon,
                                               progress_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue: the journal append succeeded, the progress-file save failed, and the
    reply said "nothing was changed" while the journal held the outcome. The journal
    is what counts (every reader replays it): the report is acknowledged, and the
    file is written again on the next round."""
    from crop_progress import store
    from crop_progress.store import StoreError

    work = tmp_path / "half"
    make_images(work, 3)
    real_save = store.save
    with Session(daemon.endpoint, autostart=False) as session:
        target = Target.from_opened(session.open(work))
        items = session.claim(target.directory, 2).items
        progress = progress_dir / "half_progress.json"
        before = progress.read_bytes()

        def no_room(path: Path, progress_record: object) -> os.stat_result:
            raise StoreError(errno.ENOSPC, f"cannot write {path}: No space left on device",
                             str(path))

        monkeypatch.setattr(store, "save", no_room)
        reported = carry_out(session, target, items[0], Decision("keep"))
        assert reported.summary.completed_count == 1 and not reported.duplicate
        assert progress.read_bytes() == before
        assert outcomes(progress_dir, work)[items[0].file] == 1  # in the journal
        monkeypatch.setattr(store, "save", real_save)
        carry_out(session, target, items[1], Decision("keep"))
    data = record(progress_dir, "half")
    assert data["completed_files"] == [items[0].file, items[1].file]
    assert set(outcomes(progress_dir, work).values()) == {1}


@pytest.mark.parametrize("code", [errno.EIO, errno.ENOSPC])
def test_output_write_error_reports_nothing_and_keeps_the_image(
        tmp_path: Path, daemon: InProcessDaemon, monkeypatch: pytest.MonkeyPatch,
        code: int) -> None:
    from crop_client import imageops

    work = tmp_path / "outerr"
    make_images(work, 2)
    real_copy = imageops.copy_file

    def failing(src: Path, dest: Path) -> None:
        raise OSError(code, os.strerror(code), str(dest))

    with Session(daemon.endpoint, autostart=False) as session:
        target = Target.from_opened(session.open(work))
        item = session.claim(target.directory, 1).items[0]
        monkeypatch.setattr(imageops, "copy_file", failing)
        with pytest.raises(OSError) as err:
            carry_out(session, target, item, Decision("keep"))
        monkeypatch.setattr(imageops, "copy_file", real_copy)
        assert err.value.errno == code
        assert session.show(work).summary.completed_count == 0
        with Session(daemon.endpoint, autostart=False) as other:  # still this window's
            t2 = Target.from_opened(other.open(work))
            assert item.file not in {i.file for i in other.claim(t2.directory, 2).items}
            other.release(t2.directory)
        assert carry_out(session, target, item, Decision("keep")).summary.completed_count == 1
    assert not [p for p in Path(target.output_dir).iterdir() if p.name.startswith(".")]
