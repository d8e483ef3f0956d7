"""The routes: pages, the JSON of `cropctl status --json` and `stats --json`, the live
feed and the package's assets; wrapped in `guard.Guard` (methods, token, headers).

Page handlers are plain functions: Starlette runs them in its thread pool, where
the blocking calls to cropd (`source`) belong.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from crop_client.cropctl.errors import CtlError, describe
from crop_client.web import figures, live, pages
from crop_client.web.guard import Guard
from crop_client.web.source import Source
from crop_progress.timefmt import epoch_to_iso, now_iso
from crop_progress.worktime import BREAK_THRESHOLD, breakdown

log = logging.getLogger("crop_client.web")
ASSETS = {"style.css": "text/css; charset=utf-8", "live.js": "text/javascript; charset=utf-8",
          "icon.svg": "image/svg+xml"}
NO_STORE = {"cache-control": "no-store"}
CURVE_DAYS = 60
CURVE_SECONDS = 600.0     # the break curve is recomputed at most this often
MAX_DAYS = 3650
RECENT_SECONDS = 6 * 3600  # how far back the overview looks for the current stretch


class Dashboard:
    """The routes' shared state: where figures come from, the live hub, a small cache."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.hub = live.Hub(source)
        self.assets = {name: (resources.files("crop_client.web") / "assets" / name)
                       .read_bytes() for name in ASSETS}
        self._curve: tuple[float, figures.BreakCurve] | None = None
        self._threshold: tuple[float, float] | None = None

    # -- helpers ---------------------------------------------------------------------
    def threshold(self) -> float:
        """The running daemon's break threshold (its `--break-threshold`), so the
        dashboard's work time is cropctl's; the default when none runs."""
        cached = self._threshold
        if cached is None or time.monotonic() - cached[0] > CURVE_SECONDS:
            running = self.source.status().daemon.break_threshold
            cached = self._threshold = (time.monotonic(), running or BREAK_THRESHOLD)
        return cached[1]

    def curve(self, folder: str | None) -> figures.BreakCurve:
        cached = self._curve
        if cached is None or time.monotonic() - cached[0] > CURVE_SECONDS:
            events = self.source.events(folder, CURVE_DAYS)
            cached = self._curve = (time.monotonic(),
                                    figures.break_curve(events, self.threshold()))
        return cached[1]

    # -- pages -----------------------------------------------------------------------
    def overview(self, request: Request) -> Response:
        view = self.source.status()
        events = self.source.events(view.daemon.progress_dir, 1)
        today_key = now_iso()[:10]
        tally = breakdown(events, self.threshold()).days.get(today_key)
        today = figures.Day(today_key, tally.images, tally.work_seconds) if tally else None
        # the current stretch: only the last hours matter (a string compare, no parsing)
        recent_from = epoch_to_iso(time.time() - RECENT_SECONDS)
        since = figures.minutes_since_break([e for e in events if e.ts >= recent_from],
                                            time.time(), self.threshold())
        hint = pages.break_hint(self.curve(view.daemon.progress_dir), since)
        return _html(pages.overview(view, today, hint))

    def directory(self, request: Request) -> Response:
        ident = request.path_params["ident"]
        status = self.source.status()
        summary = next((s for s in status.directories
                        if pages.directory_id(s) == ident), None)
        if summary is None:
            return _html(pages.not_found(status.daemon, f"No directory {ident} is known."), 404)
        try:
            view = self.source.directory(summary)
        except CtlError as exc:
            return _html(pages.not_found(status.daemon, str(exc)), 404)
        view.daemon = status.daemon  # the full view (pid, version), as the overview shows
        chosen = _int(request.query_params.get("session"), None, 0, 1 << 30)
        return _html(pages.directory(view, ident, chosen, self.threshold()))

    def stats(self, request: Request) -> Response:
        days = _int(request.query_params.get("days"), 28, 1, MAX_DAYS)
        if days is None:
            return _bad("days takes a whole number from 1 to 3650")
        view = self.source.stats(days)
        events = self.source.events(view.daemon.progress_dir, days)
        per_day = figures.per_day(events, self.threshold(),
                                  figures.day_range(now_iso()[:10], days))
        weeks = figures.per_week(view.rows)
        return _html(pages.stats(view, per_day, self.curve(view.daemon.progress_dir), weeks))

    def plan(self, request: Request) -> Response:
        new = request.query_params.get("n") or None
        new_images = _int(new, None, 1, 10_000_000) if new else None
        if new and new_images is None:
            return _bad("n takes a whole number of images from 1 to 10000000")
        view = self.source.status()
        rows = self.source.stats(90).rows
        rate = figures.measured_rate(rows, view.directories)
        chosen = set(request.query_params.getlist("d"))
        return _html(pages.plan(view, chosen, rate, new_images))

    # -- JSON ------------------------------------------------------------------------
    def api_status(self, request: Request) -> Response:
        return _json(self.source.status().to_json())

    def api_stats(self, request: Request) -> Response:
        days = _int(request.query_params.get("days"), 7, 1, MAX_DAYS)
        if days is None:
            return _json({"error": "days takes a whole number from 1 to 3650"}, 400)
        return _json(self.source.stats(days).to_json())

    # -- live and assets -------------------------------------------------------------
    async def events(self, request: Request) -> Response:
        return StreamingResponse(live.stream(self.hub), media_type="text/event-stream",
                                 headers={**NO_STORE, "x-accel-buffering": "no"})

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return Response("not found\n", 404, media_type="text/plain")
        return Response(self.assets[name], media_type=ASSETS[name],
                        headers={"cache-control": "max-age=300"})


    async def icon(self, request: Request) -> Response:
        return Response(self.assets["icon.svg"], media_type=ASSETS["icon.svg"],
                        headers={"cache-control": "max-age=86400"})


def _trouble(request: Request, exc: Exception) -> Response:
    """A failure a user can meet (cropd refused, a file cannot be read): one line, 503."""
    known = describe(exc)
    if known is None:
        log.exception("%s failed", request.url.path)
        message = f"unexpected error: {type(exc).__name__}: {exc}"
    else:
        message = known[0]
    if request.url.path.startswith("/api/"):
        return _json({"error": message}, 503)
    return _html(pages.trouble(message), 503)


def _int(text: str | None, default: int | None, low: int, high: int) -> int | None:
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        return None
    return value if low <= value <= high else None


def _html(text: str, status: int = 200) -> Response:
    return HTMLResponse(text, status, headers=NO_STORE)


def _bad(message: str) -> Response:
    return Response(message + "\n", 400, media_type="text/plain")


def _json(data: Any, status: int = 200) -> Response:
    """The bytes `cropctl ... --json` prints (cropctl.render.print_json)."""
    body = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return Response(body, status, media_type="application/json", headers=NO_STORE)


def build(source: Source, token: str | None) -> Guard:
    board = Dashboard(source)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(board.hub.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            source.close()

    routes = [
        Route("/", board.overview),
        Route("/d/{ident:str}", board.directory),
        Route("/stats", board.stats),
        Route("/plan", board.plan),
        Route("/api/status", board.api_status),
        Route("/api/stats", board.api_stats),
        Route("/events", board.events),
        Route("/static/{name:str}", board.asset),
        Route("/favicon.ico", board.icon),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={Exception: _trouble})
    app.state.board = board
    guard = Guard(app, token)
    guard.board = board
    return guard
