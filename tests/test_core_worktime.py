"""Work time from hand-made audit events: our gap rule and the origin's 15-minute bins."""

from __future__ import annotations

import random

import pytest
from core_helpers import BASE_EPOCH, MIDNIGHT_OFFSET, ev, isolate_env

from crop_progress.worktime import (
    BREAK_THRESHOLD,
    Tally,
    WorkClock,
    breakdown,
    origin_binned_seconds,
    work_seconds,
)


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    return isolate_env(monkeypatch, tmp_path / "env")


def crops(*times: float, op: str = "crop", directory: str = "/w/d/"):
    return [ev(op, f"{i}.png", t, directory=directory) for i, t in enumerate(times)]


def test_the_threshold_is_the_origins_five_minutes():
    assert BREAK_THRESHOLD == 300.0


def test_nothing_and_one_event_alone_are_no_work():
    assert work_seconds([]) == 0.0
    assert work_seconds(crops(0)) == 0.0
    assert origin_binned_seconds(crops(0)) == 0.0


def test_gaps_up_to_the_threshold_are_work():
    assert work_seconds(crops(0, 60, 100)) == 100.0


def test_breaks_longer_than_the_threshold_are_excluded():
    assert work_seconds(crops(0, 60, 361, 400)) == 60.0 + 39.0
    assert work_seconds(crops(0, 300.001)) == 0.0


def test_a_gap_of_exactly_the_threshold_counts():
    assert work_seconds(crops(0, 300, 600)) == 600.0


def test_events_out_of_order_give_the_same_time():
    events = crops(0, 30, 45, 500, 520, 900, 1100, 1150)
    expected = work_seconds(events)
    assert expected == 30 + 15 + 20 + 200 + 50
    shuffled = list(events)
    random.Random(7).shuffle(shuffled)
    assert shuffled != events
    assert work_seconds(shuffled) == expected
    assert work_seconds(list(reversed(events))) == expected
    assert breakdown(shuffled).total.work_seconds == expected
    assert origin_binned_seconds(shuffled) == origin_binned_seconds(events)


def test_claims_are_work_so_deciding_counts():
    events = [ev("claim", "a.png", 0), ev("claim", "a.png", 280), ev("crop", "a.png", 560)]
    assert work_seconds(events) == 560.0
    # the origin, seeing only the submit, counts nothing
    assert work_seconds([events[2]]) == 0.0


def test_session_and_bookkeeping_events_are_not_work():
    events = [ev("session_start", None, 0), ev("claim", "a.png", 100),
              ev("session_end", None, 150), ev("reset", None, 160), ev("rebuild", None, 170)]
    assert work_seconds(events) == 0.0
    events.append(ev("undo", "a.png", 200))
    assert work_seconds(events) == 100.0


def test_custom_threshold():
    assert work_seconds(crops(0, 90, 150), threshold=60.0) == 60.0


def test_work_clock_one_event_at_a_time():
    clock = WorkClock(300.0)
    assert clock.tick(BASE_EPOCH) == 0.0
    assert clock.tick(BASE_EPOCH + 100) == 100.0
    assert clock.tick(BASE_EPOCH + 50) == 0.0  # older than the last: adds and moves nothing
    assert clock.tick(BASE_EPOCH + 160) == 60.0
    assert clock.tick(BASE_EPOCH + 1000) == 0.0  # a break
    assert clock.tick(BASE_EPOCH + 1010) == 10.0
    assert WorkClock(300.0, last=BASE_EPOCH).tick(BASE_EPOCH + 5) == 5.0


# -- per day and per directory ----------------------------------------------------------------

MIDNIGHT = float(MIDNIGHT_OFFSET)


def test_breakdown_per_day_and_per_directory():
    a, b = "/w/a/", "/w/b/"
    events = [
        ev("claim", "1.png", MIDNIGHT - 100, directory=a),
        ev("crop", "1.png", MIDNIGHT - 10, directory=a),
        ev("crop", "2.png", MIDNIGHT + 50, directory=a),   # the gap counts for the new day
        ev("undo", "2.png", MIDNIGHT + 100, directory=a),
        ev("keep", "x.png", 100, directory=b),
        ev("skip", "y.png", 400, directory=b),
        ev("delete", "z.png", 1000, directory=b),           # after a break
        ev("session_start", None, 1001, directory=b),
    ]
    random.Random(3).shuffle(events)
    result = breakdown(events)
    day1, day2 = "2025-09-25", "2025-09-26"
    assert set(result.days) == {day1, day2}
    assert (result.days[day1].work_seconds, result.days[day1].images) == (90 + 300, 1 + 3)
    assert (result.days[day2].work_seconds, result.days[day2].images) == (60 + 50, 1 - 1)
    assert (result.directories[a].work_seconds, result.directories[a].images) == (200, 1)
    assert (result.directories[b].work_seconds, result.directories[b].images) == (300, 3)
    assert (result.cells[(day1, a)].work_seconds, result.cells[(day2, a)].work_seconds) == \
        (90, 110)
    assert (day2, b) not in result.cells
    assert (result.total.work_seconds, result.total.images) == (500, 4)


def test_directories_are_separate_streams():
    """Interleaved events of two directories do not make each other's gaps short."""
    a = crops(0, 250, 500, directory="/w/a/")
    b = crops(125, 375, directory="/w/b/")
    result = breakdown(a + b)
    assert result.directories["/w/a/"].work_seconds == 500
    assert result.directories["/w/b/"].work_seconds == 250


def test_images_per_hour():
    assert Tally(images=30, work_seconds=1800).images_per_hour == 60.0
    assert Tally(images=3, work_seconds=0).images_per_hour == 0.0


# -- the origin's 15-minute bins (anchors/origin-tool.md §3) -----------------------------------

def test_origin_bins_on_a_small_known_sequence():
    # bin 0 (14:00-14:15): gaps 200 + 200 + 300 + the first 200 s of 700→1000 = 900 s: counts
    # bin 1 (14:15-14:30): 100 s of 700→1000, a 400 s break, then 4 × 100 s = 500 s: counts
    # bin 2: one file and no active time: does not count
    events = crops(0, 200, 400, 700, 1000, 1400, 1500, 1600, 1700, 1800)
    assert origin_binned_seconds(events) == 1800.0
    assert work_seconds(events) == 200 + 200 + 300 + 300 + 4 * 100


def test_origin_bin_needs_seven_and_a_half_minutes():
    assert origin_binned_seconds(crops(0, 240, 480)) == 900.0   # 480 s in one bin
    assert origin_binned_seconds(crops(0, 225, 450)) == 900.0   # exactly 450 s
    assert origin_binned_seconds(crops(0, 220, 440)) == 0.0     # 440 s
    assert origin_binned_seconds(crops(0, 300)) == 0.0          # one 5-minute gap


def test_origin_gap_split_across_a_bin_edge():
    # 240 s around 14:15: 120 s in each bin, neither qualifies; ours counts all of it
    events = crops(780, 1020)
    assert origin_binned_seconds(events) == 0.0
    assert work_seconds(events) == 240.0


def test_origin_thirty_files_fill_a_bin():
    assert origin_binned_seconds(crops(*range(0, 30))) == 900.0
    assert origin_binned_seconds(crops(*range(0, 29))) == 0.0
    # thirty files spread over two bins count in neither
    assert origin_binned_seconds(crops(*range(885, 915))) == 0.0


def test_origin_ignores_claims_and_long_gaps():
    events = [ev("claim", "a.png", t) for t in range(0, 900, 60)]
    assert origin_binned_seconds(events) == 0.0
    assert work_seconds(events) == 840.0
    assert origin_binned_seconds(crops(0, 301, 602)) == 0.0


def test_origin_result_is_a_multiple_of_fifteen_minutes():
    rng = random.Random(11)
    for _ in range(20):
        times = sorted(rng.uniform(0, 7200) for _ in range(rng.randint(2, 80)))
        figure = origin_binned_seconds(crops(*times))
        assert figure % 900 == 0
        assert figure <= (7200 // 900 + 1) * 900
