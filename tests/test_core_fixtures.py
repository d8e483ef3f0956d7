"""Frozen progress files load, migrate, repair or are refused as issue 3 says.

`tests/fixtures/` holds them (see its README): the seed's example (version 1),
a version-2 file, the same file truncated, a file of schema 3, and a
version-2 file with duplicates and a wrong count. Never edit them: they stand
for files already on people's disks.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import pytest
from core_helpers import FIXTURES, ev, isolate_env, touch_all

from crop_progress import naming, store
from crop_progress.audit import AuditLog
from crop_progress.model import SCHEMA_VERSION, Progress, decode, encode
from crop_progress.paths import canonical_directory, directory_key
from crop_progress.recovery import rebuild
from crop_progress.tracker import Tracker

SEED = FIXTURES / "seed_v1_progress.json"
V2 = FIXTURES / "v2_progress.json"
TRUNCATED = FIXTURES / "truncated_progress.json"
FUTURE = FIXTURES / "future_v3_progress.json"
DUPLICATES = FIXTURES / "v2_duplicates_progress.json"

SEED_NAMES = json.loads(SEED.read_bytes())["completed_files"]


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    return isolate_env(monkeypatch, tmp_path / "env")


@pytest.fixture
def progress_dir(tmp_path) -> Path:
    folder = tmp_path / "progress"
    folder.mkdir()
    return folder


def test_fixtures_are_what_they_claim_to_be():
    seed = json.loads(SEED.read_bytes())
    assert "schema_version" not in seed
    assert seed["directory"] == "_asian/"
    assert seed["completed_count"] == len(seed["completed_files"]) == 73
    assert "..." not in seed["completed_files"]
    assert json.loads(V2.read_bytes())["schema_version"] == 2
    assert V2.read_bytes().startswith(TRUNCATED.read_bytes())
    assert len(TRUNCATED.read_bytes()) < len(V2.read_bytes())
    assert json.loads(FUTURE.read_bytes())["schema_version"] == 3


# -- version 1, the seed's example ---------------------------------------------------

def test_seed_file_migrates_to_version_2(tmp_path):
    directory = tmp_path / "_asian"
    loaded = store.parse(SEED.read_bytes(), directory=directory_key(directory))
    p = loaded.progress
    assert loaded.migrated_from == 1
    assert p.schema_version == SCHEMA_VERSION == 2
    assert p.directory == f"{directory}/"
    assert p.completed_files == SEED_NAMES
    assert p.completed_count == 73
    assert p.skipped_files == ["corrupted_image.png"]
    assert (p.total_images, p.current_index, p.session_count) == (150, 73, 3)
    assert p.last_processed_file == "20250803_065656_stage2_upscaled.png"
    assert p.last_session_start == "2025-09-25T14:30:00Z"
    assert p.last_session_end == "2025-09-25T16:45:00Z"
    assert (p.created, p.modified) == ("2025-09-25T10:00:00Z", "2025-09-25T16:45:00Z")
    assert p.directory_hash == "abc123..."
    # `cropped/` was relative to where the seed's tool ran: the work folder's parent
    assert p.output_directory == f"{tmp_path}/cropped/"
    assert (p.failed_files, p.deleted_files, p.sessions, p.work_seconds) == ([], [], [], 0.0)


def test_seed_file_without_a_known_directory_keeps_what_it_says():
    loaded = store.parse(SEED.read_bytes())
    assert loaded.progress.directory == "_asian/"
    assert loaded.progress.output_directory == "cropped/"
    assert loaded.progress.completed_files == SEED_NAMES


def test_seed_file_is_found_by_naming_then_migrated_with_bak(tmp_path, progress_dir):
    directory = tmp_path / "_asian"
    directory.mkdir()
    shutil.copy(SEED, progress_dir / "_asian_progress.json")
    original = SEED.read_bytes()

    resolution = naming.resolve(progress_dir, canonical_directory(directory))
    assert resolution.path == progress_dir / "_asian_progress.json"

    loaded = store.load_for_write(resolution.path, directory_key(directory))
    assert loaded is not None and loaded.migrated_from == 1
    assert any(".bak" in m and "version 1" in m for m in loaded.messages)
    # the original is kept byte for byte
    assert store.bak_path(resolution.path).read_bytes() == original
    # the file on disk is now version 2, with nothing completed dropped
    on_disk = decode(resolution.path.read_bytes())
    assert on_disk.schema_version == 2
    assert on_disk.directory == directory_key(directory)
    assert on_disk.completed_files == SEED_NAMES
    assert on_disk == loaded.progress
    # a second load finds version 2 and writes nothing
    before = resolution.path.stat().st_mtime_ns, store.bak_path(resolution.path).read_bytes()
    again = store.load_for_write(resolution.path, directory_key(directory))
    assert again is not None and again.migrated_from is None and again.messages == []
    assert before == (resolution.path.stat().st_mtime_ns,
                      store.bak_path(resolution.path).read_bytes())
    # the same directory still maps to the same file after the migration
    assert naming.resolve(progress_dir, canonical_directory(directory)).path == resolution.path


def test_load_for_write_of_a_missing_file_is_none(progress_dir):
    assert store.load_for_write(progress_dir / "x_progress.json", "/x/") is None
    assert list(progress_dir.iterdir()) == []


def test_migrated_seed_resumes_at_image_74_of_150(tmp_path):
    directory = tmp_path / "_asian"
    later = [f"20250804_{k:06d}_stage2_upscaled.png" for k in range(77)]
    touch_all(directory, SEED_NAMES + later)
    p = store.parse(SEED.read_bytes(), directory=directory_key(directory)).progress
    tracker = Tracker(p, SEED_NAMES + later)
    assert tracker.total_images == 150
    assert tracker.current_index == 73
    assert tracker.pending(2) == later[:2]


# -- version 2 -------------------------------------------------------------------------

def test_v2_file_loads_unchanged():
    data = V2.read_bytes()
    loaded = store.parse(data)
    p = loaded.progress
    assert loaded.migrated_from is None and loaded.messages == [] and not loaded.needs_save
    assert p.directory == "/srv/images/_black/"
    assert p.completed_count == len(p.completed_files) == 8
    assert p.skipped_files == ["img_005.png"]
    assert [(f.file, f.reason) for f in p.failed_files] == [
        ("img_008.png", "cannot identify image file")]
    assert p.deleted_files == ["img_009.png"]
    assert p.work_seconds == 1834.5
    assert [(s.images, s.work_seconds) for s in p.sessions] == [(4, 1000.0), (7, 834.5)]
    assert p.last_event_at == "2025-09-26T09:41:29.900Z"
    # the format is stable: writing it back keeps every field, its value and its
    # place; what this version adds (the journal state of a checkpoint) comes after
    written = json.loads(encode(p))
    original = json.loads(data)
    assert list(written)[:len(original)] == list(original)
    assert {k: written[k] for k in original} == original
    assert set(written) - set(original) == {"output_shape", "lease_token", "leases",
                                            "recent_outcomes", "journal"}


def test_v2_file_agrees_with_a_tracker_over_its_directory():
    p = store.parse(V2.read_bytes()).progress
    on_disk = [f"img_{k:03d}.png" for k in range(1, 21) if k != 9]
    tracker = Tracker(p, on_disk)
    snap = tracker.snapshot(p.modified)
    assert (snap.total_images, snap.current_index) == (19, 10)
    assert tracker.pending(1) == ["img_012.png"]


def test_v2_load_for_write_changes_nothing(progress_dir):
    path = progress_dir / "_black_progress.json"
    shutil.copy(V2, path)
    loaded = store.load_for_write(path, "/srv/images/_black/")
    assert loaded is not None and loaded.messages == []
    assert path.read_bytes() == V2.read_bytes()
    assert not store.bak_path(path).exists()


# -- a future schema ------------------------------------------------------------------

def test_future_schema_is_refused_and_left_untouched(progress_dir):
    path = progress_dir / "_black_progress.json"
    shutil.copy(FUTURE, path)
    before = path.read_bytes(), path.stat().st_mtime_ns
    with pytest.raises(store.FutureSchemaError, match="schema version 3"):
        store.read(path)
    with pytest.raises(store.FutureSchemaError):
        store.load_for_write(path, "/srv/images/_black/")
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert sorted(p.name for p in progress_dir.iterdir()) == ["_black_progress.json"]


# -- a truncated file ------------------------------------------------------------------

def test_truncated_file_is_damaged(progress_dir):
    path = progress_dir / "_black_progress.json"
    shutil.copy(TRUNCATED, path)
    with pytest.raises(store.DamagedFileError, match="not valid JSON"):
        store.read(path)
    with pytest.raises(store.DamagedFileError):
        store.load_for_write(path, "/srv/images/_black/")
    assert path.read_bytes() == TRUNCATED.read_bytes()
    assert sorted(p.name for p in progress_dir.iterdir()) == ["_black_progress.json"]


@pytest.mark.parametrize("data, words", [
    (b"", "empty"), (b"  \n", "empty"), (b"[1, 2]", "wrong shape"),
    (b'{"schema_version": "2"}', "not a number"),
    (b'{"schema_version": 2, "directory": "/d/", "completed_files": "a.png"}', "wrong shape"),
    (b'{"schema_version": 2}', "wrong shape"),
    (b'{"directory": "_x/", "completed_files": [1, 2]}', "wrong shape"),
])
def test_other_damage_is_damaged(data, words):
    with pytest.raises(store.DamagedFileError, match=words):
        store.parse(data)


def _v2_for(directory: Path, output: Path) -> Progress:
    p = decode(V2.read_bytes())
    p.directory = directory_key(directory)
    p.output_directory = directory_key(output)
    return p


def test_truncated_file_is_rebuilt_from_bak_journal_and_outputs(tmp_path, progress_dir):
    directory = tmp_path / "_black"
    output = tmp_path / "_black_cropped"
    key = directory_key(directory)
    on_disk = [f"img_{k:03d}.png" for k in range(1, 21) if k != 9]
    touch_all(directory, on_disk)
    path = progress_dir / "_black_progress.json"
    path.write_bytes(TRUNCATED.read_bytes())
    bak = _v2_for(directory, output)  # the end of the previous session (modified 09:41:30.250)
    store.save(store.bak_path(path), bak)

    audit = progress_dir / "audit"
    log = AuditLog(audit)
    # 2025-09-26T10:00:00Z is 72000 s after the helpers' base time
    t0 = 72000.0
    log.append([
        ev("crop", "img_001.png", t0 - 3600, directory=key),   # before the .bak: not replayed
        ev("session_start", None, t0, directory=key),
        ev("claim", "img_012.png", t0 + 1, directory=key),
        ev("crop", "img_012.png", t0 + 30, directory=key),
        ev("keep", "img_013.png", t0 + 60, directory=key),
        ev("skip", "img_014.png", t0 + 90, directory=key),
        ev("fail", "img_015.png", t0 + 120, directory=key, reason="truncated image"),
        ev("delete", "img_016.png", t0 + 150, directory=key),
        ev("crop", "img_017.png", t0 + 180, directory=key),
        ev("undo", "img_017.png", t0 + 200, directory=key),
        ev("crop", "img_019.png", t0 + 210, directory=key, dest="elsewhere"),
        ev("crop", "img_020.png", t0 + 220, directory="/some/other/dir/"),
    ])
    # the log of the last moments is missing, but the output is there
    touch_all(output, ["img_018.png", "img_012.png", "notes.txt"])

    with pytest.raises(store.DamagedFileError):
        store.read(path)
    result = rebuild(path, directory, output, audit, on_disk, 300.0, reason="damaged")
    t = result.tracker
    assert list(t.completed) == [
        *bak.completed_files, "img_012.png", "img_013.png", "img_019.png", "img_018.png"]
    assert list(t.skipped) == ["img_005.png", "img_014.png"]
    assert t.failed == {"img_008.png": "cannot identify image file",
                        "img_015.png": "truncated image"}
    assert list(t.deleted) == ["img_009.png", "img_016.png"]
    assert t.status("img_017.png") == "pending"
    assert t.status("img_020.png") == "pending"
    # the damaged file was set aside, not deleted
    assert len(result.set_aside) == 1
    aside = result.set_aside[0]
    assert aside.name.startswith("_black_progress.json.corrupt-")
    assert aside.read_bytes() == TRUNCATED.read_bytes()
    assert not path.exists()
    text = "\n".join(result.messages)
    assert "backup" in text and "audit log" in text and "output directory" in text
    assert "kept as _black_progress.json.corrupt-" in text
    assert "replayed 8 outcome(s)" in text
    assert "1 image(s) found in the output directory" in text
    # the rebuilt state is saved and reads back whole
    snap = t.snapshot("2025-09-26T11:00:00.000Z")
    store.save(path, snap)
    again = store.read(path)
    assert again is not None and again.messages == []
    assert again.progress.completed_count == 12
    assert again.progress.session_count == bak.session_count + 1
    # the gap from the .bak's last event to the first claim is a break; then
    # 29 + 5 * 30 + 20 + 10 seconds of work (the other directory's event is not ours)
    assert again.progress.work_seconds == pytest.approx(bak.work_seconds + 209)


def test_rebuild_without_bak_uses_the_journal_and_outputs(tmp_path, progress_dir):
    directory = tmp_path / "d"
    output = tmp_path / "d_cropped"
    key = directory_key(directory)
    names = ["a.png", "b.png", "c.png", "d.png"]
    touch_all(directory, names)
    path = progress_dir / "d_progress.json"
    path.write_bytes(b'{"schema_version": 2, "directory": "')
    AuditLog(progress_dir / "audit").append([ev("crop", "a.png", 0, directory=key),
                                             ev("skip", "b.png", 10, directory=key)])
    touch_all(output, ["c.png"])
    result = rebuild(path, directory, output, progress_dir / "audit", names, 300.0)
    assert list(result.tracker.completed) == ["a.png", "c.png"]
    assert list(result.tracker.skipped) == ["b.png"]
    assert result.tracker.pending(5) == ["d.png"]
    assert len(result.set_aside) == 1


def test_rebuild_with_a_damaged_bak_sets_both_aside(tmp_path, progress_dir):
    directory = tmp_path / "d"
    key = directory_key(directory)
    touch_all(directory, ["a.png", "b.png"])
    path = progress_dir / "d_progress.json"
    path.write_bytes(TRUNCATED.read_bytes())
    store.bak_path(path).write_bytes(TRUNCATED.read_bytes()[:40])
    AuditLog(progress_dir / "audit").append([ev("keep", "b.png", 0, directory=key)])
    result = rebuild(path, directory, None, progress_dir / "audit", ["a.png", "b.png"], 300.0)
    assert list(result.tracker.completed) == ["b.png"]
    assert len(result.set_aside) == 2
    assert {p.name.split(".corrupt-")[0] for p in result.set_aside} == {
        "d_progress.json", "d_progress.json.bak"}
    assert "backup is unusable" in "\n".join(result.messages)
    assert not store.bak_path(path).exists()


# -- duplicates and a wrong count --------------------------------------------------------

def test_duplicates_and_wrong_count_are_repaired_and_reported(progress_dir):
    loaded = store.parse(DUPLICATES.read_bytes())
    p = loaded.progress
    assert p.completed_files == decode(V2.read_bytes()).completed_files
    assert p.completed_count == 8
    assert p.skipped_files == ["img_005.png"]  # img_004 is completed: completed wins
    assert p.deleted_files == ["img_009.png"]
    assert [f.reason for f in p.failed_files] == ["cannot identify image file"]
    text = "\n".join(loaded.messages)
    assert "3 duplicate(s) from completed_files" in text
    assert "1 duplicate(s) from skipped_files" in text
    assert "1 duplicate(s) from deleted_files" in text
    assert "1 duplicate(s) from failed_files" in text
    assert "completed wins" in text
    assert "completed_count said 13 but 8" in text
    assert loaded.needs_save

    path = progress_dir / "_black_progress.json"
    shutil.copy(DUPLICATES, path)
    store.load_for_write(path, "/srv/images/_black/")
    repaired = store.read(path)
    assert repaired is not None and repaired.messages == []
    assert repaired.progress == p


def test_count_alone_wrong_is_repaired():
    raw = json.loads(V2.read_bytes())
    raw["completed_count"] = 2
    raw["session_count"] = 0
    raw["work_seconds"] = -5.0
    loaded = store.parse(msgspec.json.encode(raw))
    assert loaded.progress.completed_count == 8
    assert loaded.progress.session_count == 2
    assert loaded.progress.work_seconds == 0.0
    assert len(loaded.messages) == 3
