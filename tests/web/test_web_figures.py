"""The sums behind the dashboard's charts, on events made to order, and the charts
themselves as XML; and `cropctl stats`'s new per-day bars."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from crop_client.cropctl.gather import DaemonView, StatsView
from crop_client.web import figures, svg
from crop_progress.audit import Event
from crop_progress.timefmt import to_iso
from crop_protocol import messages as m

T0 = datetime(2025, 9, 22, 9, 0, tzinfo=timezone.utc)  # a Monday


def ev(seconds: float, op: str = "crop", directory: str = "/w/a/") -> Event:
    return Event(ts=to_iso(T0 + timedelta(seconds=seconds)), op=op, directory=directory,
                 file=f"f{seconds}.png")


def stretch(start: float, minutes: int, fast: float, slow: float, after: int) -> list[Event]:
    """One image every `fast` seconds for `after` minutes, then every `slow` seconds."""
    out, moment = [], start
    while moment < start + minutes * 60:
        out.append(ev(moment))
        moment += fast if moment - start < after * 60 else slow
    return out


def test_the_rate_falls_off_where_the_work_slows() -> None:
    events = stretch(0, 90, 20, 40, 50) + stretch(3 * 3600, 90, 20, 40, 50)
    curve = figures.break_curve(events, bucket_minutes=10)
    rates = curve.rates()
    assert rates[0] == pytest.approx(180, rel=0.05)
    assert curve.falloff_minutes == 50
    assert rates[6] == pytest.approx(90, rel=0.1)


def test_no_falloff_without_enough_work() -> None:
    assert figures.break_curve([]).falloff_minutes is None
    steady = figures.break_curve(stretch(0, 60, 20, 20, 60))
    assert steady.falloff_minutes is None and steady.best_rate == pytest.approx(180, rel=0.05)


def test_minutes_since_the_last_break() -> None:
    events = [ev(0), ev(60), ev(1000), ev(1100), ev(1200)]  # a break before 1000
    assert figures.minutes_since_break(events, (T0.timestamp() + 1260)) == pytest.approx(4.33,
                                                                                         abs=0.01)
    assert figures.minutes_since_break(events, T0.timestamp() + 1200 + 301) is None


def test_session_quality_counts_each_outcome_and_the_undos() -> None:
    events = [ev(1), ev(2, "keep"), ev(3, "skip"), ev(4, "delete"), ev(5), ev(6, "undo"),
              ev(7, "claim"), ev(99999)]
    session = m.SessionEntry(start=to_iso(T0), end=to_iso(T0 + timedelta(seconds=10)))
    quality = figures.quality(figures.in_session(events, session))
    assert quality.counts == {"crop": 2, "keep": 1, "skip": 1, "delete": 1, "fail": 0}
    assert quality.undo_rate == pytest.approx(1 / 5)
    assert sum(quality.shares().values()) == pytest.approx(1.0)


def test_a_timeline_tells_work_from_breaks() -> None:
    events = [ev(0, "claim"), ev(30), ev(60), ev(1000), ev(1030)]
    tl = figures.timeline(events, T0.timestamp(), T0.timestamp() + 1100)
    kinds = [(round(b - a), work) for a, b, work in tl.spans]
    assert kinds == [(60, True), (940, False), (100, True)]  # one span per stretch
    assert [op for _, op in tl.ticks] == ["crop", "crop", "crop", "crop"]


def test_weeks_and_the_measured_rate_with_its_spread() -> None:
    rows = [m.StatsRow(day="2025-09-22", directory="a", images=100, work_seconds=3600),
            m.StatsRow(day="2025-09-23", directory="a", images=200, work_seconds=3600),
            m.StatsRow(day="2025-09-29", directory="a", images=150, work_seconds=3600),
            m.StatsRow(day="2025-09-30", directory="a", images=5, work_seconds=60)]
    weeks = figures.per_week(rows)
    assert [w.week for w in weeks] == ["2025-W39", "2025-W40"]
    assert weeks[0].images_per_hour == pytest.approx(150)
    rate = figures.measured_rate(rows)
    assert rate is not None and rate.samples == 3  # the 1-minute day says too little
    assert rate.middle == pytest.approx(150)
    assert rate.low == pytest.approx(125) and rate.high == pytest.approx(175)
    likely, best, worst = rate.hours(300)
    assert best < likely < worst and likely == pytest.approx(2.0)
    assert figures.measured_rate([]) is None


def test_per_day_puts_ours_beside_the_origins_figure() -> None:
    events = stretch(0, 60, 20, 20, 60)
    days = figures.per_day(events, days=figures.day_range("2025-09-23", 3))
    assert [d.day for d in days] == ["2025-09-21", "2025-09-22", "2025-09-23"]
    worked = days[1]
    assert worked.images == len(events)
    assert worked.work_seconds == pytest.approx(3580)
    assert worked.origin_seconds == 3600.0  # four whole 15-minute bins
    assert days[0].images == days[2].images == 0


def test_charts_are_well_formed_svg() -> None:
    charts = [
        svg.columns("c", ["a", "b & c"], [("x", [1, 2], "c-ours"), ("y", [3, 0], "c-origin")]),
        svg.columns("c", ["a"], [("x", [0], "c")]),
        svg.trend("t", ["w1", "w2", "w3"], [10, None, 30]),
        svg.stacked("s", [("crop", 3, "s-crop"), ("keep", 0, "s-keep")]),
        svg.progress_bar(3, 7),
        svg.timeline("tl", 0, 100, [(0, 50, True), (50, 100, False)], [(10, "crop")], str),
    ]
    for chart in charts:
        root = ET.fromstring(chart)
        assert root.tag.endswith("svg")
        assert root.get("role") == "img" and root.get("aria-label")
        assert "style=" not in chart  # the CSP forbids inline styles
    bar = ET.fromstring(svg.progress_bar(3, 4))
    widths = [r.get("width") for r in bar.iter() if r.tag.endswith("rect")]
    assert widths == ["1000", "750.0"]


def test_cropctl_stats_draws_a_bar_per_day(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from crop_client.cropctl import render

    monkeypatch.setenv("COLUMNS", "100")
    rows = [m.StatsRow(day="2025-09-22", directory="/w/a/", images=40, work_seconds=3600),
            m.StatsRow(day="2025-09-23", directory="/w/a/", images=10, work_seconds=600)]
    view = StatsView(DaemonView(running=True, endpoint="ipc://x", pid=1, version="0"), 7,
                     "2025-09-16T00:00:00.000Z", rows, 0.0, [])
    render.stats(view)
    out = capsys.readouterr().out
    assert "Images per day" in out
    lines = {line.split()[0]: line for line in out.splitlines()
             if line.startswith("2025-09-2") and "█" in line}
    assert set(lines) == {"2025-09-22", "2025-09-23"}
    assert lines["2025-09-22"].count("█") == 4 * lines["2025-09-23"].count("█")


def test_a_browser_that_falls_behind_keeps_the_newest_message() -> None:
    import asyncio

    from crop_client.web import live

    async def run() -> list[str | None]:
        hub = live.Hub(source=None)  # type: ignore[arg-type]
        queue = hub.subscribe()
        for n in range(live.QUEUE_LIMIT + 10):
            hub.broadcast(f"message {n}")
        got = [queue.get_nowait() for _ in range(queue.qsize())]
        hub.close()
        got.append(queue.get_nowait())
        return got

    got = asyncio.run(run())
    assert len(got) == live.QUEUE_LIMIT + 1
    assert got[0] == "message 10" and got[-2] == f"message {live.QUEUE_LIMIT + 9}"
    assert got[-1] is None  # closing ends the stream
