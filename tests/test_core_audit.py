"""The audit log: one JSON object per line, a file per UTC day, torn lines tolerated."""

from __future__ import annotations

import json

import msgspec
import pytest
from core_helpers import MIDNIGHT_OFFSET, at, ev, isolate_env

from crop_progress.audit import OPS, AuditLog, ClientRef, Event, day_files, log_file, read_events


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    return isolate_env(monkeypatch, tmp_path / "env")


@pytest.fixture
def audit(tmp_path):
    return tmp_path / "progress" / "audit"


def test_ops_are_the_specs():
    assert set(OPS) == {"session_start", "session_end", "claim", "crop", "keep", "skip", "fail",
                        "delete", "undo", "reset", "rebuild", "shape"}


def test_append_and_read_back(audit):
    client = ClientRef(pid=4242, host="box", id="c1", program="multicrop")
    events = [ev("session_start", None, 0, client=client),
              ev("claim", "a.png", 1, client=client),
              ev("crop", "a.png", 30, dest="/w/d_cropped/a.png", companions=["a.yaml"],
                 client=client, box=[0, 0, 10, 10]),
              ev("fail", "b.png", 40, reason="cannot identify image file")]
    log = AuditLog(audit)
    log.append(events[:2])
    log.append(events[2:])
    assert list(read_events(audit)) == events
    lines = log_file(audit, "2025-09-25").read_bytes().splitlines()
    assert len(lines) == 4
    first = json.loads(lines[2])
    assert {"ts", "op", "directory", "file", "dest", "companions", "client"} <= set(first)
    assert first["client"]["pid"] == 4242 and first["client"]["host"] == "box"
    assert first["ts"] == at(30) and first["ts"].endswith("Z")


def test_append_nothing_creates_nothing(audit):
    AuditLog(audit).append([])
    assert not audit.exists()
    assert list(read_events(audit)) == []
    assert day_files(audit) == []


def test_one_file_per_utc_day(audit):
    events = [ev("crop", "a.png", MIDNIGHT_OFFSET - 1), ev("crop", "b.png", MIDNIGHT_OFFSET)]
    AuditLog(audit).append(events)
    assert [p.name for p in day_files(audit)] == ["2025-09-25.jsonl", "2025-09-26.jsonl"]
    assert list(read_events(audit)) == events


def test_torn_last_line_is_tolerated_then_healed(audit):
    log = AuditLog(audit)
    log.append([ev("crop", "a.png", 0), ev("crop", "b.png", 1)])
    path = log_file(audit, "2025-09-25")
    whole = path.read_bytes()
    torn = msgspec.json.encode(ev("crop", "c.png", 2))[:25]
    log.close()
    path.write_bytes(whole + torn)  # a crash in the middle of an append
    assert [e.file for e in read_events(audit)] == ["a.png", "b.png"]
    log = AuditLog(audit)  # the next process
    log.append([ev("keep", "d.png", 3)])
    assert [e.file for e in read_events(audit)] == ["a.png", "b.png", "d.png"]
    lines = path.read_bytes().split(b"\n")
    assert lines[2] == torn  # kept on its own line, not glued to the next event
    assert path.read_bytes().endswith(b"\n")


def test_garbage_lines_are_skipped(audit):
    audit.mkdir(parents=True)
    good = msgspec.json.encode(ev("crop", "a.png", 0))
    log_file(audit, "2025-09-25").write_bytes(
        b"not json\n" + good + b"\n{}\n[1]\n\n" + b'{"ts": 5, "op": "crop"}\n')
    (audit / "notes.txt").write_text("not a day file")
    assert [e.file for e in read_events(audit)] == ["a.png"]


def test_filter_by_directory(audit):
    events = [ev("crop", "a.png", 0, directory="/w/a/"),
              ev("crop", "b.png", 1, directory="/w/b/"),
              ev("crop", "c.png", 2, directory="/w/a/", dest="/w/b/c.png"),
              ev("crop", "d.png", 3, directory="/w/a/b/")]
    AuditLog(audit).append(events)
    assert [e.file for e in read_events(audit, directory="/w/a/")] == ["a.png", "c.png"]
    assert [e.file for e in read_events(audit, directory="/w/b/")] == ["b.png"]
    assert list(read_events(audit, directory="/w/")) == []


def test_filter_by_directory_with_characters_json_escapes(audit):
    odd = '/w/q"uote\\back/été/'
    AuditLog(audit).append([ev("crop", "a.png", 0, directory=odd),
                            ev("crop", "b.png", 1, directory="/w/plain/")])
    assert [e.file for e in read_events(audit, directory=odd)] == ["a.png"]


def test_filter_since_is_strictly_after(audit):
    events = [ev("crop", f"{t}.png", t) for t in (0, 10, 20, MIDNIGHT_OFFSET + 5)]
    AuditLog(audit).append(events)
    assert [e.file for e in read_events(audit, since=at(10))] == [
        "20.png", f"{MIDNIGHT_OFFSET + 5}.png"]
    # the seed's second-precision form and other offsets are understood
    assert [e.file for e in read_events(audit, since="2025-09-25T14:00:10Z")] == [
        "20.png", f"{MIDNIGHT_OFFSET + 5}.png"]
    assert [e.file for e in read_events(audit, since="2025-09-25T16:00:10+02:00")] == [
        "20.png", f"{MIDNIGHT_OFFSET + 5}.png"]
    # a later day skips whole files
    assert [e.file for e in read_events(audit, since=at(MIDNIGHT_OFFSET))] == [
        f"{MIDNIGHT_OFFSET + 5}.png"]


def test_filter_by_directory_and_since(audit):
    AuditLog(audit).append([ev("crop", "a.png", 0, directory="/w/a/"),
                            ev("crop", "b.png", 5, directory="/w/b/"),
                            ev("crop", "c.png", 9, directory="/w/a/")])
    assert [e.file for e in read_events(audit, directory="/w/a/", since=at(0))] == ["c.png"]


def test_unsynced_append_is_readable_too(audit):
    AuditLog(audit).append([ev("skip", "a.png", 0)], sync=False)
    assert [e.op for e in read_events(audit)] == ["skip"]


def test_events_default_fields():
    event = Event(ts=at(0), op="crop", directory="/w/d/")
    assert (event.file, event.dest, event.companions, event.client) == (None, None, [], None)


def test_a_journal_line_nested_too_deep_is_skipped_like_any_damaged_line(tmp_path):
    """msgspec recurses on nesting: a line of 5,000 brackets must not stop a reader."""
    from crop_progress.audit import read_events

    (tmp_path / "2026-12-01.jsonl").write_text(
        '{"ts":"2026-12-01T00:00:00.000Z","op":"claim","directory":"/a/","reason":'
        + "[" * 5000 + "]" * 5000 + "}\n"
        + '{"ts":"2026-12-01T00:00:01.000Z","op":"claim","directory":"/a/"}\n')
    assert [e.ts for e in read_events(tmp_path)] == ["2026-12-01T00:00:01.000Z"]
