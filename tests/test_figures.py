"""The figures people read never mislead: a rate only over enough work, an ETA at the
rate shown beside it, one rounding for a percent."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from crop_progress import figures
from crop_progress.audit import ClientRef, Event
from crop_progress.display import progress_lines, start_lines
from crop_progress.model import Progress, SessionRecord


def test_a_rate_needs_enough_work() -> None:
    assert figures.images_per_hour(9, 0.05) is None  # the 315789.5 images/hour of a quick run
    assert figures.images_per_hour(4, 3600) is None
    assert figures.images_per_hour(100, 59) is None
    assert figures.images_per_hour(5, 60) == pytest.approx(300.0)
    assert figures.eta_seconds(10, 9, 0.05) is None
    assert figures.eta_seconds(0, 0, 0) == 0.0
    assert figures.eta_seconds(30, 60, 3600) == pytest.approx(1800.0)


def test_the_eta_is_at_the_rate_given() -> None:
    rate = figures.images_per_hour(47, 8100)
    eta = figures.eta_seconds(30, 47, 8100)
    assert rate is not None and eta is not None
    assert eta == pytest.approx(30 * 3600 / rate)


@pytest.mark.parametrize(("done", "total", "text"), [
    (5, 12, "41.7%"), (120, 150, "80%"), (73, 150, "48.7%"), (0, 10, "0%"), (10, 10, "100%"),
    (2999, 3000, "99.9%"), (1, 3000, "0.1%"), (1, 0, "0%")])
def test_one_rounding_for_a_percent(done: int, total: int, text: str) -> None:
    assert figures.percent_text(done, total) == text
    assert f"{figures.percent(done, total):g}%" == text


def test_the_display_and_the_resume_message_agree_with_status() -> None:
    p = Progress(directory="/x/d/", total_images=12, completed_count=5, current_index=5,
                 session_count=1)
    assert "(41.7%)" in start_lines(p)[1]
    assert "41.7% (5/12)" in progress_lines("/x/d/", 5, 12, None, 0, 0.0)[0]


def test_show_lists_and_stats_rows_are_built_once() -> None:
    lists = figures.show_lists(["a.png"], [("b.png", "truncated")], [],
                               [SessionRecord(start="s", end=None, images=2,
                                              work_seconds=1.23456)])
    assert lists == {"skipped_files": ["a.png"],
                     "failed_files": [{"file": "b.png", "reason": "truncated"}],
                     "deleted_files": [],
                     "sessions": [{"start": "s", "end": None, "images": 2,
                                   "work_seconds": 1.235}]}
    who = ClientRef(pid=1, host="h")
    events = [Event(ts=f"2025-09-25T10:0{i}:00.000Z", op=op, directory="/x/d/",
                    file=f"{i}.png", client=who)
              for i, op in enumerate(["claim", "crop", "keep"])]
    rows, origin = figures.stats_rows(events)
    assert rows == [{"day": "2025-09-25", "directory": "/x/d/", "images": 2,
                     "work_seconds": 120.0}]
    assert origin % 900 == 0
    reference = datetime(2025, 9, 25, 12, 0, tzinfo=timezone.utc)
    assert figures.stats_since(0, reference) == figures.stats_since(1, reference)
    assert figures.stats_since(7, reference).startswith("2025-09-18T12:00:00")
