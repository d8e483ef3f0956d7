"""The tracker: every op of the journal, the resume order, counts, rescans, snapshots."""

from __future__ import annotations

import pytest
from core_helpers import ev, isolate_env

from crop_progress.model import FailedFile, Progress, SessionRecord
from crop_progress.scan import directory_hash
from crop_progress.tracker import (
    COMPLETED,
    DELETED,
    FAILED,
    PENDING,
    SKIPPED,
    Tracker,
)

NAMES = [f"img_{k:02d}.png" for k in range(10)]


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    return isolate_env(monkeypatch, tmp_path / "env")


def fresh(names=NAMES, **fields) -> Tracker:
    return Tracker(Progress(directory="/w/d/", **fields), names)


def play(tracker: Tracker, *events) -> Tracker:
    for event in events:
        tracker.apply(event)
    return tracker


# -- outcomes ----------------------------------------------------------------------------

@pytest.mark.parametrize("op, status", [
    ("crop", COMPLETED), ("keep", COMPLETED), ("skip", SKIPPED), ("fail", FAILED),
    ("delete", DELETED)])
def test_each_outcome_sets_its_status(op, status):
    t = play(fresh(), ev("session_start"), ev(op, "img_03.png", 5))
    assert t.status("img_03.png") == status
    assert t.open_session is not None and t.open_session.images == 1
    assert "img_03.png" not in t.pending(10)
    snap = t.snapshot("2025-09-25T15:00:00.000Z")
    lists = {COMPLETED: snap.completed_files, SKIPPED: snap.skipped_files,
             FAILED: [f.file for f in snap.failed_files], DELETED: snap.deleted_files}
    assert lists[status] == ["img_03.png"]
    assert all(v == [] for k, v in lists.items() if k != status)


def test_crop_and_keep_follow_last_processed_file_others_do_not():
    t = play(fresh(), ev("crop", "img_00.png"), ev("keep", "img_01.png", 1))
    assert t.progress.last_processed_file == "img_01.png"
    play(t, ev("skip", "img_02.png", 2), ev("fail", "img_03.png", 3, reason="x"),
         ev("delete", "img_04.png", 4))
    assert t.progress.last_processed_file == "img_01.png"


def test_fail_keeps_its_reason_with_a_default():
    t = play(fresh(), ev("fail", "img_00.png", reason="cannot identify image file"),
             ev("fail", "img_01.png", 1))
    assert t.failed == {"img_00.png": "cannot identify image file", "img_01.png": "failed"}
    snap = t.snapshot("m")
    assert snap.failed_files == [FailedFile("img_00.png", "cannot identify image file"),
                                 FailedFile("img_01.png", "failed")]


def test_a_new_outcome_replaces_the_old_one():
    t = play(fresh(), ev("skip", "img_00.png"), ev("crop", "img_00.png", 1))
    assert t.status("img_00.png") == COMPLETED
    assert t.skipped == {}
    play(t, ev("delete", "img_00.png", 2))
    assert t.status("img_00.png") == DELETED and t.completed == {}


def test_outcome_without_a_file_changes_no_status():
    t = play(fresh(), ev("crop", None))
    assert t.completed == {} and t.pending(1) == ["img_00.png"]


def test_undo_offers_the_image_again_at_its_place():
    t = play(fresh(), ev("session_start"), *(ev("crop", n, i + 1) for i, n in
                                             enumerate(NAMES[:4])))
    assert t.pending(1) == ["img_04.png"]
    assert t.current_index == 4
    play(t, ev("undo", "img_02.png", 10))
    assert t.status("img_02.png") == PENDING
    assert t.pending(2) == ["img_02.png", "img_04.png"]
    assert t.current_index == 2
    assert t.open_session is not None and t.open_session.images == 3


@pytest.mark.parametrize("op", ["skip", "fail", "delete", "keep"])
def test_undo_of_any_outcome(op):
    t = play(fresh(), ev(op, "img_00.png"), ev("undo", "img_00.png", 1))
    assert t.status("img_00.png") == PENDING
    assert t.pending(1) == ["img_00.png"]
    assert t.total_images == 10


def test_undo_of_a_pending_image_does_nothing():
    t = play(fresh(), ev("session_start"), ev("crop", "img_00.png", 1),
             ev("undo", "img_05.png", 2))
    assert t.open_session is not None and t.open_session.images == 1
    assert t.status("img_05.png") == PENDING


def test_reset_starts_afresh_keeping_directory_and_output():
    t = fresh(output_directory="/w/d_cropped/", session_count=2, work_seconds=50.0)
    play(t, ev("session_start"), ev("crop", "img_00.png", 1), ev("skip", "img_01.png", 2),
         ev("fail", "img_02.png", 3), ev("delete", "img_03.png", 4))
    t.rescan([n for n in NAMES if n != "img_03.png"])  # the deleted image is in the trash
    play(t, ev("reset", None, 5))
    assert (t.completed, t.skipped, t.failed, t.deleted) == ({}, {}, {}, {})
    assert t.pending(3) == NAMES[:3]
    p = t.progress
    assert (p.directory, p.output_directory) == ("/w/d/", "/w/d_cropped/")
    assert (p.session_count, p.work_seconds, p.sessions) == (0, 0.0, [])
    assert p.created == p.modified
    assert t.total_images == 9
    # the work clock restarted too: the next gap is not counted against the old events
    play(t, ev("claim", "img_00.png", 6), ev("crop", "img_00.png", 10))
    assert t.progress.work_seconds == 4.0


# -- sessions and claims --------------------------------------------------------------------

def test_sessions_are_counted_and_closed():
    t = play(fresh(session_count=3), ev("session_start", None, 0))
    p = t.progress
    assert p.session_count == 4
    assert p.last_session_start == ev("x", None, 0).ts
    assert t.open_session == SessionRecord(start=ev("x", None, 0).ts)
    play(t, ev("claim", "img_00.png", 10), ev("crop", "img_00.png", 70),
         ev("session_end", None, 100))
    assert t.open_session is None
    assert p.sessions[-1].end == ev("x", None, 100).ts
    assert p.last_session_end == ev("x", None, 100).ts
    assert p.sessions[-1].images == 1
    assert p.sessions[-1].work_seconds == 60.0
    # session_start and session_end are not work events
    assert p.work_seconds == 60.0


def test_session_end_without_a_session_only_stamps_the_end():
    t = play(fresh(), ev("session_end", None, 5))
    assert t.progress.sessions == []
    assert t.progress.last_session_end == ev("x", None, 5).ts


def test_claims_count_as_work_events_but_change_no_status():
    t = play(fresh(), ev("claim", "img_00.png", 0), ev("claim", "img_00.png", 240),
             ev("crop", "img_00.png", 480))
    assert t.progress.work_seconds == 480.0
    assert t.progress.last_event_at == ev("x", None, 480).ts
    t2 = play(fresh(), ev("claim", "img_00.png", 0))
    assert t2.status("img_00.png") == PENDING and t2.pending(1) == ["img_00.png"]


def test_breaks_are_not_work_and_the_clock_resumes_from_the_file():
    t = play(fresh(), ev("crop", "img_00.png", 0), ev("crop", "img_01.png", 301),
             ev("crop", "img_02.png", 601))
    assert t.progress.work_seconds == 300.0
    # a new tracker over the saved file continues the clock from last_event_at
    saved = t.snapshot("m")
    again = play(Tracker(saved, NAMES), ev("crop", "img_03.png", 611))
    assert again.progress.work_seconds == 310.0


def test_threshold_is_configurable():
    t = Tracker(Progress(directory="/w/d/"), NAMES, threshold=60.0)
    play(t, ev("crop", "img_00.png", 0), ev("crop", "img_01.png", 61),
         ev("crop", "img_02.png", 121))
    assert t.progress.work_seconds == 60.0


# -- the resume order -----------------------------------------------------------------------

def test_pending_is_file_name_order_and_skips_handled():
    t = play(fresh(list(reversed(NAMES))), ev("crop", "img_00.png"), ev("skip", "img_02.png"),
             ev("fail", "img_03.png"), ev("delete", "img_05.png"))
    assert t.pending(4) == ["img_01.png", "img_04.png", "img_06.png", "img_07.png"]
    assert t.pending(100) == ["img_01.png", "img_04.png", *NAMES[6:]]
    assert t.pending(0) == []


def test_pending_excludes_leased_names():
    t = fresh()
    first = t.pending(3)
    second = t.pending(3, exclude=set(first))
    assert first == NAMES[:3] and second == NAMES[3:6]
    assert t.pending(3, exclude=frozenset(first + second)) == NAMES[6:9]


def test_retry_skipped_and_failed():
    t = play(fresh(), *(ev("crop", n) for n in NAMES[:6]), ev("skip", "img_01.png"),
             ev("fail", "img_03.png", reason="r"))
    assert t.pending(10) == NAMES[6:]
    assert t.pending(10, retry_skipped=True) == ["img_01.png", *NAMES[6:]]
    assert t.pending(10, retry_failed=True) == ["img_03.png", *NAMES[6:]]
    assert t.pending(2, retry_skipped=True, retry_failed=True) == ["img_01.png", "img_03.png"]
    assert t.pending(10, exclude={"img_01.png"}, retry_skipped=True) == NAMES[6:]


def test_retry_only_offers_images_still_on_disk():
    t = Tracker(Progress(directory="/w/d/", skipped_files=["gone.png"],
                         failed_files=[FailedFile("lost.png", "vanished")]), NAMES[:2])
    assert t.pending(5, retry_skipped=True, retry_failed=True) == NAMES[:2]


def test_remaining_counts_what_is_left():
    t = play(fresh(), ev("crop", "img_00.png"), ev("skip", "img_01.png"),
             ev("fail", "img_02.png"), ev("delete", "img_03.png"))
    assert t.total_images == 9
    assert t.remaining() == 6 == len(t.pending(100))


# -- counts ------------------------------------------------------------------------------

def test_current_index_and_total_with_deleted_images():
    t = fresh()
    play(t, ev("delete", "img_00.png"), ev("crop", "img_01.png"))
    assert t.total_images == 9
    assert t.current_index == 1  # image 2 of 9 is next
    # the deleted image left the directory: a rescan without it changes nothing
    t.rescan(NAMES[1:])
    assert (t.total_images, t.current_index) == (9, 1)
    play(t, ev("delete", "img_05.png"))
    assert t.total_images == 8
    assert t.current_index == 1
    play(t, *(ev("crop", n) for n in ("img_02.png", "img_03.png", "img_04.png")))
    assert t.current_index == 4
    assert t.pending(1) == ["img_06.png"]


def test_completed_images_that_left_the_directory_still_count():
    """--move: completed images leave the directory but stay in total_images."""
    p = Progress(directory="/w/d/", completed_files=NAMES[:4], completed_count=4)
    t = Tracker(p, NAMES[4:])
    assert t.total_images == 10
    assert t.current_index == 4
    assert t.pending(1) == ["img_04.png"]


def test_current_index_stops_at_the_first_gap():
    t = play(fresh(), ev("crop", "img_00.png"), ev("crop", "img_02.png"))
    assert t.current_index == 1
    play(t, ev("crop", "img_01.png"))
    assert t.current_index == 3


def test_everything_done():
    t = play(fresh(NAMES[:3]), *(ev("keep", n) for n in NAMES[:3]))
    assert t.pending(5) == []
    assert t.current_index == t.total_images == 3
    assert t.remaining() == 0


def test_overlapping_lists_in_a_file_resolve_to_one_status():
    p = Progress(directory="/w/d/", completed_files=["img_00.png"],
                 skipped_files=["img_00.png", "img_01.png"],
                 failed_files=[FailedFile("img_01.png", "x"), FailedFile("img_02.png", "y")],
                 deleted_files=["img_02.png", "img_03.png"])
    t = Tracker(p, NAMES)
    assert [t.status(n) for n in NAMES[:4]] == [COMPLETED, SKIPPED, FAILED, DELETED]


# -- rescan --------------------------------------------------------------------------------

def test_rescan_reports_added_vanished_and_completed_gone():
    t = play(fresh(), ev("crop", "img_00.png"), ev("crop", "img_01.png"),
             ev("skip", "img_02.png"))
    t.progress.directory_hash = directory_hash(NAMES)
    now = [n for n in NAMES if n not in ("img_01.png", "img_02.png", "img_05.png")]
    now += ["img_10.png", "aaa.png"]
    report = t.rescan(now)
    assert report.added == ["aaa.png", "img_10.png"]
    assert report.removed_pending == ["img_05.png"]
    assert report.completed_gone == ["img_01.png"]
    assert report.hash_changed
    assert t.hash == directory_hash(now)
    assert report.messages() == [
        "2 new image(s) found; added to the queue",
        "1 unprocessed image(s) vanished from the directory; dropped from the queue",
        "1 completed image(s) are no longer in the directory; they stay completed in the "
        "record",
    ]
    # added images join the queue in file-name order; completed stay completed
    assert t.pending(3) == ["aaa.png", "img_03.png", "img_04.png"]
    assert t.status("img_01.png") == COMPLETED
    assert "img_05.png" not in t.pending(100)
    assert "img_10.png" in t.pending(100)
    assert t.total_images == 10  # 9 on disk + the completed one that left
    snap = t.snapshot("m")
    assert snap.directory_hash == directory_hash(now)
    assert "img_01.png" in snap.completed_files


def test_rescan_of_an_unchanged_directory_reports_nothing():
    t = fresh()
    t.progress.directory_hash = directory_hash(NAMES)
    report = t.rescan(NAMES)
    assert report.messages() == [] and not report.hash_changed


def test_rescan_of_a_file_without_a_hash_does_not_claim_a_change():
    report = fresh().rescan(NAMES[:3])
    assert not report.hash_changed
    assert report.removed_pending == NAMES[3:]


# -- the file form ----------------------------------------------------------------------------

def test_snapshot_counts_agree_with_the_lists():
    t = fresh(created="2025-01-01T00:00:00.000Z")
    play(t, ev("session_start"), ev("crop", "img_00.png", 1), ev("keep", "img_01.png", 2),
         ev("skip", "img_02.png", 3), ev("fail", "img_03.png", 4, reason="bad"),
         ev("delete", "img_04.png", 5), ev("session_end", None, 6))
    snap = t.snapshot("2025-09-25T15:00:00.000Z")
    assert snap.completed_files == ["img_00.png", "img_01.png"]
    assert snap.completed_count == 2
    assert snap.skipped_files == ["img_02.png"]
    assert snap.failed_files == [FailedFile("img_03.png", "bad")]
    assert snap.deleted_files == ["img_04.png"]
    assert snap.total_images == 9
    assert snap.current_index == 4
    # the deleted image left the folder: the hash is of what the folder holds now
    assert snap.directory_hash == directory_hash([n for n in NAMES if n != "img_04.png"])
    assert snap.modified == "2025-09-25T15:00:00.000Z"
    assert snap.created == "2025-01-01T00:00:00.000Z"
    assert snap.session_count == 1 and snap.sessions[0].images == 5
    assert snap.work_seconds == 4.0  # crop at 1 .. delete at 5; session events are not work


def test_snapshot_sets_created_once():
    t = fresh()
    assert t.snapshot("first").created == "first"
    assert t.snapshot("second").created == "first"


def test_undo_of_a_delete_brings_the_image_back_into_the_hash():
    t = fresh()
    before = t.hash
    play(t, ev("delete", "img_04.png", 1))
    assert t.hash != before and "img_04.png" not in t.on_disk
    play(t, ev("undo", "img_04.png", 2))
    assert t.hash == before and t.status("img_04.png") == PENDING
