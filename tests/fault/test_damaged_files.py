"""Damaged progress files: each is recovered or refused with a clear message; nothing
completed is dropped; nothing is overwritten that could not be recovered."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import InProcessDaemon, make_images

from crop_client.errors import DaemonError
from crop_client.session import Session
from crop_client.work import Decision, Target, carry_out

pytestmark = pytest.mark.timeout(60)


def work_two_sessions(endpoint: str, work: Path) -> None:
    """Session 1 keeps one image, session 2 two more: the .bak knows 1, the log 3."""
    for count in (1, 2):
        with Session(endpoint, autostart=False) as session:
            target = Target.from_opened(session.open(work))
            for item in session.claim(target.directory, count).items:
                carry_out(session, target, item, Decision("keep"))


@pytest.fixture
def worked(tmp_path: Path, endpoint: str, progress_dir: Path) -> tuple[Path, Path]:
    work = tmp_path / "hurt"
    make_images(work, 6)
    with InProcessDaemon(endpoint, progress_dir):
        work_two_sessions(endpoint, work)
    progress = progress_dir / "hurt_progress.json"
    assert json.loads(progress.read_text())["completed_count"] == 3
    assert json.loads((progress_dir / "hurt_progress.json.bak").read_text())[
        "completed_count"] == 1
    return work, progress


def reopen(endpoint: str, progress_dir: Path, work: Path) -> tuple[list[str], int]:
    with InProcessDaemon(endpoint, progress_dir), Session(endpoint, autostart=False) as session:
        opened = session.open(work)
        return opened.messages, opened.summary.completed_count


DAMAGE = {
    "truncated": lambda data: data[: len(data) // 2],
    "zero-length": lambda data: b"",
    "invalid-utf8": lambda data: data[:40] + b"\xff\xfe\xfd" + data[43:],
    "wrong-shape-list": lambda data: b"[1, 2, 3]\n",
    "wrong-shape-fields": lambda data: json.dumps(
        {**json.loads(data), "completed_files": "not a list"}).encode(),
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_damaged_file_is_rebuilt_from_bak_and_journal(
        kind: str, worked: tuple[Path, Path], endpoint: str, progress_dir: Path) -> None:
    work, progress = worked
    original = progress.read_bytes()
    damaged = DAMAGE[kind](original)
    progress.write_bytes(damaged)
    messages, completed = reopen(endpoint, progress_dir, work)
    assert completed == 3, messages
    text = " ".join(messages)
    assert "damaged" in text and "backup" in text and "audit log" in text, text
    kept = list(progress_dir.glob("hurt_progress.json.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged
    assert json.loads(progress.read_text())["completed_count"] == 3


def test_damaged_bak_too_uses_the_journal_alone(worked: tuple[Path, Path], endpoint: str,
                                                progress_dir: Path) -> None:
    work, progress = worked
    progress.write_bytes(b'{"directory": ')
    bak = progress_dir / "hurt_progress.json.bak"
    bak.write_bytes(b"\x00\x01garbage")
    messages, completed = reopen(endpoint, progress_dir, work)
    assert completed == 3, messages
    assert any("backup is unusable too" in m for m in messages), messages
    assert len(list(progress_dir.glob("hurt_progress.json.bak.corrupt-*"))) == 1


def test_no_journal_no_bak_counts_the_output_directory(
        worked: tuple[Path, Path], endpoint: str, progress_dir: Path) -> None:
    work, progress = worked
    progress.write_bytes(b"{")
    (progress_dir / "hurt_progress.json.bak").unlink()
    shutil.rmtree(progress_dir / "audit")
    messages, completed = reopen(endpoint, progress_dir, work)
    assert completed == 3, messages
    assert any("output directory" in m for m in messages), messages


def test_future_schema_is_refused_and_left_untouched(
        worked: tuple[Path, Path], endpoint: str, progress_dir: Path) -> None:
    work, progress = worked
    future = json.loads(progress.read_text())
    future["schema_version"] = 3
    data = json.dumps(future).encode()
    progress.write_bytes(data)
    with (
        InProcessDaemon(endpoint, progress_dir),
        Session(endpoint, autostart=False) as session,
        pytest.raises(DaemonError) as err,
    ):
        session.open(work)
    assert err.value.code == "DAMAGED"
    assert "schema version 3" in err.value.message and "upgrade" in err.value.message
    assert progress.read_bytes() == data


def mount_tmpfs(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                            capture_output=True, text=True)
    return result.returncode == 0


def test_read_only_progress_folder(tmp_path: Path, endpoint: str) -> None:
    folder = tmp_path / "ro-progress"
    if not mount_tmpfs(folder, "size=4m"):
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)")
    try:
        work = tmp_path / "ro"
        make_images(work, 4)
        with InProcessDaemon(endpoint, folder):
            work_two_sessions(endpoint, work)
        before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        with (
            InProcessDaemon(endpoint, folder),
            Session(endpoint, autostart=False) as session,
        ):
            with pytest.raises(DaemonError) as err:
                session.open(work)
            assert err.value.code == "STORAGE_ERROR"
            assert "Read-only file system" in err.value.message
            shown = session.show(work)
            assert shown.summary.completed_count == 3
        after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
        assert after == before
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)
