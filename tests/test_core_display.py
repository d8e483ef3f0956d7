"""The seed's words, exactly: start and resume messages, the progress display, times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from core_helpers import FIXTURES, isolate_env

from crop_progress import store
from crop_progress.display import (
    bar,
    eta_seconds,
    is_resume,
    label,
    percent,
    progress_lines,
    start_lines,
)
from crop_progress.model import Progress
from crop_progress.timefmt import (
    epoch_to_iso,
    format_ago,
    format_duration,
    iso_to_epoch,
    parse_iso,
    to_iso,
)

# two hours after the seed's last_session_end (2025-09-25T16:45:00Z)
SEED_NOW = datetime(2025, 9, 25, 18, 45, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    return isolate_env(monkeypatch, tmp_path / "env")


def test_start_message_of_the_spec():
    p = Progress(directory="/home/me/pics/_asian/", total_images=150)
    assert start_lines(p) == [
        "🎯 Starting crop session for '_asian/'",
        "📊 Found 150 images to process",
        "🚀 Beginning at image 1/150...",
    ]


def test_resume_message_of_the_spec_from_the_seed_file(tmp_path):
    p = store.parse((FIXTURES / "seed_v1_progress.json").read_bytes(),
                    directory=f"{tmp_path}/_asian/").progress
    assert start_lines(p, SEED_NOW) == [
        "🎯 Resuming crop session for '_asian/'",
        "📊 Progress: 73/150 images completed (48.7%)",
        "⏰ Last session: 2 hours ago",
        "🚀 Resuming at image 74/150...",
    ]


def test_resume_without_a_last_session_leaves_that_line_out():
    p = Progress(directory="/x/d/", total_images=10, completed_count=3, current_index=3)
    assert start_lines(p) == ["🎯 Resuming crop session for 'd/'",
                              "📊 Progress: 3/10 images completed (30%)",
                              "🚀 Resuming at image 4/10..."]


def test_resume_of_a_finished_directory():
    p = Progress(directory="/x/d/", total_images=4, completed_count=4, current_index=4,
                 session_count=2)
    assert start_lines(p)[-1] == "✅ Nothing left to do: all 4 images are handled"


def test_start_of_an_empty_directory():
    p = Progress(directory="/x/d/")
    assert start_lines(p)[-1] == "✅ Nothing to do: the directory holds no images"
    assert not is_resume(p)


@pytest.mark.parametrize("fields, resumed", [
    ({}, False), ({"session_count": 1}, True), ({"completed_count": 1}, True),
    ({"current_index": 1}, True)])
def test_is_resume(fields, resumed):
    assert is_resume(Progress(directory="/x/", **fields)) is resumed


def test_progress_display_of_the_spec():
    lines = progress_lines("/home/me/_asian/", 120, 150,
                           "20250803_172343_stage2_upscaled.png", 47, 2 * 3600 + 15 * 60)
    assert lines == [
        "Processing: _asian/ [████████░░] 80% (120/150)",
        "Current: 20250803_172343_stage2_upscaled.png",
        "Session: 47 images processed, 2h 15m work time",
    ]


def test_progress_display_with_an_eta():
    lines = progress_lines("/x/_asian/", 120, 150, None, 47, 8100, eta_seconds=1800)
    assert lines[1] == "Current: -"
    assert lines[3] == "ETA: 30m for the 30 images left"
    done = progress_lines("/x/_asian/", 150, 150, None, 1, 60, eta_seconds=0)
    assert len(done) == 3
    assert done[0] == "Processing: _asian/ [██████████] 100% (150/150)"


@pytest.mark.parametrize("done, total, text", [
    (0, 150, "░░░░░░░░░░"), (14, 150, "░░░░░░░░░░"), (15, 150, "█░░░░░░░░░"),
    (149, 150, "█████████░"), (150, 150, "██████████"), (0, 0, "░░░░░░░░░░"),
    (7, 5, "██████████")])
def test_bar(done, total, text):
    assert bar(done, total) == text


def test_percent_and_label():
    assert f"{percent(73, 150):.1f}" == "48.7"
    assert percent(1, 0) == 0.0
    assert label("/a/b/_asian/") == "_asian/"
    assert label("/a/b/_asian") == "_asian/"
    assert label("_asian/") == "_asian/"


def test_eta():
    assert eta_seconds(30, 47, 8100) == pytest.approx(30 * 8100 / 47)
    assert eta_seconds(0, 0, 0) == 0.0
    assert eta_seconds(5, 0, 100) is None
    assert eta_seconds(5, 3, 0) is None


# -- times --------------------------------------------------------------------------------------

@pytest.mark.parametrize("seconds, text", [
    (0, "0s"), (40, "40s"), (59.6, "1m"), (300, "5m"), (3600, "1h 0m"), (8100, "2h 15m"),
    (-5, "0s"), (100 * 3600 + 60, "100h 1m")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("ago, text", [
    (timedelta(seconds=30), "just now"), (timedelta(minutes=1), "1 minute ago"),
    (timedelta(minutes=59), "59 minutes ago"), (timedelta(hours=2), "2 hours ago"),
    (timedelta(hours=2, minutes=59), "2 hours ago"), (timedelta(days=1), "1 day ago"),
    (timedelta(days=8), "1 week ago"), (timedelta(days=40), "1 month ago"),
    (timedelta(days=800), "2 years ago"), (timedelta(seconds=-30), "just now")])
def test_format_ago(ago, text):
    assert format_ago(SEED_NOW - ago, SEED_NOW) == text


def test_format_ago_reads_the_seed_stamp():
    assert format_ago("2025-09-25T16:45:00Z", SEED_NOW) == "2 hours ago"


def test_iso_stamps_are_utc_with_z():
    moment = datetime(2025, 9, 25, 18, 45, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert to_iso(moment) == "2025-09-25T16:45:00.123Z"
    assert parse_iso("2025-09-25T16:45:00.123Z") == moment.replace(microsecond=123000)
    assert parse_iso("2025-09-25T16:45:00") == datetime(2025, 9, 25, 16, 45,
                                                        tzinfo=timezone.utc)
    assert epoch_to_iso(iso_to_epoch("2025-09-25T16:45:00Z")) == "2025-09-25T16:45:00.000Z"
