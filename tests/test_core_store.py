"""The store: load(save(x)) == x, atomic durable writes, clear failures, crash safety."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from core_helpers import CRASH_DIRECTORY, REPO, crash_state, isolate_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crop_progress import fsio, store
from crop_progress.model import FailedFile, Progress, SessionRecord, decode, encode

HELPERS = Path(__file__).resolve().parent / "core_helpers.py"


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    return isolate_env(monkeypatch, tmp_path / "env")


# -- load(save(x)) == x ------------------------------------------------------------

names = st.text(min_size=1, max_size=30).filter(lambda s: s.strip() == s)
stamps = st.one_of(
    st.datetimes(timezones=st.none()).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.")
                                          + f"{d.microsecond // 1000:03d}Z"),
    st.text(max_size=25))
seconds = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=2**53)


@st.composite
def progress_records(draw) -> Progress:
    pool = draw(st.lists(names, unique=True, max_size=40))
    cut = sorted(draw(st.lists(st.integers(0, len(pool)), min_size=4, max_size=4)))
    completed, skipped = pool[:cut[0]], pool[cut[0]:cut[1]]
    failed = [FailedFile(file=n, reason=draw(st.text(max_size=20)))
              for n in pool[cut[1]:cut[2]]]
    deleted = pool[cut[2]:cut[3]]
    sessions = draw(st.lists(st.builds(SessionRecord, start=stamps,
                                       end=st.none() | stamps, images=counts,
                                       work_seconds=seconds), max_size=4))
    return Progress(
        directory=draw(st.text(min_size=1)),
        directory_hash=draw(st.text(alphabet="0123456789abcdef", max_size=64)),
        total_images=draw(counts),
        completed_count=len(completed),
        current_index=draw(counts),
        last_processed_file=draw(st.none() | names),
        last_session_start=draw(st.none() | stamps),
        last_session_end=draw(st.none() | stamps),
        session_count=len(sessions) + draw(st.integers(0, 5)),
        completed_files=completed,
        skipped_files=skipped,
        output_directory=draw(st.text()),
        created=draw(stamps),
        modified=draw(stamps),
        failed_files=failed,
        deleted_files=deleted,
        work_seconds=draw(seconds),
        sessions=sessions,
        last_event_at=draw(st.none() | stamps),
    )


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=progress_records())
def test_load_of_save_is_identity(tmp_path, record):
    path = tmp_path / "p_progress.json"
    store.save(path, record)
    loaded = store.read(path)
    assert loaded is not None
    assert loaded.messages == [] and loaded.migrated_from is None
    assert loaded.progress == record
    assert encode(loaded.progress) == path.read_bytes()


def test_file_is_indented_utf8_json_with_the_seed_fields(tmp_path):
    path = tmp_path / "p_progress.json"
    store.save(path, Progress(directory="/x/_asian/", completed_files=["été.png"],
                              completed_count=1))
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "schema_version": 2,\n  "directory": "/x/_asian/",')
    assert text.endswith("}\n")
    assert "été.png" in text
    for name in ("directory_hash", "total_images", "completed_count", "current_index",
                 "last_processed_file", "last_session_start", "last_session_end",
                 "session_count", "completed_files", "skipped_files", "output_directory",
                 "created", "modified", "failed_files", "deleted_files", "work_seconds",
                 "sessions"):
        assert f'\n  "{name}": ' in text


# -- atomic, durable writes ------------------------------------------------------------

def test_atomic_write_leaves_no_temp_files_and_is_readable(tmp_path):
    path = tmp_path / "deep" / "er" / "p_progress.json"
    for i in range(5):
        store.save(path, Progress(directory=f"/d{i}/"))
    assert sorted(p.name for p in path.parent.iterdir()) == ["p_progress.json"]
    assert decode(path.read_bytes()).directory == "/d4/"
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_write_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace",
                        lambda a, b: (calls.append("replace"), real_replace(a, b))[1])
    store.save(tmp_path / "p_progress.json", Progress(directory="/d/"))
    # the file, then the rename, then the folder
    assert calls == ["fsync", "replace", "fsync"]


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


# Tests run as root, where a chmod'ed read-only folder does not stop writes, so a
# full or read-only disk is simulated by making the system call fail.
@pytest.mark.parametrize("call", ["replace", "write", "mkstemp"])
def test_failed_write_raises_store_error_and_keeps_the_old_file(tmp_path, monkeypatch, call):
    path = tmp_path / "pd" / "p_progress.json"
    store.save(path, Progress(directory="/old/", completed_files=["a.png"], completed_count=1))
    before = path.read_bytes()
    if call == "mkstemp":
        monkeypatch.setattr(fsio.tempfile, "mkstemp", _enospc)
    else:
        monkeypatch.setattr(os, call, _enospc)
    with pytest.raises(store.StoreError) as info:
        store.save(path, Progress(directory="/new/"))
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC
    assert str(path) in str(info.value)
    assert isinstance(info.value, OSError)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["p_progress.json"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_a_store_error(tmp_path):
    folder = tmp_path / "ro"
    path = folder / "p_progress.json"
    store.save(path, Progress(directory="/old/"))
    before = path.read_bytes()
    folder.chmod(0o555)
    try:
        with pytest.raises(store.StoreError):
            store.save(path, Progress(directory="/new/"))
    finally:
        folder.chmod(0o755)
    assert path.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["p_progress.json"]


def test_folder_that_cannot_be_made_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(store.StoreError):
        store.save(blocker / "p_progress.json", Progress(directory="/d/"))


def test_unreadable_file_is_a_store_error(tmp_path):
    folder = tmp_path / "a_progress.json"
    folder.mkdir()  # reading a folder fails with EISDIR, even as root
    with pytest.raises(store.StoreError):
        store.read(folder)
    assert store.read(tmp_path / "missing_progress.json") is None


# -- .bak and quarantine --------------------------------------------------------------

def test_backup_copies_the_current_file(tmp_path):
    path = tmp_path / "p_progress.json"
    assert store.backup(path) is False
    assert not store.bak_path(path).exists()
    store.save(path, Progress(directory="/one/"))
    assert store.backup(path) is True
    store.save(path, Progress(directory="/two/"))
    assert store.bak_path(path) == tmp_path / "p_progress.json.bak"
    assert decode(store.bak_path(path).read_bytes()).directory == "/one/"
    assert decode(path.read_bytes()).directory == "/two/"


def test_quarantine_keeps_the_damaged_file(tmp_path):
    path = tmp_path / "p_progress.json"
    assert store.quarantine(path) is None
    path.write_bytes(b"{ broken")
    first = store.quarantine(path)
    path.write_bytes(b"{ broken again")
    second = store.quarantine(path)
    assert first is not None and second is not None and first != second
    assert first.name.startswith("p_progress.json.corrupt-")
    assert first.read_bytes() == b"{ broken"
    assert second.read_bytes() == b"{ broken again"
    assert not path.exists()


# -- the crash test -------------------------------------------------------------------

def test_sigkill_mid_write_never_leaves_a_mix(tmp_path):
    """A writer saving growing states is killed at random moments, 50 times."""
    path = tmp_path / "crash" / "crash_progress.json"
    path.parent.mkdir()
    rng = random.Random(20250925)
    mid_write = 0
    seen: set[int] = set()
    started = time.monotonic()
    for _ in range(50):
        proc = subprocess.Popen([sys.executable, str(HELPERS), "crash-writer", str(path)],
                                stdout=subprocess.PIPE, cwd=REPO)
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.strip().isdigit(), first
            time.sleep(rng.uniform(0, 0.04))
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        data = path.read_bytes()
        progress = decode(data)  # parses: never torn
        i = progress.session_count
        assert progress == crash_state(i), f"state {i} is a mix"
        assert data == encode(crash_state(i))
        assert progress.directory == CRASH_DIRECTORY
        seen.add(i)
        mid_write += any(".tmp-" in p.name for p in path.parent.iterdir())
        for leftover in path.parent.glob(".*.tmp-*"):
            leftover.unlink()
    # the writer got somewhere, through both kinds of state
    assert len(seen) > 10
    assert {i % 2 for i in seen} == {0, 1}
    print(f"\ncrash test: 50 kills in {time.monotonic() - started:.1f} s, "
          f"{mid_write} during a write, last state {max(seen)}")
