"""Charts as SVG made on the server: valid XML, no script, styled by the page's CSS.

Each function returns one `<svg>` element as text, with a `<title>` and an
aria-label saying what it shows, so a chart is readable by a screen reader and
testable as XML. Colours come from CSS classes (style.css), never inline
styles, which the dashboard's Content-Security-Policy forbids.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

W, H = 420, 190              # the viewBox of a chart; CSS scales it to its column
PAD_L, PAD_R, PAD_T, PAD_B = 44, 8, 14, 34
MAX_X_LABELS = 7


def _esc(text: object) -> str:
    return escape(str(text), quote=True)


def _n(value: float) -> str:
    """A short number for an axis: 950, 1.2k, 35k, 2.1M."""
    for size, unit in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + unit
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_max(value: float) -> float:
    """1, 2 or 5 times a power of ten, at least `value` (and at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def _open(kind: str, label: str, width: int = W, height: int = H) -> str:
    return (f'<svg class="chart {kind}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{_esc(label)}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{_esc(label)}</title>")


def empty(label: str, message: str = "nothing recorded yet") -> str:
    return (_open("empty", label, W, 60)
            + f'<text class="note" x="{W / 2}" y="34" text-anchor="middle">{_esc(message)}'
            "</text></svg>")


def progress_bar(done: int, total: int, label: str = "") -> str:
    """A plain bar, as wide as its box: the done share filled."""
    share = min(1.0, done / total) if total else 0.0
    label = label or f"{100 * share:.1f}% done ({done} of {total})"
    return (f'<svg class="bar" viewBox="0 0 1000 12" preserveAspectRatio="none" role="img" '
            f'aria-label="{_esc(label)}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{_esc(label)}</title>"
            '<rect class="track" width="1000" height="12"/>'
            f'<rect class="done" width="{1000 * share:.1f}" height="12"/></svg>')


def _axis(top: float, fmt: Callable[[float], str]) -> str:
    parts = []
    for fraction in (0.0, 0.5, 1.0):
        y = PAD_T + (H - PAD_T - PAD_B) * (1 - fraction)
        parts.append(f'<line class="grid" x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" '
                     f'y2="{y:.1f}"/><text class="tick" x="{PAD_L - 4}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_esc(fmt(top * fraction))}</text>')
    return "".join(parts)


def _x_labels(labels: Sequence[str], centres: Sequence[float]) -> str:
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    out = []
    last = len(labels) - 1
    for i, (text, x) in enumerate(zip(labels, centres, strict=True)):
        if (last - i) % every == 0:  # counted from the newest, which is always labelled
            x = min(x, W - PAD_R - 3.6 * len(text))  # never past the right edge
            out.append(f'<text class="tick" x="{x:.1f}" y="{H - PAD_B + 16}" '
                       f'text-anchor="middle">{_esc(text)}</text>')
    return "".join(out)


def columns(label: str, labels: Sequence[str],
            series: Sequence[tuple[str, Sequence[float], str]],
            fmt: Callable[[float], str] = _n, marker: int | None = None,
            marker_text: str = "", nothing: str = "nothing recorded yet") -> str:
    """Vertical bars, one group per label, one bar per series (name, values, css class).

    `marker` draws a dashed line before the group of that index (the fall-off)."""
    if not labels or not series or not any(v for _, values, _ in series for v in values):
        return empty(label, nothing)
    top = nice_max(max((v for _, values, _ in series for v in values), default=0.0))
    inner_w, inner_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    group = inner_w / len(labels)
    bar_w = min(36.0, max(1.0, group * 0.8 / len(series)))
    parts = [_open("columns", label), _axis(top, fmt)]
    centres = []
    for i in range(len(labels)):
        left = PAD_L + (i + 0.5) * group - bar_w * len(series) / 2
        centres.append(PAD_L + (i + 0.5) * group)
        for j, (name, values, css) in enumerate(series):
            value = values[i]
            height = inner_h * (value / top) if top else 0
            x = left + j * bar_w
            top_y = PAD_T + inner_h - height
            parts.append(f'<rect class="{_esc(css)}" x="{x:.1f}" y="{top_y:.1f}"'
                         f' width="{bar_w:.1f}" height="{height:.1f}"><title>'
                         f"{_esc(labels[i])}: {_esc(name)} {_esc(fmt(value))}</title></rect>")
    if marker is not None and 0 <= marker < len(labels):
        x = PAD_L + marker * group
        parts.append(f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T - 4}" '
                     f'y2="{PAD_T + inner_h}"/><text class="marker-text" x="{x + 4:.1f}" '
                     f'y="{PAD_T + 8}">{_esc(marker_text)}</text>')
    parts.append(_x_labels(labels, centres))
    parts.append("</svg>")
    return "".join(parts)


def trend(label: str, labels: Sequence[str], values: Sequence[float | None],
          fmt: Callable[[float], str] = _n, nothing: str = "nothing recorded yet") -> str:
    """A line through the known values (a gap where a value is None), with its points."""
    known = [v for v in values if v is not None]
    if not known:
        return empty(label, nothing)
    top = nice_max(max(known))
    inner_w, inner_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B
    step = inner_w / len(labels)
    centres = [PAD_L + (i + 0.5) * step for i in range(len(labels))]
    parts = [_open("trend", label), _axis(top, fmt)]
    points: list[str] = []
    for x, value, name in zip(centres, values, labels, strict=True):
        if value is None:
            if len(points) > 1:
                parts.append(f'<polyline class="line" points="{" ".join(points)}"/>')
            points = []
            continue
        y = PAD_T + inner_h * (1 - value / top)
        points.append(f"{x:.1f},{y:.1f}")
        parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4">'
                     f"<title>{_esc(name)}: {_esc(fmt(value))}</title></circle>")
    if len(points) > 1:
        parts.append(f'<polyline class="line" points="{" ".join(points)}"/>')
    parts.append(_x_labels(labels, centres))
    parts.append("</svg>")
    return "".join(parts)


def stacked(label: str, parts: Sequence[tuple[str, float, str]]) -> str:
    """One horizontal bar split into shares (name, value, css class)."""
    total = sum(value for _, value, _ in parts)
    out = [f'<svg class="stack" viewBox="0 0 1000 16" preserveAspectRatio="none" role="img" '
           f'aria-label="{_esc(label)}" xmlns="http://www.w3.org/2000/svg">'
           f"<title>{_esc(label)}</title>", '<rect class="track" width="1000" height="16"/>']
    x = 0.0
    for name, value, css in parts:
        if total <= 0 or value <= 0:
            continue
        width = 1000 * value / total
        out.append(f'<rect class="{_esc(css)}" x="{x:.1f}" width="{width:.1f}" height="16">'
                   f"<title>{_esc(name)}: {_esc(_n(value))}</title></rect>")
        x += width
    out.append("</svg>")
    return "".join(out)


def timeline(label: str, start: float, end: float,
             spans: Sequence[tuple[float, float, bool]], ticks: Sequence[tuple[float, str]],
             clock: Callable[[float], str]) -> str:
    """A session from start to end: work spans filled, breaks hatched grey, one tick
    per outcome, times of day underneath."""
    height = 70
    inner_w = W - 2 * PAD_R
    length = max(end - start, 1e-3)

    def x_of(moment: float) -> float:
        return PAD_R + inner_w * (moment - start) / length

    out = [_open("timeline", label, W, height)]
    for left, right, work in spans:
        out.append(f'<rect class="{"work" if work else "pause"}" x="{x_of(left):.1f}" y="10" '
                   f'width="{max(0.5, x_of(right) - x_of(left)):.1f}" height="26">'
                   f"<title>{'work' if work else 'break'} {_esc(clock(left))}–"
                   f"{_esc(clock(right))}</title></rect>")
    for moment, op in ticks:
        out.append(f'<line class="tick-{_esc(op)}" x1="{x_of(moment):.1f}" '
                   f'x2="{x_of(moment):.1f}" y1="38" y2="46"/>')
    for fraction in (0.0, 0.5, 1.0):
        moment = start + length * fraction
        anchor = {0.0: "start", 0.5: "middle", 1.0: "end"}[fraction]
        out.append(f'<text class="tick" x="{x_of(moment):.1f}" y="62" '
                   f'text-anchor="{anchor}">{_esc(clock(moment))}</text>')
    out.append("</svg>")
    return "".join(out)
