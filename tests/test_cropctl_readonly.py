"""`crop_progress.readonly`: the files as a reader sees them when no daemon runs.

It must read every shape of file (current, the seed's version 1, damaged, of a
newer schema) without ever writing, and turn every problem into one line.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from crop_progress import readonly
from crop_progress.audit import AuditLog, Event
from crop_progress.paths import directory_key

pytestmark = pytest.mark.timeout(30)

FIXTURES = Path(__file__).parent / "fixtures"


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under `folder` with its mtime and bytes: any write shows."""
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def v2(directory: Path, **fields: object) -> bytes:
    record = {"schema_version": 2, "directory": directory_key(directory),
              "total_images": 4, "completed_count": 2, "completed_files": ["a.png", "b.png"],
              "skipped_files": ["c.png"], "session_count": 1,
              "last_session_end": "2025-09-25T16:45:00.000Z", "work_seconds": 120.0,
              "sessions": [{"start": "2025-09-25T16:40:00.000Z",
                            "end": "2025-09-25T16:45:00.000Z", "images": 3,
                            "work_seconds": 120.0}]}
    record.update(fields)
    return json.dumps(record, indent=2).encode()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "progress"
    path.mkdir()
    return path


def test_scan_reads_every_shape_and_writes_nothing(tmp_path: Path, folder: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (folder / "good_progress.json").write_bytes(v2(good))
    shutil.copy(FIXTURES / "seed_v1_progress.json", folder / "_asian_progress.json")
    shutil.copy(FIXTURES / "truncated_progress.json", folder / "broken_progress.json")
    shutil.copy(FIXTURES / "future_v3_progress.json", folder / "_black_progress.json")
    (folder / "empty_progress.json").write_bytes(b"")
    (folder / "notes.txt").write_text("not a progress file")
    before = snapshot(folder)

    records, problems = readonly.scan(folder)

    assert snapshot(folder) == before
    assert sorted(r.path.name for r in records) == ["_asian_progress.json",
                                                    "good_progress.json"]
    assert sorted(p.split(":")[0].split()[0] for p in problems) == [
        "_black_progress.json", "broken_progress.json", "empty_progress.json"]
    for problem in problems:
        assert "\n" not in problem
    assert any("schema version 3" in p for p in problems)
    seed = next(r for r in records if r.path.name == "_asian_progress.json")
    assert seed.progress.completed_count == 73
    assert seed.notes  # it would be migrated by the daemon, not here
    summary = next(r for r in records if r.path.name == "good_progress.json").summary()
    assert summary["directory"] == directory_key(good)
    assert summary["progress_file"] == str(folder / "good_progress.json")
    assert (summary["completed_count"], summary["skipped_count"], summary["percent"]) == \
        (2, 1, 50.0)
    assert summary["active_claims"] == 0
    assert summary["remaining"] == 1
    assert summary["eta_seconds"] is None  # 3 images in 120 s: too few for a rate (figures)


def test_summaries_of_a_missing_folder(tmp_path: Path) -> None:
    assert readonly.summaries(tmp_path / "nowhere") == ([], [])
    assert not (tmp_path / "nowhere").exists()


def test_find_by_the_directory_field(tmp_path: Path, folder: Path) -> None:
    one, two = tmp_path / "a" / "shots", tmp_path / "b" / "shots"
    one.mkdir(parents=True)
    two.mkdir(parents=True)
    digest = hashlib.sha256(directory_key(two).encode()).hexdigest()[:8]
    (folder / "shots_progress.json").write_bytes(v2(one))
    (folder / f"shots_{digest}_progress.json").write_bytes(v2(two, completed_count=1,
                                                             completed_files=["a.png"]))
    before = snapshot(folder)
    assert readonly.find(folder, one) == folder / "shots_progress.json"
    assert readonly.find(folder, two) == folder / f"shots_{digest}_progress.json"
    assert readonly.load_directory(folder, two).progress.completed_count == 1
    assert readonly.find(folder, tmp_path / "c" / "shots") is None
    with pytest.raises(readonly.NeverSeen):
        readonly.load_directory(folder, tmp_path / "c" / "shots")
    assert snapshot(folder) == before


def test_locate_by_name(tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "data" / "_asian"
    work.mkdir(parents=True)
    (folder / "_asian_progress.json").write_bytes(v2(work))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert readonly.locate(folder, "_asian") == work
    assert readonly.locate(folder, "_asian/") == work
    assert readonly.locate(folder, str(work)) == work
    assert readonly.locate(folder, "unknown") == elsewhere / "unknown"
    twin = tmp_path / "other" / "_asian"
    twin.mkdir(parents=True)
    (folder / "_asian_12345678_progress.json").write_bytes(v2(twin))
    with pytest.raises(readonly.ReadProblem, match="names 2 known directories"):
        readonly.locate(folder, "_asian")
    (elsewhere / "_asian").mkdir()
    assert readonly.locate(folder, "_asian") == elsewhere / "_asian"  # a real path wins


def test_damaged_and_future_files_are_one_line_problems(tmp_path: Path, folder: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    path = folder / "w_progress.json"
    for data, needle in ((b'{"directory": "' + str(work).encode() + b'/", "total', "damaged"),
                         (b"[1, 2]", "wrong shape"),
                         (v2(work, schema_version=7), "schema version 7"),
                         (v2(work, completed_files="oops"), "damaged")):
        path.write_bytes(data)
        with pytest.raises(readonly.ReadProblem) as caught:
            readonly.load_directory(folder, work)
        assert needle in str(caught.value)
        assert "\n" not in str(caught.value)
        assert path.read_bytes() == data
    assert sorted(p.name for p in folder.iterdir()) == ["w_progress.json"]


def test_events_of_one_directory_after_a_time(tmp_path: Path, folder: Path) -> None:
    a, b = directory_key(tmp_path / "a"), directory_key(tmp_path / "b")
    AuditLog(folder / "audit").append([
        Event(ts="2025-09-24T23:59:00.000Z", op="crop", directory=a, file="1.png"),
        Event(ts="2025-09-25T00:01:00.000Z", op="keep", directory=b, file="2.png"),
        Event(ts="2025-09-25T00:02:00.000Z", op="skip", directory=a, file="3.png",
              reason="later"),
    ])
    before = snapshot(folder)
    assert [e.file for e in readonly.events(folder, directory=a)] == ["1.png", "3.png"]
    assert [e.file for e in readonly.events(folder, since="2025-09-25T00:00:00Z")] == \
        ["2.png", "3.png"]
    assert readonly.events(folder, directory=a, since="2025-09-25T00:02:00Z") == []
    with pytest.raises(readonly.ReadProblem, match="ISO 8601"):
        readonly.events(folder, since="yesterday")
    assert readonly.events(tmp_path / "nowhere") == []
    assert snapshot(folder) == before
