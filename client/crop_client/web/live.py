"""From cropd's feed to every open page: one SUB socket, one queue per browser.

`Hub.run` subscribes to the daemon's PUB feed (ZeroMQ reconnects by itself when
the daemon restarts) and turns each message into a server-sent event: `status`
carries the directory's card as HTML (the same markup the overview made),
`op` the audit-trail row, `daemon` the footer line when cropd comes or goes.
A browser that falls behind loses its oldest events rather than slowing the
others; the newest `status` of a directory always gets through and repairs its card.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import zmq
import zmq.asyncio

from crop_client.cropctl.render import daemon_line
from crop_client.web import pages
from crop_client.web.source import Source, directory_id
from crop_protocol import feed as f

log = logging.getLogger("crop_client.web")
QUEUE_LIMIT = 500
KEEPALIVE_SECONDS = 15.0
CHECK_SECONDS = 2.0      # how often the daemon's presence is looked at (files, no request)


def sse(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class Hub:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.queues: set[asyncio.Queue[str | None]] = set()
        self.closing = False
        self.running: bool | None = None   # whether cropd is there, as last seen
        self.loop: asyncio.AbstractEventLoop | None = None

    def subscribe(self) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_LIMIT)
        if self.closing:
            queue.put_nowait(None)
        self.queues.add(queue)
        return queue

    def close(self) -> None:
        """End every stream (the server is stopping): each gets None and returns."""
        self.closing = True
        for queue in list(self.queues):
            try:
                queue.put_nowait(None)
            except asyncio.QueueFull:
                queue.get_nowait()
                queue.put_nowait(None)

    def close_soon(self) -> None:
        """`close` from a signal handler or another thread."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.close)

    def unsubscribe(self, queue: asyncio.Queue[str | None]) -> None:
        self.queues.discard(queue)

    def broadcast(self, text: str) -> None:
        """To every browser; one that fell behind loses its oldest message, never the
        newest (a `status` carries whole figures, so the latest one is what counts)."""
        for queue in list(self.queues):
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(text)

    def translate(self, message: f.FeedMessage) -> str | None:
        if isinstance(message, f.StatusChange):
            s = message.summary
            return sse("status", {"id": directory_id(s), "key": s.directory,
                                  "card": pages.card(s, ts=message.ts), "ts": message.ts})
        if isinstance(message, f.OpEvent):
            event = message.event
            return sse("op", {"key": event.get("directory"), "op": event.get("op"),
                              "ts": event.get("ts"), "row": pages.trail_row(event)})
        return None

    async def _daemon_line(self) -> str:
        view = await asyncio.to_thread(self.source.status)
        return daemon_line(view.daemon)

    async def run(self) -> None:
        """Forever: relay the feed; tell the pages when the daemon comes or goes."""
        self.loop = asyncio.get_running_loop()
        context = zmq.asyncio.Context()
        sub = None
        endpoint = None
        running = None
        try:
            while True:
                present = await asyncio.to_thread(self.source.may_be_running)
                if present != running or sub is None:
                    wanted = await asyncio.to_thread(self.source.feed_endpoint)
                    if wanted != endpoint or sub is None:
                        if sub is not None:
                            sub.close(0)
                        sub = context.socket(zmq.SUB)
                        sub.setsockopt(zmq.LINGER, 0)
                        sub.setsockopt(zmq.SUBSCRIBE, b"")
                        sub.connect(wanted)
                        endpoint = wanted
                    if running is not None:
                        self.broadcast(sse("daemon", {"running": present,
                                                      "line": await self._daemon_line()}))
                    running = self.running = present
                await self._relay(sub, CHECK_SECONDS)
        finally:
            if sub is not None:
                sub.close(0)
            context.term()

    async def _relay(self, sub: zmq.asyncio.Socket, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while (left := end - loop.time()) > 0:
            if not await sub.poll(left * 1000):
                return
            message = f.decode(await sub.recv_multipart())
            if message is None:
                continue
            if isinstance(message, f.DaemonChange):
                self.running = message.state == "started"
                self.broadcast(sse("daemon", {"running": message.state == "started",
                                              "line": await self._daemon_line()}))
                continue
            text = self.translate(message)
            if text is not None:
                self.broadcast(text)


async def stream(hub: Hub) -> AsyncIterator[str]:
    """One browser's server-sent events, with a comment now and then to keep it open."""
    queue = hub.subscribe()
    try:
        yield "retry: 2000\n: live\n\n"
        if hub.running is not None:
            yield sse("daemon", {"running": hub.running, "line": None})
        while True:
            try:
                text = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except asyncio.TimeoutError:
                text = ": keepalive\n\n"
            if text is None:
                return  # the server is stopping: end this response so it can
            yield text
    finally:
        hub.unsubscribe(queue)
