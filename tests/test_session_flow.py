"""The client API against an in-process daemon: open, claim, report, undo, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import InProcessDaemon, make_images
from PIL import Image

from crop_client.errors import DaemonError
from crop_client.session import Session
from crop_client.work import Decision, Target, carry_out, take_back

pytestmark = pytest.mark.timeout(60)


def open_target(session: Session, folder: Path) -> tuple[Target, object]:
    opened = session.open(folder)
    return Target.from_opened(opened), opened


def test_claim_report_resume(tmp_path: Path, daemon: InProcessDaemon, progress_dir: Path) -> None:
    work = tmp_path / "_asian"
    make_images(work, 5, size=(80, 60))
    with Session(daemon.endpoint, program="test") as session:
        target, opened = open_target(session, work)
        assert opened.resumed is False
        assert opened.summary.total_images == 5
        claimed = session.claim(target.directory, 3)
        assert [i.file for i in claimed.items] == ["img_0000.png", "img_0001.png",
                                                    "img_0002.png"]
        assert claimed.items[0].companions == ["img_0000.yaml"]
        reported = carry_out(session, target, claimed.items[0], Decision("crop", (10, 10, 50, 40)))
        assert reported.summary.completed_count == 1
        carry_out(session, target, claimed.items[1], Decision("keep"))
        carry_out(session, target, claimed.items[2], Decision("skip"))
    out = tmp_path / "_asian_cropped"
    assert Image.open(out / "img_0000.png").size == (40, 30)
    assert (out / "img_0001.png").read_bytes() == (work / "img_0001.png").read_bytes()
    assert (out / "img_0000.yaml").read_bytes() == (work / "img_0000.yaml").read_bytes()
    record = json.loads((progress_dir / "_asian_progress.json").read_text())
    assert record["completed_files"] == ["img_0000.png", "img_0001.png"]
    assert record["skipped_files"] == ["img_0002.png"]
    assert record["completed_count"] == 2
    assert record["session_count"] == 1
    assert record["sessions"][0]["end"] is not None
    assert record["directory"] == str(work.resolve()) + "/"
    with Session(daemon.endpoint, program="test") as session:
        target, opened = open_target(session, work)
        assert opened.resumed is True
        assert opened.summary.current_index == 3
        claimed = session.claim(target.directory, 3)
        assert [i.file for i in claimed.items] == ["img_0003.png", "img_0004.png"]
    assert (progress_dir / "_asian_progress.json.bak").exists()


def test_two_sessions_never_share_an_image(tmp_path: Path, daemon: InProcessDaemon) -> None:
    work = tmp_path / "shared"
    make_images(work, 6)
    with Session(daemon.endpoint) as one, Session(daemon.endpoint) as two:
        t1, _ = open_target(one, work)
        t2, _ = open_target(two, work)
        a = {i.file for i in one.claim(t1.directory, 3).items}
        b = {i.file for i in two.claim(t2.directory, 3).items}
        assert len(a) == 3 and len(b) == 3 and not a & b
        assert one.claim(t1.directory, 3).items == []
        one.release(t1.directory)
        c = {i.file for i in two.claim(t2.directory, 3).items}
        assert c == a


def test_undo_takes_a_batch_back(tmp_path: Path, daemon: InProcessDaemon) -> None:
    work = tmp_path / "undo"
    make_images(work, 3)
    with Session(daemon.endpoint) as session:
        target, _ = open_target(session, work)
        items = session.claim(target.directory, 2).items
        for item in items:
            carry_out(session, target, item, Decision("keep"), batch="b1")
        out = Path(target.output_dir)
        assert (out / "img_0000.png").exists()
        undone = session.undo(target.directory)
        assert sorted(i.file for i in undone.items) == ["img_0000.png", "img_0001.png"]
        assert undone.summary.completed_count == 0
        for item in undone.items:
            assert take_back(target, item) == []
        assert not (out / "img_0000.png").exists()
        assert not (out / "img_0000.yaml").exists()
        with pytest.raises(DaemonError) as err:
            session.undo(target.directory)
        assert err.value.code == "NOTHING_TO_UNDO"
        # the undone images are ours again: another client cannot take them
        with Session(daemon.endpoint) as other:
            t2, _ = open_target(other, work)
            assert [i.file for i in other.claim(t2.directory, 3).items] == ["img_0002.png"]


def test_lease_lost_and_unknown_directory(tmp_path: Path, daemon: InProcessDaemon) -> None:
    from crop_protocol import messages as m

    work = tmp_path / "lease"
    make_images(work, 2)
    with Session(daemon.endpoint) as one, Session(daemon.endpoint) as two:
        t1, _ = open_target(one, work)
        open_target(two, work)
        item = one.claim(t1.directory, 1).items[0]
        with pytest.raises(DaemonError) as err:
            two.report(m.Report(directory=t1.directory, file=item.file, outcome="kept"))
        assert err.value.code == "LEASE_LOST"
        with pytest.raises(DaemonError) as err:
            one.claim(str(tmp_path / "never-opened"), 1)
        assert err.value.code == "UNKNOWN_DIRECTORY"
        with pytest.raises(DaemonError) as err:
            one.report(m.Report(directory=t1.directory, file="../escape.png", outcome="kept"))
        assert err.value.code == "BAD_REQUEST"


def test_no_false_change_warning_after_a_delete(tmp_path: Path, endpoint: str,
                                                progress_dir: Path) -> None:
    work = tmp_path / "quiet"
    make_images(work, 4)
    with InProcessDaemon(endpoint, progress_dir), Session(endpoint, autostart=False) as session:
        target, _ = open_target(session, work)
        items = session.claim(target.directory, 2).items
        carry_out(session, target, items[0], Decision("delete"))
        carry_out(session, target, items[1], Decision("keep"))
    assert not (work / items[0].file).exists()
    with InProcessDaemon(endpoint, progress_dir), Session(endpoint, autostart=False) as session:
        target, opened = open_target(session, work)
        assert opened.messages == []
        assert opened.summary.total_images == 3
        assert opened.summary.deleted_count == 1
        # changed behind our back: an image added by hand is noticed
        make_images(work, 5, prefix="zz")
    with InProcessDaemon(endpoint, progress_dir), Session(endpoint, autostart=False) as session:
        _, opened = open_target(session, work)
        assert any("directory changed" in m for m in opened.messages)
        assert opened.summary.total_images == 8
