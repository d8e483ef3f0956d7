"""The HTML of each page, made from what `source` gathered and `figures` summed.

Plain functions returning text; every value from outside goes through `h()`.
No inline script or style (the Content-Security-Policy forbids both): the page
loads /static/style.css and /static/live.js, which keeps it live. A directory
card is one function (`card`) so the live feed can send the same markup.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from crop_client.cropctl.gather import DaemonView, StatsView, StatusView
from crop_client.cropctl.render import daemon_line, labels
from crop_client.web import figures, svg
from crop_client.web.source import DirectoryView, directory_id
from crop_progress.audit import Event
from crop_progress.display import label
from crop_progress.figures import percent_text
from crop_progress.timefmt import format_ago, format_duration, iso_to_epoch
from crop_protocol import messages as m

TRAIL_LENGTH = 60
SHARE_CSS = {"crop": "s-crop", "keep": "s-keep", "skip": "s-skip", "delete": "s-delete",
             "fail": "s-fail"}
SHARE_NAME = {"crop": "cropped", "keep": "kept", "skip": "skipped", "delete": "deleted",
              "fail": "failed"}


def h(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def href(ident: str, **query: object) -> str:
    rest = urlencode({k: v for k, v in query.items() if v is not None})
    return f"/d/{quote(ident, safe='')}" + (f"?{rest}" if rest else "")


def clock(moment: float) -> str:
    """A time of day on this machine's clock, for the timeline and the trail."""
    return datetime.fromtimestamp(moment).strftime("%H:%M")


def seconds_clock(moment: float) -> str:
    return datetime.fromtimestamp(moment).strftime("%H:%M:%S")


def when(ts: str | None) -> str:
    if not ts:
        return "never"
    try:
        return format_ago(ts)
    except ValueError:
        return h(ts)


SHORT_UNITS = ((" minutes", "m"), (" minute", "m"), (" hours", "h"), (" hour", "h"),
               (" days", "d"), (" day", "d"), (" weeks", "w"), (" week", "w"))


def short_when(ts: str | None) -> str:
    """`19m`, `3h`, `just now`: `when` in the few characters a card's cell has."""
    text = when(ts).removesuffix(" ago")
    for long, short in SHORT_UNITS:
        text = text.replace(long, short)
    return text.replace(" ", "") if text[:1].isdigit() else text


def rate_of(s: m.Summary) -> float | None:
    return figures.images_per_hour(s.rate_images, s.rate_seconds)


def per_hour(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}/h" if value >= 10 else f"{value:.1f}/h"


def hours(seconds: float | None) -> str:
    return "–" if seconds is None else format_duration(seconds)


# ----------------------------------------------------------------------- the frame


NAV = (("overview", "/", "Overview"), ("stats", "/stats", "Stats"), ("plan", "/plan", "Plan"))


def layout(page: str, title: str, body: str, daemon: DaemonView, key: str = "") -> str:
    links = "".join(f'<a href="{url}"{" aria-current=page" if name == page else ""}>{text}</a>'
                    for name, url, text in NAV)
    state = "on" if daemon.running else "off"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{h(title)} · crop-progress</title>"
        '<link rel=stylesheet href="/static/style.css">'
        '<link rel=icon href="/static/icon.svg" type="image/svg+xml">'
        '<script src="/static/live.js" defer></script></head>'
        f'<body data-page="{h(page)}" data-key="{h(key)}">'
        f'<header><a class=brand href="/">crop-progress</a><nav>{links}</nav>'
        f'<span id=live class="live off" title="connecting for live updates">live</span>'
        f"</header><main>{body}</main>"
        f'<footer><span id=daemon class="daemon {state}">{h(daemon_line(daemon))}</span>'
        "</footer></body></html>")


# ----------------------------------------------------------------------- a directory card


def card(s: m.Summary, name: str | None = None, ts: str | None = None) -> str:
    """One directory at a glance: bar, counts, rate, ETA, windows; live-replaceable."""
    ident = directory_id(s)
    name = name or label(s.directory)
    finished = s.total_images > 0 and s.remaining == 0
    windows = (f'<span class="badge windows">{s.active_windows} window'
               f'{"s" if s.active_windows != 1 else ""}</span>') if s.active_windows else ""
    state = ('<span class="badge done">done</span>' if finished else "")
    eta = "done" if finished else hours(s.eta_seconds) if rate_of(s) else "–"
    extras = []
    for count, word, css in ((s.skipped_count, "skipped", "skip"),
                             (s.failed_count, "failed", "fail"),
                             (s.deleted_count, "deleted", "del")):
        if count:
            extras.append(f'<span class="{css}">{count} {word}</span>')
    return (
        f'<article class="card{" finished" if finished else ""}" data-id="{h(ident)}" '
        f'data-key="{h(s.directory)}" data-done="{s.completed_count}" '
        f'data-total="{s.total_images}" data-ts="{h(ts or "")}">'
        f'<h2><a href="{href(ident)}">{h(name)}</a>{windows}{state}</h2>'
        f"{svg.progress_bar(s.completed_count, s.total_images)}"
        f'<p class="counts"><b>{s.completed_count}</b> of {s.total_images} · '
        f"<b>{percent_text(s.completed_count, s.total_images)}</b>"
        f"{' · ' if extras else ''}{' · '.join(extras)}</p>"
        '<dl class="facts">'
        f"<div><dt>rate</dt><dd>{per_hour(rate_of(s))}</dd></div>"
        f"<div><dt>ETA</dt><dd>{eta}</dd></div>"
        f"<div><dt>work</dt><dd>{format_duration(s.work_seconds)}</dd></div>"
        f"<div><dt>last</dt><dd>{short_when(s.last_activity or s.last_session_end)}</dd></div>"
        f"</dl>{held_by(s)}</article>")


def held_by(s: m.Summary) -> str:
    """Who holds which images now: a team member by name, a local window by program."""
    if not s.holders:
        return ""
    items = "".join(
        f'<li title="{h(", ".join(x.files))}"><b>{h(x.user or x.program or "a window")}</b>'
        f'{"" if x.user else f" (pid {x.pid})"}: {len(x.files)} image'
        f'{"s" if len(x.files) != 1 else ""}</li>' for x in s.holders)
    return f'<ul class="holders" aria-label="held now">{items}</ul>'



# ----------------------------------------------------------------------- overview


def break_hint(curve: figures.BreakCurve, since_break: float | None) -> str:
    """A sentence: where the rate falls off, and how long the current stretch has run."""
    if curve.falloff_minutes is None:
        advice = ("Not enough work recorded yet to tell when your rate falls off; "
                  "the origin's rule of thumb is a break every hour.")
    else:
        advice = (f"Your rate falls off after about <b>{curve.falloff_minutes} minutes</b> "
                  "without a break.")
    if since_break is None:
        now_line = "No stretch of work under way."
    elif since_break < 1:
        now_line = "A stretch of work has just begun."
    elif curve.falloff_minutes is not None and since_break >= curve.falloff_minutes:
        now_line = (f'<b class="warn">{since_break:.0f} minutes</b> since your last break: '
                    "a good moment for one.")
    else:
        now_line = f"{since_break:.0f} minutes since your last break."
    return f'<p class="hint">{advice} {now_line} <a href="/stats#breaks">how it is measured</a></p>'


def overview(view: StatusView, today: figures.Day | None, hint: str) -> str:
    rows = view.directories
    names = labels([s.directory for s in rows])
    done = sum(s.completed_count for s in rows)
    total = sum(s.total_images for s in rows)
    windows = sum(s.active_windows for s in rows)
    if today is not None and today.work_seconds > 0:
        today_line = (f"<b>{today.images}</b> image{'' if today.images == 1 else 's'} in "
                      f"{format_duration(today.work_seconds)} "
                      f"· {per_hour(figures.images_per_hour(today.images, today.work_seconds))}")
    else:
        count = today.images if today else 0
        today_line = f"<b>{count}</b> image{'' if count == 1 else 's'}"
    tiles = (
        '<section class="tiles">'
        f'<div class="tile wide"><h3>All directories</h3>{svg.progress_bar(done, total)}'
        f'<p><b id="total-done">{done}</b> of <b id="total-images">{total}</b> images · '
        f'{len(rows)} director{"y" if len(rows) == 1 else "ies"} · '
        f'{windows} window{"s" if windows != 1 else ""} open</p></div>'
        f'<div class="tile"><h3>Today</h3><p>{today_line}</p></div>'
        f'<div class="tile"><h3>Break</h3>{hint}</div>'
        "</section>")
    if rows:
        cards = "".join(card(s, names[s.directory]) for s in rows)
        body = f'{tiles}<section id="dirs" class="cards">{cards}</section>'
    else:
        body = (f'{tiles}<section id="dirs" class="cards"></section><p class="empty">No '
                "directories yet: they appear here as soon as multicrop works on one.</p>")
    problems = "".join(f"<li>{h(p)}</li>" for p in view.problems)
    if problems:
        body += f'<section class="problems"><h3>Cannot read</h3><ul>{problems}</ul></section>'
    return layout("overview", "Overview", body, view.daemon)


# ----------------------------------------------------------------------- one directory


def trail_row(event: dict[str, Any]) -> str:
    op = str(event.get("op", ""))
    try:
        at = clock(iso_to_epoch(str(event.get("ts", ""))))
    except ValueError:
        at = "?"
    detail = []
    if event.get("undone"):
        detail.append(f"undid {event['undone']}")
    if event.get("reason"):
        detail.append(str(event["reason"]))
    client = event.get("client") or {}
    who = client.get("program") or ""
    return (f'<li class="op-{h(op)}"><time datetime="{h(event.get("ts"))}">{h(at)}</time>'
            f'<span class="op">{h(op.replace("_", " "))}</span>'
            f'<span class="file">{h(event.get("file") or "")}</span>'
            f'<span class="detail">{h("; ".join(detail))}</span>'
            f'<span class="who">{h(who)}</span></li>')


def _session_row(ident: str, index: int, session: m.SessionEntry, events: Sequence[Event],
                 chosen: bool) -> str:
    quality = figures.quality(figures.in_session(events, session))
    shares = [(SHARE_NAME[op], quality.counts[op], SHARE_CSS[op]) for op in figures.SHARE_OPS]
    undo = quality.undo_rate
    end = "open" if session.end is None else when(session.end)
    started = clock(iso_to_epoch(session.start))
    detail = ", ".join(f"{quality.counts[op]} {SHARE_NAME[op]}" for op in figures.SHARE_OPS
                       if quality.counts[op])
    return (f'<tr{" class=chosen" if chosen else ""}><td><a href="{href(ident, session=index)}">'
            f"#{index + 1}</a></td><td>{h(session.start[5:10])} {started}</td>"
            f"<td class=hide-narrow>{end}</td><td class=num>{session.images}</td>"
            f"<td class='num hide-narrow'>{format_duration(session.work_seconds)}</td>"
            f"<td class=num>{'–' if undo is None else f'{100 * undo:.0f}%'}</td>"
            f'<td class="shares">{svg.stacked(detail or "no outcomes", shares)}'
            f"<small>{h(detail) or '–'}</small></td></tr>")


def directory(view: DirectoryView, ident: str, chosen: int | None,
              threshold: float) -> str:
    s = view.summary
    events = view.events
    days = figures.per_day(events, threshold,
                           figures.day_range(time.strftime("%Y-%m-%d", time.gmtime()), 30))
    day_chart = svg.columns("images per day", [d.day[5:] for d in days],
                            [("images", [d.images for d in days], "c-images")])
    sessions = view.sessions
    index = chosen if chosen is not None and 0 <= chosen < len(sessions) else len(sessions) - 1
    if sessions:
        rows = "".join(_session_row(ident, i, sessions[i], events, i == index)
                       for i in reversed(range(len(sessions))))
        session_table = (
            '<div class="scroll"><table class="sessions"><thead><tr><th>#</th><th>started</th>'
            "<th class=hide-narrow>ended</th><th class=num>images</th>"
            "<th class='num hide-narrow'>work</th><th class=num>undo</th><th>outcomes</th>"
            "</tr></thead><tbody>" + rows
            + "</tbody></table></div><p class=legend>"
            + " ".join(f'<span class="k {SHARE_CSS[op]}"></span>{SHARE_NAME[op]}'
                       for op in figures.SHARE_OPS)
            + " · undo: the share of outcomes taken back</p>")
        picked = sessions[index]
        start = iso_to_epoch(picked.start)
        end = iso_to_epoch(picked.end) if picked.end else time.time()
        tl = figures.timeline(figures.in_session(events, picked), start, end, threshold)
        tick = clock if tl.end - tl.start >= 600 else seconds_clock
        work = sum(b - a for a, b, w in tl.spans if w)
        pauses = sum(b - a for a, b, w in tl.spans if not w)
        timeline = (f"<h3>Session #{index + 1}: work and breaks</h3>"
                    + svg.timeline(f"session {index + 1}: work and breaks", tl.start, tl.end,
                                   tl.spans, tl.ticks, tick)
                    + f'<p class="legend"><span class="k work"></span>work '
                      f'{format_duration(work)} <span class="k pause"></span>breaks '
                      f"{format_duration(pauses)} (a gap over {threshold / 60:.0f} min)</p>")
    else:
        session_table = '<p class="empty">No sessions yet.</p>'
        timeline = ""
    trail = "".join(trail_row(_builtins(e)) for e in reversed(events[-TRAIL_LENGTH:]))
    lists = ""
    for title, items in (("Skipped", view.skipped),
                         ("Failed", [f"{f.file}: {f.reason}" for f in view.failed])):
        if items:
            entries = "".join(f"<li>{h(i)}</li>" for i in items[:500])
            lists += (f"<details><summary>{title} ({len(items)})</summary>"
                      f"<ul>{entries}</ul></details>")
    body = (
        f'<section class="cards single">{card(s)}</section>'
        f'<p class="where">Output: {h(s.output_directory or "–")}<br>'
        f"Progress file: {h(s.progress_file)}</p>"
        '<div class="grid">'
        f'<section class="panel"><h3>Per day (last 30 days)</h3>{day_chart}</section>'
        f'<section class="panel"><h3>Audit trail <small>(live, newest first)</small></h3>'
        f'<ol id="trail" class="trail">{trail}</ol></section>'
        "</div>"
        f'<section class="panel"><h3>Sessions</h3>{session_table}{timeline}</section>'
        f"{lists}")
    return layout("directory", label(s.directory), body, view.daemon, key=s.directory)


def _builtins(event: Event) -> dict[str, Any]:
    import msgspec

    return msgspec.to_builtins(event)  # type: ignore[no-any-return]


# ----------------------------------------------------------------------- stats


def _h(seconds: float) -> str:
    return f"{seconds / 3600:.1f}h"


def stats(view: StatsView, days: list[figures.Day], curve: figures.BreakCurve,
          weeks: list[figures.Week]) -> str:
    labels_ = [d.day[5:] for d in days]
    images = svg.columns("images per day", labels_,
                         [("images", [d.images for d in days], "c-images")])
    longest = max([d.work_seconds for d in days] + [d.origin_seconds for d in days] + [0.0])
    unit, suffix = (3600, "h") if longest >= 5400 else (60, "m")
    worktime = svg.columns(
        "work time per day: ours and the origin's 15-minute bins", labels_,
        [("ours", [d.work_seconds / unit for d in days], "c-ours"),
         ("origin", [d.origin_seconds / unit for d in days], "c-origin")],
        fmt=lambda v: f"{v:.1f}".rstrip("0").rstrip(".") + suffix)
    trend = svg.trend("images per hour, per week", [w.week[5:] for w in weeks],
                      [w.images_per_hour for w in weeks], fmt=lambda v: f"{v:.0f}",
                      nothing="not enough work time yet for a rate")
    rates = curve.rates()
    marker = (curve.minutes.index(curve.falloff_minutes)
              if curve.falloff_minutes is not None else None)
    breaks = svg.columns("images per hour against minutes since the last break",
                         [f"{mm}′" for mm in curve.minutes],
                         [("images/hour", [r or 0.0 for r in rates], "c-rate")],
                         fmt=lambda v: f"{v:.0f}", marker=marker,
                         marker_text="falls off" if marker is not None else "",
                         nothing="not enough work time yet")
    total = view.total()
    ours = sum(d.work_seconds for d in days)
    origin = sum(d.origin_seconds for d in days)
    form = (f'<form class="inline" action="/stats" method="get"><label>Days <input '
            f'type=number name=days min=1 max=3650 value="{view.days}"></label>'
            "<button>Show</button></form>")
    if curve.falloff_minutes is not None:
        advice = (f"The rate is best at {curve.best_rate:.0f} images/hour and falls under "
                  f"{figures.FALLOFF:.0%} of that after about <b>{curve.falloff_minutes} "
                  "minutes</b> without a break: a good point to stop for one.")
    else:
        advice = ("Not enough work yet to see the rate fall off (each bar needs "
                  f"{figures.MIN_BUCKET_SECONDS / 60:.0f} minutes of work).")
    body = (
        f'<section class="tiles"><div class="tile wide"><h3>Last {view.days} days</h3>'
        f"<p><b>{total.images}</b> images · {format_duration(total.work_seconds)} work · "
        f"{per_hour(figures.images_per_hour(total.images, total.work_seconds))}</p></div>"
        f'<div class="tile"><h3>Work time, two ways</h3><p>ours <b>{format_duration(ours)}</b>'
        f" · origin's bins <b>{format_duration(origin)}</b></p></div>"
        f'<div class="tile">{form}</div></section>'
        '<div class="grid">'
        f'<section class="panel"><h3>Images per day</h3>{images}</section>'
        f'<section class="panel"><h3>Work time per day</h3>{worktime}'
        '<p class="legend"><span class="k c-ours"></span>ours: every gap of at most 5 minutes '
        'between file operations <span class="k c-origin"></span>the origin tool: whole '
        "15-minute bins with 7.5 minutes of activity or 30 files</p></section>"
        f'<section class="panel"><h3>Images per hour, per week</h3>{trend}</section>'
        f'<section class="panel" id="breaks"><h3>When to take a break</h3>{breaks}'
        f'<p class="legend">{advice}</p></section>'
        "</div>")
    return layout("stats", "Stats", body, view.daemon)


# ----------------------------------------------------------------------- plan


def plan(view: StatusView, chosen: set[str], rate: figures.Rate | None,
         new_images: int | None) -> str:
    unfinished = [s for s in view.directories if s.remaining > 0]
    names = labels([s.directory for s in view.directories])
    picks = chosen or {directory_id(s) for s in unfinished}
    boxes = "".join(
        f'<label class="pick"><input type=checkbox name=d value="{h(directory_id(s))}"'
        f'{" checked" if directory_id(s) in picks else ""}> {h(names[s.directory])} '
        f"<small>{s.remaining} left</small></label>" for s in unfinished)
    form = (f'<form class="plan" action="/plan" method="get"><fieldset><legend>Directories'
            f"</legend>{boxes or '<p>Nothing left to do anywhere.</p>'}</fieldset>"
            '<label>A new folder of <input type=number name=n min=1 max=10000000 '
            f'value="{new_images or ""}" placeholder="N"> images</label>'
            "<button>Estimate</button></form>")
    if rate is None:
        result = ('<p class="empty">No rate measured yet: the estimate needs at least one day '
                  "with 5 minutes of work.</p>")
        return layout("plan", "Plan", form + result, view.daemon)
    spread = (f"{rate.low:.0f}–{rate.high:.0f}" if rate.samples > 1 else "no spread yet")
    rate_line = (f'<p class="rate">At your measured rate: <b>{rate.middle:.0f} images/hour</b> '
                 f"(middle half of {rate.samples} measured day{'s' if rate.samples != 1 else ''}:"
                 f" {spread} images/hour)</p>")
    rows = []
    chosen_rows = [s for s in unfinished if directory_id(s) in picks]
    for s in chosen_rows:
        likely, best, worst = rate.hours(s.remaining)
        rows.append((names[s.directory], s.remaining, likely, best, worst))
    if new_images:
        likely, best, worst = rate.hours(new_images)
        rows.append((f"new folder of {new_images}", new_images, likely, best, worst))
    short = [f"new ({new_images})" if new_images and i == len(rows) - 1 else str(r[0])[:12]
             for i, r in enumerate(rows)]
    if rows:
        left = sum(r[1] for r in rows)
        likely, best, worst = rate.hours(left)
        table = "".join(
            f"<tr><td>{h(name)}</td><td class=num>{n}</td><td class=num><b>{_hm(a)}</b></td>"
            f"<td class=num>{_hm(b)}–{_hm(c)}</td></tr>" for name, n, a, b, c in rows)
        table += (f"<tr class=total><td>all of these</td><td class=num>{left}</td><td class=num>"
                  f"<b>{_hm(likely)}</b></td><td class=num>{_hm(best)}–{_hm(worst)}</td></tr>")
        chart = svg.columns("hours of work left", short,
                            [("likely", [r[2] for r in rows], "c-ours"),
                             ("at worst", [r[4] for r in rows], "c-origin")],
                            fmt=lambda v: f"{v:.1f}h")
        result = (rate_line + '<div class="grid"><section class="panel"><div class="scroll">'
                  '<table class="plan"><thead><tr><th>what</th><th class=num>images</th>'
                  "<th class=num>time</th><th class=num>range</th></tr></thead><tbody>"
                  + table + "</tbody></table></div></section>"
                  f'<section class="panel">{chart}<p class="legend"><span class="k c-ours">'
                  '</span>likely <span class="k c-origin"></span>at the slow end</p></section>'
                  "</div>")
    else:
        result = rate_line + '<p class="empty">Choose directories, or give a number of images.</p>'
    return layout("plan", "Plan", form + result, view.daemon)


def _hm(hours_: float) -> str:
    return format_duration(hours_ * 3600)


def trouble(message: str) -> str:
    """A page for when neither cropd nor the files could answer: one line, and a way on."""
    return ("<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            '<title>Cannot show this · crop-progress</title>'
            '<link rel=stylesheet href="/static/style.css"></head><body><main>'
            f'<p class="problems">{h(message)}</p><p><a href="/">Try the overview again</a>'
            "</p></main></body></html>")


def not_found(daemon: DaemonView, what: str) -> str:
    return layout("directory", "Not found", f'<p class="empty">{h(what)}</p>'
                  '<p><a href="/">Back to the overview</a></p>', daemon)
