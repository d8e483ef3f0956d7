"""A full disk: the client gets an error, the previous file is intact, and work
resumes once space is back. Injected where bytes meet the disk, and for real on
a small tmpfs where the machine lets us mount one."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import InProcessDaemon, make_images

from crop_client.errors import DaemonError
from crop_client.session import Session
from crop_client.work import Decision, Target, carry_out
from crop_progress import fsio

pytestmark = pytest.mark.timeout(60)


def test_injected_enospc(tmp_path: Path, daemon: InProcessDaemon, progress_dir: Path,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "full"
    make_images(work, 4)
    real_write = fsio.write_all
    with Session(daemon.endpoint, autostart=False) as session:
        target = Target.from_opened(session.open(work))
        items = session.claim(target.directory, 2).items
        carry_out(session, target, items[0], Decision("keep"))
        progress = progress_dir / "full_progress.json"
        before = progress.read_bytes()

        def no_space(fd: int, data: bytes) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(fsio, "write_all", no_space)
        with pytest.raises(DaemonError) as err:
            carry_out(session, target, items[1], Decision("keep"))
        assert err.value.code == "STORAGE_ERROR"
        assert "No space left on device" in err.value.message
        assert progress.read_bytes() == before
        monkeypatch.setattr(fsio, "write_all", real_write)
        # the image stayed this window's while the disk was full
        with Session(daemon.endpoint, autostart=False) as other:
            t2 = Target.from_opened(other.open(work))
            assert items[1].file not in {i.file for i in other.claim(t2.directory, 4).items}
            other.release(t2.directory)
        reported = carry_out(session, target, items[1], Decision("keep"))
        assert reported.summary.completed_count == 2
    data = json.loads(progress.read_text())
    assert data["completed_files"] == [items[0].file, items[1].file]
    assert data["sessions"][-1]["images"] == 2


def test_real_full_filesystem(tmp_path: Path, endpoint: str) -> None:
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        work = tmp_path / "disk"
        make_images(work, 40, companions=())
        with (
            InProcessDaemon(endpoint, folder),
            Session(endpoint, autostart=False) as session,
        ):
            target = Target.from_opened(session.open(work))
            items = session.claim(target.directory, 30).items
            carry_out(session, target, items[0], Decision("skip"))
            progress = folder / "disk_progress.json"
            before = progress.read_bytes()
            filler = folder / "filler"
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
            try:
                while True:
                    os.write(fd, b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
            finally:
                os.close(fd)
            # The journal's last page may still have room: reports are acknowledged
            # until an append fails; none fails silently, and the checkpoint that
            # cannot be written leaves the old file intact.
            acked = [items[0].file]
            refused = None
            for item in items[1:]:
                try:
                    carry_out(session, target, item, Decision("skip"))
                    acked.append(item.file)
                except DaemonError as exc:
                    refused = item
                    assert exc.code == "STORAGE_ERROR", exc
                    break
            assert progress.read_bytes() == before or refused is None
            filler.unlink()
            for item in items[len(acked):]:
                carry_out(session, target, item, Decision("skip"))
        data = json.loads((folder / "disk_progress.json").read_text())
        assert data["skipped_files"] == [i.file for i in items]
        assert not [p for p in folder.iterdir() if ".tmp-" in p.name]
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)
